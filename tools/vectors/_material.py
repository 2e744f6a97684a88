"""Deterministic material of the conformance vectors: keys, certificates, card, DEFLATE.

Everything here is derived from fixed labels, so that two runs of the generator
produce the same bytes:

* an ECDSA private scalar is ``int.from_bytes(H(b"vitale-vectors/" + name)) mod n``
  with H = SHA-256 for P-256 and SHA-384 for P-384 (0 is replaced by 1);
* an Ed25519 private key is the 32-byte seed ``SHA-256(b"vitale-vectors/" + name)``;
* ECDSA signatures are deterministic (RFC 6979), in COSE and in X.509 certificates
  (``CertificateBuilder.sign(..., ecdsa_deterministic=True)``); Ed25519 is
  deterministic by construction;
* random bytes (nonces, ephemeral keys) come from :func:`drbg`, SHA-256 in counter
  mode over a label;
* compressed bytes come from :func:`deflate_zlib`, a small fixed-Huffman DEFLATE
  encoder written here, because the output of ``zlib.compress`` depends on the zlib
  build (zlib, zlib-ng, Chromium's zlib produce different, equally valid streams).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey, PrivateKey, SoftwareSigner
from vitale_cred.model import Card
from vitale_cred.pki import certificate_name, key_usage, kid_for_certificate
from vitale_cred.registry import CoseAlg

__all__ = [
    "SEED_PREFIX",
    "Material",
    "Pki",
    "deflate_zlib",
    "drbg",
    "ec_private_key",
    "ed25519_private_key",
]

SEED_PREFIX = b"vitale-vectors/"

_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P384_N = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    16,
)

Rng = Callable[[int], bytes]


def ec_private_key(name: str, curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    """The P-256 or P-384 key of ``name`` (scalar = H(prefix + name) mod n, never 0)."""
    if isinstance(curve, ec.SECP384R1):
        digest, order = hashlib.sha384(SEED_PREFIX + name.encode()).digest(), _P384_N
    else:
        digest, order = hashlib.sha256(SEED_PREFIX + name.encode()).digest(), _P256_N
    scalar = int.from_bytes(digest, "big") % order or 1
    return ec.derive_private_key(scalar, curve)


def ed25519_private_key(name: str) -> ed25519.Ed25519PrivateKey:
    """The Ed25519 key whose seed is SHA-256(prefix + name)."""
    seed = hashlib.sha256(SEED_PREFIX + name.encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def private_key_for(name: str, alg: CoseAlg) -> PrivateKey:
    """The private key of ``name`` for the curve of ``alg``."""
    if alg is CoseAlg.ES384:
        return ec_private_key(name, ec.SECP384R1())
    if alg is CoseAlg.EDDSA:
        return ed25519_private_key(name)
    return ec_private_key(name, ec.SECP256R1())


def drbg(label: str) -> Rng:
    """A reproducible byte source: SHA-256(prefix + label + counter) blocks, in order."""
    state = {"counter": 0}

    def rng(n: int) -> bytes:
        out = b""
        while len(out) < n:
            block = SEED_PREFIX + label.encode() + state["counter"].to_bytes(4, "big")
            out += hashlib.sha256(block).digest()
            state["counter"] += 1
        return out[:n]

    return rng


def fixed_bytes(label: str, n: int) -> bytes:
    """``n`` bytes derived from ``label``."""
    return drbg(label)(n)


def pem_private(key: PrivateKey) -> str:
    """PKCS#8 PEM of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def pem_certificate(cert: x509.Certificate) -> str:
    """PEM of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def der(cert: x509.Certificate) -> bytes:
    """DER of a certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


# --- DEFLATE (RFC 1951) with fixed Huffman codes, in a zlib stream (RFC 1950) -------

# (first length, extra bits) of length codes 257..285 (RFC 1951 section 3.2.5).
_LENGTH_BASES = (
    (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10, 0),
    (11, 1), (13, 1), (15, 1), (17, 1), (19, 2), (23, 2), (27, 2), (31, 2),
    (35, 3), (43, 3), (51, 3), (59, 3), (67, 4), (83, 4), (99, 4), (115, 4),
    (131, 5), (163, 5), (195, 5), (227, 5), (258, 0),
)  # fmt: skip
_MAX_MATCH = 258
_MIN_MATCH = 3


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def bits(self, value: int, width: int) -> None:
        """Append ``width`` bits of ``value``, least significant first."""
        self.acc |= value << self.count
        self.count += width
        while self.count >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.count -= 8

    def huffman(self, code: int, width: int) -> None:
        """Append a Huffman code, most significant bit first."""
        reversed_code = int(f"{code:0{width}b}"[::-1], 2)
        self.bits(reversed_code, width)

    def flush(self) -> bytes:
        if self.count:
            self.out.append(self.acc & 0xFF)
            self.acc = 0
            self.count = 0
        return bytes(self.out)


def _literal(writer: _BitWriter, symbol: int) -> None:
    if symbol < 144:
        writer.huffman(0x30 + symbol, 8)
    elif symbol < 256:
        writer.huffman(0x190 + symbol - 144, 9)
    elif symbol < 280:
        writer.huffman(symbol - 256, 7)
    else:
        writer.huffman(0xC0 + symbol - 280, 8)


def _match(writer: _BitWriter, length: int) -> None:
    """A match of ``length`` bytes at distance 1 (the previous byte repeated)."""
    code = max(i for i, (base, _) in enumerate(_LENGTH_BASES) if base <= length)
    base, extra = _LENGTH_BASES[code]
    _literal(writer, 257 + code)
    if extra:
        writer.bits(length - base, extra)
    writer.huffman(0, 5)  # distance code 0: distance 1, no extra bits


def deflate_zlib(data: bytes) -> bytes:
    """A zlib stream of ``data``: one final fixed-Huffman block, runs as distance-1 matches.

    Deterministic on every platform; checked against ``zlib.decompress``.
    """
    writer = _BitWriter()
    writer.bits(1, 1)  # BFINAL
    writer.bits(1, 2)  # BTYPE 01: fixed Huffman codes
    i, n = 0, len(data)
    while i < n:
        if i:
            run = 0
            while i + run < n and run < _MAX_MATCH and data[i + run] == data[i - 1]:
                run += 1
            if run >= _MIN_MATCH:
                _match(writer, run)
                i += run
                continue
        _literal(writer, data[i])
        i += 1
    _literal(writer, 256)  # end of block
    stream = b"\x78\x01" + writer.flush() + zlib.adler32(data).to_bytes(4, "big")
    if zlib.decompress(stream) != data:  # pragma: no cover - a bug in the encoder above
        raise AssertionError("deflate_zlib produced a stream that does not round-trip")
    return stream


# --- certificates --------------------------------------------------------------------


def _utc(year: int, month: int = 1, day: int = 1) -> _dt.datetime:
    return _dt.datetime(year, month, day, tzinfo=_dt.UTC)


def _name(common_name: str) -> x509.Name:
    return certificate_name(common_name, "vitale_cred vectors")


#: Hashes a CertSpec may force on an ECDSA signature, to build off-profile pairings.
_HASHES: dict[str, hashes.SHA256 | hashes.SHA384 | hashes.SHA512] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def _sign(
    builder: x509.CertificateBuilder, key: PrivateKey, hash_name: str = ""
) -> x509.Certificate:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return builder.sign(key, None)
    algorithm = hashes.SHA384() if isinstance(key.curve, ec.SECP384R1) else hashes.SHA256()
    return builder.sign(key, _HASHES.get(hash_name, algorithm), ecdsa_deterministic=True)


@dataclass(frozen=True)
class CertSpec:
    """How to build one certificate (defaults: a profile-conforming issuer certificate)."""

    name: str
    alg: CoseAlg
    serial: int
    not_before: _dt.datetime
    not_after: _dt.datetime
    ca: bool = False
    path_length: int | None = None
    digital_signature: bool = True
    key_usage_critical: bool = True
    basic_constraints_critical: bool = True
    #: An extension of this OID (value NULL) marked critical: one no verifier processes.
    critical_oid: str = ""
    #: Hash of the ECDSA signature this certificate carries, if not the curve's own.
    signature_hash: str = ""


def _certificate(
    spec: CertSpec,
    key: PrivateKey,
    issuer_key: PrivateKey,
    issuer_name: x509.Name | None,
) -> x509.Certificate:
    subject = _name(spec.name)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(public)
        .serial_number(spec.serial)
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
        .add_extension(
            x509.BasicConstraints(ca=spec.ca, path_length=spec.path_length),
            critical=spec.basic_constraints_critical,
        )
        .add_extension(
            key_usage(sign=spec.digital_signature and not spec.ca, cert_sign=spec.ca),
            critical=spec.key_usage_critical,
        )
    )
    if spec.ca:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public), critical=False
        )
    if issuer_name is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if spec.critical_oid:
        unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier(spec.critical_oid), b"\x05\x00")
        builder = builder.add_extension(unknown, critical=True)
    return _sign(builder, issuer_key, spec.signature_hash)


@dataclass(frozen=True)
class Pki:
    """A root and an issuer certificate (optionally via an intermediate) with their keys."""

    alg: CoseAlg
    root_key: PrivateKey
    root: x509.Certificate
    issuer_key: PrivateKey
    issuer: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()

    @property
    def kid(self) -> bytes:
        """SHA-256(DER of the issuer certificate)[:8]."""
        return kid_for_certificate(self.issuer)

    def signer(self) -> SoftwareSigner:
        """Deterministic signer over the issuer key."""
        return SoftwareSigner(self.issuer_key, self.alg)

    def cose_key(self) -> CoseKey:
        """The issuer public key as a COSE_Key."""
        return CoseKey.from_public_key(self.issuer_key.public_key())

    def x5chain(self) -> list[bytes]:
        """The issuer certificate then the intermediates, DER."""
        return [der(self.issuer), *(der(c) for c in self.intermediates)]


# Validity of the vector PKIs.
ROOT_NOT_BEFORE = _utc(2026, 1, 1)
ROOT_NOT_AFTER = _utc(2036, 1, 1)
ISSUER_NOT_BEFORE = _utc(2026, 1, 1)
ISSUER_NOT_AFTER = _utc(2029, 1, 1)


def _root(name: str, alg: CoseAlg, serial: int) -> tuple[PrivateKey, x509.Certificate]:
    key = private_key_for(name, alg)
    spec = CertSpec(name, alg, serial, ROOT_NOT_BEFORE, ROOT_NOT_AFTER, ca=True, path_length=1)
    return key, _certificate(spec, key, key, None)


def _issued(
    spec: CertSpec, parent_key: PrivateKey, parent: x509.Certificate
) -> tuple[PrivateKey, x509.Certificate]:
    key = private_key_for(spec.name, spec.alg)
    return key, _certificate(spec, key, parent_key, parent.subject)


def make_pki(name: str, alg: CoseAlg, serial: int) -> Pki:
    """Root ``name root`` and issuer ``name issuer``, both on the curve of ``alg``."""
    root_key, root = _root(f"{name} root", alg, serial)
    spec = CertSpec(f"{name} issuer", alg, serial + 1, ISSUER_NOT_BEFORE, ISSUER_NOT_AFTER)
    issuer_key, issuer = _issued(spec, root_key, root)
    return Pki(alg, root_key, root, issuer_key, issuer)


# --- the card ------------------------------------------------------------------------

#: ``spec/examples/family5.json``, kept here as data so that the vectors do not change
#: when the example file is edited.
FAMILY5: dict[str, Any] = {
    "nir": "1 78 04 75 056 123 27",
    "organisme": "01 751 0001",
    "serial": 7511000042,
    "issued": "2026-11-01",
    "beneficiaries": [
        {
            "family_name": "MARTIN",
            "given_names": ["Pierre", "Louis"],
            "birth_date": "1978-04-12",
            "qualite": "assure",
            "amo": [{"start": "2020-01-01", "end": None}],
            "amc": {
                "organisation": "75500017",
                "contract": "MUT-2026-0042",
                "start": "2026-01-01",
                "end": "2026-12-31",
            },
            "ins": {
                "matricule": "1 78 04 75 056 123 27",
                "oid": "1.2.250.1.213.1.4.8",
                "birth_name": "MARTIN",
                "birth_given_names": ["Pierre", "Louis"],
                "sex": "M",
                "birth_place": "75056",
            },
        },
        {
            "family_name": "MARTIN",
            "given_names": ["Claire"],
            "birth_date": "1982-06-03",
            "qualite": "conjoint",
            "amo": [{"start": "2020-01-01", "end": None}],
            "exonerations": [{"code": "ald", "start": "2024-03-01", "end": "2029-02-28"}],
            "nir": "2 82 06 69 123 045 80",
            "ins": {
                "matricule": "2 82 06 69 123 045 80",
                "oid": "1.2.250.1.213.1.4.8",
                "birth_name": "LEROY",
                "birth_given_names": ["Claire", "Anne"],
                "sex": "F",
                "birth_place": "69123",
            },
        },
        {
            "family_name": "MARTIN",
            "given_names": ["Léa"],
            "birth_date": "2013-04-21",
            "birth_rank": 1,
            "qualite": "enfant",
            "amo": [{"start": "2013-04-21", "end": None}],
            "nir": "2 13 04 75 056 124 57",
            "ins": {
                "matricule": "2 13 04 75 056 124 57",
                "oid": "1.2.250.1.213.1.4.8",
                "birth_name": "MARTIN",
                "birth_given_names": ["Léa"],
                "sex": "F",
                "birth_place": "75056",
            },
        },
        {
            "family_name": "MARTIN",
            "given_names": ["Hugo"],
            "birth_date": "2013-04-21",
            "birth_rank": 2,
            "qualite": "enfant",
            "amo": [{"start": "2013-04-21", "end": None}],
            "nir": "1 13 04 75 056 125 09",
            "ins": {
                "matricule": "1 13 04 75 056 125 09",
                "oid": "1.2.250.1.213.1.4.8",
                "birth_name": "MARTIN",
                "birth_given_names": ["Hugo"],
                "sex": "M",
                "birth_place": "75056",
            },
        },
        {
            "family_name": "MARTIN",
            "given_names": ["Inès"],
            "birth_date": "2016-00-00",
            "qualite": "enfant",
            "amo": [{"start": "2019-09-01", "end": None}],
            "css": {"start": "2026-01-01", "end": "2026-12-31"},
            "ins": {
                "matricule": "8 16 50 99 350 012 11",
                "oid": "1.2.250.1.213.1.4.9",
                "birth_name": "MARTIN",
                "birth_given_names": ["Inès"],
                "sex": "F",
                "birth_place": "99350",
            },
        },
    ],
}

#: Issuance instant of every credential: 2026-11-01T00:00:00Z.
ISSUED_AT = 1793491200
#: Credential validity.
VALID_DAYS = 365
CREDENTIAL_EXP = ISSUED_AT + VALID_DAYS * 86_400
#: Usual presentation instant: 2026-11-03T09:00:00Z.
SHOWN_AT = ISSUED_AT + 2 * 86_400 + 9 * 3_600


class Material:
    """Every key, certificate and fixture the vectors use, built once."""

    def __init__(self) -> None:
        self.card = Card.from_json(FAMILY5)
        self.pki: dict[str, Pki] = {
            "es256": make_pki("ES256", CoseAlg.ES256, 0x1000),
            "es384": make_pki("ES384", CoseAlg.ES384, 0x2000),
            "eddsa": make_pki("EdDSA", CoseAlg.EDDSA, 0x3000),
        }
        self.pki["es256-intermediate"] = self._with_intermediate()
        self.device = SoftwareDeviceKey(ec_private_key("device", ec.SECP256R1()))
        self.other_device = SoftwareDeviceKey(ec_private_key("device-other", ec.SECP256R1()))
        self.raw: dict[str, tuple[bytes, PrivateKey, CoseAlg]] = {
            "raw-es256": (b"raw-es256", private_key_for("raw-es256", CoseAlg.ES256), CoseAlg.ES256),
            "raw-es384": (b"raw-es384", private_key_for("raw-es384", CoseAlg.ES384), CoseAlg.ES384),
            "raw-eddsa": (b"raw-eddsa", private_key_for("raw-eddsa", CoseAlg.EDDSA), CoseAlg.EDDSA),
            "tl-authority": (
                b"tl-authority-1",
                private_key_for("tl-authority", CoseAlg.ES256),
                CoseAlg.ES256,
            ),
            "tl-authority-ed": (
                b"tl-authority-2",
                private_key_for("tl-authority-ed", CoseAlg.EDDSA),
                CoseAlg.EDDSA,
            ),
        }
        self.other_root_key, self.other_root = _root("Untrusted root", CoseAlg.ES256, 0x9000)

    def _with_intermediate(self) -> Pki:
        base = self.pki["es256"]
        int_spec = CertSpec(
            "ES256 intermediate",
            CoseAlg.ES256,
            0x1100,
            ISSUER_NOT_BEFORE,
            ISSUER_NOT_AFTER,
            ca=True,
            path_length=0,
        )
        int_key, intermediate = _issued(int_spec, base.root_key, base.root)
        leaf_spec = CertSpec(
            "ES256 issuer via intermediate",
            CoseAlg.ES256,
            0x1101,
            ISSUER_NOT_BEFORE,
            ISSUER_NOT_AFTER,
        )
        leaf_key, leaf = _issued(leaf_spec, int_key, intermediate)
        return Pki(CoseAlg.ES256, base.root_key, base.root, leaf_key, leaf, (intermediate,))

    def variant_issuer(self, name: str, serial: int, **changes: Any) -> Pki:
        """An ES256 issuer certificate under the ES256 root, with profile changes."""
        base = self.pki["es256"]
        spec = CertSpec(
            name,
            CoseAlg.ES256,
            serial,
            changes.pop("not_before", ISSUER_NOT_BEFORE),
            changes.pop("not_after", ISSUER_NOT_AFTER),
            **changes,
        )
        key, cert = _issued(spec, base.root_key, base.root)
        return Pki(CoseAlg.ES256, base.root_key, base.root, key, cert)

    def chained(
        self,
        name: str,
        serial: int,
        base: str = "es256",
        *,
        root_path_length: int | None = None,
        **changes: Any,
    ) -> Pki:
        """An issuer under an intermediate CA (with ``changes``) under the root of
        ``base``, or under a new root of that algorithm when ``root_path_length`` is
        given (serials ``serial``, ``serial + 1``, ``serial + 2``)."""
        pki = self.pki[base]
        root_key, root = pki.root_key, pki.root
        if root_path_length is not None:
            root_key = private_key_for(f"{name} root", pki.alg)
            root_spec = CertSpec(
                f"{name} root",
                pki.alg,
                serial + 2,
                ROOT_NOT_BEFORE,
                ROOT_NOT_AFTER,
                ca=True,
                path_length=root_path_length,
            )
            root = _certificate(root_spec, root_key, root_key, None)
        int_spec = CertSpec(
            f"{name} intermediate",
            pki.alg,
            serial,
            changes.pop("not_before", ISSUER_NOT_BEFORE),
            changes.pop("not_after", ISSUER_NOT_AFTER),
            ca=True,
            path_length=0,
            **changes,
        )
        int_key, intermediate = _issued(int_spec, root_key, root)
        leaf_spec = CertSpec(
            f"{name} issuer", pki.alg, serial + 1, ISSUER_NOT_BEFORE, ISSUER_NOT_AFTER
        )
        leaf_key, leaf = _issued(leaf_spec, int_key, intermediate)
        return Pki(pki.alg, root_key, root, leaf_key, leaf, (intermediate,))

    def untrusted_issuer(self) -> Pki:
        """An ES256 issuer certificate under a root no verifier trusts."""
        spec = CertSpec(
            "Issuer under an untrusted root",
            CoseAlg.ES256,
            0x9001,
            ISSUER_NOT_BEFORE,
            ISSUER_NOT_AFTER,
        )
        key, cert = _issued(spec, self.other_root_key, self.other_root)
        return Pki(CoseAlg.ES256, self.other_root_key, self.other_root, key, cert)

    def raw_signer(self, name: str) -> tuple[bytes, SoftwareSigner]:
        """(kid, signer) of a raw (certificate-less) key."""
        kid, key, alg = self.raw[name]
        return kid, SoftwareSigner(key, alg)

    def raw_cose_key(self, name: str) -> CoseKey:
        """The public COSE_Key of a raw key."""
        _, key, _ = self.raw[name]
        return CoseKey.from_public_key(key.public_key())


def cose_key_hex(key: CoseKey) -> str:
    """Deterministic encoding of a COSE_Key, hex."""
    return _cbor.encode(key.to_map()).hex()
