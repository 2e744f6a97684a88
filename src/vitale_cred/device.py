"""Device keys: the holder's P-256 key, its signer protocol, proof of possession.

Phones' secure hardware (Secure Enclave, StrongBox) signs with P-256 only, so a
device key is always ES256. Anything satisfying :class:`DeviceSigner` can back a
credential: the software key here (tests, demo, CLI) or a hardware keystore.

Enrolment (``spec/credential.md`` section 4): the issuer sends a fresh nonce, the
device signs an :func:`possession_proof` over it, and the issuer embeds the key in
``cnf`` only after :func:`verify_possession` accepted the proof.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Protocol, final, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.errors import (
    BadKey,
    CoseError,
    InvalidArgument,
    ProofOfPossessionError,
    VerificationError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.registry import CoseAlg, CoseCurve, ProofLabel

__all__ = [
    "ENROLMENT_CONTEXT",
    "NONCE_LENGTH",
    "DeviceSigner",
    "ProvenDeviceKey",
    "SoftwareDeviceKey",
    "possession_proof",
    "verify_possession",
]

#: Context string signed in a proof of possession, so that no other signature made
#: by the device key (a presentation, say) can pass for one.
ENROLMENT_CONTEXT = "vitale-cred/enrol/v1"
#: Length of every nonce of the protocol (128 bits).
NONCE_LENGTH = 16
#: Seconds a proof of possession stays acceptable.
PROOF_LIFETIME = 300

Rng = Callable[[int], bytes]


@runtime_checkable
class DeviceSigner(Protocol):
    """A P-256 signing key held by the phone (ES256 only)."""

    @property
    def alg(self) -> CoseAlg:
        """Always :attr:`CoseAlg.ES256`."""
        ...

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The device public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """ES256 signature, raw ``r || s`` (64 bytes)."""
        ...


class SoftwareDeviceKey:
    """A device key in memory. Export of the private key is an explicit call."""

    __slots__ = ("_key", "_signer")

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise BadKey("a device key is a P-256 private key")
        self._key = private_key
        self._signer = cose.SoftwareSigner(private_key, CoseAlg.ES256)

    @classmethod
    def generate(cls) -> SoftwareDeviceKey:
        """A fresh P-256 key."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes) -> SoftwareDeviceKey:
        """Load an unencrypted PKCS#8 or SEC1 PEM private key."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise BadKey("not a readable unencrypted PEM private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise BadKey("a device key is a P-256 private key")
        return cls(key)

    @property
    def alg(self) -> CoseAlg:
        return CoseAlg.ES256

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    def cose_key(self) -> cose.CoseKey:
        """The public key as a (compressed) COSE_Key."""
        return device_cose_key(self._key.public_key())

    def export_private_pem(self) -> bytes:
        """PKCS#8 PEM of the private key (unencrypted): only for files the user owns."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of the public key."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:
        return "SoftwareDeviceKey(P-256)"


def device_cose_key(public_key: object) -> cose.CoseKey:
    """The COSE_Key of a device public key, compressed; refuses anything but P-256.

    The compressed point saves 31 bytes in every QR code, for about 12 µs more
    to load the key on a verifier's first sight of a credential.
    """
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise BadKey("a device key is a P-256 public key")
    return cose.CoseKey.from_public_key(public_key, compressed=True)


def load_public_pem(pem: bytes) -> cose.CoseKey:
    """A device COSE_Key from a SubjectPublicKeyInfo PEM."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise BadKey("not a readable PEM public key") from exc
    return device_cose_key(key)


@final
class ProvenDeviceKey(Sealed, producer="verify_possession() or unsafe_without_proof()"):
    """A device key the issuer may bind: possession proven, or explicitly waived.

    Sealed: only those two functions build one. ``proven`` is therefore a fact the
    issuer can log: True from :func:`verify_possession`, False from
    :meth:`unsafe_without_proof`.
    """

    __slots__ = ("key", "proven")

    key: cose.CoseKey
    proven: bool

    @classmethod
    def unsafe_without_proof(cls, key: cose.CoseKey | ec.EllipticCurvePublicKey) -> ProvenDeviceKey:
        """Bind a key whose possession was established out of band (operator tooling)."""
        public = key.public_key() if isinstance(key, cose.CoseKey) else key
        return _new_device_key(key=device_cose_key(public), proven=False)


_new_device_key = sealed_factory(ProvenDeviceKey)


def new_nonce(rng: Rng = os.urandom) -> bytes:
    """A fresh 128-bit nonce from ``rng``."""
    nonce = rng(NONCE_LENGTH)
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_LENGTH:
        raise InvalidArgument(f"rng must return {NONCE_LENGTH} bytes")
    return nonce


def possession_proof(device: DeviceSigner, nonce: bytes, now: int) -> bytes:
    """The device's proof of possession over the issuer's ``nonce`` (a COSE_Sign1)."""
    if len(nonce) != NONCE_LENGTH:
        raise InvalidArgument(f"nonce must be {NONCE_LENGTH} bytes")
    payload = _cbor.encode(
        {
            ProofLabel.CONTEXT: ENROLMENT_CONTEXT,
            ProofLabel.NONCE: nonce,
            ProofLabel.KEY: device_cose_key(device.public_key()).to_map(),
            ProofLabel.IAT: now,
        }
    )
    return cose.sign1(payload, device)


def verify_possession(proof: bytes, nonce: bytes, now: int) -> ProvenDeviceKey:
    """Check a proof of possession against the nonce the issuer sent.

    Raises :class:`ProofOfPossessionError` for any defect, with the cause chained.
    """
    try:
        message = cose.decode_sign1(proof, max_size=1024)
        claims = _cbor.decode(message.payload, max_depth=4)
        if not isinstance(claims, dict) or set(claims) != set(ProofLabel):
            raise ProofOfPossessionError("proof payload must hold exactly context, nonce, key, iat")
        if claims[ProofLabel.CONTEXT] != ENROLMENT_CONTEXT:
            raise ProofOfPossessionError("proof context is not the enrolment context")
        received = claims[ProofLabel.NONCE]
        if not isinstance(received, bytes) or not hmac.compare_digest(received, nonce):
            raise ProofOfPossessionError("proof is over another nonce")
        iat = claims[ProofLabel.IAT]
        if type(iat) is not int or not now - PROOF_LIFETIME <= iat <= now + PROOF_LIFETIME:
            raise ProofOfPossessionError("proof is stale or from the future")
        key = cose.CoseKey.from_map(claims[ProofLabel.KEY])
        if key.crv is not CoseCurve.P256:
            raise ProofOfPossessionError("a device key is a P-256 key")
        verifying = key.verifying_key()
        message.verify(verifying, allowed_algs=frozenset({CoseAlg.ES256}))
    except ProofOfPossessionError:
        raise
    except (VerificationError, CoseError) as exc:
        raise ProofOfPossessionError(f"proof of possession rejected: {exc}") from exc
    # Bound as the compressed point only, whatever form (kid, alg, y) the device sent.
    return _new_device_key(key=device_cose_key(verifying.public_key), proven=True)
