"""Forging helpers shared by the attack modules.

Every helper builds bytes the way an attacker would: from the genuine parts, by
hand where the profile forbids what is needed (tags, indefinite lengths, long
heads), and re-signed with a key the attacker is assumed to hold when the attack
needs a valid signature over malformed content (a buggy or compromised signer).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from vitale_cred.credential import Claims, decode_claims, strip_x5chain
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.nfc import HolderSession, ReaderSession, credentials_by_index
from vitale_cred.presentation import NONCE_LENGTH, PresentationPayload
from vitale_cred.registry import CoseHeader, CoseTag

from _world import NOW, World

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def expect(
    exc_type: type[VitaleCredError], code: str, call: Callable[..., Any], *args: Any, **kwargs: Any
) -> VitaleCredError:
    """Run ``call`` and require exactly ``exc_type`` (not a subclass) with ``code``."""
    with pytest.raises(exc_type) as info:
        call(*args, **kwargs)
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    assert info.value.code == code
    return info.value


# --- raw CBOR, for what the deterministic encoder refuses to write --------------------


def head(major: int, arg: int, *, width: int | None = None) -> bytes:
    """A CBOR head; ``width`` forces a (possibly non-shortest) argument size in bytes."""
    if width is None:
        width = 0 if arg < 24 else 1 if arg < 0x100 else 2 if arg < 0x10000 else 4
        if arg >= 2**32:
            width = 8
    if width == 0:
        return bytes((major << 5 | arg,))
    ai = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes((major << 5 | ai,)) + arg.to_bytes(width, "big")


def bstr(data: bytes) -> bytes:
    return head(2, len(data)) + data


def tag(number: int, item: bytes) -> bytes:
    return head(6, number) + item


def sign1_bytes(
    protected: bytes, unprotected: bytes, payload: bytes, signature: bytes, *, tagged: bool = True
) -> bytes:
    """A COSE_Sign1 from already encoded items (each argument is one CBOR item)."""
    body = b"\x84" + protected + unprotected + payload + signature
    return tag(CoseTag.COSE_SIGN1, body) if tagged else body


# --- genuine material and re-signing ---------------------------------------------------


def message(credential: bytes) -> cose.Sign1:
    return cose.decode_sign1(credential)


def claims_of(credential: bytes) -> Claims:
    return decode_claims(cose.decode_sign1(credential).payload)


def claims_map(world: World, index: int = 0) -> dict[Any, Any]:
    """The decoded claims map of the genuine credential of beneficiary ``index``."""
    return _cbor.decode(cose.decode_sign1(world.bundle.credentials[index]).payload)


def issuer_signs(world: World, payload: bytes, **kwargs: Any) -> bytes:
    """``payload`` signed by the genuine issuer key (an insider, or a buggy issuer)."""
    kwargs.setdefault("kid", world.material.kid)
    return cose.sign1(payload, world.material.signer(), **kwargs)


def resign(world: World, credential: bytes, **changes: Any) -> bytes:
    """A well-formed credential with some claims changed, signed by the issuer."""
    return world.issuer.sign_claims(dataclasses.replace(claims_of(credential), **changes))


def payload_map(
    credential: bytes,
    *,
    iat: int = NOW,
    ttl: int = 60,
    nonce: bytes = b"\x07" * NONCE_LENGTH,
    **extra: Any,
) -> dict[int, Any]:
    """A presentation payload map around ``credential`` (compact form)."""
    wire = PresentationPayload(strip_x5chain(credential), iat, ttl, nonce).to_wire()
    wire.update(extra)
    return wire


def device_signs(world: World, payload: bytes, **kwargs: Any) -> bytes:
    """``payload`` signed by the holder's device key (the holder, or malware on the phone)."""
    return cose.sign1(payload, world.device, **kwargs)


def token(world: World, index: int = 0, **fields: Any) -> bytes:
    """A genuine presentation token of beneficiary ``index`` built from parts."""
    return device_signs(world, _cbor.encode(payload_map(world.bundle.credentials[index], **fields)))


def with_parts(data: bytes, **parts: Any) -> bytes:
    """``data`` (a COSE_Sign1) with some of its four parts replaced, kept deterministic."""
    msg = cose.decode_sign1(data)
    fields = {
        "protected_bytes": msg.protected_bytes,
        "unprotected": dict(msg.unprotected),
        "payload": msg.payload,
        "signature": msg.signature,
    }
    fields.update(parts)
    return cose.encode_sign1(
        fields["protected_bytes"], fields["unprotected"], fields["payload"], fields["signature"]
    )


def without_x5chain(data: bytes) -> bytes:
    msg = cose.decode_sign1(data)
    unprotected = {k: v for k, v in msg.unprotected.items() if k != CoseHeader.X5CHAIN}
    return with_parts(data, unprotected=unprotected)


def high_s(signature: bytes) -> bytes:
    """The other valid ECDSA P-256 signature of the same message: (r, n - s)."""
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    return r + (P256_ORDER - s).to_bytes(32, "big")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- NFC endpoints over the conftest world ---------------------------------------------


def holder_for(world: World, **options: Any) -> HolderSession:
    settings: dict[str, Any] = {
        "clock": world.clock,
        "gate": lambda: True,
        "chooser": lambda hint, available: hint if hint in available else available[0],
    }
    settings.update(options)
    return HolderSession(credentials_by_index(world.bundle.credentials), world.device, **settings)


def reader_for(world: World, **options: Any) -> ReaderSession:
    verifier = options.pop("verifier", None) or world.verifier()
    return ReaderSession(verifier, **options)


def run_select(holder: HolderSession, reader: ReaderSession) -> bytes:
    """SELECT through both sides; returns the FCI response the reader accepted."""
    command = reader.next_command()
    assert command is not None
    response = holder.process(command)
    reader.feed(response)
    return response
