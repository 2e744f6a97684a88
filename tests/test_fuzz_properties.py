"""Property tests for the decoders the other suites leave unfuzzed.

Each public decode or verify function gets two properties: only library errors
(``VerificationError`` for peer input) escape whatever it is fed, and what its
encoder writes it reads back unchanged. Every test has a deadline, so a hang
fails. The atheris harnesses in ``fuzz/`` run the same contracts for longer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitale_cred.clock import FixedClock
from vitale_cred.credential import CredentialBundle, Delegation, decode_claims
from vitale_cred.errors import ApduError, InvalidArgument, VerificationError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.apdu import (
    CHAINING_BIT,
    ChainAssembler,
    CommandApdu,
    Ins,
    ResponseApdu,
    ResponseCollector,
    parse_response,
)
from vitale_cred.nfc import HolderSession, ReaderSession, credentials_by_index, pair
from vitale_cred.pki import generate_private_key
from vitale_cred.presentation import MAX_AUDIENCE_BYTES, NONCE_LENGTH, PresentationPayload
from vitale_cred.presentation import decode_presentation_payload as decode_payload
from vitale_cred.registry import CardLabel, CoseAlg, CwtClaim, PresentationLabel
from vitale_cred.status import StatusReference, peek_status_list
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import (
    MAX_PRODUCER_VALIDITY,
    StalePolicy,
    TrustList,
    TrustListEntry,
    sign_trust_list,
    verify_trust_list,
)
from vitale_cred.verify import Policy, Verifier

from _world import NOW, make_world

PROPERTY = settings(
    max_examples=60,
    deadline=dt.timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)

_WORLD = make_world()
_CLAIMS = decode_claims(cose.decode_sign1(_WORLD.bundle.credentials[2]).payload)
_COMPACT = cose.decode_sign1(_WORLD.bundle.credentials[0])
_ROOT = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
_AUTHORITY = TrustStore(
    keys=[
        raw_key(
            cose.CoseKey.from_public_key(_ROOT.public_key()), b"root", usages=[Usage.TRUST_LIST]
        )
    ]
)
_ENTRY_KEYS = [
    cose.CoseKey.from_public_key(generate_private_key(alg).public_key())
    for alg in (CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA)
]

times = st.integers(0, 2**40 - 1)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.integers(-70_000, 70_000) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _only_verification_errors(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except VerificationError:
        return None


# --- credential claims -------------------------------------------------------------------


@PROPERTY
@given(
    iat=times,
    lifetime=st.integers(1, 400 * 86_400),
    nbf=st.none() | times,
    iss=st.none() | printable,
    status=st.none()
    | st.builds(StatusReference, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    delegation=st.none()
    | st.builds(
        Delegation,
        printable.filter(bool).map(lambda s: s[:128]),
        printable.filter(bool).map(lambda s: s[:128]),
        printable,
    ),
)
def test_claims_in_range_round_trip_through_decode_claims(
    iat: int,
    lifetime: int,
    nbf: int | None,
    iss: str | None,
    status: StatusReference | None,
    delegation: Delegation | None,
) -> None:
    exp = min(iat + lifetime, 2**40 - 1)
    if exp <= iat:
        return
    claims = dataclasses.replace(
        _CLAIMS, iat=iat, exp=exp, nbf=nbf, iss=iss, status=status, delegation=delegation
    )
    assert decode_claims(_cbor.encode(claims.to_wire())) == claims


@PROPERTY
@given(label=st.sampled_from([*CwtClaim, 99, -70_000]), value=cbor_values)
def test_genuine_claims_with_any_one_claim_replaced_raise_only_verification_errors(
    label: int, value: Any
) -> None:
    wire = _CLAIMS.to_wire()
    wire[label] = value
    _only_verification_errors(decode_claims, _cbor.encode(wire))


@PROPERTY
@given(label=st.sampled_from([*CardLabel, 0, 8, -1]), value=cbor_values)
def test_genuine_card_map_with_any_one_label_replaced_raises_only_verification_errors(
    label: int, value: Any
) -> None:
    wire = dataclasses.replace(_CLAIMS, status=StatusReference(1, 2)).to_wire()
    wire[CwtClaim.CARD][label] = value
    _only_verification_errors(decode_claims, _cbor.encode(wire))


@PROPERTY
@given(st.binary(max_size=400))
def test_arbitrary_bytes_into_decode_claims_raise_only_verification_errors(data: bytes) -> None:
    _only_verification_errors(decode_claims, data)


# --- credential bundles ------------------------------------------------------------------


@PROPERTY
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=16))
def test_bundles_of_any_credentials_round_trip(credentials: list[bytes]) -> None:
    bundle = CredentialBundle(tuple(credentials))
    assert CredentialBundle.decode(bundle.encode()) == bundle


@PROPERTY
@given(st.one_of(st.binary(max_size=300), cbor_values.map(_cbor.encode)))
def test_arbitrary_input_into_bundle_decode_raises_only_verification_errors(data: bytes) -> None:
    _only_verification_errors(CredentialBundle.decode, data)


# --- presentation payloads ---------------------------------------------------------------


@PROPERTY
@given(
    credential=st.binary(min_size=1, max_size=500),
    iat=times,
    ttl=st.integers(1, 0xFFFF),
    nonce=st.binary(min_size=NONCE_LENGTH, max_size=NONCE_LENGTH),
    audience=st.none() | st.binary(min_size=1, max_size=MAX_AUDIENCE_BYTES),
    transcript=st.none() | st.binary(min_size=32, max_size=32),
)
def test_presentation_payloads_in_range_round_trip(
    credential: bytes,
    iat: int,
    ttl: int,
    nonce: bytes,
    audience: bytes | None,
    transcript: bytes | None,
) -> None:
    payload = PresentationPayload(credential, iat, ttl, nonce, audience, transcript)
    assert decode_payload(_cbor.encode(payload.to_wire())) == payload


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from([*PresentationLabel, 0, 7, -1]) | st.text(max_size=3),
        cbor_values,
        max_size=8,
    )
)
def test_arbitrary_payload_maps_raise_only_verification_errors(value: dict[Any, Any]) -> None:
    _only_verification_errors(decode_payload, _cbor.encode(value))


# --- COSE_Sign1 envelopes ----------------------------------------------------------------


@PROPERTY
@given(
    protected=st.one_of(
        st.just(_COMPACT.protected_bytes), cbor_values.map(_cbor.encode), st.binary(max_size=20)
    ),
    unprotected=cbor_values,
    payload=st.one_of(st.just(_COMPACT.payload), st.none(), st.binary(max_size=40)),
    signature=st.one_of(st.just(_COMPACT.signature), cbor_values),
)
def test_any_four_item_cose_array_decodes_exactly_or_raises_only_verification_errors(
    protected: bytes, unprotected: Any, payload: Any, signature: Any
) -> None:
    data = _cbor.encode(_cbor.Tagged(18, [protected, unprotected, payload, signature]))
    message = _only_verification_errors(cose.decode_sign1, data)
    if message is not None:
        again = cose.encode_sign1(
            message.protected_bytes, message.unprotected, message.payload, message.signature
        )
        assert again == data
        _only_verification_errors(_WORLD.verifier().verify_credential, data)


# --- trust lists ------------------------------------------------------------------------


@st.composite
def trust_entries(draw: st.DrawFn, index: int) -> TrustListEntry:
    key = draw(st.sampled_from(_ENTRY_KEYS))
    not_before = draw(st.none() | times)
    return TrustListEntry(
        kid=index.to_bytes(2, "big") + draw(st.binary(max_size=30)),
        algs=frozenset({key.default_alg()})
        | draw(st.frozensets(st.sampled_from(list(CoseAlg)[:3]))),
        usages=draw(
            st.frozensets(
                st.sampled_from([Usage.CREDENTIAL, Usage.STATUS_LIST, Usage.STATEMENT]),
                min_size=1,
            )
        ),
        key=key,
        not_before=not_before,
        not_after=draw(st.none() | times),
        name=draw(printable),
    )


@st.composite
def trust_lists(draw: st.DrawFn) -> TrustList:
    issued = draw(st.integers(0, 2**40 - 2))
    count = draw(st.integers(0, 5))
    entries = tuple(draw(trust_entries(i)) for i in range(count))
    return TrustList(
        seq=draw(st.integers(0, 2**64 - 1)),
        issued_at=issued,
        # A producer sets next_update within the readers' maximum age (trust.md 5.1).
        next_update=draw(st.integers(issued + 1, issued + MAX_PRODUCER_VALIDITY)),
        entries=entries,
    )


@PROPERTY
@given(trust_lists())
def test_trust_lists_round_trip_through_their_signed_form(trust_list: TrustList) -> None:
    assert TrustList.from_wire(_cbor.decode(_cbor.encode(trust_list.to_wire()))) == trust_list
    signed = sign_trust_list(trust_list, _ROOT, kid=b"root")
    verified = verify_trust_list(
        signed, _AUTHORITY, clock=FixedClock(trust_list.issued_at), stale=StalePolicy.ACCEPT_STALE
    )
    assert verified.trust_list == trust_list


_SIGNED_LIST = sign_trust_list(
    TrustList(
        3,
        NOW - 10,
        NOW + 1000,
        (
            TrustListEntry(
                kid=b"k1",
                algs=frozenset({CoseAlg.ES256}),
                usages=frozenset({Usage.CREDENTIAL}),
                key=_ENTRY_KEYS[0],
            ),
        ),
    ),
    _ROOT,
    kid=b"root",
)


@PROPERTY
@given(st.data())
def test_mutated_signed_trust_list_raises_only_verification_errors(data: st.DataObject) -> None:
    mutated = bytearray(_SIGNED_LIST)
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] ^= data.draw(st.integers(1, 255))
    _only_verification_errors(verify_trust_list, bytes(mutated), _AUTHORITY, clock=FixedClock(NOW))


@PROPERTY
@given(st.one_of(st.binary(max_size=300), cbor_values.map(_cbor.encode)))
def test_arbitrary_input_into_verify_trust_list_raises_only_verification_errors(
    data: bytes,
) -> None:
    _only_verification_errors(verify_trust_list, data, _AUTHORITY, clock=FixedClock(NOW))
    _only_verification_errors(peek_status_list, data)


# --- APDU chaining and response collection ---------------------------------------------


commands = st.builds(
    CommandApdu,
    cla=st.sampled_from([0x00, 0x80, 0x80 | CHAINING_BIT, CHAINING_BIT, 0x01]),
    ins=st.sampled_from([Ins.PRESENTATION_REQUEST, Ins.SELECT, 0x20]),
    p1=st.sampled_from([0, 4]),
    p2=st.just(0),
    data=st.binary(max_size=300),
    le=st.none() | st.integers(1, 65536),
)


@PROPERTY
@given(st.lists(commands, max_size=12), st.integers(1, 1024))
def test_chain_assembler_yields_only_bounded_commands_or_apdu_errors(
    sequence: list[CommandApdu], cap: int
) -> None:
    assembler = ChainAssembler(cap, chainable_ins=(Ins.PRESENTATION_REQUEST,))
    for command in sequence:
        try:
            complete = assembler.feed(command)
        except ApduError:
            assert not assembler.in_progress
            continue
        if complete is not None:
            assert not complete.is_chained
            assert complete is command or len(complete.data) <= cap


responses = st.builds(
    ResponseApdu,
    data=st.binary(max_size=300),
    sw=st.sampled_from([0x9000, 0x6100, 0x6110, 0x6C00, 0x6C05, 0x6982, 0x6A80]),
)


@PROPERTY
@given(st.lists(responses, max_size=20), st.integers(0, 2048))
def test_response_collector_ends_or_raises_only_apdu_errors_within_its_bound(
    sequence: list[ResponseApdu], cap: int
) -> None:
    collector = ResponseCollector(CommandApdu(0x80, Ins.PRESENTATION_REQUEST, 0, 0, le=256), cap)
    for response in sequence:
        try:
            outcome = collector.feed(response)
        except ApduError:
            return
        if isinstance(outcome, ResponseApdu):
            assert collector.done
            assert len(outcome.data) <= cap
            return


# --- NFC holder under any order of genuine commands ---------------------------------------


def _holder(world: Any) -> HolderSession:
    return HolderSession(
        credentials_by_index(world.bundle.credentials),
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=lambda hint, available: available[0],
        extended_length=False,
    )


def _genuine_commands() -> list[bytes]:
    trace: list[tuple[bytes, bytes]] = []
    reader = ReaderSession(
        Verifier(Policy(trust=_WORLD.trust, clock=_WORLD.clock)), extended_length=False
    )
    pair(_holder(_WORLD), reader, trace=trace)
    return [command for command, _ in trace]


_GENUINE = _genuine_commands()


@PROPERTY
@given(st.lists(st.sampled_from(range(len(_GENUINE))), max_size=12))
def test_holder_answers_any_order_of_genuine_commands_with_a_valid_response(
    order: list[int],
) -> None:
    holder = _holder(_WORLD)
    for index in order:
        response = parse_response(holder.process(_GENUINE[index]))
        assert response.sw == 0x9000 or response.sw >> 8 in (0x61, 0x67, 0x69, 0x6A, 0x68, 0x6D)


def test_genuine_short_exchange_has_several_commands_to_reorder() -> None:
    assert len(_GENUINE) >= 3


@pytest.mark.parametrize("bad", [b"", "text", None])
def test_decoders_refuse_non_bytes_as_caller_errors(bad: Any) -> None:
    for call in (decode_claims, decode_payload, CredentialBundle.decode):
        with pytest.raises((InvalidArgument, VerificationError)):
            call(bad)
