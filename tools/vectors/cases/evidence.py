"""Evidence vectors (spec/evidence.md): one evidence record checked as of the time it
records, in the order of section 6 (decoding, the professional's signature, the NFC
request context, then the presentation verified at ``read_at``)."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tools.vectors._build import (
    CaseList,
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
    sha256_hex,
    sign1,
    status_policy_json,
    valid,
)
from tools.vectors._material import (
    ISSUED_AT,
    SHOWN_AT,
    Material,
    cose_key_hex,
    deflate_zlib,
    ec_private_key,
    fixed_bytes,
    pem_private,
)
from vitale_cred.evidence import EVIDENCE_TYP, MAX_EVIDENCE_BYTES, evidence_kid
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey, SoftwareSigner
from vitale_cred.hazmat.session import public_point, session_transcript
from vitale_cred.registry import (
    ContextLabel,
    CoseHeader,
    CwtClaim,
    EvidenceChannel,
    EvidenceLabel,
    FciLabel,
    ReaderInfoLabel,
)
from vitale_cred.status import STATUS_LIST_TYP, StatusList, StatusReference, StatusValue

AREA = "evidence"
DESCRIPTION = (
    "Evidence of presence (evidence.md): one evidence record, signed by the professional "
    "or not, checked as of the time it records: its structure, the professional's "
    "signature, the NFC request context, then the presentation verified at read_at."
)

PROFESSIONAL = "10101010101"
OTHER_PROFESSIONAL = "10202020202"
INVOICE = hashlib.sha256(b"invoice FSE 2026-000042").digest()
OTHER_INVOICE = hashlib.sha256(b"invoice FSE 2026-000043").digest()
READ_AT = SHOWN_AT + 20
_SKEW = 30
_STATUS_URI = "https://status.example.fr/lists/1"
_STATUS_IAT = SHOWN_AT - 3_600
_STATUS_EXP = SHOWN_AT + 86_400
_DECODE = "evidence.md#6"
_STRUCTURE = "evidence.md#2.2"
_NFC = "evidence.md#5"


def _fci(holder_point: bytes) -> bytes:
    return _cbor.encode(
        {
            FciLabel.VERSION: 1,
            FciLabel.MAX_COMMAND: 1024,
            FciLabel.MAX_RESPONSE: 8464,
            FciLabel.EXTENDED_LENGTH: True,
            FciLabel.ALGORITHMS: [-7],
            FciLabel.SESSION_MODES: [1],
            FciLabel.HOLDER_KEY: holder_point,
        }
    )


def _reader_info(nonce: bytes, reader_point: bytes, context: dict[int, Any] | None) -> bytes:
    info: dict[int, Any] = {
        ReaderInfoLabel.VERSION: 1,
        ReaderInfoLabel.NONCE: nonce,
        ReaderInfoLabel.MODE: 1,
        ReaderInfoLabel.READER_KEY: reader_point,
    }
    if context is not None:
        info[ReaderInfoLabel.CONTEXT] = context
    return _cbor.encode(info)


def _context(professional: str = PROFESSIONAL, invoice: bytes = INVOICE) -> dict[int, Any]:
    return {ContextLabel.PROFESSIONAL: professional, ContextLabel.INVOICE: invoice}


def _evidence(
    channel: int,
    token: bytes,
    *,
    read_at: int = READ_AT,
    verdict: str = "ok",
    professional: str = PROFESSIONAL,
    invoice: bytes = INVOICE,
    fci: bytes | None = None,
    reader_info: bytes | None = None,
    **changes: Any,
) -> dict[int, Any]:
    out: dict[int, Any] = {
        EvidenceLabel.CHANNEL: channel,
        EvidenceLabel.PRESENTATION: token,
        EvidenceLabel.READ_AT: read_at,
        EvidenceLabel.VERDICT: verdict,
        EvidenceLabel.PROFESSIONAL: professional,
        EvidenceLabel.INVOICE: invoice,
    }
    if fci is not None:
        out[EvidenceLabel.FCI] = fci
    if reader_info is not None:
        out[EvidenceLabel.READER_INFO] = reader_info
    for key, value in changes.items():
        label = int(key[1:])
        if value is None:
            out.pop(label, None)
        else:
            out[label] = value
    return out


def build(mat: Material) -> CaseList:
    """The evidence cases."""
    cases = CaseList(AREA)
    pki = mat.pki["es256"]
    credential = issue(pki, claims_wire(mat, 0)).data
    professional_key = ec_private_key("professional-evidence", ec.SECP256R1())
    professional = SoftwareSigner(professional_key)
    professional_kid = evidence_kid(professional_key.public_key())
    professional_cose = CoseKey.from_public_key(professional_key.public_key())
    directory = [{"id": PROFESSIONAL, "keys": [cose_key_hex(professional_cose)]}]
    keys = {
        **pki_keys(pki),
        **device_keys(mat.device),
        "professional": {
            "alg": -7,
            "kid": h(professional_kid),
            "private_key": pem_private(professional_key),
            "cose_key": cose_key_hex(professional_cose),
        },
    }
    holder_point = public_point(
        ec.derive_private_key(
            int.from_bytes(fixed_bytes("evidence/holder-ephemeral", 32), "big") % 2**255 + 1,
            ec.SECP256R1(),
        )
    )
    reader_point = public_point(
        ec.derive_private_key(
            int.from_bytes(fixed_bytes("evidence/reader-ephemeral", 32), "big") % 2**255 + 1,
            ec.SECP256R1(),
        )
    )
    fci = _fci(holder_point)
    reader_nonce = fixed_bytes("evidence/reader-nonce", 16)

    def qr_token(case_id: str, **options: Any) -> Signed:
        return present(
            options.pop("credential", credential),
            options.pop("device", mat.device),
            iat=options.pop("iat", SHOWN_AT),
            nonce=nonce_for(f"evidence/{case_id}"),
            **options,
        )

    def nfc_parts(case_id: str, context: dict[int, Any] | None) -> tuple[bytes, Signed, bytes]:
        info = _reader_info(reader_nonce, reader_point, context)
        transcript = hashlib.sha256(session_transcript(fci, info)).digest()
        token = qr_token(case_id, transcript=transcript)
        return info, token, transcript

    def fields(
        token: Signed,
        channel: str,
        *,
        read_at: int = READ_AT,
        verdict: str = "ok",
        bound: bool = False,
        signer: bytes | None = None,
        transcript: bytes | None = None,
        status: str | None = None,
        nonce_case: str,
    ) -> dict[str, Any]:
        return {
            "channel": channel,
            "read_at": read_at,
            "reader_verdict": verdict,
            "professional": PROFESSIONAL,
            "invoice": h(INVOICE),
            "bound": bound,
            "signer": None if signer is None else h(signer),
            "presentation": presentation_fields(
                mat.card.view(0),
                issuer_kid=pki.kid,
                token_iat=SHOWN_AT,
                ttl=60,
                nonce=nonce_for(f"evidence/{nonce_case}"),
                transcript=transcript,
                status=status,
            ),
        }

    def add(
        case_id: str,
        section: str,
        description: str,
        record: bytes,
        expected: dict[str, Any],
        *,
        token: Signed | None = None,
        info: bytes | None = None,
        transcript: bytes | None = None,
        policy: dict[str, Any] | None = None,
        professionals: list[dict[str, Any]] | None = None,
        trust: dict[str, Any] | None = None,
    ) -> None:
        intermediate: dict[str, Any] = {"evidence_sha256": sha256_hex(record)}
        marks: list[tuple[str, str]] = []
        if token is not None:
            intermediate["presentation"] = h(token.data)
            intermediate["presentation_payload"] = h(token.payload)
            marks.append(("intermediate.presentation", "presentation"))
        if info is not None:
            intermediate["fci"] = h(fci)
            intermediate["reader_info"] = h(info)
            intermediate["session_transcript"] = h(session_transcript(fci, info))
            marks += [("intermediate.fci", "fci"), ("intermediate.reader_info", "reader-info")]
        if transcript is not None:
            intermediate["transcript_hash"] = h(transcript)
        extra = {} if professionals is None else {"professionals": professionals}
        cases.add(
            case_id,
            section,
            description,
            "verify_evidence",
            expected,
            input={"evidence": h(record)},
            trust=trust or pki_trust(pki),
            policy=policy or policy_json(skew=_SKEW),
            keys=keys,
            intermediate=intermediate,
            cddl=marks,
            extra=extra,
        )

    def encoded(value: Any) -> bytes:
        return _cbor.encode(value)

    def signed(
        value: dict[int, Any], *, typ: Any = EVIDENCE_TYP, kid: bytes | None = None
    ) -> bytes:
        protected: dict[int, Any] = {CoseHeader.ALG: -7, CoseHeader.KID: kid or professional_kid}
        if typ is not None:
            protected[CoseHeader.TYP] = typ
        return sign1(professional, encoded(value), protected=protected).data

    qr_channel = int(EvidenceChannel.QR)
    nfc_channel = int(EvidenceChannel.NFC)

    # --- valid records -----------------------------------------------------------------
    token = qr_token("qr-ok")
    add(
        "qr-ok",
        "evidence.md#3.1",
        "QR evidence of a fresh token, read 20 s after its iat, accepted by the reader",
        encoded(_evidence(qr_channel, token.data)),
        valid(fields(token, "qr", nonce_case="qr-ok")),
        token=token,
    )
    token = qr_token("qr-reader-refused")
    add(
        "qr-reader-refused",
        "evidence.md#2.2",
        "the reader refused the token (verdict presentation.replayed): the record is "
        "still evidence, and its verdict is reported",
        encoded(_evidence(qr_channel, token.data, verdict="presentation.replayed")),
        valid(fields(token, "qr", verdict="presentation.replayed", nonce_case="qr-reader-refused")),
        token=token,
    )
    token = qr_token("qr-last-second")
    add(
        "qr-last-second",
        "evidence.md#6",
        "read at exp + skew exactly: still within the token's lifetime",
        encoded(_evidence(qr_channel, token.data, read_at=SHOWN_AT + 60 + _SKEW)),
        valid(fields(token, "qr", read_at=SHOWN_AT + 60 + _SKEW, nonce_case="qr-last-second")),
        token=token,
    )
    info, token, transcript = nfc_parts("nfc-bound", _context())
    add(
        "nfc-bound",
        _NFC,
        "NFC evidence whose request context names this professional and this invoice",
        encoded(_evidence(nfc_channel, token.data, fci=fci, reader_info=info)),
        valid(fields(token, "nfc", bound=True, transcript=transcript, nonce_case="nfc-bound")),
        token=token,
        info=info,
        transcript=transcript,
    )
    info, token, transcript = nfc_parts("nfc-unbound", None)
    add(
        "nfc-unbound",
        _NFC,
        "NFC evidence of a session without a request context: verified, not bound",
        encoded(_evidence(nfc_channel, token.data, fci=fci, reader_info=info)),
        valid(fields(token, "nfc", transcript=transcript, nonce_case="nfc-unbound")),
        token=token,
        info=info,
        transcript=transcript,
    )
    token = qr_token("qr-signed")
    add(
        "qr-signed",
        "evidence.md#3.3",
        "QR evidence signed by the professional's key, which the auditor's directory holds",
        signed(_evidence(qr_channel, token.data)),
        valid(fields(token, "qr", signer=professional_kid, nonce_case="qr-signed")),
        token=token,
        professionals=directory,
    )
    add(
        "qr-signed-no-directory",
        "evidence.md#6",
        "a signed record checked without a directory of professional keys: the signature "
        "is not examined",
        signed(_evidence(qr_channel, token.data)),
        valid(fields(token, "qr", nonce_case="qr-signed")),
        token=token,
    )

    # --- status as of read_at -------------------------------------------------------------
    values = [0] * 16
    values[1] = StatusValue.INVALID
    values[2] = StatusValue.SUSPENDED
    status_list = StatusList(2, 16)
    for idx, value in enumerate(values):
        status_list.set(idx, value)
    status_token = sign1(
        pki.signer(),
        encoded(
            {
                CwtClaim.SUB: _STATUS_URI,
                CwtClaim.LIST: 1,
                CwtClaim.IAT: _STATUS_IAT,
                CwtClaim.EXP: _STATUS_EXP,
                CwtClaim.STATUS_LIST: {"bits": 2, "lst": deflate_zlib(status_list.to_bytes())},
            }
        ),
        protected={CoseHeader.ALG: -7, CoseHeader.KID: pki.kid, CoseHeader.TYP: STATUS_LIST_TYP},
    ).data
    status_policy = policy_json(skew=_SKEW, status=status_policy_json([status_token]))
    for case_id, idx, code in (
        ("status-valid", 0, None),
        ("status-revoked", 1, "status.revoked"),
        ("status-suspended", 2, "status.suspended"),
    ):
        with_status = issue(pki, claims_wire(mat, 0, status=StatusReference(1, idx))).data
        token = qr_token(case_id, credential=with_status)
        record = encoded(_evidence(qr_channel, token.data))
        expected: dict[str, Any]
        if code is None:
            view_fields = fields(token, "qr", status="valid", nonce_case=case_id)
            expected = valid(view_fields)
        else:
            expected = invalid(code)
        add(
            case_id,
            "evidence.md#6",
            f"the credential's status entry {idx} in the list in force at read_at"
            + ("" if code is None else f": {code.split('.')[1]}"),
            record,
            expected,
            token=token,
            policy=status_policy,
        )

    # --- structure (E1 - E3) -------------------------------------------------------------
    token = qr_token("structure")
    base = _evidence(qr_channel, token.data)
    nfc_info, nfc_token, _ = nfc_parts("nfc-structure", _context())
    nfc_base = _evidence(nfc_channel, nfc_token.data, fci=fci, reader_info=nfc_info)
    record_ok = encoded(base)
    for case_id, description, record, code in (
        ("not-a-map", "an array instead of the evidence map", encoded([1, token.data]),
         "evidence.invalid"),
        ("unknown-label", "label 9", encoded({**base, 9: 0}), "evidence.invalid"),
        ("missing-invoice", "no invoice(8)", encoded(_evidence(qr_channel, token.data, _8=None)),
         "evidence.invalid"),
        ("read-at-text", "read_at(5) as text", encoded({**base, 5: "1793667620"}),
         "evidence.invalid"),
        ("read-at-negative", "read_at(5) negative", encoded({**base, 5: -1}),
         "evidence.invalid"),
        ("channel-3", "channel(1) 3", encoded({**base, 1: 3}), "evidence.invalid"),
        ("channel-true", "channel(1) true: a boolean is not a channel",
         encoded({**base, 1: True}), "evidence.invalid"),
        ("verdict-upper", 'verdict(6) "OK"', encoded({**base, 6: "OK"}), "evidence.invalid"),
        ("verdict-not-a-code", 'verdict(6) "refused"', encoded({**base, 6: "refused"}),
         "evidence.invalid"),
        ("professional-space", 'professional(7) "101 0101"', encoded({**base, 7: "101 0101"}),
         "evidence.invalid"),
        ("professional-empty", "professional(7) empty", encoded({**base, 7: ""}),
         "evidence.invalid"),
        ("invoice-33", "invoice(8) of 33 bytes", encoded({**base, 8: bytes(33)}),
         "evidence.invalid"),
        ("invoice-text", "invoice(8) as text", encoded({**base, 8: "FSE-42"}),
         "evidence.invalid"),
        ("presentation-empty", "presentation(2) empty", encoded({**base, 2: b""}),
         "evidence.invalid"),
        ("qr-with-fci", "QR evidence carrying an fci(3)", encoded({**base, 3: fci}),
         "evidence.invalid"),
        ("nfc-without-reader-info", "NFC evidence without reader_info(4)",
         encoded({k: v for k, v in nfc_base.items() if k != EvidenceLabel.READER_INFO}),
         "evidence.invalid"),
        ("nfc-reader-info-not-cbor", "NFC reader_info(4) that is not CBOR",
         encoded({**nfc_base, 4: b"\xff\x00"}), "evidence.invalid"),
        ("nfc-reader-info-label-6", "NFC reader_info(4) with label 6",
         encoded({**nfc_base, 4: encoded({**_cbor.decode(nfc_info), 6: 0})}),
         "evidence.invalid"),
        ("nfc-context-empty-invoice", "NFC request context whose invoice(2) is empty",
         encoded({**nfc_base, 4: _reader_info(reader_nonce, reader_point,
                                               _context(invoice=b""))}),
         "evidence.invalid"),
        ("nfc-context-not-a-map", "NFC request context(5) that is not a map",
         encoded({**nfc_base, 4: encoded({**_cbor.decode(nfc_info), 5: 0})}),
         "evidence.invalid"),
        ("truncated", "the record cut one byte short", record_ok[:-1],
         "cbor.length_exceeds_input"),
        ("trailing-byte", "one byte after the record", record_ok + b"\x00",
         "cbor.trailing_bytes"),
        ("too-large", f"a record of {MAX_EVIDENCE_BYTES + 1} bytes",
         encoded({**base, 2: bytes(MAX_EVIDENCE_BYTES)})[: MAX_EVIDENCE_BYTES + 1],
         "cbor.too_large"),
        ("other-tag", "a record under tag 61 (CWT)", encoded(_cbor.Tagged(61, base)),
         "cbor.tag_not_allowed"),
    ):  # fmt: skip
        add(case_id, _STRUCTURE, description, record, invalid(code))

    # --- the professional's signature (E2, E4) --------------------------------------------
    token = qr_token("qr-signed")
    plain = _evidence(qr_channel, token.data)
    good = signed(plain)
    tampered = bytearray(good)
    tampered[-1] ^= 0x01
    for case_id, description, record, code, with_directory in (
        ("signed-bad-signature", "the professional's signature with one bit flipped",
         bytes(tampered), "evidence.signature_invalid", True),
        ("signed-other-key", "signed by a key the directory does not hold for this "
         "professional", sign1(SoftwareSigner(ec_private_key("professional-other",
                                                             ec.SECP256R1())),
                               encoded(plain),
                               protected={CoseHeader.ALG: -7,
                                          CoseHeader.KID: b"\x00" * 8,
                                          CoseHeader.TYP: EVIDENCE_TYP}).data,
         "evidence.signer_unknown", True),
        ("signed-other-professional", "signed by this professional's key, for a record "
         "naming another professional", signed(_evidence(qr_channel, token.data,
                                                         professional=OTHER_PROFESSIONAL)),
         "evidence.signer_unknown", True),
        ("signed-no-typ", "a signed record without the protected typ(16)",
         signed(plain, typ=None), "evidence.invalid", True),
        ("signed-other-typ", "a signed record whose typ(16) is the trust list's",
         signed(plain, typ="application/vitale-trust-list+cbor"), "evidence.invalid", True),
        ("signed-payload-not-evidence", "a signed payload that is an array",
         sign1(professional, encoded([1]), protected={CoseHeader.ALG: -7,
                                                      CoseHeader.KID: professional_kid,
                                                      CoseHeader.TYP: EVIDENCE_TYP}).data,
         "evidence.invalid", True),
        ("signed-untagged", "a COSE_Sign1 without tag 18 is not a signed record",
         good[1:], "evidence.invalid", True),
    ):  # fmt: skip
        add(
            case_id,
            "evidence.md#3.3",
            description,
            record,
            invalid(code),
            token=token,
            professionals=directory if with_directory else None,
        )

    # --- the NFC request context (E5) -------------------------------------------------------
    for case_id, description, context_value, professional_id, invoice_ref in (
        ("nfc-context-other-invoice", "the context names another invoice than the record",
         _context(invoice=OTHER_INVOICE), PROFESSIONAL, INVOICE),
        ("nfc-context-other-professional", "the context names another professional than "
         "the record", _context(professional=OTHER_PROFESSIONAL), PROFESSIONAL, INVOICE),
    ):  # fmt: skip
        info, token, transcript = nfc_parts(case_id, context_value)
        add(
            case_id,
            _NFC,
            description,
            encoded(
                _evidence(
                    nfc_channel,
                    token.data,
                    fci=fci,
                    reader_info=info,
                    professional=professional_id,
                    invoice=invoice_ref,
                )
            ),
            invalid("evidence.context_mismatch"),
            token=token,
            info=info,
            transcript=transcript,
        )

    # --- the presentation at read_at (E6) -----------------------------------------------------
    token = qr_token("time")
    other_info = _reader_info(fixed_bytes("evidence/other-nonce", 16), reader_point, _context())
    other_transcript = hashlib.sha256(session_transcript(fci, other_info)).digest()
    other_session = qr_token("nfc-other-session", transcript=other_transcript)
    unbound_info = _reader_info(reader_nonce, reader_point, _context())
    untrusted = mat.untrusted_issuer()
    forged_credential = issue(untrusted, claims_wire(mat, 0)).data
    expired_credential = issue(
        pki, claims_wire(mat, 0, iat=ISSUED_AT - 400 * 86_400, exp=ISSUED_AT - 86_400)
    ).data
    bad_device = qr_token("bad-device", device=mat.other_device)
    for case_id, description, record, code, shown in (
        ("expired", "read at exp + skew + 1: the token had expired at the recorded time",
         encoded(_evidence(qr_channel, token.data, read_at=SHOWN_AT + 60 + _SKEW + 1)),
         "presentation.expired", token),
        ("not-yet-valid", "read at iat - skew - 1: the token did not exist yet",
         encoded(_evidence(qr_channel, token.data, read_at=SHOWN_AT - _SKEW - 1)),
         "presentation.not_yet_valid", token),
        ("device-signature", "a token signed by another device key than the credential's",
         encoded(_evidence(qr_channel, bad_device.data)), "binding.device_signature_invalid",
         bad_device),
        ("unknown-issuer", "a credential of an issuer under a root nobody trusts",
         encoded(_evidence(qr_channel, qr_token("unknown-issuer",
                                                credential=forged_credential).data)),
         "trust.unknown_issuer", None),
        ("credential-expired", "a credential that had expired at the recorded time",
         encoded(_evidence(qr_channel, qr_token("credential-expired",
                                                credential=expired_credential).data)),
         "validity.expired", None),
        ("qr-holding-nfc-token", "QR evidence of a token bound to an NFC transcript",
         encoded(_evidence(qr_channel, other_session.data)),
         "presentation.transcript_mismatch", other_session),
        ("nfc-other-session", "NFC evidence whose token is bound to another session's "
         "transcript (a recorded answer moved to another request)",
         encoded(_evidence(nfc_channel, other_session.data, fci=fci,
                           reader_info=unbound_info)),
         "presentation.transcript_mismatch", other_session),
        ("nfc-qr-token", "NFC evidence holding a QR token (no transcript)",
         encoded(_evidence(nfc_channel, token.data, fci=fci, reader_info=unbound_info)),
         "presentation.transcript_mismatch", token),
    ):  # fmt: skip
        add(case_id, "evidence.md#6", description, record, invalid(code), token=shown)
    return cases
