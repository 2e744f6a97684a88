"""Fuzz COSE_Sign1 decoding, issuer resolution and signature checks, claims and bundles.

Input: the bytes of a credential (or of anything else). Expected: only
``VerificationError`` subclasses. Property: an accepted COSE_Sign1 re-encodes to
exactly the input (the decoder keeps the received bytes and is deterministic).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["vitale_cred"]):
    from vitale_cred.credential import (
        MAX_CREDENTIAL_BYTES,
        CredentialBundle,
        decode_claims,
        strip_x5chain,
    )
    from vitale_cred.errors import VerificationError
    from vitale_cred.hazmat import cose
    from vitale_cred.trust import Usage

    import _world

WORLD = _world.build()
VERIFIER = WORLD.verifier()
call = _world.call


def _check_signature(message: cose.Sign1) -> None:
    key = WORLD.trust.resolve(message, _world.NOW, Usage.CREDENTIAL)
    message.verify(key.key, allowed_algs=WORLD.trust.allowed_algs)


def TestOneInput(data: bytes) -> None:
    message = call(VerificationError, cose.decode_sign1, data, max_size=MAX_CREDENTIAL_BYTES)
    if message is not None:
        again = cose.encode_sign1(
            message.protected_bytes, message.unprotected, message.payload, message.signature
        )
        if again != data:
            raise AssertionError(f"COSE_Sign1 re-encodes differently: {data.hex()}")
        call(VerificationError, decode_claims, message.payload)
        call(VerificationError, _check_signature, message)
        call(VerificationError, strip_x5chain, data)
    call(VerificationError, cose.decode_sign1, data, require_tag=False, deterministic=False)
    call(VerificationError, VERIFIER.verify_credential, data)
    call(VerificationError, CredentialBundle.decode, data)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
