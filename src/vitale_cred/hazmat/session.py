"""Session cryptography of the NFC protocol (ISO/IEC 18013-5 section 9.1.1 pattern).

Know what you do here. These are the raw pieces of a tap's encryption: ephemeral
ECDH on P-256, HKDF-SHA256 with salt SHA-256(SessionTranscript) and info
``SKReader``/``SKDevice``, AES-256-GCM whose IV is an 8-byte sender identifier and a
4-byte message counter starting at 1. Nothing here checks the order of messages of
a session, a nonce or a presentation; :class:`vitale_cred.nfc.HolderSession` and
:class:`vitale_cred.nfc.ReaderSession` put them together. Use this module to build
a test, a vector or another implementation of ``spec/nfc.md`` section 6.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vitale_cred.errors import (
    InvalidArgument,
    SessionCounterExhausted,
    SessionDecryptFailed,
    SessionKeyInvalid,
)
from vitale_cred.hazmat import cbor as _cbor

__all__ = [
    "AID",
    "GCM_TAG_LENGTH",
    "HOLDER_IDENTIFIER",
    "MAX_COUNTER",
    "P256_POINT_LENGTH",
    "PROTOCOL_VERSION",
    "READER_IDENTIFIER",
    "SESSION_KEY_LENGTH",
    "Role",
    "SecureChannel",
    "SessionKeys",
    "derive_session_keys",
    "ecdh_shared_secret",
    "gcm_decrypt",
    "gcm_encrypt",
    "gcm_iv",
    "generate_ephemeral_key",
    "hkdf_sha256",
    "load_public_point",
    "public_point",
    "session_transcript",
]

# The transcript binds the application and the protocol version, hence they live here.
AID: Final = bytes.fromhex("F0564954414C4501")
"""Proprietary, unregistered AID (ISO/IEC 7816-5 category F): F0 "VITALE" 01."""
PROTOCOL_VERSION: Final = 1
GCM_TAG_LENGTH: Final = 16
SESSION_KEY_LENGTH: Final = 32
READER_IDENTIFIER: Final = bytes(8)
"""IV prefix of messages the reader encrypts (ISO/IEC 18013-5 9.1.1.5)."""
HOLDER_IDENTIFIER: Final = bytes(7) + b"\x01"
"""IV prefix of messages the holder encrypts."""
P256_POINT_LENGTH: Final = 65
MAX_COUNTER: Final = 0xFFFF_FFFF
"""Last message counter of a direction; it never wraps."""

_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SCALAR_ATTEMPTS: Final = 64
_HKDF_MAX_LENGTH: Final = 255 * 32

_Rng = Callable[[int], bytes]
"""``os.urandom`` or a seeded stand-in (the alias of :mod:`vitale_cred.device`, a layer up)."""


def generate_ephemeral_key(rng: _Rng = os.urandom) -> ec.EllipticCurvePrivateKey:
    """A P-256 key whose scalar is drawn from ``rng`` (rejection sampling).

    Drawing from the injected ``rng`` makes whole exchanges reproducible.
    """
    for _ in range(_SCALAR_ATTEMPTS):
        raw = rng(32)
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise InvalidArgument("rng must return the number of bytes asked for")
        scalar = int.from_bytes(raw, "big")
        if 1 <= scalar < _P256_ORDER:
            return ec.derive_private_key(scalar, ec.SECP256R1())
    raise InvalidArgument("rng yields no valid P-256 scalar")


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The SEC1 uncompressed point ``04 || x || y`` (65 bytes) of a P-256 key."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    if not isinstance(public.curve, ec.SECP256R1):
        raise InvalidArgument("session keys are P-256 keys")
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def load_public_point(data: object) -> ec.EllipticCurvePublicKey:
    """Load a peer's ephemeral key: exactly 65 bytes, uncompressed, on P-256.

    Compressed points are refused: one encoding, one parser.
    """
    if not isinstance(data, bytes) or len(data) != P256_POINT_LENGTH or data[0] != 0x04:
        raise SessionKeyInvalid("ephemeral key must be a 65-byte uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError as exc:
        raise SessionKeyInvalid("ephemeral key is not a point on P-256") from exc


def ecdh_shared_secret(private_key: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """ZAB: the x-coordinate of ``private_key`` times the peer's point (32 bytes)."""
    peer = load_public_point(peer_point)
    try:
        return private_key.exchange(ec.ECDH(), peer)
    except ValueError as exc:
        raise SessionKeyInvalid("ECDH failed on the peer's key") from exc


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869); ``length`` is 1..8160 bytes."""
    if isinstance(length, bool) or not isinstance(length, int):
        raise InvalidArgument("length must be an integer")
    if not 1 <= length <= _HKDF_MAX_LENGTH:
        raise InvalidArgument(f"HKDF-SHA256 output length must be 1..{_HKDF_MAX_LENGTH}")
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """SKReader and SKDevice (32 bytes each)."""

    sk_reader: bytes = field(repr=False)
    sk_device: bytes = field(repr=False)


def derive_session_keys(shared_secret: bytes, transcript: bytes) -> SessionKeys:
    """SKReader/SKDevice = HKDF-SHA256(ZAB, SHA-256(transcript), "SKReader"/"SKDevice", 32).

    ``transcript`` is the encoded SessionTranscript exactly as hashed (for
    ISO/IEC 18013-5 that is the tag-24 wrapped SessionTranscriptBytes).
    """
    salt = hashlib.sha256(transcript).digest()
    return SessionKeys(
        sk_reader=hkdf_sha256(shared_secret, salt=salt, info=b"SKReader", length=32),
        sk_device=hkdf_sha256(shared_secret, salt=salt, info=b"SKDevice", length=32),
    )


def gcm_iv(identifier: bytes, counter: int) -> bytes:
    """IV = 8-byte sender identifier || 4-byte big-endian counter (1..2^32-1)."""
    if not isinstance(identifier, bytes) or len(identifier) != 8:
        raise InvalidArgument("the IV identifier is 8 bytes")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter <= MAX_COUNTER:
        raise SessionCounterExhausted(f"message counter must be 1..{MAX_COUNTER}")
    return identifier + counter.to_bytes(4, "big")


def _check_gcm_inputs(key: bytes, iv: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != SESSION_KEY_LENGTH:
        raise InvalidArgument("AES-256-GCM takes a 32-byte key")
    if not isinstance(iv, bytes) or len(iv) != 12:
        raise InvalidArgument("the profile uses 12-byte IVs")


def gcm_encrypt(key: bytes, iv: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM: ciphertext || 16-byte tag."""
    _check_gcm_inputs(key, iv)
    return AESGCM(key).encrypt(iv, plaintext, aad)


def gcm_decrypt(key: bytes, iv: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM decryption; the tag is checked in constant time by OpenSSL."""
    _check_gcm_inputs(key, iv)
    if not isinstance(data, bytes) or len(data) < GCM_TAG_LENGTH:
        raise SessionDecryptFailed("ciphertext shorter than the GCM tag")
    try:
        return AESGCM(key).decrypt(iv, data, aad)
    except InvalidTag as exc:
        raise SessionDecryptFailed("ciphertext does not authenticate") from exc


class Role(Enum):
    """Which end of the session a :class:`SecureChannel` serves."""

    READER = "reader"
    HOLDER = "holder"


class SecureChannel:
    """One end's encryption state: its own key and counter out, the peer's in.

    Counters are implicit, as in ISO/IEC 18013-5: the receiver decrypts under
    the counter it expects, so a replayed, reordered or foreign ciphertext fails
    authentication. After one failure the channel refuses everything: a peer
    gets no decryption oracle.
    """

    __slots__ = (
        "_failed",
        "_recv",
        "_recv_counter",
        "_recv_id",
        "_send",
        "_send_counter",
        "_send_id",
    )

    def __init__(self, keys: SessionKeys, role: Role) -> None:
        if role is Role.HOLDER:
            send_key, self._send_id = keys.sk_device, HOLDER_IDENTIFIER
            recv_key, self._recv_id = keys.sk_reader, READER_IDENTIFIER
        else:
            send_key, self._send_id = keys.sk_reader, READER_IDENTIFIER
            recv_key, self._recv_id = keys.sk_device, HOLDER_IDENTIFIER
        self._send = AESGCM(send_key)
        self._recv = AESGCM(recv_key)
        self._send_counter = 1
        self._recv_counter = 1
        self._failed = False

    @property
    def next_send_counter(self) -> int:
        """The counter the next :meth:`encrypt` uses."""
        return self._send_counter

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt the next outgoing message (ciphertext || tag)."""
        iv = gcm_iv(self._send_id, self._send_counter)
        self._send_counter += 1  # before encrypting: a counter is never used twice
        return self._send.encrypt(iv, plaintext, b"")

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt the next incoming message; any failure closes the channel."""
        if self._failed:
            raise SessionDecryptFailed("the session was closed by an earlier failure")
        if self._recv_counter > MAX_COUNTER:
            self._failed = True
            raise SessionDecryptFailed("the peer exhausted its message counter")
        if not isinstance(data, bytes) or len(data) < GCM_TAG_LENGTH:
            self._failed = True
            raise SessionDecryptFailed("ciphertext shorter than the GCM tag")
        iv = self._recv_id + self._recv_counter.to_bytes(4, "big")
        try:
            plaintext = self._recv.decrypt(iv, data, b"")
        except InvalidTag as exc:
            self._failed = True
            raise SessionDecryptFailed("ciphertext does not authenticate") from exc
        self._recv_counter += 1
        return plaintext


def session_transcript(fci: bytes, reader_info: bytes) -> bytes:
    """SessionTranscript = [version, AID, FCI bytes, ReaderInfo bytes] (deterministic CBOR).

    The FCI carries the holder's ephemeral key and ReaderInfo the reader's key
    and nonce, so the transcript is unique to one session; its SHA-256 is both
    the HKDF salt and the ``transcript`` the device signature covers.
    """
    return _cbor.encode([PROTOCOL_VERSION, AID, fci, reader_info])
