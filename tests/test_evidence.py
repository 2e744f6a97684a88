"""Evidence of presence (spec/evidence.md): producing it over QR and NFC, signing it,
and checking it as of the time it records (section 6)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vitale_cred import errors
from vitale_cred.clock import FixedClock
from vitale_cred.evidence import (
    EVIDENCE_TYP,
    Evidence,
    EvidenceLog,
    EvidenceVerifier,
    ProfessionalKeys,
    RequestContext,
    VerifiedEvidence,
    decode_evidence,
    evidence_kid,
    invoice_digest,
    verify_with_evidence,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.qrtext import encode_qr_text
from vitale_cred.hazmat.session import session_transcript
from vitale_cred.nfc import (
    HolderSession,
    PresentationRequested,
    ReaderSession,
    credentials_by_index,
    pair,
)
from vitale_cred.presentation import present, present_qr
from vitale_cred.registry import CoseHeader, EvidenceChannel, ReaderInfoLabel
from vitale_cred.verify import VerifiedPresentation

from _world import NOW, World, fixed_key, make_world
from hsm_fixtures import SoftHsmToken, softhsm_token  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
PROFESSIONAL = "10101010101"
INVOICE = invoice_digest(b"FSE 2026-000042")
CONTEXT = RequestContext(PROFESSIONAL, INVOICE)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


def _qr(world: World, index: int = 2, **options: Any) -> str:
    return present_qr(world.bundle.credentials[index], world.device, clock=world.clock, **options)


def _tap(world: World, context: RequestContext | None, **reader: Any) -> ReaderSession:
    holder = HolderSession(
        credentials_by_index(world.bundle.credentials),
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=lambda hint, available: 1,
    )
    session = ReaderSession(world.verifier(), context=context, **reader)
    pair(holder, session)
    return session


# --- producing evidence: QR --------------------------------------------------------------


def test_qr_evidence_records_the_token_as_decoded_the_verdict_and_the_reader_clock(
    world: World,
) -> None:
    text = _qr(world)
    outcome, evidence = verify_with_evidence(
        world.verifier(), text, professional=PROFESSIONAL, invoice=INVOICE
    )
    assert isinstance(outcome, VerifiedPresentation)
    assert evidence.channel is EvidenceChannel.QR
    assert evidence.verdict == "ok" and evidence.accepted
    assert evidence.read_at == NOW
    assert evidence.fci is None and evidence.reader_info is None and evidence.context is None
    record = decode_evidence(evidence.encode())
    assert record.evidence == evidence and not record.signed
    # The fund checks it much later, as of read_at.
    verified = EvidenceVerifier(world.trust).verify(evidence.encode())
    assert isinstance(verified, VerifiedEvidence)
    assert not verified.bound and verified.signer is None
    assert verified.presentation.beneficiary_index == 2


def test_a_refused_presentation_has_evidence_of_its_refusal(world: World) -> None:
    verifier = world.verifier()
    text = _qr(world)
    verifier.verify_qr(text)
    outcome, evidence = verify_with_evidence(
        verifier, text, professional=PROFESSIONAL, invoice=INVOICE
    )
    assert isinstance(outcome, errors.PresentationReplayed)
    assert evidence.verdict == "presentation.replayed" and not evidence.accepted
    # The auditor has no replay cache: the record itself verifies, its verdict says no.
    verified = EvidenceVerifier(world.trust).verify(evidence.encode())
    assert verified.evidence.verdict == "presentation.replayed"


def test_a_qr_text_that_does_not_decode_has_no_evidence(world: World) -> None:
    with pytest.raises(errors.QrBadPrefix):
        verify_with_evidence(
            world.verifier(), "XX1:ABC", professional=PROFESSIONAL, invoice=INVOICE
        )


def test_bad_professional_or_invoice_is_the_callers_error(world: World) -> None:
    for professional, invoice in (("101 01", INVOICE), ("", INVOICE), (PROFESSIONAL, b"")):
        with pytest.raises(errors.InvalidArgument):
            verify_with_evidence(
                world.verifier(), _qr(world), professional=professional, invoice=invoice
            )
    with pytest.raises(errors.InvalidArgument):
        RequestContext(PROFESSIONAL, bytes(33))


def test_evidence_is_checked_as_of_its_read_at_not_of_the_audit(world: World) -> None:
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    verifier = EvidenceVerifier(world.trust)
    verifier.verify(evidence.encode())  # a year later: still as of read_at
    late = Evidence(
        EvidenceChannel.QR,
        evidence.presentation,
        NOW + 60 + 31,
        "ok",
        PROFESSIONAL,
        INVOICE,
    )
    with pytest.raises(errors.PresentationExpired):
        verifier.verify(late.encode())
    early = Evidence(EvidenceChannel.QR, evidence.presentation, NOW - 31, "ok", PROFESSIONAL, b"1")
    with pytest.raises(errors.PresentationNotYetValid):
        verifier.verify(early.encode())
    # The authenticity test of the audit: at the token's own iat, status aside.
    assert verifier.verify(late.encode(), at=NOW, status=False).presentation.token_iat == NOW


# --- producing evidence: NFC -----------------------------------------------------------------


def test_nfc_context_enters_the_transcript_and_the_holder_sees_it(world: World) -> None:
    holder = HolderSession(
        credentials_by_index(world.bundle.credentials),
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=lambda hint, available: 1,
    )
    reader = ReaderSession(world.verifier(), context=CONTEXT)
    result = pair(holder, reader)
    requested = [e for e in holder.events() if isinstance(e, PresentationRequested)]
    assert requested == [PresentationRequested(None, CONTEXT)]
    info = _cbor.decode(reader.reader_info)
    assert info[ReaderInfoLabel.CONTEXT] == CONTEXT.to_wire()
    assert (
        result.transcript
        == hashlib.sha256(
            _cbor.encode([1, bytes.fromhex("F0564954414C4501"), reader.fci, reader.reader_info])
        ).digest()
    )
    evidence = reader.evidence()
    assert evidence.channel is EvidenceChannel.NFC and evidence.context == CONTEXT
    assert (evidence.professional, evidence.invoice) == (PROFESSIONAL, INVOICE)
    verified = EvidenceVerifier(world.trust).verify(evidence.encode())
    assert verified.bound


def test_nfc_evidence_cannot_move_to_another_invoice_or_session(world: World) -> None:
    evidence = _tap(world, CONTEXT).evidence()
    verifier = EvidenceVerifier(world.trust)
    moved = Evidence(
        EvidenceChannel.NFC,
        evidence.presentation,
        evidence.read_at,
        "ok",
        PROFESSIONAL,
        invoice_digest(b"another invoice"),
        evidence.fci,
        evidence.reader_info,
    )
    with pytest.raises(errors.EvidenceContextMismatch):
        verifier.verify(moved.encode())
    other = _tap(world, CONTEXT).evidence()
    swapped = Evidence(
        EvidenceChannel.NFC,
        evidence.presentation,
        evidence.read_at,
        "ok",
        PROFESSIONAL,
        INVOICE,
        other.fci,
        other.reader_info,
    )
    with pytest.raises(errors.TranscriptMismatch):
        verifier.verify(swapped.encode())
    as_qr = Evidence(
        EvidenceChannel.QR, evidence.presentation, evidence.read_at, "ok", PROFESSIONAL, INVOICE
    )
    with pytest.raises(errors.TranscriptMismatch):
        verifier.verify(as_qr.encode())


def test_nfc_without_context_is_evidence_not_bound_to_the_invoice(world: World) -> None:
    session = _tap(world, None)
    with pytest.raises(errors.InvalidArgument):
        session.evidence()  # no context: the caller names professional and invoice
    evidence = session.evidence(professional=PROFESSIONAL, invoice=INVOICE)
    assert evidence.context is None
    assert not EvidenceVerifier(world.trust).verify(evidence.encode()).bound
    bound = _tap(world, CONTEXT)
    with pytest.raises(errors.InvalidArgument):
        bound.evidence(professional="99999999999")


def test_nfc_evidence_of_a_refused_tap_and_of_no_tap(world: World) -> None:
    stranger = make_world()  # a reader that trusts another fund only
    holder = HolderSession(
        credentials_by_index(world.bundle.credentials),
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=lambda hint, available: 0,
    )
    reader = ReaderSession(stranger.verifier(), context=CONTEXT)
    with pytest.raises(errors.TrustError) as refused:
        pair(holder, reader)
    evidence = reader.evidence()
    assert evidence.verdict == refused.value.code and not evidence.accepted
    # The fund, which trusts the issuer, finds the record authentic and bound.
    assert EvidenceVerifier(world.trust).verify(evidence.encode()).bound
    fresh = ReaderSession(world.verifier(), context=CONTEXT)
    with pytest.raises(errors.NfcIllegalState):
        fresh.evidence()


def test_holder_refuses_a_malformed_context(world: World) -> None:
    holder = HolderSession(
        credentials_by_index(world.bundle.credentials),
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=lambda hint, available: 0,
    )
    reader = ReaderSession(world.verifier())
    select = reader.next_command()
    assert select is not None
    reader.feed(holder.process(select))
    info = _cbor.decode(reader.reader_info)
    info[ReaderInfoLabel.CONTEXT] = {1: PROFESSIONAL}
    body = _cbor.encode({1: _cbor.encode(info), 2: b"\x00" * 20})
    command = (
        bytes.fromhex("803A0000") + b"\x00" + len(body).to_bytes(2, "big") + body + b"\x00\x00"
    )
    assert holder.process(command)[-2:] == b"\x6a\x80"
    assert isinstance(holder.last_error, errors.NfcRequestInvalid)


# --- the request context: one context, another, none (spec/evidence.md sections 5, 6) -------


OTHER_PROFESSIONAL = "20202020202"
OTHER_INVOICE = invoice_digest(b"FSE 2026-000043")


def _with_reader_info(evidence: Evidence, info: dict[int, Any], **fields: Any) -> bytes:
    """The record of ``evidence`` with another ReaderInfo (same FCI, same token), its
    professional and invoice replaced by ``fields``: bytes, as a producer could send."""
    wire = evidence.to_wire()
    wire[4] = _cbor.encode(info)
    wire[7] = fields.get("professional", evidence.professional)
    wire[8] = fields.get("invoice", evidence.invoice)
    return _cbor.encode(wire)


def _refusal(world: World, record: bytes) -> str:
    with pytest.raises(errors.VitaleCredError) as caught:
        EvidenceVerifier(world.trust).verify(record)
    return caught.value.code


@pytest.mark.parametrize(
    ("professional", "invoice"),
    [
        (PROFESSIONAL, OTHER_INVOICE),
        (OTHER_PROFESSIONAL, INVOICE),
        (OTHER_PROFESSIONAL, OTHER_INVOICE),
    ],
)
def test_a_presentation_made_for_one_context_is_refused_under_another(
    world: World, professional: str, invoice: bytes
) -> None:
    evidence = _tap(world, CONTEXT).evidence()
    info = _cbor.decode(evidence.reader_info or b"")
    other = RequestContext(professional, invoice)
    # The record names the other professional or invoice, its ReaderInfo still the
    # context the phone answered: E5.
    moved = _with_reader_info(evidence, info, professional=professional, invoice=invoice)
    assert _refusal(world, moved) == "evidence.context_mismatch"
    # ReaderInfo rewritten to name them as well: E5 passes, the device signature covers
    # the transcript of the original context (E6).
    info[ReaderInfoLabel.CONTEXT] = other.to_wire()
    rewritten = _with_reader_info(evidence, info, professional=professional, invoice=invoice)
    assert decode_evidence(rewritten).evidence.context == other
    assert _refusal(world, rewritten) == "presentation.transcript_mismatch"
    # A reader verifying the token against the transcript of the other context.
    assert evidence.fci is not None
    transcript = hashlib.sha256(session_transcript(evidence.fci, _cbor.encode(info))).digest()
    with pytest.raises(errors.VitaleCredError) as caught:
        world.verifier().verify_presentation(evidence.presentation, transcript=transcript)
    assert caught.value.code == "presentation.transcript_mismatch"
    # The untouched record verifies, bound to its own context.
    verified = EvidenceVerifier(world.trust).verify(evidence.encode())
    assert verified.bound and verified.evidence.context == CONTEXT


def test_a_context_absent_or_present_is_told_apart(world: World) -> None:
    """Taking the context out of a bound record, or putting one into an unbound record,
    changes the transcript the phone signed: neither passes for the other."""
    bound = _tap(world, CONTEXT).evidence()
    unbound = _tap(world, None).evidence(professional=PROFESSIONAL, invoice=INVOICE)
    assert bound.context == CONTEXT and unbound.context is None
    with_context = _cbor.decode(bound.reader_info or b"")
    without_context = _cbor.decode(unbound.reader_info or b"")
    assert ReaderInfoLabel.CONTEXT in with_context
    assert ReaderInfoLabel.CONTEXT not in without_context
    verifier = EvidenceVerifier(world.trust)
    assert verifier.verify(bound.encode()).bound
    assert not verifier.verify(unbound.encode()).bound
    # The context taken out: the record reads as unbound, and refused.
    del with_context[ReaderInfoLabel.CONTEXT]
    stripped = _with_reader_info(bound, with_context)
    assert decode_evidence(stripped).evidence.context is None
    assert _refusal(world, stripped) == "presentation.transcript_mismatch"
    # A context put in: the record reads as bound, and refused.
    without_context[ReaderInfoLabel.CONTEXT] = CONTEXT.to_wire()
    added = _with_reader_info(unbound, without_context)
    assert decode_evidence(added).evidence.context == CONTEXT
    assert _refusal(world, added) == "presentation.transcript_mismatch"


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({1: "1" * 33, 2: INVOICE}, id="professional-33-chars"),
        pytest.param({1: PROFESSIONAL, 2: bytes(33)}, id="invoice-33-bytes"),
        pytest.param({1: "", 2: INVOICE}, id="professional-empty"),
        pytest.param({1: PROFESSIONAL, 2: b""}, id="invoice-empty"),
        pytest.param({1: "1010 1010", 2: INVOICE}, id="professional-not-alphanumeric"),
        pytest.param({1: PROFESSIONAL, 2: "FSE 42"}, id="invoice-text"),
        pytest.param({1: PROFESSIONAL}, id="invoice-missing"),
        pytest.param({2: INVOICE}, id="professional-missing"),
        pytest.param({1: PROFESSIONAL, 2: INVOICE, 3: 0}, id="unknown-label"),
        pytest.param([PROFESSIONAL, INVOICE], id="not-a-map"),
    ],
)
def test_a_malformed_or_too_long_context_in_a_record_is_refused(world: World, context: Any) -> None:
    evidence = _tap(world, CONTEXT).evidence()
    info = _cbor.decode(evidence.reader_info or b"")
    info[ReaderInfoLabel.CONTEXT] = context
    record = _with_reader_info(evidence, info)
    with pytest.raises(errors.EvidenceError) as caught:
        decode_evidence(record)
    assert caught.value.code == "evidence.invalid"
    assert _refusal(world, record) == "evidence.invalid"


def test_a_reader_cannot_send_a_context_too_long() -> None:
    for professional, invoice in (("1" * 33, INVOICE), (PROFESSIONAL, bytes(33))):
        with pytest.raises(errors.InvalidArgument) as caught:
            RequestContext(professional, invoice)
        assert caught.value.code == "usage.invalid_argument"
    assert RequestContext("1" * 32, bytes(32)).to_wire() == {1: "1" * 32, 2: bytes(32)}


# --- the professional's signature ------------------------------------------------------------


def _signed(world: World, key: ec.EllipticCurvePrivateKey) -> bytes:
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    return evidence.encode(signer=cose.SoftwareSigner(key))


def test_a_signed_record_names_its_key_and_verifies_against_the_directory(world: World) -> None:
    key = fixed_key("professional")
    record = _signed(world, key)
    decoded = decode_evidence(record)
    assert decoded.signed and decoded.envelope is not None
    assert decoded.envelope.protected[CoseHeader.TYP] == EVIDENCE_TYP
    assert decoded.envelope.kid == evidence_kid(key.public_key())
    keys = ProfessionalKeys({PROFESSIONAL: [key.public_key()]})
    verified = EvidenceVerifier(world.trust, professionals=keys).verify(record)
    assert verified.signer == evidence_kid(key.public_key())
    # Without a directory the signature is not examined.
    assert EvidenceVerifier(world.trust).verify(record).signer is None


def test_signatures_of_unknown_keys_and_altered_records_are_refused(world: World) -> None:
    key = fixed_key("professional")
    record = _signed(world, key)
    other = ProfessionalKeys({PROFESSIONAL: [fixed_key("professional-2").public_key()]})
    with pytest.raises(errors.EvidenceSignerUnknown):
        EvidenceVerifier(world.trust, professionals=other).verify(record)
    for_another = ProfessionalKeys({"10202020202": [key.public_key()]})
    with pytest.raises(errors.EvidenceSignerUnknown):
        EvidenceVerifier(world.trust, professionals=for_another).verify(record)
    message = cose.decode_sign1(record)
    value = _cbor.decode(message.payload)
    value[5] += 1
    altered = cose.encode_sign1(message.protected_bytes, {}, _cbor.encode(value), message.signature)
    keys = ProfessionalKeys({PROFESSIONAL: [key.public_key()]})
    with pytest.raises(errors.EvidenceSignatureInvalid):
        EvidenceVerifier(world.trust, professionals=keys).verify(altered)


def test_an_hsm_key_signs_evidence(world: World, softhsm_token: SoftHsmToken) -> None:  # noqa: F811
    """A professional's key in a PKCS#11 token signs the record (in a child process: a
    PKCS#11 module is loaded once per process, and tests/test_hsm.py loads its own)."""
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    code = (
        "import sys\n"
        "from cryptography.hazmat.primitives import serialization\n"
        "from vitale_cred.adapters.hsm import Pkcs11Token\n"
        "from vitale_cred.evidence import decode_evidence, sign_evidence\n"
        "from vitale_cred.registry import CoseAlg\n"
        "module, label, pin, key_label, record = sys.argv[1:6]\n"
        "with Pkcs11Token.open(module, label, pin) as token:\n"
        "    signer = token.generate_key(key_label, CoseAlg.ES256)\n"
        "    evidence = decode_evidence(bytes.fromhex(record)).evidence\n"
        "    print(sign_evidence(evidence, signer).hex())\n"
        "    print(signer.public_key().public_bytes(serialization.Encoding.DER,\n"
        "          serialization.PublicFormat.SubjectPublicKeyInfo).hex())\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            softhsm_token.module_path,
            softhsm_token.label,
            softhsm_token.pin,
            f"evidence-{os.getpid()}-{NOW}",
            evidence.encode().hex(),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "SOFTHSM2_CONF": str(softhsm_token.config_path)},
    )
    assert done.returncode == 0, done.stderr
    record_hex, spki_hex = done.stdout.split()
    public = serialization.load_der_public_key(bytes.fromhex(spki_hex))
    keys = ProfessionalKeys({PROFESSIONAL: [public]})
    verified = EvidenceVerifier(world.trust, professionals=keys).verify(bytes.fromhex(record_hex))
    assert verified.signer == evidence_kid(public)
    assert verified.evidence == evidence
    assert decode_evidence(bytes.fromhex(record_hex)).signed


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({9: 0}, "evidence.invalid"),
        ({1: 3}, "evidence.invalid"),
        ({5: "now"}, "evidence.invalid"),
        ({6: "Refused"}, "evidence.invalid"),
        ({7: "A" * 33}, "evidence.invalid"),
        ({3: b"fci"}, "evidence.invalid"),
        ({8: None}, "evidence.invalid"),
    ],
)
def test_malformed_records_are_refused_with_their_code(
    world: World, change: dict[int, Any], code: str
) -> None:
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    wire = evidence.to_wire()
    for label, value in change.items():
        if value is None:
            del wire[label]
        else:
            wire[label] = value
    with pytest.raises(errors.VitaleCredError) as caught:
        decode_evidence(_cbor.encode(wire))
    assert caught.value.code == code


def test_truncated_and_oversized_records_fail_in_the_decoder(world: World) -> None:
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    data = evidence.encode()
    with pytest.raises(errors.CborLengthExceedsInput):
        decode_evidence(data[:-10])
    with pytest.raises(errors.CborTooLarge):
        decode_evidence(data + bytes(16_384))
    with pytest.raises(errors.InvalidArgument):
        decode_evidence("not bytes")  # type: ignore[arg-type]


def test_verified_evidence_is_sealed(world: World) -> None:
    with pytest.raises(errors.UsageError):
        VerifiedEvidence()


# --- the log the audit reads -------------------------------------------------------------


def test_evidence_log_appends_whole_lines_from_many_threads(world: World, tmp_path: Path) -> None:
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    log = EvidenceLog(tmp_path / "evidence.jsonl")

    def write() -> None:
        for _ in range(25):
            log.append(evidence, invoice_id="FSE-42")

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = (tmp_path / "evidence.jsonl").read_text("ascii").splitlines()
    assert len(lines) == 100
    assert {json.loads(line)["invoice_id"] for line in lines} == {"FSE-42"}
    with pytest.raises(errors.InvalidArgument):
        log.append(evidence, evidence="x")


# --- CDDL -----------------------------------------------------------------------------------


def _evidence_schema(rule: str) -> Any:
    pycddl = pytest.importorskip("pycddl")
    test_cddl = pytest.importorskip("test_cddl", reason="tests/test_cddl.py holds the workarounds")
    text = test_cddl.normative_text() + "\n" + (ROOT / "spec/cddl/evidence.cddl").read_text()
    return pycddl.Schema(f"root = {rule}\n{test_cddl.pycddl_form(text)}")


def test_real_evidence_conforms_to_the_cddl(world: World) -> None:
    test_cddl = pytest.importorskip("test_cddl")
    _, qr = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    nfc = _tap(world, CONTEXT).evidence()
    unbound = _tap(world, None).evidence(professional=PROFESSIONAL, invoice=INVOICE)
    for evidence in (qr, nfc, unbound):
        _evidence_schema(_by_channel(evidence.encode())).validate_cbor(evidence.encode())
        _evidence_schema("evidence-record").validate_cbor(evidence.encode())
        test_cddl.check(evidence.presentation, "presentation")
        if evidence.reader_info is not None and evidence.fci is not None:
            test_cddl.check(evidence.reader_info, "reader-info")
            test_cddl.check(evidence.fci, "fci")
    signed = qr.encode(signer=cose.SoftwareSigner(fixed_key("professional")))
    _evidence_schema("signed-evidence").validate_cbor(signed)
    message = cose.decode_sign1(signed)
    _evidence_schema("evidence-protected").validate_cbor(message.protected_bytes)
    _evidence_schema("qr-evidence").validate_cbor(message.payload)


def test_the_cddl_refuses_what_the_decoder_refuses(world: World) -> None:
    pycddl = pytest.importorskip("pycddl")
    _, evidence = verify_with_evidence(
        world.verifier(), _qr(world), professional=PROFESSIONAL, invoice=INVOICE
    )
    for change in ({9: 0}, {1: 3}, {3: b"fci"}, {8: bytes(33)}, {6: ""}):
        wire = {**evidence.to_wire(), **change}
        with pytest.raises(pycddl.ValidationError):
            _evidence_schema("qr-evidence").validate_cbor(_cbor.encode(wire))


def _by_channel(record: bytes) -> str:
    """The map rule of a record's channel: pycddl 0.6.4 accepts an array for a choice of
    two maps (``evidence = qr-evidence / nfc-evidence``), so each map is checked alone."""
    value = _cbor.decode(record, max_size=1 << 16, deterministic=False)
    return "nfc-evidence" if isinstance(value, dict) and value.get(1) == 2 else "qr-evidence"


def test_evidence_vectors_validate_against_the_cddl() -> None:
    """Records of the valid vectors conform; the structural refusals do not."""
    cases = json.loads((ROOT / "spec/vectors/evidence.json").read_text("utf-8"))["cases"]
    pycddl = pytest.importorskip("pycddl")
    structural = {
        "evidence-not-a-map",
        "evidence-unknown-label",
        "evidence-missing-invoice",
        "evidence-read-at-text",
        "evidence-channel-3",
        "evidence-channel-true",
        "evidence-professional-empty",
        "evidence-invoice-33",
        "evidence-invoice-text",
        "evidence-qr-with-fci",
        "evidence-nfc-without-reader-info",
    }
    checked = 0
    for case in cases:
        record = bytes.fromhex(case["input"]["evidence"])
        if case["expected"]["result"] == "valid":
            if record[0] == 0xD2:
                _evidence_schema("signed-evidence").validate_cbor(record)
                record = cose.decode_sign1(record).payload
            _evidence_schema(_by_channel(record)).validate_cbor(record)
            checked += 1
        elif case["id"] in structural:
            for rule in ("qr-evidence", "nfc-evidence"):
                with pytest.raises(pycddl.ValidationError):
                    _evidence_schema(rule).validate_cbor(record)
            checked += 1
    assert checked == 8 + len(structural)


def test_qr_token_in_evidence_is_the_token_the_qr_text_carries(world: World) -> None:
    token = present(world.bundle.credentials[0], world.device, clock=FixedClock(NOW))
    _, evidence = verify_with_evidence(
        world.verifier(), encode_qr_text(token), professional=PROFESSIONAL, invoice=INVOICE
    )
    assert evidence.presentation == token
