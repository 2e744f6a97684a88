"""Presentation vectors: QR end to end, payload decoding, device binding, freshness,
audience, transcript, replay and error precedence (spec/presentation.md,
verification.md section 2)."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tools.vectors._build import (
    CaseList,
    RawIssuer,
    Signed,
    claims_wire,
    device_keys,
    h,
    invalid,
    issue,
    nonce_for,
    pki_keys,
    pki_trust,
    policy_json,
    present,
    presentation_fields,
    presentation_intermediate,
    sign1,
    valid,
)
from tools.vectors._material import SHOWN_AT, Material, Pki, deflate_zlib, ec_private_key
from tools.vectors.cases.credential import _not_on_curve_x
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.base45 import b45encode
from vitale_cred.hazmat.qrtext import QR_PREFIX
from vitale_cred.registry import CnfLabel, CoseHeader, CoseKeyLabel, CwtClaim, PresentationLabel

AREA = "presentation"
DESCRIPTION = (
    "Device-signed presentations, mostly as QR texts: the whole verification of "
    "verification.md section 2 (payload decoding, issuer, validity, device binding, "
    "lifetime, audience, transcript, replay) and the precedence of its steps: token "
    "freshness and the device signature come before any issuer trust work."
)

_FLOW = "verification.md#2"
_PAYLOAD = "presentation.md#2.3"


def qr_text(token: bytes, *, compress: bool = False) -> str:
    """The QR text of a presentation (raw envelope unless ``compress``)."""
    envelope = b"\x01" + deflate_zlib(token) if compress else b"\x00" + token
    return QR_PREFIX + b45encode(envelope)


def build(mat: Material) -> CaseList:
    """The presentation cases."""
    cases = CaseList(AREA)
    pki = mat.pki["es256"]
    credential = issue(pki, claims_wire(mat, 0))

    def add(
        case_id: str,
        section: str,
        description: str,
        token: Signed | bytes,
        code: str | None,
        *,
        cred: Signed | None = credential,
        used: Pki = pki,
        index: int = 0,
        at: int = SHOWN_AT,
        ttl: int = 60,
        iat: int = SHOWN_AT,
        nonce: bytes | None = None,
        audience: bytes | None = None,
        transcript: bytes | None = None,
        verify_transcript: bytes | None = None,
        policy: dict[str, Any] | None = None,
        trust: dict[str, Any] | None = None,
        keys: dict[str, Any] | None = None,
        qr: bool = True,
        compress: bool = False,
        prior: list[bytes] | None = None,
        step: str | None = None,
        issuer_kid: bytes | None = None,
    ) -> None:
        data = token.data if isinstance(token, Signed) else token
        if code is None:
            if nonce is None:
                raise ValueError("a valid case needs its nonce")
            expected = valid(
                presentation_fields(
                    mat.card.view(index),
                    issuer_kid=used.kid if issuer_kid is None else issuer_kid,
                    token_iat=iat,
                    ttl=ttl,
                    nonce=nonce,
                    audience=audience,
                    transcript=transcript,
                )
            )
        else:
            expected = invalid(code)
        intermediate: dict[str, Any] = {}
        if isinstance(token, Signed):
            intermediate = presentation_intermediate(token, cred)
        marks: list[tuple[str, str]] = []
        if code is None:
            marks = [
                ("input.presentation" if not qr else "intermediate.presentation", "presentation"),
                ("intermediate.presentation_payload", "presentation-payload"),
                ("intermediate.credential", "credential"),
                ("intermediate.credential_payload", "claims"),
            ]
        if qr:
            operation = "verify_qr"
            data_input: dict[str, Any] = {"qr_text": qr_text(data, compress=compress)}
            if prior is not None:
                data_input["prior"] = [qr_text(p) for p in prior]
        else:
            operation = "verify_presentation"
            data_input = {
                "presentation": h(data),
                "transcript": None if verify_transcript is None else h(verify_transcript),
            }
            if prior is not None:
                data_input["prior"] = [h(p) for p in prior]
            intermediate["presentation"] = None
        cases.add(
            case_id,
            section,
            description,
            operation,
            expected,
            input=data_input,
            at=at,
            trust=trust or pki_trust(used),
            policy=policy or policy_json(),
            keys=keys or {**pki_keys(used), **device_keys(mat.device)},
            intermediate=intermediate,
            cddl=marks,
            step=step,
        )

    def token_for(
        case_id: str,
        cred: Signed = credential,
        *,
        iat: int = SHOWN_AT,
        ttl: int = 60,
        audience: bytes | None = None,
        transcript: bytes | None = None,
        device: Any = None,
    ) -> tuple[Signed, bytes]:
        nonce = nonce_for(f"{AREA}-{case_id}")
        token = present(
            cred.data,
            device or mat.device,
            iat=iat,
            ttl=ttl,
            nonce=nonce,
            audience=audience,
            transcript=transcript,
        )
        return token, nonce

    # --- valid, end to end ------------------------------------------------------------
    for name in ("es256", "es384", "eddsa", "es256-intermediate"):
        used = mat.pki[name]
        cred = issue(used, claims_wire(mat, 0))
        token, nonce = token_for(f"valid-qr-{name}", cred)
        via = " via an intermediate CA" if name.endswith("intermediate") else ""
        add(
            f"valid-qr-{name}",
            _FLOW,
            f"QR presentation of the insured, {used.alg.name} issuer{via}, compact credential "
            "(issuer certificate registered, resolved by kid)",
            token,
            None,
            cred=cred,
            used=used,
            nonce=nonce,
        )
    cred4 = issue(pki, claims_wire(mat, 4))
    token, nonce = token_for("valid-qr-dependant", cred4)
    add(
        "valid-qr-dependant",
        _FLOW,
        "QR presentation of a dependant (lunar birth date, CSS)",
        token,
        None,
        cred=cred4,
        index=4,
        nonce=nonce,
    )
    full = issue(pki, claims_wire(mat, 0), full=True)
    token, nonce = token_for("valid-full-form", full)
    add(
        "valid-full-form",
        "credential.md#3.2",
        "the full credential (x5chain) in the presentation; the verifier trusts the root only",
        token,
        None,
        cred=full,
        nonce=nonce,
        trust=pki_trust(pki, registered=False),
    )
    token, nonce = token_for("valid-zlib")
    add(
        "valid-zlib",
        "presentation.md#4.1",
        "a compressed (flag 01) QR text",
        token,
        None,
        nonce=nonce,
        compress=True,
    )
    raw = RawIssuer.of(mat, "raw-es256")
    raw_cred = raw.issue(claims_wire(mat, 0))
    token, nonce = token_for("valid-raw-key", raw_cred)
    add(
        "valid-raw-key",
        "trust.md#4.1",
        "an issuer trusted as a raw key (no X.509)",
        token,
        None,
        cred=raw_cred,
        nonce=nonce,
        trust=raw.trust(),
        issuer_kid=raw.kid,
        keys={**raw.keys(), **device_keys(mat.device)},
    )
    audience = b"cabinet-75-0042"
    token, nonce = token_for("valid-audience", audience=audience)
    add(
        "valid-audience",
        "presentation.md#3.3",
        "an audience equal to the verifier's",
        token,
        None,
        nonce=nonce,
        audience=audience,
        policy=policy_json(audience=audience),
    )
    token, nonce = token_for("valid-ttl-300", ttl=300)
    add(
        "valid-ttl-300",
        "presentation.md#3.1",
        "ttl 300, the largest lifetime",
        token,
        None,
        nonce=nonce,
        ttl=300,
    )
    token, nonce = token_for("valid-last-second")
    add(
        "valid-last-second",
        _FLOW,
        "verified at exactly iat + ttl + skew",
        token,
        None,
        nonce=nonce,
        at=SHOWN_AT + 60 + 30,
    )
    token, nonce = token_for("valid-first-second")
    add(
        "valid-first-second",
        _FLOW,
        "verified at exactly iat - skew",
        token,
        None,
        nonce=nonce,
        at=SHOWN_AT - 30,
    )
    transcript = hashlib.sha256(b"an NFC session transcript").digest()
    token, nonce = token_for("valid-transcript", transcript=transcript)
    add(
        "valid-transcript",
        "presentation.md#3.4",
        "a token bound to an NFC transcript, verified with that transcript hash",
        token,
        None,
        nonce=nonce,
        transcript=transcript,
        verify_transcript=transcript,
        qr=False,
    )
    first, _ = token_for("valid-two-tokens-first")
    token, nonce = token_for("valid-two-tokens")
    add(
        "valid-two-tokens",
        "verification.md#5",
        "two tokens with different nonces, one after the other: both accepted",
        token,
        None,
        nonce=nonce,
        prior=[first.data],
    )
    other_credential = issue(pki, claims_wire(mat, 1, device=mat.other_device))
    shared_nonce = nonce_for("valid-same-nonce-two-holders")
    first = present(other_credential.data, mat.other_device, iat=SHOWN_AT, nonce=shared_nonce)
    token = present(credential.data, mat.device, iat=SHOWN_AT, nonce=shared_nonce)
    add(
        "valid-same-nonce-two-holders",
        "verification.md#5",
        "another holder's token with the same nonce was verified first: replays are keyed "
        "by device key and nonce, so this token is accepted",
        token,
        None,
        nonce=shared_nonce,
        prior=[first.data],
    )

    # --- cnf point decompression: one device key of each y parity ----------------------
    # A reader that loads the compressed cnf(8) key through a general-purpose COSE
    # library decompresses the point itself (reader-profile.md section 3); these two
    # cases give it one key of each parity. The labels are fixed: the assertion keeps a
    # change of the key derivation from silently losing a parity.
    for parity, label, sign_bit in (("even", "device-even", False), ("odd", "device-odd", True)):
        device = SoftwareDeviceKey(ec_private_key(label, ec.SECP256R1()))
        cnf_y = device.cose_key().y
        if cnf_y is not sign_bit:
            raise AssertionError(f"device key {label!r} has cnf y {cnf_y!r}, not {sign_bit}")
        parity_cred = issue(pki, claims_wire(mat, 0, device=device))
        token, nonce = token_for(f"cnf-parity-{parity}", parity_cred, device=device)
        add(
            f"cnf-parity-{parity}",
            "reader-profile.md#3",
            f"the device key in cnf(8) is compressed with y = {str(sign_bit).lower()} "
            f"(an {parity} y coordinate): a reader decompresses the point and verifies",
            token,
            None,
            cred=parity_cred,
            nonce=nonce,
            keys={**pki_keys(pki), **device_keys(device)},
        )

    # --- payload decoding (presentation.md section 2.3) --------------------------------
    nonce = nonce_for("payload")
    base: dict[int, Any] = {
        PresentationLabel.CREDENTIAL: credential.data,
        PresentationLabel.IAT: SHOWN_AT,
        PresentationLabel.NONCE: nonce,
    }
    payload_table: list[tuple[str, str, Any, str]] = [
        ("payload-array", "the payload is an array", [credential.data], "schema.invalid"),
        ("payload-unknown-label", "label 7", {**base, 7: 0}, "schema.unknown_label"),
        ("payload-missing-credential", "no credential(1)",
         {k: v for k, v in base.items() if k != 1}, "schema.missing_label"),
        ("payload-missing-nonce", "no nonce(4)",
         {k: v for k, v in base.items() if k != 4}, "schema.missing_label"),
        ("credential-not-bstr", "credential(1) as an array",
         {**base, 1: [credential.data]}, "schema.invalid"),
        ("iat-negative", "iat(2) -1", {**base, 2: -1}, "schema.invalid"),
        ("ttl-0", "ttl(3) 0", {**base, 3: 0}, "schema.invalid"),
        ("ttl-65536", "ttl(3) 65 536", {**base, 3: 65536}, "schema.invalid"),
        ("ttl-60-written", "ttl(3) 60, the default, written", {**base, 3: 60},
         "schema.invalid"),
        ("ttl-true", "ttl(3) true", {**base, 3: True}, "schema.invalid"),
        ("iat-false", "iat(2) false", {**base, 2: False}, "schema.invalid"),
        ("audience-null", "audience(5) null", {**base, 5: None}, "cbor.type_not_allowed"),
        ("nonce-11", "an 11-byte nonce(4)", {**base, 4: nonce[:11]}, "schema.invalid"),
        ("nonce-16", "a 16-byte nonce(4)", {**base, 4: nonce + bytes(4)}, "schema.invalid"),
        ("audience-empty", "audience(5) of 0 bytes", {**base, 5: b""}, "schema.invalid"),
        ("audience-65", "audience(5) of 65 bytes", {**base, 5: bytes(65)}, "schema.invalid"),
        ("audience-text", "audience(5) as text", {**base, 5: "cabinet"}, "schema.invalid"),
        ("transcript-31", "transcript(6) of 31 bytes", {**base, 6: bytes(31)}, "schema.invalid"),
        ("payload-too-deep", "audience(5) as [[0]]: deeper than 2", {**base, 5: [[0]]},
         "cbor.too_deep"),
    ]  # fmt: skip
    for case_id, description, content, code in payload_table:
        token = present(
            credential.data, mat.device, iat=SHOWN_AT, nonce=nonce, payload=_cbor.encode(content)
        )
        add(case_id, _PAYLOAD, description, token, code)
    good_payload = _cbor.encode(base)
    reordered = b"\xa3" + b"".join(
        _cbor.encode(label) + _cbor.encode(base[label]) for label in (2, 4, 1)
    )
    token = present(credential.data, mat.device, iat=SHOWN_AT, nonce=nonce, payload=reordered)
    add(
        "payload-key-order", _PAYLOAD, "credential(1) encoded last", token, "cbor.non_deterministic"
    )
    big = present(
        credential.data, mat.device, iat=SHOWN_AT, nonce=nonce, unprotected={"pad": bytes(8448)}
    )
    add(
        "presentation-too-large",
        "encoding.md#2.5",
        "a presentation of more than 8 448 bytes",
        big,
        "cbor.too_large",
        qr=False,
    )

    # --- the credential inside ----------------------------------------------------------
    untagged = _cbor.encode(_cbor.decode(credential.data, tags=frozenset({18})).value)
    token = present(untagged, mat.device, iat=SHOWN_AT, nonce=nonce)
    add(
        "credential-untagged",
        "verification.md#2.1",
        "the credential inside lacks tag 18",
        token,
        "cose.malformed",
        cred=None,
    )
    other = mat.untrusted_issuer()
    stranger = issue(other, claims_wire(mat, 0))
    token = present(stranger.data, mat.device, iat=SHOWN_AT, nonce=nonce)
    add(
        "credential-unknown-issuer",
        "trust.md#4.1",
        "the credential's kid is not in the trust store",
        token,
        "trust.unknown_issuer",
        cred=stranger,
    )

    # --- device binding (step 10) --------------------------------------------------------
    binding = "binding.device_signature_invalid"
    token = present(credential.data, mat.other_device, iat=SHOWN_AT, nonce=nonce)
    add("signed-by-other-device", _FLOW, "signed by a device key other than cnf(8)", token, binding)
    token = present(credential.data, pki.signer(), iat=SHOWN_AT, nonce=nonce)
    add(
        "signed-by-issuer",
        _FLOW,
        "signed by the issuer key instead of the device key",
        token,
        binding,
    )
    payload = good_payload
    headers: list[tuple[str, str, dict[int, Any] | bytes]] = [
        ("device-alg-es384", "protected alg(1) ES384 (-35): device keys are ES256 only",
         {CoseHeader.ALG: -35}),
        ("device-alg-eddsa", "protected alg(1) EdDSA (-8)", {CoseHeader.ALG: -8}),
        ("device-alg-missing", "an empty protected header: no alg(1)", b""),
    ]  # fmt: skip
    for case_id, description, protected in headers:
        token = sign1(mat.device, payload, protected=protected)
        add(case_id, "verification.md#2.2", description, token, binding)
    good_token = present(credential.data, mat.device, iat=SHOWN_AT, nonce=nonce)
    short = sign1(mat.device, payload, signature=good_token.signature[:63])
    add("device-signature-63", "verification.md#2.2", "a 63-byte device signature", short, binding)
    flipped = bytearray(good_token.signature)
    flipped[40] ^= 0x04
    add(
        "device-signature-flipped",
        "verification.md#2.2",
        "one bit of s flipped",
        sign1(mat.device, payload, signature=bytes(flipped)),
        binding,
    )

    # --- lifetime, freshness (steps 3-5) ----------------------------------------------------
    token, _ = token_for("ttl-301", ttl=301)
    add(
        "ttl-301",
        "presentation.md#3.1",
        "ttl 301 under the largest policy cap (300)",
        token,
        "presentation.lifetime_too_long",
    )
    token, _ = token_for("ttl-policy", ttl=120)
    add(
        "ttl-above-policy",
        "verification.md#3",
        "ttl 120 under a policy cap of 60",
        token,
        "presentation.lifetime_too_long",
        policy=policy_json(max_token_lifetime=60),
    )
    token, _ = token_for("not-yet-valid", iat=SHOWN_AT + 31)
    add(
        "not-yet-valid",
        _FLOW,
        "iat(2) 31 s after the verification instant (skew 30)",
        token,
        "presentation.not_yet_valid",
    )
    token, _ = token_for("expired")
    add(
        "expired",
        _FLOW,
        "verified at iat + ttl + skew + 1",
        token,
        "presentation.expired",
        at=SHOWN_AT + 91,
    )
    token, _ = token_for("expired-skew-0")
    add(
        "expired-skew-0",
        _FLOW,
        "verified 1 s after iat + ttl, skew 0",
        token,
        "presentation.expired",
        at=SHOWN_AT + 61,
        policy=policy_json(skew=0),
    )

    # --- audience, transcript (steps 15-16) ---------------------------------------------------
    mismatch = "presentation.audience_mismatch"
    token, _ = token_for("audience-absent")
    add(
        "audience-absent",
        "presentation.md#3.3",
        "the verifier expects an audience, the token has none",
        token,
        mismatch,
        policy=policy_json(audience=audience),
    )
    token, _ = token_for("audience-unexpected", audience=audience)
    add(
        "audience-unexpected",
        "presentation.md#3.3",
        "the token has an audience, the verifier expects none",
        token,
        mismatch,
    )
    token, _ = token_for("audience-other", audience=b"cabinet-75-0043")
    add(
        "audience-other",
        "presentation.md#3.3",
        "a different audience",
        token,
        mismatch,
        policy=policy_json(audience=audience),
    )
    tmismatch = "presentation.transcript_mismatch"
    token, _ = token_for("transcript-absent")
    add(
        "transcript-absent",
        "presentation.md#3.4",
        "a QR token (no transcript) verified in an NFC session",
        token,
        tmismatch,
        verify_transcript=transcript,
        qr=False,
    )
    token, _ = token_for("transcript-unexpected", transcript=transcript)
    add(
        "transcript-unexpected",
        "presentation.md#3.4",
        "an NFC token verified as a QR token (no transcript)",
        token,
        tmismatch,
        qr=False,
    )
    token, _ = token_for("transcript-other", transcript=transcript)
    add(
        "transcript-other",
        "presentation.md#3.4",
        "an NFC token verified in another session",
        token,
        tmismatch,
        verify_transcript=hashlib.sha256(b"another session").digest(),
        qr=False,
    )

    # --- replay (step 18) -------------------------------------------------------------------
    token, _ = token_for("replayed")
    add(
        "replayed",
        "verification.md#5",
        "the same QR text verified twice by one verifier",
        token,
        "presentation.replayed",
        prior=[token.data],
    )
    token, _ = token_for("replayed-later")
    add(
        "replayed-later",
        "verification.md#5",
        "the same QR text again 80 s later, still within iat + ttl + skew",
        token,
        "presentation.replayed",
        prior=[token.data],
        at=SHOWN_AT + 80,
    )

    # --- precedence: the first failing step is reported ----------------------------------------
    expired_cred = issue(
        pki, claims_wire(mat, 0, iat=SHOWN_AT - 400 * 86_400, exp=SHOWN_AT - 86_400)
    )
    bad_issuer_signature = _bad_signature(credential)
    # A credential whose cnf point is off P-256, signed by an untrusted issuer.
    off_curve = claims_wire(mat, 0)
    off_curve[CwtClaim.CNF] = {
        CnfLabel.COSE_KEY: {**mat.device.cose_key().to_map(), CoseKeyLabel.X: _not_on_curve_x()}
    }
    stranger_full = issue(other, claims_wire(mat, 0), full=True)
    for case_id, description, token, code, options in (
        ("precedence-token-before-credential",
         "the credential and the token have both expired: the token is reported, its "
         "freshness being checked before anything of the credential",
         present(expired_cred.data, mat.device, iat=SHOWN_AT - 3_600, nonce=nonce),
         "presentation.expired", {"cred": expired_cred}),
        ("precedence-expired-before-issuer-signature",
         "an expired token around a credential whose issuer signature is wrong: expiry is "
         "reported",
         present(bad_issuer_signature, mat.device, iat=SHOWN_AT - 3_600, nonce=nonce),
         "presentation.expired", {"cred": None}),
        ("precedence-freshness-before-credential-decode",
         "an expired token around an untagged credential: expiry is reported",
         present(untagged, mat.device, iat=SHOWN_AT - 3_600, nonce=nonce),
         "presentation.expired", {"cred": None}),
        ("precedence-binding-before-trust",
         "a garbage device signature over a credential of an unknown issuer: the device "
         "signature is reported, and the issuer is never looked up",
         _garbage_signature(mat, present(stranger.data, mat.device, iat=SHOWN_AT, nonce=nonce)),
         binding, {"cred": stranger}),
        ("precedence-binding-before-x5chain",
         "a garbage device signature over a full credential whose x5chain leads to an "
         "untrusted root: the device signature is reported, and no path is validated",
         _garbage_signature(mat, present(stranger_full.data, mat.device, iat=SHOWN_AT,
                                    nonce=nonce)),
         binding, {"cred": stranger_full, "trust": pki_trust(pki, registered=False)}),
        ("precedence-binding-before-issuer-signature",
         "a token signed by another device around a credential whose issuer signature is "
         "wrong: the device signature is reported",
         present(bad_issuer_signature, mat.other_device, iat=SHOWN_AT, nonce=nonce),
         binding, {"cred": None}),
        ("precedence-binding-before-validity",
         "a token signed by another device around an expired credential: the device "
         "signature is reported",
         present(expired_cred.data, mat.other_device, iat=SHOWN_AT, nonce=nonce),
         binding, {"cred": expired_cred}),
        ("precedence-cnf-before-trust",
         "a credential of an unknown issuer whose cnf(8) point is off P-256: the cnf key, "
         "loaded before the device signature, is reported",
         present(issue(other, off_curve).data, mat.device, iat=SHOWN_AT, nonce=nonce),
         "binding.cnf_missing", {"cred": None}),
        ("precedence-issuer-before-validity",
         "an expired credential whose issuer signature is also wrong: the signature is reported",
         present(_bad_signature(expired_cred), mat.device, iat=SHOWN_AT, nonce=nonce),
         "cose.bad_signature", {"cred": expired_cred}),
        ("precedence-decode-before-trust",
         "an unknown claim in a credential of an unknown issuer: the claim is reported",
         present(issue(other, {**claims_wire(mat, 0), 2: "x"}).data, mat.device, iat=SHOWN_AT,
                 nonce=nonce), "schema.unknown_label", {"cred": None}),
        ("precedence-freshness-before-binding",
         "a token signed by another device and expired: expiry is reported",
         present(credential.data, mat.other_device, iat=SHOWN_AT - 3_600, nonce=nonce),
         "presentation.expired", {}),
        ("precedence-lifetime-before-not-yet-valid",
         "ttl 301 and iat in the future: the lifetime is reported",
         present(credential.data, mat.device, iat=SHOWN_AT + 3_600, ttl=301, nonce=nonce),
         "presentation.lifetime_too_long", {}),
        ("precedence-expired-before-audience",
         "an expired token with the wrong audience: expiry is reported",
         present(credential.data, mat.device, iat=SHOWN_AT - 3_600, nonce=nonce,
                 audience=b"other"), "presentation.expired", {}),
        ("precedence-audience-before-transcript",
         "wrong audience and a transcript in a QR token: the audience is reported",
         present(credential.data, mat.device, iat=SHOWN_AT, nonce=nonce, audience=b"other",
                 transcript=transcript), mismatch, {}),
        ("precedence-payload-before-credential",
         "a bad nonce in the payload and an untagged credential: the payload is reported",
         present(untagged, mat.device, iat=SHOWN_AT, nonce=nonce,
                 payload={**base, 1: untagged, 4: b"short"}), "schema.invalid", {"cred": None}),
    ):  # fmt: skip
        add(case_id, _FLOW, description, token, code, **options)
    return cases


def _garbage_signature(mat: Material, token: Signed) -> Signed:
    """``token`` with its 64-byte signature replaced by bytes nobody signed."""
    return sign1(mat.device, token.payload, signature=b"\x5a" * 64)


def _bad_signature(signed: Signed) -> bytes:
    flipped = bytearray(signed.signature)
    flipped[5] ^= 0x01
    return _cbor.encode(_cbor.Tagged(18, [signed.protected, {}, signed.payload, bytes(flipped)]))
