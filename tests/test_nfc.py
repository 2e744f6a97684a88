"""The NFC presentation protocol: HolderSession and ReaderSession, in memory.

``python tests/test_nfc.py`` prints the generated example section of
``spec/nfc.md``; ``python tests/test_nfc.py --write`` rewrites it in place.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitale_cred import errors
from vitale_cred.clock import FixedClock
from vitale_cred.credential import Issuer
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.evidence import RequestContext
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import (
    CHAINING_BIT,
    MAX_SHORT_DATA,
    CommandApdu,
    Ins,
    StatusWord,
    parse_command,
    parse_response,
)
from vitale_cred.hazmat.cose import SoftwareSigner, VerifyingKey
from vitale_cred.hazmat.session import (
    Role,
    SecureChannel,
    derive_session_keys,
    ecdh_shared_secret,
    generate_ephemeral_key,
    public_point,
    session_transcript,
)
from vitale_cred.model import Card
from vitale_cred.nfc import (
    AID,
    HOLDER_TRANSITIONS,
    MAX_REQUEST_BYTES,
    READER_TRANSITIONS,
    Done,
    EncryptionPolicy,
    FciLabel,
    HolderSession,
    HolderState,
    PresentationRequested,
    ReaderInfoLabel,
    ReaderSession,
    ReaderState,
    RequestLabel,
    SeenNonces,
    Selected,
    SessionMode,
    Trigger,
    credentials_by_index,
    pair,
)
from vitale_cred.registry import CoseAlg
from vitale_cred.trust import TrustedKey, TrustStore
from vitale_cred.verify import Policy, VerifiedPresentation, Verifier

from _world import drbg

SPEC = Path(__file__).resolve().parent.parent / "spec" / "nfc.md"
BEGIN = "<!-- BEGIN GENERATED EXAMPLE (python tests/test_nfc.py --write) -->"
END = "<!-- END GENERATED EXAMPLE -->"

CARD = {
    "nir": "1 78 04 75 056 123 27",
    "organisme": "01 751 0001",
    "serial": 7511000042,
    "issued": "2026-11-01",
    "beneficiaries": [
        {
            "family_name": "MARTIN",
            "given_names": ["Pierre"],
            "birth_date": "1978-04-12",
            "qualite": "assure",
            "amo": [{"start": "2020-01-01", "end": None}],
        },
        {
            "family_name": "MARTIN",
            "given_names": ["Claire"],
            "birth_date": "1982-06-03",
            "qualite": "conjoint",
            "amo": [{"start": "2020-01-01", "end": None}],
        },
        {
            "family_name": "MARTIN",
            "given_names": ["Léa"],
            "birth_date": "2013-04-21",
            "birth_rank": 1,
            "qualite": "enfant",
            "amo": [{"start": "2013-04-21", "end": None}],
        },
    ],
}

SW_OK = 0x9000


def _scalar(label: str) -> ec.EllipticCurvePrivateKey:
    return generate_ephemeral_key(drbg(label))


@dataclass
class World:
    """A card issued to a fixed device key, and what a reader trusts."""

    clock: FixedClock
    device: SoftwareDeviceKey
    credentials: dict[int, bytes]
    trust: TrustStore
    seen: SeenNonces = field(default_factory=SeenNonces)

    def verifier(self) -> Verifier:
        return Verifier(Policy(trust=self.trust, clock=self.clock))

    def holder(self, **kwargs: Any) -> HolderSession:
        options: dict[str, Any] = {
            "clock": self.clock,
            "gate": lambda: True,
            "chooser": hint_or_insured,
        }
        options.update(kwargs)
        return HolderSession(self.credentials, self.device, **options)

    def reader(self, **kwargs: Any) -> ReaderSession:
        return ReaderSession(self.verifier(), **kwargs)


def hint_or_insured(hint: int | None, available: tuple[int, ...]) -> int | None:
    return hint if hint in available else 0


def make_world() -> World:
    issued = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    issue_clock = FixedClock(issued)
    issuer_key = _scalar("example issuer key")
    kid = b"EXAMPLE1"
    device = SoftwareDeviceKey(_scalar("example device key"))
    issuer = Issuer(SoftwareSigner(issuer_key), kid=kid, clock=issue_clock)
    bundle = issuer.issue(
        Card.from_json(CARD),
        ProvenDeviceKey.unsafe_without_proof(device.public_key()),
        valid_days=365,
    )
    trust = TrustStore(keys=[TrustedKey(kid, VerifyingKey(issuer_key.public_key(), CoseAlg.ES256))])
    clock = FixedClock(issued + dt.timedelta(days=2, hours=9))
    return World(clock, device, credentials_by_index(bundle.credentials), trust)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


def sw_of(response: bytes) -> int:
    return parse_response(response).sw


SELECT = CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, AID, le=256).encode()


def select(holder: HolderSession) -> bytes:
    response = holder.process(SELECT)
    assert sw_of(response) == SW_OK
    return parse_response(response).data


def craft_request(
    fci: bytes,
    *,
    inner: bytes = b"\xa0",
    nonce: bytes = bytes(range(16)),
    mode: int = SessionMode.ECDH_P256_A256GCM,
    version: int = 1,
    reader_key: bytes | None = None,
    extra: dict[int, Any] | None = None,
) -> bytes:
    """A request built by hand, to say what a well-behaved reader never would."""
    fci_map = _cbor.decode(fci)
    holder_key = fci_map.get(FciLabel.HOLDER_KEY)
    ephemeral = generate_ephemeral_key()
    info: dict[int, Any] = {
        ReaderInfoLabel.VERSION: version,
        ReaderInfoLabel.NONCE: nonce,
        ReaderInfoLabel.MODE: mode,
    }
    if mode == SessionMode.ECDH_P256_A256GCM:
        info[ReaderInfoLabel.READER_KEY] = (
            public_point(ephemeral) if reader_key is None else reader_key
        )
    info.update(extra or {})
    info_raw = _cbor.encode(info)
    data = inner
    if mode == SessionMode.ECDH_P256_A256GCM and reader_key is None and holder_key is not None:
        secret = ecdh_shared_secret(ephemeral, holder_key)
        keys = derive_session_keys(secret, session_transcript(fci, info_raw))
        data = SecureChannel(keys, Role.READER).encrypt(inner)
    request = _cbor.encode({RequestLabel.READER_INFO: info_raw, RequestLabel.DATA: data})
    return CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, request, le=256).encode()


def is_extended(command: bytes) -> bool:
    return len(command) >= 7 and command[4] == 0


def first_request(holder: HolderSession, reader: ReaderSession) -> bytes:
    """Run SELECT through both sides; return the reader's (single-link) request APDU."""
    reader.feed(holder.process(_must(reader.next_command())))
    return _must(reader.next_command())


def _must(value: bytes | None) -> bytes:
    if value is None:
        pytest.fail("the reader had nothing to send")
    return value


# --- full exchanges --------------------------------------------------------------------


def test_extended_length_exchange_is_two_apdus(world: World) -> None:
    holder, reader = world.holder(), world.reader(beneficiary_hint=2)
    trace: list[tuple[bytes, bytes]] = []
    result = pair(holder, reader, trace=trace)
    assert result.beneficiary_index == 2
    assert result.beneficiary.given_names[0] == "Léa"
    assert result.transcript == reader.transcript_hash
    assert reader.mode is SessionMode.ECDH_P256_A256GCM
    assert [c[:2].hex() for c, _ in trace] == ["00a4", "803a"]
    assert is_extended(trace[1][0])
    assert all(sw_of(r) == SW_OK for _, r in trace)
    total = sum(len(c) + len(r) for c, r in trace)
    assert total == reader.bytes_sent + reader.bytes_received
    assert reader.commands_sent == 2
    assert 400 < total < 800
    assert holder.state is HolderState.DONE
    assert reader.state is ReaderState.DONE


@pytest.mark.parametrize("side", ["reader", "holder", "both"])
def test_short_only_exchange_uses_get_response(world: World, side: str) -> None:
    holder = world.holder(extended_length=side == "reader")
    reader = world.reader(extended_length=side == "holder")
    trace: list[tuple[bytes, bytes]] = []
    assert pair(holder, reader, trace=trace).beneficiary_index == 0
    assert [c[:2].hex() for c, _ in trace] == ["00a4", "803a", "00c0"]
    assert not any(is_extended(c) for c, _ in trace)
    assert all(len(r) <= 256 + 2 for _, r in trace)
    assert parse_response(trace[1][1]).sw & 0xFF00 == 0x6100
    assert holder.state is HolderState.DONE


def test_events_in_order(world: World) -> None:
    holder = world.holder()
    pair(holder, world.reader(beneficiary_hint=1))
    assert holder.events() == [Selected(), PresentationRequested(1), Done(1)]
    assert holder.events() == []


def test_done_only_after_the_last_chunk(world: World) -> None:
    holder = world.holder(extended_length=False)
    reader = world.reader()
    request = first_request(holder, reader)
    response = holder.process(request)
    assert holder.events() == [Selected(), PresentationRequested(None)]
    assert holder.state is HolderState.SENDING
    reader.feed(response)
    reader.feed(holder.process(_must(reader.next_command())))
    assert holder.events() == [Done(0)]
    assert reader.next_command() is None


def test_select_without_le_then_get_response(world: World) -> None:
    holder = world.holder()
    response = parse_response(holder.process(CommandApdu(0, Ins.SELECT, 4, 0, AID).encode()))
    assert response.sw & 0xFF00 == 0x6100 and not response.data
    fci = parse_response(holder.process(bytes.fromhex("00C0000000")))
    assert fci.sw == SW_OK
    assert fci.data == holder.fci


def test_reselect_starts_a_new_session(world: World) -> None:
    holder = world.holder()
    first = select(holder)
    second = select(holder)
    assert first != second  # a fresh ephemeral key per SELECT
    assert holder.state is HolderState.SELECTED


def test_fci_content(world: World) -> None:
    fci = _cbor.decode(select(world.holder()))
    assert fci[FciLabel.VERSION] == 1
    assert fci[FciLabel.ALGORITHMS] == [CoseAlg.ES256]
    assert fci[FciLabel.SESSION_MODES] == [SessionMode.ECDH_P256_A256GCM]
    assert fci[FciLabel.EXTENDED_LENGTH] is True
    assert len(fci[FciLabel.HOLDER_KEY]) == 65
    short = _cbor.decode(select(world.holder(extended_length=False)))
    assert (short[FciLabel.MAX_COMMAND], short[FciLabel.MAX_RESPONSE]) == (255, 256)


# --- command chaining -----------------------------------------------------------------


def test_reader_chains_when_the_holder_takes_small_commands(world: World) -> None:
    holder = world.holder(extended_length=False, max_command_data=48)
    trace: list[tuple[bytes, bytes]] = []
    pair(holder, world.reader(), trace=trace)
    commands = [parse_command(c) for c, _ in trace]
    links = [c for c in commands if c.ins == Ins.PRESENTATION_REQUEST]
    assert len(links) >= 3
    assert all(c.cla == 0x80 | CHAINING_BIT for c in links[:-1])
    assert links[-1].cla == 0x80
    assert all(len(c.data) <= 48 for c in links)
    assert all(parse_response(r) == parse_response(b"\x90\x00") for _, r in trace[1 : len(links)])


@pytest.mark.parametrize(
    ("answer", "error"),
    [("6A80", errors.NfcHolderRefused), ("AA9000", errors.NfcResponseInvalid)],
)
def test_reader_checks_the_answers_to_chain_links(
    world: World, answer: str, error: type[Exception]
) -> None:
    holder = world.holder(extended_length=False, max_command_data=48)
    reader = world.reader()
    reader.feed(holder.process(_must(reader.next_command())))
    link = _must(reader.next_command())
    assert parse_command(link).is_chained
    with pytest.raises(error):
        reader.feed(bytes.fromhex(answer))
    assert reader.state is ReaderState.FAILED


def test_chain_longer_than_the_bound_is_refused(world: World) -> None:
    holder = world.holder(extended_length=False)
    select(holder)
    link = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 0, 0, bytes(MAX_SHORT_DATA)).encode()
    answers = [sw_of(holder.process(link)) for _ in range(MAX_REQUEST_BYTES // MAX_SHORT_DATA + 1)]
    assert answers[:-1] == [SW_OK] * (len(answers) - 1)
    assert answers[-1] == 0x6A84


def test_chain_interrupted_by_another_command(world: World) -> None:
    holder = world.holder()
    select(holder)
    link = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa2").encode()
    assert sw_of(holder.process(link)) == SW_OK
    assert sw_of(holder.process(SELECT)) == 0x6883
    assert sw_of(holder.process(SELECT)) == SW_OK  # the chain was dropped


def test_chained_select_is_refused(world: World) -> None:
    holder = world.holder()
    chained = CommandApdu(0x10, Ins.SELECT, 4, 0, AID).encode()
    assert sw_of(holder.process(chained)) == 0x6884


@pytest.mark.parametrize("p1p2", [(0x01, 0x00), (0x00, 0x01), (0x04, 0x00)])
def test_first_chained_link_with_wrong_p1p2_is_refused_not_acknowledged(
    world: World, p1p2: tuple[int, int]
) -> None:
    holder = world.holder()
    select(holder)
    link = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, *p1p2, b"\xa2").encode()
    assert sw_of(holder.process(link)) == 0x6A86
    assert holder.last_error is not None
    assert holder.last_error.code == "apdu.wrong_p1p2"
    # No chain was opened: a correct first link is acknowledged.
    good = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa2").encode()
    assert sw_of(holder.process(good)) == SW_OK


def test_later_chained_link_with_another_p1p2_interrupts_the_chain(world: World) -> None:
    holder = world.holder()
    select(holder)
    link = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa2").encode()
    other = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 1, 0, b"\xa2").encode()
    assert sw_of(holder.process(link)) == SW_OK
    assert sw_of(holder.process(other)) == 0x6883
    assert holder.last_error is not None
    assert holder.last_error.code == "apdu.chain_inconsistent"


def test_get_response_while_a_chain_is_open_interrupts_the_chain(world: World) -> None:
    holder = world.holder()
    select(holder)
    link = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa2").encode()
    assert sw_of(holder.process(link)) == SW_OK
    assert sw_of(holder.process(bytes.fromhex("00C0000000"))) == 0x6883
    assert holder.last_error is not None
    assert holder.last_error.code == "apdu.chain_inconsistent"
    # The chain was dropped: a final link alone is a whole (malformed) request.
    assert sw_of(holder.process(bytes.fromhex("803A000001A200"))) == 0x6A80


def test_any_refused_command_drops_an_open_chain(world: World) -> None:
    holder = world.holder()
    select(holder)
    link = CommandApdu(0x90, Ins.PRESENTATION_REQUEST, 0, 0, b"\xa2").encode()
    assert sw_of(holder.process(link)) == SW_OK
    assert sw_of(holder.process(bytes.fromhex("84A4040008F0564954414C450100"))) == 0x6E00
    # A non-final link now opens a new chain rather than continuing the old one.
    assert sw_of(holder.process(link)) == SW_OK
    assert sw_of(holder.process(bytes.fromhex("803A000001A200"))) == 0x6A80
    assert holder.last_error is not None
    assert holder.last_error.code == "nfc.request_invalid"


# --- status words for malformed and illegal commands ---------------------------------


@pytest.mark.parametrize(
    ("command", "sw"),
    [
        ("00A4040008A000000247100100", 0x6A82),  # another AID
        ("00A4040005F05649544100", 0x6A82),  # a prefix of ours
        ("00A4040003F0564900", 0x6700),  # too short to be an AID
        ("00A40400", 0x6700),  # no AID at all
        ("00A4000008F0564954414C450100", 0x6A86),  # P1 00: select by file id
        ("00A4040C08F0564954414C4501", 0x6A86),  # P2 0C: no FCI
        ("00B0000000", 0x6D00),  # READ BINARY
        ("80A4040008F0564954414C450100", 0x6D00),  # SELECT in the proprietary class
        ("80CA9F7F00", 0x6D00),  # GET DATA
        ("0060000000", 0x6D00),  # INS 6X is invalid
        ("84A4040008F0564954414C450100", 0x6E00),  # secure messaging bits
        ("01A4040008F0564954414C450100", 0x6E00),  # logical channel 1
        ("A03A000001A000", 0x6E00),
        ("FFA4040000", 0x6E00),
        ("00A4", 0x6700),
        ("00A404000AF0", 0x6700),  # Lc larger than the body
        ("00C0000010", 0x6985),  # GET RESPONSE with nothing pending
        ("803A000001A000", 0x6985),  # request before SELECT
    ],
)
def test_status_words(world: World, command: str, sw: int) -> None:
    assert sw_of(world.holder().process(bytes.fromhex(command))) == sw


def test_extended_apdu_into_a_short_only_holder(world: World) -> None:
    holder = world.holder(extended_length=False)
    extended = CommandApdu(0, Ins.SELECT, 4, 0, AID, le=256).encode(extended=True)
    assert sw_of(holder.process(extended)) == 0x6700
    assert holder.state is HolderState.IDLE


def test_oversized_command_for_an_extended_holder(world: World) -> None:
    holder = world.holder()
    select(holder)
    big = CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, bytes(MAX_REQUEST_BYTES + 1))
    assert sw_of(holder.process(big.encode())) == 0x6700


def test_request_errors_after_select(world: World) -> None:
    holder = world.holder()
    select(holder)
    assert sw_of(holder.process(bytes.fromhex("803A0100"))) == 0x6A86
    assert sw_of(holder.process(bytes.fromhex("803A0000"))) == 0x6700
    assert sw_of(holder.process(bytes.fromhex("803A000001FF00"))) == 0x6A80  # not CBOR


@pytest.mark.parametrize(
    ("change", "sw", "code"),
    [
        ({"version": 2}, 0x6A80, "nfc.version_not_supported"),
        ({"nonce": bytes(15)}, 0x6A80, "nfc.request_invalid"),
        ({"mode": 7}, 0x6A80, "nfc.request_invalid"),
        ({"reader_key": b"\x04" + bytes(64)}, 0x6A80, "session.key_invalid"),
        ({"inner": _cbor.encode({1: 16})}, 0x6A80, "nfc.request_invalid"),
        ({"inner": _cbor.encode({1: -1})}, 0x6A80, "nfc.request_invalid"),
        ({"inner": _cbor.encode({2: 0})}, 0x6A80, "nfc.request_invalid"),
        ({"inner": b"\xa1\x01"}, 0x6A80, "nfc.request_invalid"),
        ({"extra": {9: 0}}, 0x6A80, "nfc.request_invalid"),
    ],
)
def test_malformed_requests(world: World, change: dict[str, Any], sw: int, code: str) -> None:
    holder = world.holder()
    fci = select(holder)
    response = holder.process(craft_request(fci, **change))
    assert sw_of(response) == sw
    assert holder.state is HolderState.IDLE  # the session is dropped
    assert holder.last_error is not None
    assert holder.last_error.code == code


def test_crafted_request_is_accepted_when_well_formed(world: World) -> None:
    holder = world.holder()
    fci = select(holder)
    response = parse_response(holder.process(craft_request(fci, inner=_cbor.encode({1: 1}))))
    assert response.sw & 0xFF00 == 0x6100  # Le 256 < presentation: GET RESPONSE follows
    assert holder.events()[-1] == PresentationRequested(1)


# --- out of order -----------------------------------------------------------------------


def test_request_after_done_is_out_of_order(world: World) -> None:
    holder = world.holder()
    reader = world.reader()
    trace: list[tuple[bytes, bytes]] = []
    pair(holder, reader, trace=trace)
    assert sw_of(holder.process(trace[-1][0])) == 0x6985
    assert sw_of(holder.process(bytes.fromhex("00C0000000"))) == 0x6985


def test_another_command_abandons_a_pending_response(world: World) -> None:
    holder = world.holder(extended_length=False)
    reader = world.reader()
    holder.process(first_request(holder, reader))
    before = holder.state
    assert sw_of(holder.process(bytes.fromhex("803A000001A000"))) == 0x6985
    assert (before, holder.state) == (HolderState.SENDING, HolderState.IDLE)
    assert sw_of(holder.process(bytes.fromhex("00C0000000"))) == 0x6985


def test_get_response_wrong_p1p2_keeps_data_pending(world: World) -> None:
    holder = world.holder(extended_length=False)
    reader = world.reader()
    holder.process(first_request(holder, reader))
    assert sw_of(holder.process(bytes.fromhex("00C0010000"))) == 0x6A86
    assert sw_of(holder.process(bytes.fromhex("00C0000000"))) == SW_OK


# --- locked app, user choice ------------------------------------------------------------


def test_locked_until_the_gate_opens(world: World) -> None:
    unlocked = {"value": False}
    holder = world.holder(gate=lambda: unlocked["value"])
    reader = world.reader()
    with pytest.raises(errors.NfcLocked) as info:
        pair(holder, reader)
    assert info.value.status_word == 0x6982
    assert reader.state is ReaderState.LOCKED
    assert holder.state is HolderState.SELECTED
    assert reader.next_command() is None
    reader.retry()  # still locked
    with pytest.raises(errors.NfcLocked):
        pair(holder, reader)
    unlocked["value"] = True
    reader.retry()
    assert pair(holder, reader).beneficiary_index == 0
    assert holder.events() == [Selected(), PresentationRequested(None), Done(0)]


def test_locked_until_the_user_chooses(world: World) -> None:
    picked: dict[str, int | None] = {"value": None}
    seen: list[tuple[int | None, tuple[int, ...]]] = []

    def chooser(hint: int | None, available: tuple[int, ...]) -> int | None:
        seen.append((hint, available))
        return picked["value"]

    holder = world.holder(chooser=chooser)
    reader = world.reader(beneficiary_hint=2)
    with pytest.raises(errors.NfcLocked):
        pair(holder, reader)
    picked["value"] = 1  # the user picks the spouse, not the child the reader hinted
    reader.retry()
    assert pair(holder, reader).beneficiary_index == 1
    assert seen == [(2, (0, 1, 2)), (2, (0, 1, 2))]


def test_a_different_request_while_locked_is_out_of_order(world: World) -> None:
    holder = world.holder(gate=lambda: False)
    fci = select(holder)
    assert sw_of(holder.process(craft_request(fci))) == 0x6982
    assert sw_of(holder.process(craft_request(fci, nonce=bytes(16)))) == 0x6985


def test_hint_for_an_unknown_beneficiary(world: World) -> None:
    holder = world.holder()
    assert pair(holder, world.reader(beneficiary_hint=9)).beneficiary_index == 0


def test_chooser_returning_garbage_is_the_apps_bug(world: World) -> None:
    holder = world.holder(chooser=lambda hint, available: 7)
    with pytest.raises(errors.InvalidArgument):
        pair(holder, world.reader())


# --- tampering and replay -------------------------------------------------------------


def _tamper_request(command: bytes) -> bytes:
    apdu = parse_command(command)
    request = _cbor.decode(apdu.data)
    data = bytearray(request[RequestLabel.DATA])
    data[0] ^= 0x80
    request[RequestLabel.DATA] = bytes(data)
    return CommandApdu(
        apdu.cla, apdu.ins, apdu.p1, apdu.p2, _cbor.encode(request), apdu.le
    ).encode()


def test_tampered_request_ciphertext(world: World) -> None:
    holder, reader = world.holder(), world.reader()
    response = holder.process(_tamper_request(first_request(holder, reader)))
    assert sw_of(response) == 0x6988
    assert holder.state is HolderState.IDLE
    assert holder.events() == [Selected()]


def test_tampered_response_ciphertext(world: World) -> None:
    holder, reader = world.holder(), world.reader()
    response = bytearray(holder.process(first_request(holder, reader)))
    response[10] ^= 0x01
    with pytest.raises(errors.SessionDecryptFailed):
        reader.feed(bytes(response))
    assert reader.state is ReaderState.FAILED
    assert isinstance(reader.error, errors.SessionDecryptFailed)
    assert reader.next_command() is None
    with pytest.raises(errors.NfcIllegalState):
        _ = reader.result


def test_recorded_response_replayed_to_a_new_session(world: World) -> None:
    trace: list[tuple[bytes, bytes]] = []
    pair(world.holder(), world.reader(), trace=trace)
    recorded = trace[-1][1]
    holder, reader = world.holder(), world.reader()
    holder.process(first_request(holder, reader))
    with pytest.raises(errors.SessionDecryptFailed):
        reader.feed(recorded)


def test_recorded_plaintext_response_fails_verification(world: World) -> None:
    plain = EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY
    trace: list[tuple[bytes, bytes]] = []
    pair(world.holder(encryption=plain), world.reader(encryption=plain), trace=trace)
    recorded = trace[-1][1]
    holder, reader = world.holder(encryption=plain), world.reader(encryption=plain)
    holder.process(first_request(holder, reader))
    with pytest.raises(errors.TranscriptMismatch):
        reader.feed(recorded)  # the device signature binds the other session's transcript


def test_recorded_request_replayed_to_a_new_holder_session(world: World) -> None:
    holder, reader = world.holder(), world.reader()
    request = first_request(holder, reader)
    replay_target = world.holder()
    select(replay_target)
    assert sw_of(replay_target.process(request)) == 0x6988


# --- reader nonces ----------------------------------------------------------------------


def test_readers_draw_fresh_nonces(world: World) -> None:
    verifier = world.verifier()
    nonces = {ReaderSession(verifier).nonce for _ in range(200)}
    assert len(nonces) == 200


def test_reader_refuses_to_repeat_a_nonce(world: World) -> None:
    seen = SeenNonces()
    ReaderSession(world.verifier(), rng=drbg("stuck"), seen_nonces=seen)
    with pytest.raises(errors.NfcReaderNonceRepeated):
        ReaderSession(world.verifier(), rng=drbg("stuck"), seen_nonces=seen)


def test_holder_refuses_a_reader_nonce_it_already_answered(world: World) -> None:
    shared = SeenNonces()
    pair(world.holder(seen_nonces=shared), world.reader(rng=drbg("broken rng")))
    holder = world.holder(seen_nonces=shared)
    with pytest.raises(errors.NfcHolderRefused) as info:
        pair(holder, world.reader(rng=drbg("broken rng")))
    assert info.value.received_status_word == 0x6A80
    assert holder.state is HolderState.IDLE


def test_seen_nonces_is_bounded() -> None:
    seen = SeenNonces(capacity=2)
    assert seen.add(b"a") and seen.add(b"b") and seen.add(b"c")
    assert b"a" not in seen and b"c" in seen
    assert not seen.add(b"c")


# --- encryption policy and downgrades -------------------------------------------------


def test_holder_refuses_plaintext_when_encryption_is_required(world: World) -> None:
    holder = world.holder()
    fci = select(holder)
    response = holder.process(craft_request(fci, mode=SessionMode.PLAINTEXT))
    assert sw_of(response) == 0x6A80
    assert holder.state is HolderState.IDLE


def test_plaintext_only_reader_meets_a_holder_that_requires_encryption(world: World) -> None:
    reader = world.reader(encryption=EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY)
    with pytest.raises(errors.NfcResponseInvalid):
        pair(world.holder(), reader)


@pytest.mark.parametrize(
    "algorithms", [[-7, True], [True], [-7, "ES256"], [-7, b"\xf9"], [-7, [-7]], "-7"]
)
def test_reader_refuses_an_fci_whose_algorithms_are_not_integers(
    world: World, algorithms: Any
) -> None:
    holder = world.holder()
    reader = world.reader()
    fci = _cbor.decode(select(holder))
    fci[FciLabel.ALGORITHMS] = algorithms
    # Even with a holder key that is not a point: the array is checked first.
    fci[FciLabel.HOLDER_KEY] = b"\x04" + bytes(64)
    reader.next_command()
    with pytest.raises(errors.NfcResponseInvalid) as info:
        reader.feed(_cbor.encode(fci) + b"\x90\x00")
    assert info.value.code == "nfc.response_invalid"


def _strip_encryption(fci: bytes) -> bytes:
    value = _cbor.decode(fci)
    value[FciLabel.SESSION_MODES] = [SessionMode.PLAINTEXT]
    value.pop(FciLabel.HOLDER_KEY, None)
    return _cbor.encode(value)


def _downgrading_relay(holder: HolderSession) -> Callable[[bytes], bytes]:
    def relay(command: bytes) -> bytes:
        response = holder.process(command)
        if parse_command(command).ins == Ins.SELECT:
            return _strip_encryption(parse_response(response).data) + b"\x90\x00"
        return response

    return relay


def _run_through(relay: Callable[[bytes], bytes], reader: ReaderSession) -> None:
    while (command := reader.next_command()) is not None:
        reader.feed(relay(command))


def test_reader_rejects_a_holder_downgraded_to_plaintext(world: World) -> None:
    relay = _downgrading_relay(world.holder(encryption=EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED))
    reader = world.reader()
    with pytest.raises(errors.SessionDowngrade):
        reader.feed(relay(_must(reader.next_command())))
    assert reader.state is ReaderState.FAILED


def test_downgrade_between_unsafe_peers_is_still_detected(world: World) -> None:
    allowed = EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED
    relay = _downgrading_relay(world.holder(encryption=allowed))
    reader = world.reader(encryption=allowed)
    with pytest.raises(errors.TranscriptMismatch):  # the transcript includes the genuine FCI
        _run_through(relay, reader)
    assert reader.mode is SessionMode.PLAINTEXT


def test_plaintext_mode_when_both_allow_it(world: World) -> None:
    holder = world.holder(encryption=EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED)
    reader = world.reader(encryption=EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY)
    assert pair(holder, reader).beneficiary_index == 0
    assert reader.mode is SessionMode.PLAINTEXT


def test_unsafe_allowed_still_prefers_encryption(world: World) -> None:
    allowed = EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED
    reader = world.reader(encryption=allowed)
    pair(world.holder(encryption=allowed), reader)
    assert reader.mode is SessionMode.ECDH_P256_A256GCM


def test_plaintext_only_holder_refuses_encryption(world: World) -> None:
    holder = world.holder(encryption=EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY)
    fci = select(holder)
    assert FciLabel.HOLDER_KEY not in _cbor.decode(fci)
    assert sw_of(holder.process(craft_request(fci, reader_key=b"\x04" + bytes(64)))) == 0x6A80


# --- local misuse and the transition table --------------------------------------------


def test_reader_misuse_raises_at_once(world: World) -> None:
    reader = world.reader()
    with pytest.raises(errors.NfcIllegalState):
        reader.feed(b"\x90\x00")
    with pytest.raises(errors.NfcIllegalState):
        _ = reader.result
    with pytest.raises(errors.NfcIllegalState):
        reader.retry()
    reader.next_command()
    with pytest.raises(errors.NfcIllegalState):
        reader.next_command()
    with pytest.raises(errors.InvalidArgument):
        reader.feed("9000")  # type: ignore[arg-type]
    assert issubclass(errors.NfcIllegalState, errors.UsageError)


def test_reader_after_done_has_nothing_to_send(world: World) -> None:
    reader = world.reader()
    pair(world.holder(), reader)
    assert reader.next_command() is None
    with pytest.raises(errors.NfcIllegalState):
        reader.retry()


def test_session_constructors_validate(world: World) -> None:
    with pytest.raises(errors.InvalidArgument):
        HolderSession(
            {}, world.device, clock=world.clock, gate=lambda: True, chooser=hint_or_insured
        )
    with pytest.raises(errors.InvalidArgument):
        world.holder(extended_length=False, max_command_data=256)
    with pytest.raises(errors.InvalidArgument):
        world.holder(ttl=0)
    with pytest.raises(errors.InvalidArgument):
        world.reader(beneficiary_hint=16)
    with pytest.raises(errors.InvalidArgument):
        world.holder().process("00A4")  # type: ignore[arg-type]


def test_reader_takes_any_presentation_verifier(world: World) -> None:
    """ReaderSession calls only ``verify_presentation``: a wrapper need not be a Verifier."""

    class Counting:
        def __init__(self, inner: Verifier) -> None:
            self.inner = inner
            self.transcripts: list[bytes] = []

        def verify_presentation(self, token: bytes, *, transcript: bytes) -> VerifiedPresentation:
            self.transcripts.append(transcript)
            return self.inner.verify_presentation(token, transcript=transcript)

    counting = Counting(world.verifier())
    reader = ReaderSession(counting, beneficiary_hint=1)
    assert pair(world.holder(), reader).beneficiary_index == 1
    assert counting.transcripts == [reader.transcript_hash]


@pytest.mark.parametrize(
    "verifier",
    [None, object(), type("NotCallable", (), {"verify_presentation": 1})()],
    ids=["none", "object", "attribute-not-callable"],
)
def test_reader_refuses_an_object_that_cannot_verify(verifier: object) -> None:
    with pytest.raises(errors.InvalidArgument):
        ReaderSession(verifier)  # type: ignore[arg-type]


def test_every_state_is_in_its_roles_table() -> None:
    assert set(HOLDER_TRANSITIONS) == set(HolderState)
    assert set(READER_TRANSITIONS) == set(ReaderState)
    holder_targets = {t for row in HOLDER_TRANSITIONS.values() for t in row.values()}
    reader_targets = {t for row in READER_TRANSITIONS.values() for t in row.values()}
    # Every state is reached by some transition (IDLE by an abort), but the reader's START.
    assert holder_targets == set(HolderState)
    assert reader_targets == set(ReaderState) - {ReaderState.START}


def test_each_roles_table_names_only_that_roles_states() -> None:
    for table, role in ((HOLDER_TRANSITIONS, HolderState), (READER_TRANSITIONS, ReaderState)):
        for state, row in table.items():
            assert type(state) is role
            assert all(type(target) is role for target in row.values()), state


def test_the_tables_are_those_of_spec_section_10() -> None:
    h, r, t = HolderState, ReaderState, Trigger
    holder = {(s, g): n for s, row in HOLDER_TRANSITIONS.items() for g, n in row.items()}
    reader = {(s, g): n for s, row in READER_TRANSITIONS.items() for g, n in row.items()}
    assert holder == {
        **{(s, t.SELECT): h.SELECTED for s in h},  # any SELECT starts a new session
        (h.SELECTED, t.REQUEST): h.SENDING,
        (h.SELECTED, t.LOCKED): h.SELECTED,
        (h.SELECTED, t.ABORT): h.IDLE,
        (h.SENDING, t.DELIVERED): h.DONE,
        (h.SENDING, t.ABORT): h.IDLE,
    }
    assert reader == {
        (r.START, t.SEND_SELECT): r.SELECTING,
        (r.SELECTING, t.FCI): r.REQUESTING,
        (r.SELECTING, t.FAIL): r.FAILED,
        (r.REQUESTING, t.RESPONSE): r.DONE,
        (r.REQUESTING, t.LOCKED): r.LOCKED,
        (r.REQUESTING, t.FAIL): r.FAILED,
        (r.LOCKED, t.RETRY): r.REQUESTING,
    }


def test_nfc_error_codes_and_status_words() -> None:
    ours = [c for c in errors.all_error_classes() if c.code.startswith(("nfc.", "session."))]
    assert len({c.code for c in ours}) == len(ours) >= 15
    for cls in ours:
        if issubclass(cls, errors.VerificationError):
            assert issubclass(cls, errors.NfcError | errors.SessionError), cls
            assert cls.status_word in {int(s) for s in StatusWord} | {0x6988}, cls
        elif cls.code.startswith("nfc.pcsc"):
            # The PC/SC transport failing is the machine's doing, not the caller's.
            assert issubclass(cls, errors.EnvironmentFailure), cls
        else:
            assert issubclass(cls, errors.UsageError), cls


# --- fuzzing: the card always answers, the reader raises only library errors ----------

headers = st.sampled_from(
    [
        bytes.fromhex(h)
        for h in ("00A40400", "803A0000", "903A0000", "00C00000", "10A40400", "803A0100")
    ]
) | st.binary(min_size=4, max_size=4)


@st.composite
def command_bytes(draw: st.DrawFn) -> bytes:
    header = draw(headers)
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=40))
    data = draw(st.binary(max_size=300) | st.just(AID))
    le = draw(st.sampled_from([b"", b"\x00", b"\x10"]))
    if kind == 1 and 0 < len(data) <= 255:
        return header + bytes([len(data)]) + data + le
    if kind == 2 and data:
        return header + b"\x00" + len(data).to_bytes(2, "big") + data + le * 2
    return header + draw(st.binary(max_size=300))


@st.composite
def request_bytes(draw: st.DrawFn) -> bytes:
    """CBOR requests near the real shape, with any value in any slot."""
    values = st.none() | st.booleans() | st.integers(-2, 20) | st.binary(max_size=70)
    info = draw(st.dictionaries(st.integers(0, 5), values, max_size=5))
    info_raw = _cbor.encode({k: v for k, v in info.items() if v is not None})
    request = {RequestLabel.READER_INFO: info_raw, RequestLabel.DATA: draw(st.binary(max_size=40))}
    data = _cbor.encode(request)
    return CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, data, le=256).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    selected=st.booleans(),
    commands=st.lists(command_bytes() | request_bytes(), max_size=6),
    extended=st.booleans(),
)
def test_holder_always_answers(
    world: World, selected: bool, commands: list[bytes], extended: bool
) -> None:
    holder = world.holder(extended_length=extended)
    if selected:
        holder.process(SELECT)
    for command in commands:
        response = holder.process(command)
        parsed = parse_response(response)
        assert parsed.sw == SW_OK or not parsed.data or parsed.sw & 0xFF00 == 0x6100


fci_values = st.none() | st.booleans() | st.integers(-8, 70000) | st.binary(max_size=70)


@st.composite
def response_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=80))
    if kind == 1:
        fci = draw(
            st.dictionaries(
                st.integers(0, 8), fci_values | st.lists(st.integers(-8, 3), max_size=3)
            )
        )
        return _cbor.encode({k: v for k, v in fci.items() if v is not None}) + b"\x90\x00"
    sw = draw(st.sampled_from([b"\x90\x00", b"\x61\x10", b"\x6c\x05", b"\x69\x82", b"\x6a\x82"]))
    return draw(st.binary(max_size=300)) + sw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses=st.lists(response_bytes(), min_size=1, max_size=5))
def test_reader_raises_only_library_errors(world: World, responses: list[bytes]) -> None:
    reader = world.reader()
    for response in responses:
        if reader.next_command() is None:
            break
        try:
            reader.feed(response)
        except errors.VitaleCredError:
            break


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    step=st.integers(0, 2),
    position=st.integers(0, 600),
    flip=st.integers(1, 255),
    extended=st.booleans(),
)
def test_reader_survives_a_corrupted_genuine_response(
    world: World, step: int, position: int, flip: int, extended: bool
) -> None:
    holder, reader = world.holder(extended_length=extended), world.reader()
    for index in range(6):
        command = reader.next_command()
        if command is None:
            break
        response = bytearray(holder.process(command))
        if index == step:
            response[position % len(response)] ^= flip
        try:
            reader.feed(bytes(response))
        except errors.VitaleCredError:
            return
    # A flip that survives must have left the verified result intact.
    if reader.state is ReaderState.DONE:
        assert reader.result.beneficiary_index == 0


# --- the example of spec/nfc.md -------------------------------------------------------


def _hex_block(data: bytes, width: int = 32) -> str:
    lines = [data[i : i + width].hex().upper() for i in range(0, len(data), width)]
    return "\n".join(lines) or "(empty)"


def example_exchange(extended: bool) -> tuple[list[tuple[bytes, bytes]], dict[str, bytes]]:
    world = make_world()
    holder = world.holder(extended_length=extended, rng=drbg("example holder"))
    reader = world.reader(beneficiary_hint=2, extended_length=extended, rng=drbg("example reader"))
    trace: list[tuple[bytes, bytes]] = []
    result = pair(holder, reader, trace=trace)
    request = _cbor.decode(_request_data(trace))
    info = request[RequestLabel.READER_INFO]
    # Rebuild both ephemeral keys from the byte sources, in the order the sessions
    # draw: the holder's key first; the reader's nonce, then its key.
    holder_key = generate_ephemeral_key(drbg("example holder"))
    reader_rng = drbg("example reader")
    reader_rng(16)
    reader_key = generate_ephemeral_key(reader_rng)
    assert public_point(holder_key) == _cbor.decode(holder.fci)[FciLabel.HOLDER_KEY]
    assert public_point(reader_key) == _cbor.decode(info)[ReaderInfoLabel.READER_KEY]
    transcript = session_transcript(holder.fci, info)
    zab = ecdh_shared_secret(holder_key, public_point(reader_key))
    keys = derive_session_keys(zab, transcript)
    response = b"".join(parse_response(r).data for _, r in trace[1:])
    details = {
        "fci": holder.fci,
        "reader_info": info,
        "transcript": transcript,
        "transcript_hash": result.transcript or b"",
        "holder_d": holder_key.private_numbers().private_value.to_bytes(32, "big"),
        "reader_d": reader_key.private_numbers().private_value.to_bytes(32, "big"),
        "zab": zab,
        "sk_reader": keys.sk_reader,
        "sk_device": keys.sk_device,
        "request_data": SecureChannel(keys, Role.HOLDER).decrypt(request[RequestLabel.DATA]),
        "presentation": SecureChannel(keys, Role.READER).decrypt(response),
        "beneficiary": bytes([result.beneficiary_index]),
    }
    return trace, details


def _request_data(trace: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(
        parse_command(c).data for c, _ in trace if parse_command(c).ins == Ins.PRESENTATION_REQUEST
    )


def render_example() -> str:
    out = [BEGIN, ""]
    for extended in (True, False):
        trace, details = example_exchange(extended)
        title = "extended length" if extended else "short APDUs only (GET RESPONSE)"
        total = sum(len(c) + len(r) for c, r in trace)
        out += [
            f"### Example exchange, {title}",
            "",
            f"{len(trace)} command APDUs, {total} bytes on the wire (commands + responses,"
            " status words included). The reader hinted beneficiary 2 and the holder's"
            f" chooser returned {details['beneficiary'][0]}.",
            "",
        ]
        for number, (command, response) in enumerate(trace, 1):
            out += [
                f"{number}. Command ({len(command)} bytes):",
                "",
                "```",
                _hex_block(command),
                "```",
                "",
                f"   Response ({len(response)} bytes):",
                "",
                "```",
                _hex_block(response),
                "```",
                "",
            ]
        out += [
            "Intermediate values:",
            "",
            f"- FCI ({len(details['fci'])} bytes): `{details['fci'].hex().upper()}`",
            f"- ReaderInfo ({len(details['reader_info'])} bytes):"
            f" `{details['reader_info'].hex().upper()}`",
            f"- SessionTranscript ({len(details['transcript'])} bytes), SHA-256:"
            f" `{details['transcript_hash'].hex().upper()}`",
            f"- EDeviceKey d: `{details['holder_d'].hex().upper()}`",
            f"- EReaderKey d: `{details['reader_d'].hex().upper()}`",
            f"- ZAB: `{details['zab'].hex().upper()}`",
            f"- SKReader: `{details['sk_reader'].hex().upper()}`",
            f"- SKDevice: `{details['sk_device'].hex().upper()}`",
            f"- request-data, decrypted: `{details['request_data'].hex().upper()}`",
            f"- presentation, decrypted ({len(details['presentation'])} bytes):",
            "",
            "```",
            _hex_block(details["presentation"]),
            "```",
            "",
        ]
    out.append(END)
    return "\n".join(out)


# --- the request context (spec/nfc.md section 5, spec/evidence.md section 5) ----------------


CONTEXT = RequestContext("10101010101", bytes(range(32)))


def test_context_travels_in_reader_info_and_the_signature_covers_it(world: World) -> None:
    holder = world.holder()
    reader = world.reader(context=CONTEXT)
    result = pair(holder, reader)
    info = _cbor.decode(reader.reader_info)
    assert info[ReaderInfoLabel.CONTEXT] == {1: CONTEXT.professional, 2: CONTEXT.invoice}
    assert result.transcript == reader.transcript_hash
    assert [e for e in holder.events() if isinstance(e, PresentationRequested)] == [
        PresentationRequested(None, CONTEXT)
    ]


def test_without_context_the_request_is_unchanged(world: World) -> None:
    rng_a, rng_b = drbg("context/unchanged"), drbg("context/unchanged")
    plain = ReaderSession(world.verifier(), rng=rng_a)
    same = ReaderSession(world.verifier(), rng=rng_b, context=None)
    holder_a = world.holder(rng=drbg("context/holder"))
    holder_b = world.holder(rng=drbg("context/holder"))
    assert first_request(holder_a, plain) == first_request(holder_b, same)
    assert ReaderInfoLabel.CONTEXT not in _cbor.decode(plain.reader_info)


@pytest.mark.parametrize(
    "context",
    [
        0,
        {1: CONTEXT.professional},
        {1: CONTEXT.professional, 2: b""},
        {1: "1010 1010", 2: CONTEXT.invoice},
        {1: CONTEXT.professional, 2: CONTEXT.invoice, 3: 0},
        {1: CONTEXT.professional, 2: "not bytes"},
        {1: "1" * 33, 2: CONTEXT.invoice},
        {1: CONTEXT.professional, 2: bytes(33)},
    ],
)
def test_holder_refuses_a_malformed_context(world: World, context: Any) -> None:
    holder = world.holder()
    fci = select(holder)
    response = holder.process(craft_request(fci, extra={ReaderInfoLabel.CONTEXT: context}))
    assert sw_of(response) == 0x6A80
    assert isinstance(holder.last_error, errors.NfcRequestInvalid)
    assert holder.last_error.code == "nfc.request_invalid"
    assert not [e for e in holder.events() if isinstance(e, PresentationRequested)]


def test_holder_accepts_a_context_at_its_limits(world: World) -> None:
    holder = world.holder()
    fci = select(holder)
    longest = {1: "1" * 32, 2: bytes(32)}
    response = holder.process(craft_request(fci, extra={ReaderInfoLabel.CONTEXT: longest}))
    assert sw_of(response) != 0x6A80 and holder.last_error is None
    assert [e.context for e in holder.events() if isinstance(e, PresentationRequested)] == [
        RequestContext("1" * 32, bytes(32))
    ]


def test_a_context_is_a_request_context_object(world: World) -> None:
    with pytest.raises(errors.InvalidArgument):
        world.reader(context={1: "x"})  # type: ignore[arg-type]


def test_spec_example_is_current() -> None:
    text = SPEC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == render_example(), "regenerate: python tests/test_nfc.py --write"


def test_example_is_reproducible() -> None:
    assert example_exchange(True)[0] == example_exchange(True)[0]


if __name__ == "__main__":
    rendered = render_example()
    if "--write" in sys.argv:
        text = SPEC.read_text(encoding="utf-8")
        start, end = text.index(BEGIN), text.index(END) + len(END)
        SPEC.write_text(text[:start] + rendered + text[end:], encoding="utf-8")
    else:
        print(rendered)
