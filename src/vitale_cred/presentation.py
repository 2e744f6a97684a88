"""Presentations: what the phone shows (QR) or answers (NFC), signed by the device key.

A presentation is a tagged COSE_Sign1 signed with the device key bound in the
credential's ``cnf``; protected header ``{alg: ES256}``; payload
(``spec/presentation.md`` section 2)::

    { 1: credential (bstr, the issuer-signed COSE_Sign1 as presented),
      2: iat, ? 3: ttl (seconds, omitted when 60; exp = iat + ttl),
      4: nonce (12 random bytes),
      ? 5: audience (bstr, a verifier challenge or identifier),
      ? 6: transcript (bstr, SHA-256 of the NFC session transcript) }

Only one beneficiary's credential is included, so the other dependants of the card
are never disclosed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from vitale_cred._schema import labelled_map
from vitale_cred.clock import Clock
from vitale_cred.credential import MAX_CREDENTIAL_BYTES, decode_claims, strip_x5chain
from vitale_cred.device import DeviceSigner, Rng
from vitale_cred.errors import (
    DeviceSignatureInvalid,
    Expired,
    InvalidArgument,
    NotYetValid,
    SchemaError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.qrtext import encode_qr_text
from vitale_cred.registry import PresentationLabel, numbers

__all__ = [
    "DEFAULT_TTL",
    "MAX_AUDIENCE_BYTES",
    "MAX_PRESENTATION_BYTES",
    "MAX_TTL",
    "NONCE_LENGTH",
    "PresentationPayload",
    "decode_presentation_payload",
    "present",
    "present_qr",
]

#: Default lifetime of a presentation token (seconds).
DEFAULT_TTL = 60
#: Hard cap on a token's lifetime; a verifier policy may lower it, never raise it.
MAX_TTL = 300
#: Largest presentation accepted (bytes).
MAX_PRESENTATION_BYTES = MAX_CREDENTIAL_BYTES + 256
#: Largest audience / challenge value.
MAX_AUDIENCE_BYTES = 64
TRANSCRIPT_HASH_LENGTH = 32
#: Presentation nonce length: 96 random bits. The replay key is the holder's key and
#: the nonce, so only one holder's tokens could ever collide, with probability below
#: 2^-60 after 2^18 presentations (spec/presentation.md section 3.2).
NONCE_LENGTH = 12

# The labels as the decoder reads them (registry.Numbers says why).
_P = numbers(PresentationLabel)
_LABEL_SET = frozenset(PresentationLabel)
_REQUIRED_SET = frozenset(
    {
        PresentationLabel.CREDENTIAL,
        PresentationLabel.IAT,
        PresentationLabel.NONCE,
    }
)


@dataclass(frozen=True, slots=True)
class PresentationPayload:
    """The decoded payload of a presentation (nothing verified yet)."""

    credential: bytes
    iat: int
    ttl: int
    nonce: bytes
    audience: bytes | None = None
    transcript: bytes | None = None

    def to_wire(self) -> dict[int, Any]:
        out: dict[int, Any] = {
            PresentationLabel.CREDENTIAL: self.credential,
            PresentationLabel.IAT: self.iat,
            PresentationLabel.NONCE: self.nonce,
        }
        if self.ttl != DEFAULT_TTL:
            out[PresentationLabel.TTL] = self.ttl
        if self.audience is not None:
            out[PresentationLabel.AUDIENCE] = self.audience
        if self.transcript is not None:
            out[PresentationLabel.TRANSCRIPT] = self.transcript
        return out

    @property
    def exp(self) -> int:
        """Expiry time: ``iat + ttl``."""
        return self.iat + self.ttl


# The QR layout: {1: credential, 2: iat (4-byte head), 4: nonce (12 bytes)}.
_QR_IAT = b"\x02\x1a"
_QR_NONCE = b"\x04\x4c"


def _qr_layout(payload: bytes) -> PresentationPayload | None:
    """The payload of the usual QR layout read in place, or None for any other bytes.

    Those bytes are a deterministic map that every check of
    :func:`decode_presentation_payload` accepts (a credential of 24 .. 65 535 bytes
    under a shortest head, a 32-bit ``iat`` under a shortest head, a 12-byte nonce, no
    ``ttl``); anything else goes through the strict decoder, which names the defect.
    """
    # 48 bytes: the two heads, the shortest credential (24), the iat and nonce fields.
    if len(payload) < 48 or payload[:2] != b"\xa3\x01":
        return None
    head = payload[2:3]
    if head == b"\x58":
        length, start = payload[3], 4
        if length < 24:
            return None
    elif head == b"\x59":
        length, start = int.from_bytes(payload[3:5], "big"), 5
        if length < 0x100:
            return None
    else:
        return None
    end = start + length
    if (
        len(payload) != end + 20
        or payload[end : end + 2] != _QR_IAT
        or payload[end + 6 : end + 8] != _QR_NONCE
    ):
        return None
    iat = int.from_bytes(payload[end + 2 : end + 6], "big")
    if iat < 0x1_0000:
        return None
    return PresentationPayload(payload[start:end], iat, DEFAULT_TTL, payload[end + 8 :])


def decode_presentation_payload(payload: bytes) -> PresentationPayload:
    """Parse a presentation payload strictly."""
    if type(payload) is bytes and len(payload) <= MAX_PRESENTATION_BYTES:
        fast = _qr_layout(payload)
        if fast is not None:
            return fast
    value = _cbor.decode(payload, max_size=MAX_PRESENTATION_BYTES, max_depth=2)
    labelled_map(
        value,
        "presentation payload",
        known=_LABEL_SET,
        required=_REQUIRED_SET,
        labels=PresentationLabel,
    )
    credential = value[_P.CREDENTIAL]
    iat = value[_P.IAT]
    ttl = value.get(_P.TTL, DEFAULT_TTL)
    nonce = value[_P.NONCE]
    audience = value.get(_P.AUDIENCE)
    transcript = value.get(_P.TRANSCRIPT)
    has_audience = _P.AUDIENCE in value
    has_transcript = _P.TRANSCRIPT in value
    if not isinstance(credential, bytes):
        raise SchemaError("credential(1) must be a byte string")
    if type(iat) is not int or not 0 <= iat < 2**40:
        raise SchemaError("iat(2) must be an unsigned integer time")
    if type(ttl) is not int or not 1 <= ttl <= 0xFFFF:
        raise SchemaError("ttl(3) must be an integer 1..65535")
    if ttl == DEFAULT_TTL and _P.TTL in value:
        # The default is never written: one presentation, one encoding.
        raise SchemaError(f"ttl(3) equal to its default {DEFAULT_TTL} must be omitted")
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_LENGTH:
        raise SchemaError(f"nonce(4) must be {NONCE_LENGTH} bytes")
    if has_audience and (
        not isinstance(audience, bytes) or not 1 <= len(audience) <= MAX_AUDIENCE_BYTES
    ):
        raise SchemaError(f"audience(5) must be 1..{MAX_AUDIENCE_BYTES} bytes")
    if has_transcript and (
        not isinstance(transcript, bytes) or len(transcript) != TRANSCRIPT_HASH_LENGTH
    ):
        raise SchemaError(f"transcript(6) must be {TRANSCRIPT_HASH_LENGTH} bytes")
    return PresentationPayload(credential, iat, ttl, nonce, audience, transcript)


def _nonce(rng: Rng) -> bytes:
    nonce = rng(NONCE_LENGTH)
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_LENGTH:
        raise InvalidArgument(f"rng must return {NONCE_LENGTH} bytes")
    return nonce


def _check_presentable(credential: bytes, device: DeviceSigner, now: int) -> None:
    """Refuse, with the verifier's code, what every verifier would refuse.

    The holder's own credential, decoded strictly: bound to ``device`` (else the
    device signature could never verify, ``binding.device_signature_invalid``) and
    valid at ``now`` (``validity.not_yet_valid``, ``validity.expired``, without the
    verifiers' skew: a phone does not show what is already expired).
    """
    claims = decode_claims(cose.decode_sign1(credential, max_size=MAX_CREDENTIAL_BYTES).payload)
    bound = claims.device_key
    public = device.public_key().public_numbers()
    parity = bool(public.y & 1)
    if bound.x != public.x.to_bytes(32, "big") or bound.y not in (
        parity,
        public.y.to_bytes(32, "big"),
    ):
        raise DeviceSignatureInvalid("the credential is bound to another device key")
    if now < claims.iat or (claims.nbf is not None and now < claims.nbf):
        raise NotYetValid("the credential is not valid yet")
    if now > claims.exp:
        raise Expired("the credential has expired: ask the fund for a new one")


def present(
    credential: bytes,
    device: DeviceSigner,
    *,
    clock: Clock,
    ttl: int = DEFAULT_TTL,
    audience: bytes | None = None,
    transcript: bytes | None = None,
    rng: Rng = os.urandom,
    compact: bool = True,
) -> bytes:
    """Sign a presentation of one beneficiary's ``credential`` with the device key.

    ``compact`` strips the issuer certificate from the credential (the verifier
    then resolves the issuer by ``kid``), which keeps QR codes small.
    """
    if type(ttl) is not int or not 1 <= ttl <= MAX_TTL:
        raise InvalidArgument(f"ttl must be 1..{MAX_TTL} seconds")
    if audience is not None and not 1 <= len(audience) <= MAX_AUDIENCE_BYTES:
        raise InvalidArgument(f"audience must be 1..{MAX_AUDIENCE_BYTES} bytes")
    if transcript is not None and len(transcript) != TRANSCRIPT_HASH_LENGTH:
        raise InvalidArgument(f"transcript hash must be {TRANSCRIPT_HASH_LENGTH} bytes")
    now = clock.now()
    _check_presentable(credential, device, now)
    if compact:
        credential = strip_x5chain(credential)
    payload = PresentationPayload(
        credential=credential,
        iat=now,
        ttl=ttl,
        nonce=_nonce(rng),
        audience=audience,
        transcript=transcript,
    )
    return cose.sign1(_cbor.encode(payload.to_wire()), device)


def present_qr(
    credential: bytes,
    device: DeviceSigner,
    *,
    clock: Clock,
    ttl: int = DEFAULT_TTL,
    audience: bytes | None = None,
    rng: Rng = os.urandom,
    compress: bool | None = None,
) -> str:
    """A presentation as QR text (``VC1:`` + Base45), ready to render."""
    token = present(credential, device, clock=clock, ttl=ttl, audience=audience, rng=rng)
    return encode_qr_text(token, compress=compress)
