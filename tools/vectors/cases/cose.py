"""COSE_Sign1 vectors (spec/verification.md sections 2.1 and 2.2), on credentials."""

from __future__ import annotations

from typing import Any

from tools.vectors._build import (
    CaseList,
    Signed,
    claims_wire,
    credential_fields,
    credential_intermediate,
    device_keys,
    issue,
    nonce_for,
    pki_keys,
    pki_trust,
    policy_json,
    present,
    presentation_intermediate,
    sha256_hex,
    valid,
)
from tools.vectors._build import invalid as _invalid
from tools.vectors._material import SHOWN_AT, Material, Pki
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import sig_structure
from vitale_cred.registry import CoseAlg, CoseHeader, CoseTag

AREA = "cose"
DESCRIPTION = (
    "COSE_Sign1 decoding and signature verification (verification.md sections 2.1 and "
    "2.2), exercised on issuer-signed credentials verified on their own, and on "
    "presentations; every Sig_structure is given."
)

_DECODE = "verification.md#2.1"
_SIGNATURE = "verification.md#2.2"


def _assemble(items: list[Any], *, tag: int | None = CoseTag.COSE_SIGN1) -> bytes:
    return _cbor.encode(items if tag is None else _cbor.Tagged(tag, items))


def _parts(signed: Signed) -> list[Any]:
    return [signed.protected, {}, signed.payload, signed.signature]


def build(mat: Material) -> CaseList:
    """The COSE cases."""
    cases = CaseList(AREA)
    pki = mat.pki["es256"]
    view = mat.card.view(0)
    claims = claims_wire(mat, 0)
    good = issue(pki, claims)

    def add(
        case_id: str,
        section: str,
        description: str,
        data: bytes,
        code: str | None,
        *,
        signed: Signed | None = None,
        used: Pki = pki,
        step: str | None = None,
        producer: bool = True,
    ) -> None:
        expected = (
            valid(credential_fields(view, issuer_kid=used.kid)) if code is None else _invalid(code)
        )
        intermediate: dict[str, Any] = {}
        if signed is not None:
            intermediate = credential_intermediate(signed)
            intermediate["credential"] = None  # the input carries it
            intermediate["credential_sha256"] = sha256_hex(data)
        cases.add(
            case_id,
            section,
            description,
            "verify_credential",
            expected,
            input={"credential": data.hex()},
            at=SHOWN_AT,
            trust=pki_trust(used),
            policy=policy_json(),
            keys={**pki_keys(used), **device_keys(mat.device)},
            intermediate=intermediate,
            step=step,
            # Receivers accept more than producers emit (encoding.md section 6): only a
            # producer's encoding is marked for the CDDL.
            cddl=[("input.credential", "credential")] if producer and code is None else [],
        )

    # --- valid, one per algorithm --------------------------------------------------------
    for name, description in (
        ("es256", "ES256 (-7): P-256, SHA-256, r || s of 64 bytes"),
        ("es384", "ES384 (-35): P-384, SHA-384, r || s of 96 bytes"),
        ("eddsa", "EdDSA (-8): Ed25519, 64-byte signature"),
    ):
        used = mat.pki[name]
        signed = issue(used, claims)
        add(
            f"valid-{name}",
            _SIGNATURE,
            f"a compact credential signed with {description}",
            signed.data,
            None,
            signed=signed,
            used=used,
        )

    # --- decoding (section 2.1) ------------------------------------------------------------
    parts = _parts(good)
    add(
        "untagged",
        _DECODE,
        "COSE_Sign1 without tag 18",
        _assemble(parts, tag=None),
        "cose.malformed",
    )
    add(
        "tag-cwt",
        _DECODE,
        "tag 61 (CWT) around tag 18",
        _cbor.encode(_cbor.Tagged(CoseTag.CWT, _cbor.Tagged(CoseTag.COSE_SIGN1, parts))),
        "cbor.tag_not_allowed",
    )
    add(
        "trailing-byte",
        _DECODE,
        "a byte after the COSE_Sign1",
        good.data + b"\x00",
        "cbor.trailing_bytes",
    )
    add(
        "array-of-3",
        _DECODE,
        "an array of 3 items (no signature)",
        _assemble(parts[:3]),
        "cose.malformed",
    )
    add("array-of-5", _DECODE, "an array of 5 items", _assemble([*parts, b""]), "cose.malformed")
    add(
        "protected-not-bstr",
        _DECODE,
        "the protected header as a map, not a byte string",
        _assemble([{1: -7, 4: pki.kid}, {}, good.payload, good.signature]),
        "cose.malformed",
    )
    add(
        "unprotected-not-map",
        _DECODE,
        "the unprotected header as an array",
        _assemble([good.protected, [], good.payload, good.signature]),
        "cose.malformed",
    )
    add(
        "detached-payload",
        _DECODE,
        "payload null (detached): the CBOR profile refuses null before any COSE check",
        _assemble([good.protected, {}, None, good.signature]),
        "cbor.type_not_allowed",
    )
    add(
        "payload-not-bstr",
        _DECODE,
        "payload as a map, not a byte string",
        _assemble([good.protected, {}, claims, good.signature]),
        "cose.malformed",
    )
    add(
        "signature-not-bstr",
        _DECODE,
        "signature as a text string",
        _assemble([good.protected, {}, good.payload, "signature"]),
        "cose.malformed",
    )
    add(
        "protected-array",
        _DECODE,
        "the protected byte string holds an array",
        _assemble([_cbor.encode([1, -7]), {}, good.payload, good.signature]),
        "cose.malformed",
    )
    unsorted = bytes.fromhex("a2044801020304050607080126")  # {4: kid, 1: -7}
    add(
        "protected-non-deterministic",
        _DECODE,
        "the protected header map with its keys out of order: {4: kid, 1: -7}",
        _assemble([unsorted, {}, good.payload, good.signature]),
        "cbor.non_deterministic",
    )

    def signed_with(
        protected: dict[Any, Any] | bytes,
        unprotected: dict[Any, Any] | None = None,
        *,
        used: Pki = pki,
        external_aad: bytes = b"",
    ) -> Signed:
        protected_bytes = protected if isinstance(protected, bytes) else _cbor.encode(protected)
        tbs = sig_structure(protected_bytes, good.payload, external_aad)
        signature = used.signer().sign(tbs)
        data = _assemble([protected_bytes, unprotected or {}, good.payload, signature])
        return Signed(data, protected_bytes, good.payload, signature, tbs)

    alg, kid = CoseHeader.ALG, CoseHeader.KID
    for case_id, description, protected, unprotected, code in (
        ("header-conflict", "kid(4) in both headers", {alg: -7, kid: pki.kid}, {kid: pki.kid},
         "cose.header_conflict"),
        ("crit-unprotected", "crit(2) in the unprotected header", {alg: -7, kid: pki.kid},
         {CoseHeader.CRIT: [kid]}, "cose.unknown_critical"),
        ("crit-empty", "crit(2) is an empty array", {alg: -7, CoseHeader.CRIT: [], kid: pki.kid},
         None, "cose.unknown_critical"),
        ("crit-unknown", "crit(2) names label 99, which is not understood",
         {alg: -7, CoseHeader.CRIT: [99], kid: pki.kid, 99: 0}, None, "cose.unknown_critical"),
        ("crit-absent", "crit(2) names typ(16), understood but absent from the protected header",
         {alg: -7, CoseHeader.CRIT: [16], kid: pki.kid}, None, "cose.unknown_critical"),
        ("alg-bstr", "alg(1) is a byte string", {alg: b"\xf9", kid: pki.kid}, None,
         "cose.malformed"),
        ("kid-int", "kid(4) is an integer", {alg: -7, kid: 1}, None, "cose.malformed"),
        ("alg-unprotected", "alg(1) only in the unprotected header", {kid: pki.kid}, {alg: -7},
         "cose.alg_missing"),
        # Booleans are not integers, and null is never an absent label (encoding.md 2.3).
        ("alg-true", "alg(1) is true, not the integer 1", {alg: True, kid: pki.kid}, None,
         "cose.malformed"),
        ("kid-false", "kid(4) is false", {alg: -7, kid: False}, None, "cose.malformed"),
        ("crit-true", "crit(2) is [true], which must not be read as naming alg(1)",
         {alg: -7, CoseHeader.CRIT: [True], kid: pki.kid}, None, "cose.unknown_critical"),
        ("kid-null", "kid(4) null in the protected header", {alg: -7, kid: None}, None,
         "cbor.type_not_allowed"),
        ("crit-null", "crit(2) null in the protected header",
         {alg: -7, CoseHeader.CRIT: None, kid: pki.kid}, None, "cbor.type_not_allowed"),
        ("unprotected-null", "x5chain(33) null in the unprotected header",
         {alg: -7, kid: pki.kid}, {CoseHeader.X5CHAIN: None}, "cbor.type_not_allowed"),
        ("x5chain-true", "x5chain(33) is true, neither a certificate nor an array",
         {alg: -7, kid: pki.kid}, {CoseHeader.X5CHAIN: True}, "trust.chain_invalid"),
    ):  # fmt: skip
        signed = signed_with(protected, unprotected)
        add(
            case_id,
            _DECODE,
            description,
            signed.data,
            code,
            signed=signed,
            step="decode" if code == "cose.alg_missing" else None,
        )
    crit_ok = signed_with({alg: -7, CoseHeader.CRIT: [kid], kid: pki.kid})
    add(
        "crit-understood",
        _DECODE,
        "crit(2) names kid(4), understood and present: accepted",
        crit_ok.data,
        None,
        signed=crit_ok,
        producer=False,
    )
    kid_unprotected = signed_with({alg: -7}, {kid: pki.kid})
    add(
        "kid-unprotected",
        _DECODE,
        "kid(4) in the unprotected header only: receivers accept it (encoding.md section 6)",
        kid_unprotected.data,
        None,
        signed=kid_unprotected,
        producer=False,
    )
    ignored = signed_with({alg: -7, kid: pki.kid, 99: "ignored"}, {"note": "ignored"})
    add(
        "unknown-headers-ignored",
        _DECODE,
        "header labels nobody understands, named by no crit(2): ignored",
        ignored.data,
        None,
        signed=ignored,
        producer=False,
    )

    # Size cap: a credential of exactly 8 192 bytes, then 8 193 (unprotected padding).
    base = len(good.data)
    sizes: tuple[tuple[int, str | None], ...] = ((8192, None), (8193, "cbor.too_large"))
    for size, verdict in sizes:
        pad = size - base - 7  # {} (1 byte) becomes {"pad": bstr}: 1 + 4 + 3 + pad bytes
        data = _assemble([good.protected, {"pad": bytes(pad)}, good.payload, good.signature])
        assert len(data) == size, (len(data), size)
        add(
            f"size-{size}",
            "encoding.md#2.5",
            f"a credential of {size} bytes (unprotected padding); the cap is 8 192",
            data,
            verdict,
            signed=good,
            producer=False,
        )

    # --- signature (section 2.2) ------------------------------------------------------------
    no_alg = signed_with({kid: pki.kid})
    add(
        "alg-missing",
        _SIGNATURE,
        "no alg(1) at all: the protected header is {kid}",
        no_alg.data,
        "cose.alg_missing",
        signed=no_alg,
    )
    empty_protected = signed_with(b"", {kid: pki.kid})
    add(
        "protected-empty",
        _SIGNATURE,
        "a zero-length protected header (kid unprotected): no alg(1)",
        empty_protected.data,
        "cose.alg_missing",
        signed=empty_protected,
    )
    empty_map = signed_with(b"\xa0", {kid: pki.kid})
    add(
        "protected-empty-map",
        _SIGNATURE,
        "a protected header encoding an empty map (kid unprotected): no alg(1)",
        empty_map.data,
        "cose.alg_missing",
        signed=empty_map,
    )
    for case_id, description, alg_value, code in (
        ("alg-es512", "alg ES512 (-36): not in the allow-list", int(CoseAlg.ES512),
         "cose.alg_not_allowed"),
        ("alg-hmac", "alg HMAC 256/256 (5): never accepted", int(CoseAlg.HMAC_256_256),
         "cose.alg_not_allowed"),
        ("alg-text", 'alg "ES256" as text: not a registered value', "ES256",
         "cose.alg_not_allowed"),
        ("alg-es384-on-p256", "alg ES384 (-35) with a P-256 issuer key", int(CoseAlg.ES384),
         "cose.alg_mismatch"),
        ("alg-eddsa-on-p256", "alg EdDSA (-8) with a P-256 issuer key", int(CoseAlg.EDDSA),
         "cose.alg_mismatch"),
    ):  # fmt: skip
        signed = signed_with({alg: alg_value, kid: pki.kid})
        add(case_id, _SIGNATURE, description, signed.data, code, signed=signed)

    flipped = bytearray(good.signature)
    flipped[10] ^= 0x01
    for case_id, description, signature in (
        ("signature-bit-flip", "one bit of r flipped", bytes(flipped)),
        ("signature-63-bytes", "a 63-byte ES256 signature", good.signature[:63]),
        ("signature-empty", "a zero-length signature", b""),
        ("signature-der", "the signature DER-encoded instead of r || s",
         _der(good.signature)),
        ("signature-zero", "r = s = 0", bytes(64)),
    ):  # fmt: skip
        data = _assemble([good.protected, {}, good.payload, signature])
        add(case_id, _SIGNATURE, description, data, "cose.bad_signature", signed=good)
    aad = signed_with({alg: -7, kid: pki.kid}, external_aad=b"vitale")
    add(
        "external-aad",
        _SIGNATURE,
        'signed with external AAD "vitale"; verifiers use the empty AAD',
        aad.data,
        "cose.bad_signature",
        signed=aad,
    )
    other = issue(pki, claims_wire(mat, 1))
    swapped = _assemble([good.protected, {}, good.payload, other.signature])
    add(
        "signature-of-other-credential",
        _SIGNATURE,
        "the valid signature of another credential by the same issuer",
        swapped,
        "cose.bad_signature",
        signed=good,
    )
    for name, description in (
        ("es384", "a 64-byte ES384 signature (ES384 needs 96)"),
        ("eddsa", "an Ed25519 signature with one bit flipped"),
    ):
        used = mat.pki[name]
        signed = issue(used, claims)
        signature = signed.signature[:64] if name == "es384" else _flip(signed.signature)
        data = _assemble([signed.protected, {}, signed.payload, signature])
        add(
            f"bad-signature-{name}",
            _SIGNATURE,
            description,
            data,
            "cose.bad_signature",
            signed=signed,
            used=used,
        )

    # --- the same rules on a presentation ----------------------------------------------------
    token = present(good.data, mat.device, iat=SHOWN_AT, nonce=nonce_for("cose-presentation"))
    token_parts = [token.protected, {}, token.payload, token.signature]
    for case_id, description, data, code in (
        ("presentation-untagged", "a presentation without tag 18",
         _assemble(token_parts, tag=None), "cose.malformed"),
        ("presentation-detached", "a presentation with a null payload (refused by the CBOR "
         "profile)", _assemble([token.protected, {}, None, token.signature]),
         "cbor.type_not_allowed"),
        ("presentation-header-conflict", "a presentation with alg(1) in both headers",
         _assemble([token.protected, {1: -7}, token.payload, token.signature]),
         "cose.header_conflict"),
    ):  # fmt: skip
        cases.add(
            case_id,
            _DECODE,
            description,
            "verify_presentation",
            _invalid(code),
            input={"presentation": data.hex(), "transcript": None},
            at=SHOWN_AT,
            trust=pki_trust(pki),
            policy=policy_json(),
            keys={**pki_keys(pki), **device_keys(mat.device)},
            intermediate=presentation_intermediate(token, good),
        )
    return cases


def _flip(signature: bytes) -> bytes:
    out = bytearray(signature)
    out[0] ^= 0x80
    return bytes(out)


def _der(signature: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        encode_dss_signature,
    )

    return encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
