"""NFC vectors (spec/nfc.md): recorded APDU exchanges, replayed against a reader (which
must send exactly the recorded commands) or against a holder (which must answer
exactly the recorded responses)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tools.vectors._build import (
    CaseList,
    Signed,
    claims_wire,
    device_keys,
    h,
    invalid,
    issue,
    pki_keys,
    pki_trust,
    policy_json,
    present,
    presentation_fields,
    valid,
)
from tools.vectors._material import ISSUED_AT, SHOWN_AT, Material, fixed_bytes
from vitale_cred.clock import FixedClock
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.errors import VerificationError, all_error_classes
from vitale_cred.evidence import RequestContext
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import parse_command, parse_response
from vitale_cred.nfc import (
    AID,
    Done,
    EncryptionPolicy,
    HolderSession,
    PresentationRequested,
    ReaderSession,
    SeenNonces,
    Selected,
)
from vitale_cred.presentation import NONCE_LENGTH
from vitale_cred.trust import TrustStore
from vitale_cred.verify import Policy, Verifier

AREA = "nfc"
DESCRIPTION = (
    "Recorded NFC exchanges (nfc.md): a reader replays the holder's responses and must "
    "send exactly the recorded commands, then accept or refuse; a holder receives the "
    "recorded commands and must answer exactly the recorded responses."
)

_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_HOLDER_ID = bytes(7) + b"\x01"
#: The status word a holder answers for each code (errors.md section 3).
_STATUS_WORDS: dict[str, int] = {
    cls.code: int(getattr(cls, "status_word"))  # noqa: B009 - only some classes define it
    for cls in all_error_classes()
    if hasattr(cls, "status_word")
}
_READER_ID = bytes(8)
#: The request context of the context cases (nfc.md section 5): an RPPS number and the
#: SHA-256 of an invoice.
_CONTEXT = RequestContext("10101010101", hashlib.sha256(b"invoice FSE 2026-000042").digest())


class _Rng:
    """Random bytes fixed by the case, served by request size."""

    def __init__(self, queues: Mapping[int, Sequence[bytes]]) -> None:
        self._queues = {size: list(values) for size, values in queues.items()}

    def __call__(self, n: int) -> bytes:
        return self._queues[n].pop(0)


def _scalar(label: str) -> bytes:
    value = fixed_bytes(f"scalar/{label}", 32)
    if not 1 <= int.from_bytes(value, "big") < _P256_N:  # pragma: no cover - p < 2^-32
        raise ValueError(f"label {label} gives no P-256 scalar")
    return value


@dataclass
class Holder:
    """A holder configuration, as written in a case."""

    credentials: dict[int, bytes]
    device: SoftwareDeviceKey
    encryption: str = "required"
    extended_length: bool = True
    max_command_data: int | None = None
    max_response_data: int | None = None
    ttl: int = 60
    ephemeral: list[bytes] = field(default_factory=list)
    nonces: list[bytes] = field(default_factory=list)
    user: list[dict[str, Any]] = field(default_factory=lambda: [{"verified": True, "choice": 2}])

    def to_json(self) -> dict[str, Any]:
        return {
            "credentials": [
                {"index": i, "credential": h(c)} for i, c in sorted(self.credentials.items())
            ],
            "device_private_key": self.device.export_private_pem().decode("ascii"),
            "encryption": self.encryption,
            "extended_length": self.extended_length,
            "max_command_data": self.max_command_data,
            "max_response_data": self.max_response_data,
            "ttl": self.ttl,
            "ephemeral_private_keys": [h(k) for k in self.ephemeral],
            "presentation_nonces": [h(n) for n in self.nonces],
            "user": self.user,
        }

    def session(self) -> HolderSession:
        users = list(self.user)
        position = {"user": -1}

        def gate() -> bool:
            position["user"] = min(position["user"] + 1, len(users) - 1)
            return bool(users[position["user"]]["verified"])

        def chooser(hint: int | None, available: tuple[int, ...]) -> int | None:
            del hint, available
            choice = users[max(position["user"], 0)].get("choice")
            return None if choice is None else int(choice)

        return HolderSession(
            self.credentials,
            self.device,
            clock=FixedClock(SHOWN_AT),
            gate=gate,
            chooser=chooser,
            encryption=EncryptionPolicy(self.encryption),
            extended_length=self.extended_length,
            max_command_data=self.max_command_data,
            max_response_data=self.max_response_data,
            ttl=self.ttl,
            rng=_Rng({32: self.ephemeral, NONCE_LENGTH: self.nonces}),
            seen_nonces=SeenNonces(),
        )


@dataclass
class Reader:
    """A reader configuration, as written in a case."""

    nonce: bytes
    ephemeral: bytes | None
    beneficiary_hint: int | None = 2
    encryption: str = "required"
    extended_length: bool = True
    retries_after_locked: int = 0
    context: RequestContext | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "beneficiary_hint": self.beneficiary_hint,
            "encryption": self.encryption,
            "extended_length": self.extended_length,
            "nonce": h(self.nonce),
            "ephemeral_private_key": None if self.ephemeral is None else h(self.ephemeral),
            "retries_after_locked": self.retries_after_locked,
        }
        if self.context is not None:
            # Only when used: the cases without a context keep their bytes.
            out["context"] = _context_json(self.context)
        return out

    def session(self, verifier: Verifier) -> ReaderSession:
        return ReaderSession(
            verifier,
            beneficiary_hint=self.beneficiary_hint,
            encryption=EncryptionPolicy(self.encryption),
            extended_length=self.extended_length,
            rng=_Rng({16: [self.nonce], 32: [] if self.ephemeral is None else [self.ephemeral]}),
            context=self.context,
        )


def _context_json(context: RequestContext) -> dict[str, str]:
    return {"professional": context.professional, "invoice": h(context.invoice)}


def _pair(
    holder: HolderSession, reader: ReaderSession, retries: int = 0
) -> tuple[list[tuple[bytes, bytes]], VerificationError | None]:
    """Run a tap in memory; the exchanges and the reader's error, if any."""
    exchanges: list[tuple[bytes, bytes]] = []
    for _ in range(100):
        command = reader.next_command()
        if command is None:
            if reader.error is not None and retries:
                retries -= 1
                reader.retry()
                continue
            return exchanges, reader.error
        response = holder.process(command)
        exchanges.append((command, response))
        try:
            reader.feed(response)
        except VerificationError as exc:
            if retries and reader.state.value == "locked":
                continue
            return exchanges, exc
    raise RuntimeError("no end after 100 exchanges")


def _session_values(
    exchanges: Sequence[tuple[bytes, bytes]], reader_scalar: bytes | None, holder_scalar: bytes
) -> dict[str, Any]:
    """Intermediate values recomputed from the exchanges with the formulas of nfc.md 6."""
    fci = b""
    request = b""
    answer = b""
    phase = "select"
    for command, response in exchanges:
        cmd = parse_command(command)
        res = parse_response(response)
        if cmd.ins == 0xA4:
            phase, fci, request, answer = "select", res.data, b"", b""
        elif cmd.ins == 0x3A:
            if phase != "chaining":
                request = b""  # a new request (a resend after 6982 replaces the first)
            phase = "chaining" if cmd.cla & 0x10 else "request"
            request += cmd.data
            answer = res.data
        elif phase == "select":
            fci += res.data
        else:
            answer += res.data
    out: dict[str, Any] = {"fci": h(fci)}
    if not request:
        return out
    request_map = _cbor.decode(request, max_depth=2)
    reader_info = request_map[1]
    transcript = _cbor.encode([1, AID, fci, reader_info])
    digest = hashlib.sha256(transcript).digest()
    out.update(
        {
            "reader_info": h(reader_info),
            "session_transcript": h(transcript),
            "transcript_hash": h(digest),
        }
    )
    body = request_map[2]
    if reader_scalar is not None and _cbor.decode(reader_info)[3] == 1:
        reader_key = ec.derive_private_key(int.from_bytes(reader_scalar, "big"), ec.SECP256R1())
        holder_key = ec.derive_private_key(int.from_bytes(holder_scalar, "big"), ec.SECP256R1())
        zab = reader_key.exchange(ec.ECDH(), holder_key.public_key())

        def derive(info: bytes) -> bytes:
            return HKDF(hashes.SHA256(), 32, digest, info).derive(zab)

        sk_reader, sk_device = derive(b"SKReader"), derive(b"SKDevice")
        body = AESGCM(sk_reader).decrypt(_READER_ID + (1).to_bytes(4, "big"), body, b"")
        out.update({"zab": h(zab), "sk_reader": h(sk_reader), "sk_device": h(sk_device)})
        if answer:
            try:
                answer = AESGCM(sk_device).decrypt(_HOLDER_ID + (1).to_bytes(4, "big"), answer, b"")
            except InvalidTag:
                answer = b""  # a tampered answer: nothing to show
    out["request_data"] = h(body)
    if answer:
        out["presentation"] = h(answer)
    return out


def build(mat: Material) -> CaseList:
    """The NFC cases."""
    cases = CaseList(AREA)
    pki = mat.pki["es256"]
    credentials = {i: issue(pki, claims_wire(mat, i)).data for i in range(5)}
    trust_spec = pki_trust(pki)
    store = TrustStore(roots=[pki.root], certificates=[pki.issuer])
    keys = {**pki_keys(pki), **device_keys(mat.device)}

    def verifier() -> Verifier:
        return Verifier(Policy(trust=store, clock=FixedClock(SHOWN_AT)))

    def holder_for(case_id: str, selects: int = 1, **options: Any) -> Holder:
        return Holder(
            credentials=options.pop("credentials", credentials),
            device=mat.device,
            ephemeral=[_scalar(f"{case_id}/holder/{i}") for i in range(selects)],
            nonces=[
                fixed_bytes(f"nfc/{case_id}/presentation/{i}", NONCE_LENGTH) for i in range(selects)
            ],
            **options,
        )

    def reader_for(case_id: str, **options: Any) -> Reader:
        plaintext_only = options.get("encryption") == "unsafe_plaintext_only"
        return Reader(
            nonce=fixed_bytes(f"nfc/{case_id}/reader-nonce", 16),
            ephemeral=None if plaintext_only else _scalar(f"{case_id}/reader"),
            **options,
        )

    def presentation_expected(holder: Holder, index: int, values: dict[str, Any]) -> Any:
        return valid(
            presentation_fields(
                mat.card.view(index),
                issuer_kid=pki.kid,
                token_iat=SHOWN_AT,
                ttl=holder.ttl,
                nonce=holder.nonces[0],
                transcript=bytes.fromhex(values["transcript_hash"]),
            )
        )

    def add_reader(
        case_id: str,
        section: str,
        description: str,
        reader: Reader,
        exchanges: Sequence[tuple[bytes, bytes]],
        expected: dict[str, Any],
        *,
        intermediate: dict[str, Any] | None = None,
        holder_scalar: bytes | None = None,
    ) -> None:
        values = intermediate
        if values is None and holder_scalar is not None:
            values = _session_values(exchanges, reader.ephemeral, holder_scalar)
        cases.add(
            f"reader-{case_id}",
            section,
            description,
            "nfc_reader",
            expected,
            input={"exchanges": [{"command": h(c), "response": h(r)} for c, r in exchanges]},
            at=SHOWN_AT,
            trust=trust_spec,
            policy=policy_json(),
            keys=keys,
            intermediate=values,
            extra={"reader": reader.to_json()},
            cddl=_marks(values),
        )

    def add_holder(
        case_id: str,
        section: str,
        description: str,
        holder: Holder,
        commands: Sequence[bytes],
        code: str | None,
        *,
        reader_scalar: bytes | None = None,
    ) -> None:
        session = holder.session()
        exchanges = []
        events: list[dict[str, Any]] = []
        for position, command in enumerate(commands):
            if code is not None and position == len(commands) - 1:
                # The refusal is the spec's status word for the code, not the implementation's.
                exchanges.append((command, _STATUS_WORDS[code].to_bytes(2, "big")))
                break
            exchanges.append((command, session.process(command)))
            for event in session.events():
                if isinstance(event, Selected):
                    events.append({"event": "selected"})
                elif isinstance(event, PresentationRequested):
                    requested: dict[str, Any] = {
                        "event": "presentation_requested",
                        "beneficiary_hint": event.beneficiary_hint,
                    }
                    if event.context is not None:
                        requested["context"] = _context_json(event.context)
                    events.append(requested)
                elif isinstance(event, Done):
                    events.append({"event": "done", "beneficiary_index": event.beneficiary_index})
        if code is None:
            if session.last_error is not None:
                raise AssertionError(f"{case_id}: the holder refused with {session.last_error}")
            expected = valid({"state": session.state.value, "events": events})
        else:
            expected = invalid(code)
        values = None
        if holder.ephemeral and reader_scalar is not None and code is None:
            values = _session_values(exchanges, reader_scalar, holder.ephemeral[-1])
        cases.add(
            f"holder-{case_id}",
            section,
            description,
            "nfc_holder",
            expected,
            input={"exchanges": [{"command": h(c), "response": h(r)} for c, r in exchanges]},
            at=SHOWN_AT,
            keys=device_keys(mat.device),
            intermediate=values,
            extra={"holder": holder.to_json()},
            cddl=_marks(values),
        )

    def tap(
        case_id: str, holder: Holder, reader: Reader
    ) -> tuple[list[tuple[bytes, bytes]], VerificationError | None]:
        return _pair(holder.session(), reader.session(verifier()), reader.retries_after_locked)

    # --- complete taps, seen from both sides ---------------------------------------------
    for case_id, description, holder_options, reader_options, section in (
        ("extended", "extended length both ways: SELECT, one PRESENTATION REQUEST (4E)",
         {}, {}, "nfc.md#3.1"),
        ("short-holder", "a short-only holder: request in 3S, presentation by GET RESPONSE",
         {"extended_length": False}, {}, "nfc.md#3.1"),
        ("short-reader", "a short-only reader (PC/SC default) and an extended holder",
         {}, {"extended_length": False}, "nfc.md#3.1"),
        ("chained", "a holder accepting 48-byte commands: the request in chained links",
         {"max_command_data": 48}, {}, "nfc.md#3"),
        ("plaintext", "plaintext mode: holder and reader both allow it, the holder offers "
         "only plaintext", {"encryption": "unsafe_plaintext_only"},
         {"encryption": "unsafe_plaintext_allowed"}, "nfc.md#7"),
        ("no-hint", "no beneficiary hint: the user picks the insured", {"user": [
            {"verified": True, "choice": 0}]}, {"beneficiary_hint": None}, "nfc.md#8"),
        ("locked-then-retry", "user verification pending (6982), then the same request again",
         {"user": [{"verified": False}, {"verified": True, "choice": 2}]},
         {"retries_after_locked": 1}, "nfc.md#8"),
        ("context", "a request context in ReaderInfo: the professional and the invoice "
         "enter the transcript the device signature covers", {}, {"context": _CONTEXT},
         "nfc.md#5"),
    ):  # fmt: skip
        holder = holder_for(case_id, **holder_options)
        reader = reader_for(case_id, **reader_options)
        exchanges, error = tap(case_id, holder, reader)
        if error is not None:
            raise AssertionError(f"{case_id}: {error}")
        values = _session_values(exchanges, reader.ephemeral, holder.ephemeral[0])
        index = holder.user[-1]["choice"]
        add_reader(
            case_id,
            section,
            f"{description} (reader side)",
            reader,
            exchanges,
            presentation_expected(holder, index, values),
            intermediate=values,
        )
        add_holder(
            case_id,
            section,
            f"{description} (holder side)",
            holder,
            [c for c, _ in exchanges],
            None,
            reader_scalar=reader.ephemeral,
        )

    # --- reader refusals ----------------------------------------------------------------
    base_holder = holder_for("reader-base")
    base_reader = reader_for("reader-base")
    base_exchanges, _ = tap("reader-base", base_holder, base_reader)
    select, fci_response = base_exchanges[0]
    request, answer = base_exchanges[1]
    fci = _cbor.decode(fci_response[:-2])
    sw_ok = b"\x90\x00"

    def fci_with(**changes: Any) -> bytes:
        out = dict(fci)
        for key, value in changes.items():
            label = int(key[1:])
            if value is None:
                out.pop(label, None)
            else:
                out[label] = value
        return _cbor.encode(out) + sw_ok

    downgrade_holder = holder_for("reader-downgrade", encryption="unsafe_plaintext_only")
    downgrade_reader = reader_for("reader-downgrade")
    exchanges, error = tap("reader-downgrade", downgrade_holder, downgrade_reader)
    add_reader(
        "downgrade",
        "nfc.md#7",
        "the holder offers plaintext only, the reader requires encryption",
        downgrade_reader,
        exchanges,
        invalid("session.downgrade"),
    )
    for case_id, description, response, code in (
        ("fci-version-2", "FCI version(1) 2", fci_with(_1=2), "nfc.version_not_supported"),
        ("fci-no-es256", "FCI algorithms(5) [-35]", fci_with(_5=[-35]), "nfc.response_invalid"),
        ("fci-algorithms-bool", "FCI algorithms(5) [-7, true]: a boolean is not an integer",
         fci_with(_5=[-7, True]), "nfc.response_invalid"),
        ("fci-algorithms-text", "FCI algorithms(5) [-7, \"ES256\"], with a holder key(7) not "
         "on P-256: the array's type is checked before the key",
         fci_with(_5=[-7, "ES256"], _7=b"\x04" + bytes(64)), "nfc.response_invalid"),
        ("fci-unknown-label", "FCI label 8", fci_with(_8=0), "nfc.response_invalid"),
        ("fci-key-without-ecdh", "a holder key(7) while only plaintext is offered",
         fci_with(_6=[0]), "nfc.response_invalid"),
        ("fci-not-cbor", "an FCI that is not CBOR", b"\x6f\x10\x84\x08" + AID + sw_ok,
         "nfc.response_invalid"),
        ("fci-bad-key", "a holder key(7) that is not a point on P-256",
         fci_with(_7=b"\x04" + bytes(64)), "session.key_invalid"),
        ("fci-compressed-key", "a compressed holder key(7)",
         fci_with(_7=b"\x02" + fci[7][1:33]), "session.key_invalid"),
        ("select-6a82", "the card has no such application", b"\x6a\x82",
         "nfc.application_not_found"),
        ("select-6d00", "the card refuses SELECT with 6D00", b"\x6d\x00", "nfc.holder_refused"),
        ("select-sw-6000", "SW1 60 in the answer to SELECT", b"\x60\x00",
         "apdu.status_word_invalid"),
        ("select-one-byte", "a one-byte answer to SELECT", b"\x90", "apdu.response_malformed"),
    ):  # fmt: skip
        add_reader(
            case_id, "nfc.md#4", description, base_reader, [(select, response)], invalid(code)
        )
    wrong_le = bytes.fromhex("6c10")
    select_le16 = select[:-1] + b"\x10"
    add_reader(
        "wrong-le-twice",
        "nfc.md#3",
        "6C10 in answer to SELECT, then 6C10 again to the corrected command",
        base_reader,
        [(select, wrong_le), (select_le16, wrong_le)],
        invalid("apdu.response_unexpected"),
    )
    get_response = bytes.fromhex("00c0000000")
    big = [
        (select, bytes(256) + b"\x61\x00"),
        (get_response, bytes(256) + b"\x61\x01"),
        (bytes.fromhex("00c0000001"), b"\x00" + sw_ok),
    ]
    add_reader(
        "get-response-longer-than-le",
        "nfc.md#10.4",
        "61 01 after 256 FCI bytes, then 2 bytes in answer to GET RESPONSE Le 01",
        base_reader,
        [(select, bytes(256) + b"\x61\x01"), (bytes.fromhex("00c0000001"), b"\x00\x00" + sw_ok)],
        invalid("apdu.response_unexpected"),
    )
    add_reader(
        "fci-too-long",
        "nfc.md#3.1",
        "an FCI of 513 bytes delivered by GET RESPONSE: readers collect at most 512",
        base_reader,
        big,
        invalid("apdu.response_too_long"),
    )
    add_reader(
        "request-6a80",
        "nfc.md#11",
        "the holder refuses the request with 6A80",
        base_reader,
        [base_exchanges[0], (request, b"\x6a\x80")],
        invalid("nfc.holder_refused"),
    )
    add_reader(
        "request-6982",
        "nfc.md#8",
        "the holder is locked (6982) and the reader does not retry",
        base_reader,
        [base_exchanges[0], (request, b"\x69\x82")],
        invalid("nfc.locked"),
    )
    tampered = bytearray(answer)
    tampered[10] ^= 0x01
    add_reader(
        "response-tampered",
        "nfc.md#6",
        "one bit of the encrypted presentation flipped",
        base_reader,
        [base_exchanges[0], (request, bytes(tampered))],
        invalid("session.decrypt_failed"),
        holder_scalar=base_holder.ephemeral[0],
    )
    values = _session_values(base_exchanges, base_reader.ephemeral, base_holder.ephemeral[0])
    sk_device = bytes.fromhex(values["sk_device"])
    transcript = bytes.fromhex(values["transcript_hash"])
    iv = _HOLDER_ID + (1).to_bytes(4, "big")
    nonce = base_holder.nonces[0]

    def encrypted(token: Signed) -> bytes:
        return AESGCM(sk_device).encrypt(iv, token.data, b"") + sw_ok

    for case_id, description, token, code in (
        ("presentation-qr-token", "a QR token (no transcript) answered over NFC",
         present(credentials[2], mat.device, iat=SHOWN_AT, nonce=nonce),
         "presentation.transcript_mismatch"),
        ("presentation-other-session", "a token bound to another session's transcript",
         present(credentials[2], mat.device, iat=SHOWN_AT, nonce=nonce,
                 transcript=hashlib.sha256(b"another session").digest()),
         "presentation.transcript_mismatch"),
        ("presentation-other-device", "a token signed by another device key",
         present(credentials[2], mat.other_device, iat=SHOWN_AT, nonce=nonce,
                 transcript=transcript), "binding.device_signature_invalid"),
        ("presentation-expired-credential", "a token for a credential that has expired",
         present(issue(pki, claims_wire(mat, 2, iat=ISSUED_AT - 400 * 86_400,
                                        exp=ISSUED_AT - 86_400)).data,
                 mat.device, iat=SHOWN_AT, nonce=nonce, transcript=transcript),
         "validity.expired"),
    ):  # fmt: skip
        add_reader(
            case_id,
            "nfc.md#6",
            description,
            base_reader,
            [base_exchanges[0], (request, encrypted(token))],
            invalid(code),
            holder_scalar=base_holder.ephemeral[0],
        )

    # --- holder refusals ---------------------------------------------------------------
    def commands_of(case_id: str, **options: Any) -> tuple[Holder, Reader, list[bytes]]:
        holder = holder_for(case_id, **options)
        reader = reader_for(case_id)
        exchanges, _ = tap(case_id, holder, reader)
        return holder, reader, [c for c, _ in exchanges]

    _, _, commands = commands_of("holder-base")
    sel, req = commands[0], commands[1]
    refusals: list[tuple[str, str, list[bytes], str, dict[str, Any]]] = [
        ("other-aid", "SELECT of another AID", [bytes.fromhex("00a4040007a000000004101000")],
         "nfc.application_not_found", {}),
        ("aid-prefix", "SELECT of a prefix of the AID (no partial selection)",
         [bytes.fromhex("00a4040007f0564954414c4500")], "nfc.application_not_found", {}),
        ("aid-too-short", "an AID of 4 bytes", [bytes.fromhex("00a4040004f056495400")],
         "apdu.wrong_length", {}),
        ("select-p2-0c", "SELECT P1-P2 040C", [sel[:3] + b"\x0c" + sel[4:]],
         "apdu.wrong_p1p2", {}),
        ("request-before-select", "PRESENTATION REQUEST without SELECT", [req],
         "nfc.out_of_order", {}),
        ("cla-84", "CLA 84 (secure messaging)", [b"\x84" + sel[1:]], "apdu.cla_not_supported",
         {}),
        ("cla-ff", "CLA FF", [b"\xff" + sel[1:]], "apdu.cla_invalid", {}),
        ("ins-b0", "READ BINARY (B0) in class 00", [bytes.fromhex("00b0000000")],
         "apdu.ins_not_supported", {}),
        ("ins-3a-class-00", "INS 3A in class 00", [b"\x00" + req[1:]],
         "apdu.ins_not_supported", {}),
        ("ins-6x", "INS 61", [bytes.fromhex("0061000000")], "apdu.ins_invalid", {}),
        ("get-response-nothing-pending", "GET RESPONSE with nothing pending",
         [sel, bytes.fromhex("00c0000000")], "apdu.get_response_unexpected", {}),
        ("select-chained", "SELECT with the chaining bit (CLA 10)", [b"\x10" + sel[1:-1]],
         "apdu.chaining_not_supported", {}),
        ("three-bytes", "a 3-byte command", [sel[:3]], "apdu.too_short", {}),
        ("body-truncated", "Lc 08 with 7 bytes", [sel[:-2]], "apdu.body_truncated", {}),
        ("extended-lc-zero", "extended Lc 0000 followed by data",
         [bytes.fromhex("803a0000000000a1")], "apdu.extended_lc_zero", {}),
        ("extended-length-truncated", "B1 = 00 and one more byte",
         [bytes.fromhex("803a00000001")], "apdu.extended_length_truncated", {}),
        ("le-wrong-length", "two bytes after the data of a short SELECT", [sel + b"\x00"],
         "apdu.le_wrong_length", {}),
        ("request-empty", "PRESENTATION REQUEST without data", [sel, bytes.fromhex("803a0000")],
         "apdu.wrong_length", {}),
        ("request-p1p2", "PRESENTATION REQUEST with P1-P2 0100",
         [sel, req[:2] + b"\x01" + req[3:]], "apdu.wrong_p1p2", {}),
        ("request-not-cbor", "request data that is not CBOR",
         [sel, bytes.fromhex("803a000002ffff00")], "nfc.request_invalid", {}),
    ]  # fmt: skip
    for case_id, description, sequence, code, options in refusals:
        add_holder(
            case_id,
            "nfc.md#11",
            description,
            holder_for("holder-" + case_id, **options),
            sequence,
            code,
        )

    # Extended APDU to a short-only holder; link longer than announced.
    _, _, short_commands = commands_of("holder-short", extended_length=False)
    add_holder(
        "extended-to-short-holder",
        "nfc.md#3.1",
        "an extended-length request to a short-only holder",
        holder_for("holder-short", extended_length=False),
        [short_commands[0], req],
        "apdu.wrong_length",
    )
    request_3s = short_commands[1]
    get_response_cases: list[tuple[str, str, bytes, str | None]] = [
        ("get-response-with-data", "GET RESPONSE carrying a data byte while a response is "
         "pending", bytes.fromhex("00c0000001aa00"), "apdu.wrong_length"),
        ("get-response-p1p2", "GET RESPONSE with P1-P2 0100 while a response is pending",
         bytes.fromhex("00c0010000"), "apdu.wrong_p1p2"),
        ("get-response-without-le", "GET RESPONSE without Le while a response is pending: "
         "answered 6Cxx with the size of the next chunk", bytes.fromhex("00c00000"), None),
    ]  # fmt: skip
    for case_id, description, command, outcome in get_response_cases:
        add_holder(
            case_id,
            "nfc.md#10.2",
            description,
            holder_for("holder-short", extended_length=False),
            [short_commands[0], request_3s, command],
            outcome,
        )
    _, _, small_commands = commands_of("holder-small", max_command_data=48)
    long_link = bytes.fromhex("903a000031") + bytes(49)
    add_holder(
        "link-too-long",
        "nfc.md#3.1",
        "a 49-byte link to a holder announcing 48",
        holder_for("holder-small", max_command_data=48),
        [small_commands[0], long_link],
        "apdu.wrong_length",
    )
    chained_link = small_commands[1]
    add_holder(
        "chain-interrupted",
        "nfc.md#3",
        "a chained request link, then SELECT while the chain is open",
        holder_for("holder-small", max_command_data=48),
        [small_commands[0], chained_link, small_commands[0]],
        "apdu.chain_inconsistent",
    )
    links = [bytes.fromhex("903a0000ff") + bytes([i]) * 255 for i in range(5)]
    add_holder(
        "chain-first-link-p1p2",
        "nfc.md#10.2",
        "a first chained link (CLA 90) with P1-P2 0100: refused, not acknowledged",
        holder_for("holder-small", max_command_data=48),
        [small_commands[0], chained_link[:2] + b"\x01" + chained_link[3:]],
        "apdu.wrong_p1p2",
    )
    add_holder(
        "chain-link-p1p2-changed",
        "nfc.md#10.2",
        "a second chained link whose P1-P2 (0100) differs from the first link's",
        holder_for("holder-small", max_command_data=48),
        [small_commands[0], chained_link, chained_link[:2] + b"\x01" + chained_link[3:]],
        "apdu.chain_inconsistent",
    )
    add_holder(
        "chain-then-get-response",
        "nfc.md#10.2",
        "GET RESPONSE while a chain is open",
        holder_for("holder-small", max_command_data=48),
        [small_commands[0], chained_link, bytes.fromhex("00c0000000")],
        "apdu.chain_inconsistent",
    )
    add_holder(
        "chain-too-long",
        "nfc.md#3",
        "five chained links of 255 bytes: more than 1 024 bytes",
        holder_for("holder-chain-too-long"),
        [sel, *links],
        "apdu.chain_too_long",
    )
    add_holder(
        "chain-too-many-links",
        "nfc.md#3",
        "273 empty chained links: a chain holds at most 272 (MAX_CHAIN_LINKS)",
        holder_for("holder-chain-too-many-links"),
        [sel, *[bytes.fromhex("903a0000")] * 273],
        "apdu.chain_too_long",
    )

    # Request contents (the request is re-encoded from the recorded one).
    request_map = _cbor.decode(parse_command(req).data)
    info = _cbor.decode(request_map[1])

    def request_with(
        info_changes: dict[int, Any] | None = None, data: bytes | None = None
    ) -> bytes:
        new_info = dict(info)
        for label, value in (info_changes or {}).items():
            if value is None:
                new_info.pop(label, None)
            else:
                new_info[label] = value
        body = _cbor.encode(
            {1: _cbor.encode(new_info), 2: request_map[2] if data is None else data}
        )
        return (
            bytes.fromhex("803a0000") + b"\x00" + len(body).to_bytes(2, "big") + body + b"\x00\x00"
        )

    for case_id, description, command, code in (
        ("version-2", "ReaderInfo version(1) 2", request_with({1: 2}), "nfc.version_not_supported"),
        ("nonce-15", "a 15-byte reader nonce", request_with({2: info[2][:15]}),
         "nfc.request_invalid"),
        ("mode-2", "session mode 2", request_with({3: 2}), "nfc.request_invalid"),
        ("plaintext-when-required", "plaintext mode under the REQUIRED policy",
         request_with({3: 0, 4: None}, _cbor.encode({1: 2})), "session.downgrade"),
        ("reader-key-invalid", "a reader key(4) not on P-256",
         request_with({4: b"\x04" + bytes(64)}), "session.key_invalid"),
        ("reader-key-missing", "mode 1 without a reader key(4)", request_with({4: None}),
         "session.key_invalid"),
        ("request-data-tampered", "one bit of the encrypted request data flipped",
         request_with(data=_flip(request_map[2])), "session.decrypt_failed"),
        ("reader-info-unknown-label", "ReaderInfo label 6", request_with({6: 0}),
         "nfc.request_invalid"),
        ("context-not-a-map", "ReaderInfo context(5) 0: not a map", request_with({5: 0}),
         "nfc.request_invalid"),
        ("context-without-invoice", "a context(5) without its invoice(2)",
         request_with({5: {1: _CONTEXT.professional}}), "nfc.request_invalid"),
        ("context-invoice-empty", "a context(5) whose invoice(2) is empty",
         request_with({5: {1: _CONTEXT.professional, 2: b""}}), "nfc.request_invalid"),
        ("context-invoice-33", "a context(5) whose invoice(2) has 33 bytes",
         request_with({5: {1: _CONTEXT.professional, 2: bytes(33)}}), "nfc.request_invalid"),
        ("context-professional-space", "a context(5) whose professional(1) holds a space",
         request_with({5: {1: "1010 1010", 2: _CONTEXT.invoice}}), "nfc.request_invalid"),
        ("context-unknown-label", "a context(5) with label 3",
         request_with({5: {**_CONTEXT.to_wire(), 3: 0}}), "nfc.request_invalid"),
    ):  # fmt: skip
        add_holder(
            case_id, "nfc.md#5", description, holder_for("holder-base"), [sel, command], code
        )

    # Session rules: locked sessions, nonce replay.
    locked = holder_for("holder-base", user=[{"verified": False}])
    add_holder(
        "locked", "nfc.md#8", "user verification pending: 6982", locked, [sel, req], "nfc.locked"
    )
    add_holder(
        "locked-other-request",
        "nfc.md#8",
        "after 6982, a different request in the same session",
        holder_for("holder-base", user=[{"verified": False}]),
        [sel, req, request_with({5: None}, _flip(request_map[2]))],
        "nfc.out_of_order",
    )
    add_holder(
        "no-choice",
        "nfc.md#8",
        "verified, but no beneficiary chosen yet: 6982",
        holder_for("holder-base", user=[{"verified": True, "choice": None}]),
        [sel, req],
        "nfc.locked",
    )
    add_holder(
        "request-after-done",
        "nfc.md#10",
        "a second request after the presentation",
        holder_for("holder-base"),
        [sel, req, req],
        "nfc.out_of_order",
    )
    # Two sessions of one holder power-up, the second reusing the first reader nonce.
    replay = holder_for("holder-replay", selects=2)
    first_reader = reader_for("holder-replay")
    session = replay.session()
    first, _ = _pair(session, first_reader.session(verifier()))
    second_reader = Reader(first_reader.nonce, _scalar("holder-replay/reader-2"))
    reader_session = second_reader.session(verifier())
    second_select = reader_session.next_command()
    assert second_select is not None
    second_fci = session.process(second_select)
    reader_session.feed(second_fci)
    second_request = reader_session.next_command()
    assert second_request is not None
    add_holder(
        "nonce-replayed",
        "nfc.md#9",
        "a second session (new SELECT) whose request reuses the first reader nonce",
        replay,
        [c for c, _ in first] + [second_select, second_request],
        "nfc.reader_nonce_replayed",
    )
    return cases


def _flip(data: bytes) -> bytes:
    out = bytearray(data)
    out[0] ^= 0x01
    return bytes(out)


def _marks(values: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not values:
        return []
    marks = [("intermediate.fci", "fci")]
    if "reader_info" in values:
        marks.append(("intermediate.reader_info", "reader-info"))
    if "request_data" in values:
        marks.append(("intermediate.request_data", "request-data"))
    if "presentation" in values:
        marks.append(("intermediate.presentation", "presentation"))
    return marks
