"""Issuer PKI: key generation, the root and issuer certificates, PEM files.

Certificate profile (``spec/trust.md`` section 2):

* root: self-signed, ``basicConstraints`` CA (critical), ``keyUsage`` keyCertSign
  (critical), subject key identifier;
* issuer (document signer): ``basicConstraints`` cA=false (critical), ``keyUsage``
  digitalSignature only among the signing bits (critical), authority key identifier,
  a P-256, P-384 or Ed25519 key;
* the COSE ``kid`` of an issuer certificate is the first 8 bytes of the SHA-256 of
  its DER encoding (the EU DCC convention).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from vitale_cred.errors import BadKey, InvalidArgument
from vitale_cred.hazmat.cose import PrivateKey, PublicKey, SoftwareSigner
from vitale_cred.registry import CoseAlg

__all__ = [
    "KID_LENGTH",
    "MAX_CHAIN_LENGTH",
    "IssuerMaterial",
    "certificate_name",
    "generate_private_key",
    "key_usage",
    "kid_for_certificate",
    "load_certificates",
    "load_private_key",
    "make_issuer_certificate",
    "make_root_certificate",
    "private_key_pem",
]

#: Bytes of SHA-256 kept as the kid of a certificate.
KID_LENGTH = 8
#: File of an issuer directory naming the PKCS#11 token and key (never the PIN).


#: Most certificates accepted in an ``x5chain`` (issuer + intermediates).
MAX_CHAIN_LENGTH = 3


def generate_private_key(alg: CoseAlg) -> PrivateKey:
    """A fresh private key for ``alg`` (ES256, ES384 or EdDSA)."""
    if alg is CoseAlg.ES256:
        return ec.generate_private_key(ec.SECP256R1())
    if alg is CoseAlg.ES384:
        return ec.generate_private_key(ec.SECP384R1())
    if alg is CoseAlg.EDDSA:
        return ed25519.Ed25519PrivateKey.generate()
    raise BadKey(f"no key generation for {alg!r}")


def kid_for_certificate(cert: x509.Certificate) -> bytes:
    """The COSE kid of a certificate: SHA-256(DER)[:8]."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:KID_LENGTH]


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key.curve, ec.SECP384R1):
        return hashes.SHA384()
    return hashes.SHA256()


def certificate_name(common_name: str, organisation: str = "vitale_cred") -> x509.Name:
    """``C=FR, O=organisation, CN=common_name``: the naming of the profile."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def key_usage(*, sign: bool, cert_sign: bool) -> x509.KeyUsage:
    """keyUsage with only digitalSignature and/or keyCertSign + cRLSign set."""
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_root_certificate(
    key: PrivateKey,
    common_name: str,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    *,
    serial: int = 1,
) -> x509.Certificate:
    """A self-signed root CA certificate under the profile."""
    name = certificate_name(common_name)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(key_usage(sign=False, cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _hash_for(key))
    )


def make_issuer_certificate(
    issuer_public_key: PublicKey,
    common_name: str,
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    *,
    serial: int = 2,
    key_usage_sign: bool = True,
    ca: bool = False,
) -> x509.Certificate:
    """An issuer (document signer) certificate signed by ``ca_key``.

    ``key_usage_sign`` and ``ca`` exist to build negative test material; the
    defaults give the profile.
    """
    if not_after <= not_before:
        raise InvalidArgument("certificate must end after it starts")
    builder = (
        x509.CertificateBuilder()
        .subject_name(certificate_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(issuer_public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(key_usage(sign=key_usage_sign, cert_sign=ca), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(issuer_public_key), critical=False
        )
    return builder.sign(ca_key, _hash_for(ca_key))


def private_key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: an explicit export, never implicit."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes) -> PrivateKey:
    """Load a P-256, P-384 or Ed25519 private key from PEM."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise BadKey("not a readable unencrypted PEM private key") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(
        key.curve, ec.SECP256R1 | ec.SECP384R1
    ):
        return key
    raise BadKey(f"unsupported private key type {type(key).__name__}")


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise InvalidArgument("not a PEM certificate bundle") from exc
    return certs


@dataclass(frozen=True)
class IssuerMaterial:
    """An issuer's root and issuer certificates and (when held in software) their keys."""

    root_certificate: x509.Certificate
    issuer_certificate: x509.Certificate
    #: None when the issuer key lives elsewhere (an HSM).
    issuer_key: PrivateKey | None
    root_key: PrivateKey | None = None

    @property
    def kid(self) -> bytes:
        """The kid of the issuer certificate."""
        return kid_for_certificate(self.issuer_certificate)

    def signer(self) -> SoftwareSigner:
        """A software signer over the issuer key."""
        if self.issuer_key is None:
            raise InvalidArgument(
                "the issuer key is in an HSM: open it with vitale_cred.adapters.hsm"
            )
        return SoftwareSigner(self.issuer_key)

    @classmethod
    def generate(
        cls,
        alg: CoseAlg,
        not_before: _dt.datetime,
        *,
        root_years: int = 10,
        issuer_years: int = 2,
        name: str = "Caisse primaire (test)",
    ) -> IssuerMaterial:
        """A fresh root and issuer certificate (the root key signs with ``alg`` too)."""
        root_key = generate_private_key(alg)
        issuer_key = generate_private_key(alg)
        root = make_root_certificate(
            root_key,
            f"{name} root",
            not_before,
            not_before + _dt.timedelta(days=365 * root_years),
        )
        issuer = make_issuer_certificate(
            issuer_key.public_key(),
            name,
            root_key,
            root,
            not_before,
            not_before + _dt.timedelta(days=365 * issuer_years),
        )
        return cls(root, issuer, issuer_key, root_key)
