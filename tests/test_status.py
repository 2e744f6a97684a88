"""Token Status List (draft-ietf-oauth-status-list): packing, tokens, trust, checking.

Section numbers refer to the working group's editor's copy of the draft (June 2026).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import zlib
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitale_cred import status as status_module
from vitale_cred.adapters.files import FileStatusProvider
from vitale_cred.clock import FixedClock
from vitale_cred.errors import (
    CborTagNotAllowed,
    CborTypeNotAllowed,
    CompressionError,
    CoseBadSignature,
    CoseError,
    DecompressionBomb,
    InvalidArgument,
    KeyUsageNotAllowed,
    Revoked,
    SchemaError,
    StatusError,
    StatusIndexOutOfRange,
    StatusListExpired,
    StatusListInvalid,
    StatusReferenceInvalid,
    StatusUndetermined,
    Suspended,
    UnknownIssuer,
    UsageError,
    VitaleCredError,
)
from vitale_cred.hazmat.cose import CoseKey, SoftwareSigner, decode_sign1, sign1
from vitale_cred.pki import IssuerMaterial, generate_private_key
from vitale_cred.registry import CoseAlg, CoseTag, CwtClaim
from vitale_cred.status import (
    MAX_STATUS_LIST_BYTES,
    STATUS_LIST_TYP,
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusListLocator,
    StatusPolicy,
    StatusProvider,
    StatusReference,
    StatusResult,
    StatusState,
    StatusValue,
    VerifiedStatusList,
    issue_status_list,
    peek_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.verify import Policy

NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T0 = int(NOT_BEFORE.timestamp()) + 86_400
URI = "https://status.ameli.example/lists/1"
OTHER_URI = "https://status.ameli.example/lists/2"
LIST = 1
OTHER_LIST = 2
TYP = 16  # RFC 9596 typ header parameter

MATERIAL = IssuerMaterial.generate(CoseAlg.ES256, NOT_BEFORE)
SIGNER = MATERIAL.signer()
KID = MATERIAL.kid
TRUST = TrustStore(roots=[MATERIAL.root_certificate], certificates=[MATERIAL.issuer_certificate])
# A second issuer, trusted alongside the first: its lists never speak for the first's
# credentials.
OTHER_MATERIAL = IssuerMaterial.generate(CoseAlg.ES256, NOT_BEFORE)
OTHER_KID = OTHER_MATERIAL.kid
BOTH_TRUSTED = TrustStore(
    roots=[MATERIAL.root_certificate, OTHER_MATERIAL.root_certificate],
    certificates=[MATERIAL.issuer_certificate, OTHER_MATERIAL.issuer_certificate],
)

REJECT = StatusPolicy(on_undetermined="reject")
ACCEPT = StatusPolicy(on_undetermined="accept")


def _list(bits: int = 1, size: int = 1024, values: dict[int, int] | None = None) -> StatusList:
    lst = StatusList(bits, size)
    for idx, value in (values or {}).items():
        lst.set(idx, value)
    return lst


def _token(
    lst: StatusList | None = None,
    *,
    uri: str = URI,
    list_id: int = LIST,
    iat: int = T0,
    exp: int | None = T0 + 86_400,
    ttl: int | None = 3_600,
    material: IssuerMaterial = MATERIAL,
) -> bytes:
    return issue_status_list(
        material.signer(),
        kid=material.kid,
        uri=uri,
        list_id=list_id,
        status_list=lst or _list(),
        iat=iat,
        exp=exp,
        ttl=ttl,
    )


def _signed(claims: Any, *, protected: dict[int, Any] | None = None, kid: bytes = KID) -> bytes:
    """A COSE_Sign1 over arbitrary claims, signed by the trusted issuer key."""
    header = {TYP: STATUS_LIST_TYP} if protected is None else protected
    return sign1(cbor2.dumps(claims), SIGNER, kid=kid, protected=header)


def _claims(**overrides: Any) -> dict[int, Any]:
    claims: dict[int, Any] = {
        CwtClaim.SUB: URI,
        CwtClaim.LIST: LIST,
        CwtClaim.IAT: T0,
        CwtClaim.EXP: T0 + 86_400,
        CwtClaim.TTL: 3_600,
        CwtClaim.STATUS_LIST: {"bits": 1, "lst": _list().compressed()},
    }
    for name, value in overrides.items():
        label = CwtClaim[name.upper()]
        if value is _DROP:
            del claims[label]
        else:
            claims[label] = value
    return {int(k): v for k, v in claims.items()}


_DROP = object()


# --- bit packing (section 4.1) -----------------------------------------------------

# Section 4.1, first example: 16 entries of 1 bit -> 0xB9 0xA3.
DRAFT_1BIT_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
DRAFT_1BIT_BYTES = bytes.fromhex("b9a3")
DRAFT_1BIT_COMPRESSED = bytes.fromhex("78dadbb918000217015d")
# Section 4.1, second example: 12 entries of 2 bits -> 0xC9 0x44 0xF9.
DRAFT_2BIT_STATUSES = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
DRAFT_2BIT_BYTES = bytes.fromhex("c944f9")
DRAFT_2BIT_COMPRESSED = bytes.fromhex("78da3be9f2130003df0207")
# Section 4.3: the CBOR StatusList of the 1-bit example.
DRAFT_CBOR_STATUS_LIST = bytes.fromhex("a2646269747301636c73744a78dadbb918000217015d")


@pytest.mark.parametrize(
    ("bits", "statuses", "expected"),
    [
        pytest.param(1, DRAFT_1BIT_STATUSES, DRAFT_1BIT_BYTES, id="draft-4.1-1bit"),
        pytest.param(2, DRAFT_2BIT_STATUSES, DRAFT_2BIT_BYTES, id="draft-4.1-2bit"),
        # Hand computed: index 0 in the low nibble, index 1 in the high nibble.
        pytest.param(4, [0x1, 0x2, 0xF, 0x0, 0x0, 0xA], bytes([0x21, 0x0F, 0xA0]), id="4bit"),
        pytest.param(8, [0x01, 0xFE, 0x00, 0x80], bytes([0x01, 0xFE, 0x00, 0x80]), id="8bit"),
    ],
)
def test_entries_are_packed_from_the_least_significant_bit_of_byte_zero(
    bits: int, statuses: list[int], expected: bytes
) -> None:
    lst = StatusList(bits, len(statuses))
    for idx, value in enumerate(statuses):
        lst.set(idx, value)
    assert lst.to_bytes() == expected
    assert [StatusList.from_bytes(expected, bits).get(i) for i in range(len(statuses))] == statuses


@pytest.mark.parametrize(
    ("bits", "compressed", "statuses"),
    [
        pytest.param(1, DRAFT_1BIT_COMPRESSED, DRAFT_1BIT_STATUSES, id="draft-4.1-1bit"),
        pytest.param(2, DRAFT_2BIT_COMPRESSED, DRAFT_2BIT_STATUSES, id="draft-4.1-2bit"),
    ],
)
def test_draft_section_4_1_compressed_arrays_decode_to_their_statuses(
    bits: int, compressed: bytes, statuses: list[int]
) -> None:
    lst = StatusList.from_compressed(compressed, bits)
    assert [lst.get(i) for i in range(len(statuses))] == statuses
    assert zlib.decompress(lst.compressed()) == lst.to_bytes()


def test_draft_section_4_3_cbor_status_list_holds_the_1bit_example() -> None:
    body = cbor2.loads(DRAFT_CBOR_STATUS_LIST)
    lst = StatusList.from_compressed(body["lst"], body["bits"])
    assert lst.to_bytes() == DRAFT_1BIT_BYTES
    assert lst.size == 16


# Appendix C: lists of 2^20 entries, all VALID except those listed.
APPENDIX_C = {
    "C.1-1bit": (
        "a2646269747301636c737458bd78daeddc010dc0200c0041a88249400ad2903e0f4b"
        "ba00bd93f002beb7a2a2010000a91e09000000000000000000000000000000807296"
        "04000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000005c6f4800000000000000fc2c240000000000000000000000be1b12"
        "000000000000000000ecaa4b000000000000000000000000000000009b0b09000000"
        "00000000000038de9400000000000000002a30cc010000000080642f0bd8011b",
        {
            0: 1,
            1993: 1,
            25460: 1,
            159495: 1,
            495669: 1,
            554353: 1,
            645645: 1,
            723232: 1,
            854545: 1,
            934534: 1,
            1000345: 1,
        },
    ),
    "C.2-2bit": (
        "a2646269747302636c737459013d78daeddb310d00211000412ea1a04004fe5520ed"
        "357c28c81d3312b6df68bc65480000000000406e2101000000000000000000000000"
        "0000000000000000000000000000000000000040795b020000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "0080f4ba0400000000000000000000000000406d764a000000000000000000000000"
        "000000000000000000e0922101000000000000000000000000000000000000fc1312"
        "00000000000000000000000000000000000000000000000000000000000000c0912e"
        "01000000000000000000000000000000000000c07d4b020000000000000000000000"
        "00000000a8614a0000000000000000000000406a1fcd60010c",
        {
            0: 1,
            1993: 2,
            25460: 1,
            159495: 3,
            495669: 1,
            554353: 1,
            645645: 2,
            723232: 1,
            854545: 1,
            934534: 2,
            1000345: 3,
        },
    ),
    "C.3-4bit": (
        "a2646269747304636c737459024878daedd0410d8030100030081f0226908204244c"
        "025290840414111cecb7e4b8b5123a0e40669b020000000000000000000000000000"
        "0020b549010000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000400ebb0200000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000e8c5a100000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000082280a00000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000000080ae9c0a"
        "00000000000000000000000000000000000000000000000000000000000000000000"
        "000000686a5640339702000000008865510000000000000000000000000000000000"
        "00000000000000000000000000000071dc0a0080ba55010000000000000000000000"
        "c0cf3daf03000000000000000008ec03dc4c04c0",
        {
            0: 0b0001,
            1993: 0b0010,
            35460: 0b0011,
            459495: 0b0100,
            595669: 0b0101,
            754353: 0b0110,
            845645: 0b0111,
            923232: 0b1000,
            924445: 0b1001,
            934534: 0b1010,
            1004534: 0b1011,
            1000345: 0b1100,
            1030203: 0b1101,
            1030204: 0b1110,
            1030205: 0b1111,
        },
    ),
}


@pytest.mark.parametrize("case", sorted(APPENDIX_C))
def test_draft_appendix_c_vectors_decode_to_exactly_the_listed_statuses(case: str) -> None:
    cbor_hex, statuses = APPENDIX_C[case]
    body = cbor2.loads(bytes.fromhex(cbor_hex))
    decoded = StatusList.from_compressed(body["lst"], body["bits"])
    expected = _list(body["bits"], 2**20, statuses)
    assert decoded.size == 2**20
    assert decoded == expected


@given(
    data=st.data(),
    bits=st.sampled_from([1, 2, 4, 8]),
    size=st.integers(min_value=1, max_value=300),
)
def test_compressed_round_trip_preserves_every_entry(
    data: st.DataObject, bits: int, size: int
) -> None:
    values = data.draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=size, max_size=size))
    lst = StatusList(bits, size)
    for idx, value in enumerate(values):
        lst.set(idx, value)
    loaded = StatusList.from_compressed(lst.compressed(), bits)
    assert [loaded.get(i) for i in range(size)] == values
    # Padding slots of the last byte are entries of the loaded list, all VALID.
    assert loaded.size == len(lst.to_bytes()) * 8 // bits >= size
    assert all(loaded.get(i) == 0 for i in range(size, loaded.size))


@given(
    data=st.data(),
    bits=st.sampled_from([1, 2, 4, 8]),
)
def test_set_changes_only_its_own_entry(data: st.DataObject, bits: int) -> None:
    lst = _list(bits, 64, {i: (i * 7) % (1 << bits) for i in range(64)})
    before = [lst.get(i) for i in range(64)]
    idx = data.draw(st.integers(0, 63))
    value = data.draw(st.integers(0, (1 << bits) - 1))
    lst.set(idx, value)
    after = [lst.get(i) for i in range(64)]
    assert after[idx] == value
    assert after[:idx] + after[idx + 1 :] == before[:idx] + before[idx + 1 :]


@pytest.mark.parametrize("bits", [0, 3, 5, 16, -1, True])
def test_status_list_constructor_refuses_bits_outside_1_2_4_8(bits: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        StatusList(bits, 8)
    assert info.value.code == "usage.invalid_argument"


def test_status_list_constructor_refuses_a_list_over_the_cap() -> None:
    with pytest.raises(InvalidArgument):
        StatusList(1, MAX_STATUS_LIST_BYTES * 8 + 1)
    assert StatusList(1, MAX_STATUS_LIST_BYTES * 8).size == MAX_STATUS_LIST_BYTES * 8


@pytest.mark.parametrize(("idx", "value"), [(-1, 0), (16, 0), (0, 4), (0, -1), (0, True)])
def test_set_outside_the_list_or_too_wide_a_value_is_invalid_argument(idx: int, value: int) -> None:
    with pytest.raises(InvalidArgument):
        _list(2, 16).set(idx, value)


@pytest.mark.parametrize("idx", [-1, 16, 2**64, True, "0"])
def test_get_outside_the_list_raises_index_out_of_range(idx: Any) -> None:
    with pytest.raises(StatusIndexOutOfRange) as info:
        _list(1, 16).get(idx)
    assert info.value.code == "status.index_out_of_range"
    assert isinstance(info.value, StatusError)


# --- from_compressed strictness ------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 3, 16, 255, True, "1", None])
def test_from_compressed_with_wrong_bits_raises_list_invalid(bits: Any) -> None:
    with pytest.raises(StatusListInvalid) as info:
        StatusList.from_compressed(DRAFT_1BIT_COMPRESSED, bits)
    assert info.value.code == "status.list_invalid"


@pytest.mark.parametrize(
    "lst",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x01\x02", id="garbage"),
        pytest.param(DRAFT_1BIT_COMPRESSED[:-1], id="truncated"),
        pytest.param(DRAFT_1BIT_COMPRESSED + b"\x00", id="trailing-byte"),
        pytest.param(DRAFT_1BIT_COMPRESSED * 2, id="two-streams"),
        pytest.param(zlib.compress(b"\xb9\xa3", wbits=-15), id="raw-deflate"),
        pytest.param(zlib.compress(b"\xb9\xa3", wbits=31), id="gzip"),
    ],
)
def test_from_compressed_refuses_anything_but_one_complete_zlib_stream(lst: bytes) -> None:
    with pytest.raises(CompressionError) as info:
        StatusList.from_compressed(lst, 1)
    assert info.value.code == "compression.invalid"


def test_from_compressed_stops_a_zlib_bomb_at_the_cap() -> None:
    bomb = zlib.compress(bytes(MAX_STATUS_LIST_BYTES + 1), 9)
    assert len(bomb) < 20_000
    with pytest.raises(DecompressionBomb) as info:
        StatusList.from_compressed(bomb, 1)
    assert info.value.code == "compression.too_large"
    assert StatusList.from_compressed(zlib.compress(bytes(1024)), 1, max_bytes=1024).size == 8192
    with pytest.raises(DecompressionBomb):
        StatusList.from_compressed(zlib.compress(bytes(1025)), 1, max_bytes=1024)


@settings(max_examples=300)
@given(lst=st.binary(max_size=200), bits=st.sampled_from([0, 1, 2, 3, 4, 8, 9]))
def test_from_compressed_of_arbitrary_bytes_raises_only_library_errors(
    lst: bytes, bits: int
) -> None:
    with contextlib.suppress(VitaleCredError):
        StatusList.from_compressed(lst, bits)


# --- the credential's status claim (section 6.3) ---------------------------------------

# Section 6.3: a Referenced Token in CWT form (status claim with idx 0).
DRAFT_REFERENCED_TOKEN = bytes.fromhex(
    "d28443a10126a1044231325866a502653132333435017368747470733a2f2f657861"
    "6d706c652e636f6d061a648c5bea041a8898dfea19ffffa16b7374617475735f6c69"
    "7374a2636964780063757269782168747470733a2f2f6578616d706c652e636f6d2f"
    "7374617475736c697374732f315840340f7efea10f1a36dc4797636a17b4dd4848b6"
    "8997d1d10e8cceb3a38ff33b3dda72964a83989f6cf98560c2fc97a08bc8977cc6b0"
    "f84cfedab93d3e4481e938"
)


def test_draft_section_6_3_status_claim_is_not_a_v1_reference() -> None:
    # Protocol 1 carries [list, idx] in the card map instead of the draft's claim.
    claims = cbor2.loads(decode_sign1(DRAFT_REFERENCED_TOKEN).payload)
    assert claims[CwtClaim.STATUS] == {
        "status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}
    }
    with pytest.raises(StatusReferenceInvalid) as info:
        StatusReference.from_wire(claims[CwtClaim.STATUS])
    assert info.value.code == "status.reference_invalid"


def test_status_reference_wire_form_is_list_then_index() -> None:
    ref = StatusReference(3, 70_000)
    assert (ref.list_id, ref.idx) == (3, 70_000)
    assert ref.to_wire() == [3, 70_000]
    assert cbor2.dumps(ref.to_wire()) == bytes.fromhex("82031a00011170")
    assert StatusReference.from_wire([3, 70_000]) == ref


@given(
    list_id=st.integers(min_value=0, max_value=2**32 - 1),
    idx=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_status_reference_round_trips_through_its_wire_form(list_id: int, idx: int) -> None:
    ref = StatusReference(list_id, idx)
    wire = cbor2.loads(cbor2.dumps(ref.to_wire()))
    assert StatusReference.from_wire(wire) == ref


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="null"),
        pytest.param({}, id="empty-map"),
        pytest.param({0: 1, 1: 0}, id="map"),
        pytest.param({"status_list": {"idx": 0, "uri": URI}}, id="draft-claim"),
        pytest.param([], id="empty-array"),
        pytest.param([1], id="one-item"),
        pytest.param([1, 0, 0], id="three-items"),
        pytest.param((1, 0), id="tuple-not-a-decoded-array"),
        pytest.param([-1, 0], id="negative-list"),
        pytest.param([1, -1], id="negative-idx"),
        pytest.param([2**32, 0], id="list-2^32"),
        pytest.param([1, 2**32], id="idx-2^32"),
        pytest.param([2**64 - 1, 0], id="list-2^64-1"),
        pytest.param([True, 0], id="bool-list"),
        pytest.param([1, True], id="bool-idx"),
        pytest.param([1, False], id="false-idx"),
        pytest.param(["1", 0], id="text-list"),
        pytest.param([1, "0"], id="text-idx"),
        pytest.param([b"\x01", 0], id="bytes-list"),
        pytest.param([1, 0.0], id="float-idx"),
        pytest.param([[1], 0], id="nested-list"),
        pytest.param([1, None], id="null-idx"),
        pytest.param([URI, 0], id="uri-instead-of-list"),
        pytest.param(1, id="integer"),
    ],
)
def test_status_reference_from_wire_refuses_malformed_references(value: Any) -> None:
    with pytest.raises(StatusReferenceInvalid) as info:
        StatusReference.from_wire(value)
    assert info.value.code == "status.reference_invalid"
    assert isinstance(info.value, SchemaError)


@pytest.mark.parametrize("wire", [[0, 0], [2**32 - 1, 2**32 - 1], [0, 2**32 - 1]], ids=str)
def test_status_reference_accepts_the_bounds_below_2_32(wire: list[int]) -> None:
    assert StatusReference.from_wire(wire).to_wire() == wire


@pytest.mark.parametrize(
    ("list_id", "idx"),
    [(-1, 0), (0, -1), (2**32, 0), (0, 2**32), (True, 0), (0, False), ("1", 0), (1, URI)],
)
def test_status_reference_constructor_refuses_bad_values_as_invalid_argument(
    list_id: Any, idx: Any
) -> None:
    with pytest.raises(InvalidArgument):
        StatusReference(list_id, idx)


# --- issuing and verifying Status List Tokens (section 5.2) ------------------------


def test_issued_token_has_the_section_5_2_shape() -> None:
    token = _token(_list(2, 100, {3: 1}), ttl=600)
    message = decode_sign1(token)
    assert token[0] == 0xD2  # COSE_Sign1_Tagged, never the CWT tag
    assert message.protected[TYP] == "application/statuslist+cwt"
    assert message.kid == KID
    claims = cbor2.loads(message.payload)
    assert set(claims) == {2, 4, 6, 65533, 65534, -65539}
    assert claims[2] == URI
    assert claims[-65539] == LIST
    assert claims[65534] == 600
    assert claims[65533]["bits"] == 2
    assert set(claims[65533]) == {"bits", "lst"}


@settings(max_examples=20, deadline=None)
@given(
    data=st.data(),
    bits=st.sampled_from([1, 2, 4, 8]),
    size=st.integers(min_value=1, max_value=2_000),
    ttl=st.none() | st.integers(min_value=1, max_value=10**6),
    exp=st.none() | st.integers(min_value=1, max_value=10**8),
)
def test_issue_then_verify_round_trips_claims_and_entries(
    data: st.DataObject, bits: int, size: int, ttl: int | None, exp: int | None
) -> None:
    entries = data.draw(st.dictionaries(st.integers(0, size - 1), st.integers(0, (1 << bits) - 1)))
    list_id = data.draw(st.integers(0, 2**32 - 1))
    lst = _list(bits, size, entries)
    token = _token(lst, list_id=list_id, exp=None if exp is None else T0 + exp, ttl=ttl)
    verified = verify_status_list(
        token,
        TRUST,
        clock=FixedClock(T0),
        expected_uri=URI,
        expected_kid=KID,
        expected_list=list_id,
    )
    assert (verified.uri, verified.iat, verified.ttl, verified.bits) == (URI, T0, ttl, bits)
    assert verified.list_id == list_id
    assert verified.exp == (None if exp is None else T0 + exp)
    assert verified.kid == KID
    for idx in range(size):
        assert verified.status(idx) == entries.get(idx, 0)


def test_verified_status_values_are_status_value_members() -> None:
    lst = _list(8, 8, {1: 1, 2: 2, 3: 3, 4: 200})
    verified = verify_status_list(_token(lst), TRUST, clock=FixedClock(T0))
    assert [verified.status(i) for i in range(5)] == [0, 1, 2, 3, 200]
    assert verified.status(1) is StatusValue.INVALID
    assert verified.status(3) is StatusValue.APPLICATION_SPECIFIC
    assert type(verified.status(4)) is int


def test_verified_status_outside_the_list_raises_index_out_of_range() -> None:
    verified = verify_status_list(_token(_list(1, 16)), TRUST, clock=FixedClock(T0))
    assert verified.size == 16
    with pytest.raises(StatusIndexOutOfRange) as info:
        verified.status(16)
    assert info.value.code == "status.index_out_of_range"


def test_verified_status_list_cannot_be_built_by_a_caller() -> None:
    with pytest.raises(UsageError):
        VerifiedStatusList(
            object(),
            uri=URI,
            list_id=LIST,
            iat=T0,
            exp=None,
            ttl=None,
            aggregation_uri=None,
            kid=KID,
            status_list=_list(),
        )


def test_verified_status_list_and_its_list_are_immutable() -> None:
    verified = verify_status_list(_token(), TRUST, clock=FixedClock(T0))
    with pytest.raises(AttributeError):
        verified.uri = OTHER_URI
    with pytest.raises(AttributeError):
        del verified.iat
    assert verified.status_list.read_only
    with pytest.raises(UsageError):
        verified.status_list.set(0, StatusValue.INVALID)


def test_list_signed_by_a_key_trusted_only_for_credentials_is_refused() -> None:
    key = generate_private_key(CoseAlg.ES256)
    kid = b"credentials-only"
    trust = TrustStore(
        keys=[raw_key(CoseKey.from_public_key(key.public_key()), kid, usages=[Usage.CREDENTIAL])]
    )
    token = issue_status_list(
        SoftwareSigner(key), kid=kid, uri=URI, list_id=LIST, status_list=_list(), iat=T0
    )
    with pytest.raises(KeyUsageNotAllowed) as info:
        verify_status_list(token, trust, clock=FixedClock(T0))
    assert info.value.code == "trust.usage_not_allowed"


def test_list_signed_by_a_raw_key_trusted_for_status_lists_verifies() -> None:
    key = generate_private_key(CoseAlg.ES256)
    kid = b"status-signer"
    trust = TrustStore(
        keys=[raw_key(CoseKey.from_public_key(key.public_key()), kid, usages=[Usage.STATUS_LIST])]
    )
    token = issue_status_list(
        SoftwareSigner(key), kid=kid, uri=URI, list_id=LIST, status_list=_list(), iat=T0
    )
    assert verify_status_list(token, trust, clock=FixedClock(T0)).kid == kid


def test_list_from_an_unknown_signer_is_refused() -> None:
    token = issue_status_list(
        SIGNER, kid=b"nobody", uri=URI, list_id=LIST, status_list=_list(), iat=T0
    )
    with pytest.raises(UnknownIssuer) as info:
        verify_status_list(token, TRUST, clock=FixedClock(T0))
    assert info.value.code == "trust.unknown_issuer"


def test_tampered_signature_is_refused() -> None:
    token = bytearray(_token())
    token[-1] ^= 0x01
    with pytest.raises(CoseBadSignature) as info:
        verify_status_list(bytes(token), TRUST, clock=FixedClock(T0))
    assert info.value.code == "cose.bad_signature"


def test_tampered_list_is_refused_by_the_signature() -> None:
    original = _token(_list(1, 64, {5: 1}))
    lst_at = original.find(_list(1, 64, {5: 1}).compressed())
    forged = bytearray(original)
    forged[lst_at + 4] ^= 0x20
    with pytest.raises(CoseBadSignature):
        verify_status_list(bytes(forged), TRUST, clock=FixedClock(T0))


def test_sub_that_differs_from_the_referenced_uri_is_refused() -> None:
    token = _token(uri=OTHER_URI)
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(token, TRUST, clock=FixedClock(T0), expected_uri=URI)
    assert info.value.code == "status.list_invalid"
    assert (
        verify_status_list(token, TRUST, clock=FixedClock(T0), expected_uri=OTHER_URI).uri
        == OTHER_URI
    )


def test_list_number_that_differs_from_the_referenced_one_is_refused() -> None:
    token = _token(list_id=OTHER_LIST)
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(token, TRUST, clock=FixedClock(T0), expected_list=LIST)
    assert info.value.code == "status.list_invalid"
    assert (
        verify_status_list(token, TRUST, clock=FixedClock(T0), expected_list=OTHER_LIST).list_id
        == OTHER_LIST
    )


def test_list_signed_by_another_trusted_issuer_key_is_refused_for_this_issuer() -> None:
    token = _token(material=OTHER_MATERIAL)
    assert verify_status_list(token, BOTH_TRUSTED, clock=FixedClock(T0)).kid == OTHER_KID
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(
            token, BOTH_TRUSTED, clock=FixedClock(T0), expected_kid=KID, expected_list=LIST
        )
    assert info.value.code == "status.list_invalid"
    assert (
        verify_status_list(token, BOTH_TRUSTED, clock=FixedClock(T0), expected_kid=OTHER_KID).kid
        == OTHER_KID
    )


@pytest.mark.parametrize("list_id", [0, 2**32 - 1], ids=str)
def test_list_numbers_0_and_2_32_minus_1_are_accepted(list_id: int) -> None:
    verified = verify_status_list(_signed(_claims(list=list_id)), TRUST, clock=FixedClock(T0))
    assert verified.list_id == list_id


@pytest.mark.parametrize(
    "protected",
    [
        pytest.param({}, id="missing"),
        pytest.param({TYP: "statuslist+cwt"}, id="short-form-of-early-drafts"),
        pytest.param({TYP: "application/cwt"}, id="other-type"),
        pytest.param({TYP: "application/statuslist+jwt"}, id="jwt-type"),
        pytest.param({TYP: "Application/StatusList+CWT"}, id="case-changed"),
        pytest.param({TYP: 10_000}, id="coap-content-format"),
        pytest.param({TYP: STATUS_LIST_TYP.encode()}, id="bytes"),
    ],
)
def test_bad_typ_is_refused(protected: dict[int, Any]) -> None:
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(_signed(_claims(), protected=protected), TRUST, clock=FixedClock(T0))
    assert info.value.code == "status.list_invalid"


def test_typ_in_the_unprotected_header_is_refused() -> None:
    token = sign1(cbor2.dumps(_claims()), SIGNER, kid=KID, unprotected={TYP: STATUS_LIST_TYP})
    with pytest.raises(StatusListInvalid):
        verify_status_list(token, TRUST, clock=FixedClock(T0))


@pytest.mark.parametrize("bits", [0, 3, 5, 16, -1, "1", True])
def test_token_with_wrong_bits_is_refused(bits: Any) -> None:
    body = {"bits": bits, "lst": _list().compressed()}
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(_signed(_claims(status_list=body)), TRUST, clock=FixedClock(T0))
    assert info.value.code == "status.list_invalid"


def test_token_with_null_bits_is_refused_by_the_decoder() -> None:
    body = {"bits": None, "lst": _list().compressed()}
    with pytest.raises(CborTypeNotAllowed) as info:
        verify_status_list(_signed(_claims(status_list=body)), TRUST, clock=FixedClock(T0))
    assert info.value.code == "cbor.type_not_allowed"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(_claims(sub=_DROP), id="no-sub"),
        pytest.param(_claims(list=_DROP), id="no-list"),
        pytest.param(_claims(list=-1), id="negative-list"),
        pytest.param(_claims(list=2**32), id="list-2^32"),
        pytest.param(_claims(list=2**64 - 1), id="list-2^64-1"),
        pytest.param(_claims(list=True), id="bool-list"),
        pytest.param(_claims(list="1"), id="text-list"),
        pytest.param(_claims(list=b"\x01"), id="bytes-list"),
        pytest.param(_claims(list=[1]), id="array-list"),
        pytest.param(_claims(iat=_DROP), id="no-iat"),
        pytest.param(_claims(status_list=_DROP), id="no-status-list"),
        pytest.param(_claims(sub="http://status.example/1"), id="sub-not-https"),
        pytest.param(_claims(sub=b"https://x/1"), id="sub-bytes"),
        pytest.param(_claims(iat=-1), id="negative-iat"),
        pytest.param(_claims(iat="1"), id="text-iat"),
        pytest.param(_claims(exp=T0), id="exp-equal-to-iat"),
        pytest.param(_claims(exp=T0 - 1), id="exp-before-iat"),
        pytest.param(_claims(ttl=0), id="zero-ttl"),
        pytest.param(_claims(ttl=-5), id="negative-ttl"),
        pytest.param(_claims(iss=1), id="iss-not-text"),
        pytest.param(_claims(cti=b"\x01"), id="unknown-claim"),
        pytest.param(_claims(status=1), id="status-claim-in-a-list"),
        pytest.param(_claims(status_list=[1, b""]), id="status-list-not-a-map"),
        pytest.param(_claims(status_list={"bits": 1}), id="no-lst"),
        pytest.param(_claims(status_list={"lst": b"x"}), id="no-bits"),
        pytest.param(_claims(status_list={"bits": 1, "lst": "eNrbuRgAAhcBXQ"}), id="lst-text"),
        pytest.param(
            _claims(status_list={"bits": 1, "lst": DRAFT_1BIT_COMPRESSED, "x": 0}), id="extra-key"
        ),
        pytest.param(
            _claims(
                status_list={"bits": 1, "lst": DRAFT_1BIT_COMPRESSED, "aggregation_uri": "ftp://a"}
            ),
            id="bad-aggregation-uri",
        ),
        pytest.param([URI, T0], id="claims-not-a-map"),
    ],
)
def test_malformed_claims_are_refused_as_list_invalid(claims: Any) -> None:
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(_signed(claims), TRUST, clock=FixedClock(T0))
    assert info.value.code == "status.list_invalid"


def test_list_issued_in_the_future_beyond_the_clock_skew_is_refused() -> None:
    token = _token(iat=T0 + 301, exp=None)
    with pytest.raises(StatusListInvalid):
        verify_status_list(token, TRUST, clock=FixedClock(T0))
    assert (
        verify_status_list(_token(iat=T0 + 300, exp=None), TRUST, clock=FixedClock(T0)).iat
        == T0 + 300
    )


def test_expired_list_raises_list_expired_from_its_exp_on() -> None:
    token = _token(exp=T0 + 100)
    assert verify_status_list(token, TRUST, clock=FixedClock(T0 + 99)).exp == T0 + 100
    with pytest.raises(StatusListExpired) as info:
        verify_status_list(token, TRUST, clock=FixedClock(T0 + 100))
    assert info.value.code == "status.list_expired"


def test_zlib_bomb_in_a_signed_list_raises_decompression_bomb() -> None:
    body = {"bits": 1, "lst": zlib.compress(bytes(MAX_STATUS_LIST_BYTES + 1), 9)}
    token = _signed(_claims(status_list=body))
    with pytest.raises(DecompressionBomb) as info:
        verify_status_list(token, TRUST, clock=FixedClock(T0))
    assert info.value.code == "compression.too_large"
    small = _signed(_claims(status_list={"bits": 1, "lst": zlib.compress(bytes(2048))}))
    with pytest.raises(DecompressionBomb):
        verify_status_list(small, TRUST, clock=FixedClock(T0), max_bytes=1024)


def test_trailing_bytes_after_the_zlib_stream_in_a_signed_list_are_refused() -> None:
    body = {"bits": 1, "lst": DRAFT_1BIT_COMPRESSED + b"\x00"}
    with pytest.raises(CompressionError) as info:
        verify_status_list(_signed(_claims(status_list=body)), TRUST, clock=FixedClock(T0))
    assert info.value.code == "compression.invalid"


def test_cwt_tagged_or_untagged_token_is_refused() -> None:
    token = _token()
    cwt_tagged = bytes([0xD8, CoseTag.CWT]) + token
    with pytest.raises(CborTagNotAllowed):
        verify_status_list(cwt_tagged, TRUST, clock=FixedClock(T0))
    with pytest.raises(CoseError):
        verify_status_list(token[1:], TRUST, clock=FixedClock(T0))


# Section 5.2: the draft's Status List Token in CWT form (kid "12", list of 4.1).
DRAFT_STATUS_LIST_TOKEN = bytes.fromhex(
    "d2845820a2012610781a6170706c69636174696f6e2f7374617475736c6973742b63"
    "7774a1044231325850a502782168747470733a2f2f6578616d706c652e636f6d2f73"
    "74617475736c697374732f31061a648c5bea041a8898dfea19fffe19a8c019fffda2"
    "646269747301636c73744a78dadbb918000217015d584093fa4d01032b18c35e2fe1"
    "101b77fd6cc9440022caa4694450c4e4e9feab4e99d1fa6d9772ce2bf3a12e0323de"
    "d7c982c5e101a5e67f0cbc1e2b6f57ce99c279"
)


def test_draft_section_5_2_token_envelope_meets_the_profile() -> None:
    message = decode_sign1(DRAFT_STATUS_LIST_TOKEN, deterministic=True)
    assert message.protected[TYP] == STATUS_LIST_TYP
    assert message.alg == CoseAlg.ES256
    assert message.kid == b"12"


def test_draft_section_5_2_claims_verify_when_signed_by_a_trusted_key() -> None:
    # The draft's signing key is not published: sign its exact claims bytes anew.
    payload = decode_sign1(DRAFT_STATUS_LIST_TOKEN).payload
    key = generate_private_key(CoseAlg.ES256)
    trust = TrustStore(keys=[raw_key(CoseKey.from_public_key(key.public_key()), b"12")])
    token = sign1(payload, SoftwareSigner(key), kid=b"12", protected={TYP: STATUS_LIST_TYP})
    now = 1_686_920_170 + 60
    # The draft's token has no list(-65539): protocol 1 requires it.
    with pytest.raises(StatusListInvalid) as info:
        verify_status_list(token, trust, clock=FixedClock(now))
    assert info.value.code == "status.list_invalid"
    assert "list(-65539)" in info.value.message
    claims = cbor2.loads(payload)
    claims[CwtClaim.LIST] = 1
    payload = cbor2.dumps(claims)
    token = sign1(payload, SoftwareSigner(key), kid=b"12", protected={TYP: STATUS_LIST_TYP})
    verified = verify_status_list(
        token,
        trust,
        clock=FixedClock(now),
        expected_uri="https://example.com/statuslists/1",
        expected_kid=b"12",
        expected_list=1,
    )
    assert (verified.iat, verified.exp, verified.ttl) == (1_686_920_170, 2_291_720_170, 43_200)
    assert verified.bits == 1
    assert [verified.status(i) for i in range(16)] == DRAFT_1BIT_STATUSES


@settings(max_examples=300)
@given(token=st.binary(max_size=300))
def test_verify_of_arbitrary_bytes_raises_only_library_errors(token: bytes) -> None:
    with contextlib.suppress(VitaleCredError):
        verify_status_list(token, TRUST, clock=FixedClock(T0))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_verify_of_a_mutated_valid_token_raises_only_library_errors(data: st.DataObject) -> None:
    token = bytearray(VALID_TOKEN)
    for _ in range(data.draw(st.integers(1, 4))):
        token[data.draw(st.integers(0, len(token) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(token)))
    with contextlib.suppress(VitaleCredError):
        verify_status_list(bytes(token[:cut]), TRUST, clock=FixedClock(T0))


VALID_TOKEN = _token(_list(2, 64, {1: 1, 2: 2}))

_CBOR_SCALARS = (
    st.integers(-(2**64), 2**64 - 1)
    | st.booleans()
    | st.none()
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.sampled_from([URI, DRAFT_1BIT_COMPRESSED, 1, 2, 4, 8, T0])
)
_CBOR_VALUES = st.recursive(
    _CBOR_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["bits", "lst", "aggregation_uri", "idx", "uri"])
            | st.integers(-3, 70_000)
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_CLAIM_LABELS = (
    st.sampled_from([1, 2, 4, 6, 7, 65533, 65534, 65535, -65537, -65539]) | st.integers()
)


@settings(max_examples=200, deadline=None)
@given(
    overrides=st.dictionaries(_CLAIM_LABELS.filter(lambda k: -(2**64) <= k < 2**64), _CBOR_VALUES),
    dropped=st.sets(st.sampled_from([2, 4, 6, 65533, 65534, -65539])),
)
def test_verify_of_arbitrary_signed_claims_raises_only_library_errors(
    overrides: dict[int, Any], dropped: set[int]
) -> None:
    claims = _claims()
    claims.update(overrides)
    for label in dropped:
        claims.pop(label, None)
    with contextlib.suppress(VitaleCredError):
        verify_status_list(_signed(claims), TRUST, clock=FixedClock(T0))


# --- the checker: values, policy, cache (sections 8.3 and 13.7) --------------------


class CountingProvider:
    """A provider that counts fetches and serves whatever bytes it is given for a list.

    ``publish(token)`` files a token under what it claims (as the in-memory provider
    does); ``at=(kid, list)`` serves any bytes there, as a corrupt or mislabelled
    download would.
    """

    def __init__(self) -> None:
        self.tokens: dict[tuple[bytes, int], bytes] = {}
        self.fetches = 0
        self.asked: list[tuple[bytes, int]] = []

    def publish(self, token: bytes, *, at: tuple[bytes, int] | None = None) -> None:
        if at is None:
            locator = peek_status_list(token)
            at = (locator.kid, locator.list_id)
        self.tokens[at] = token

    def withdraw(self, kid: bytes, list_id: int) -> None:
        self.tokens.pop((kid, list_id), None)

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        self.fetches += 1
        self.asked.append((kid, list_id))
        return self.tokens.get((kid, list_id))


def _checker(
    token: bytes | None = None,
    *,
    policy: StatusPolicy = REJECT,
    at: tuple[bytes, int] | None = None,
    trust: TrustStore = TRUST,
) -> tuple[StatusChecker, CountingProvider]:
    provider = CountingProvider()
    if token is not None:
        provider.publish(token, at=at)
    return StatusChecker(provider, trust, policy=policy), provider


def test_providers_satisfy_the_protocol() -> None:
    assert isinstance(InMemoryStatusProvider(), StatusProvider)
    assert isinstance(FileStatusProvider([]), StatusProvider)
    assert isinstance(CountingProvider(), StatusProvider)


def test_valid_entry_checks_valid() -> None:
    checker, _ = _checker(_token(_list(2, 64, {1: 1})))
    result = checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert result.state is StatusState.VALID
    assert result.code is None


def test_revoked_entry_raises_revoked() -> None:
    checker, _ = _checker(_token(_list(2, 64, {7: StatusValue.INVALID})))
    with pytest.raises(Revoked) as info:
        checker.check(StatusReference(LIST, 7), T0, issuer_kid=KID)
    assert info.value.code == "status.revoked"


@pytest.mark.parametrize("policy", [REJECT, ACCEPT], ids=["reject", "accept"])
def test_revoked_and_suspended_raise_under_every_policy(policy: StatusPolicy) -> None:
    checker, _ = _checker(_token(_list(2, 64, {7: 1, 8: 2})), policy=policy)
    with pytest.raises(Revoked):
        checker.check(StatusReference(LIST, 7), T0, issuer_kid=KID)
    with pytest.raises(Suspended):
        checker.check(StatusReference(LIST, 8), T0, issuer_kid=KID)


def test_suspended_entry_raises_suspended() -> None:
    checker, _ = _checker(_token(_list(2, 64, {9: StatusValue.SUSPENDED})))
    with pytest.raises(Suspended) as info:
        checker.check(StatusReference(LIST, 9), T0, issuer_kid=KID)
    assert info.value.code == "status.suspended"


def test_reinstated_entry_is_valid_again_once_a_newer_list_is_fetched() -> None:
    lst = _list(2, 64, {9: StatusValue.SUSPENDED})
    checker, provider = _checker(_token(lst, ttl=60))
    ref = StatusReference(LIST, 9)
    with pytest.raises(Suspended):
        checker.check(ref, T0, issuer_kid=KID)
    lst.set(9, StatusValue.VALID)
    provider.publish(_token(lst, iat=T0 + 30, ttl=60))
    assert checker.check(ref, T0 + 60, issuer_kid=KID).state is StatusState.VALID


def test_application_specific_value_is_undetermined_never_valid() -> None:
    token = _token(_list(2, 64, {4: StatusValue.APPLICATION_SPECIFIC}))
    rejecting, _ = _checker(token, policy=REJECT)
    with pytest.raises(StatusUndetermined) as info:
        rejecting.check(StatusReference(LIST, 4), T0, issuer_kid=KID)
    assert info.value.code == "status.undetermined"
    accepting, _ = _checker(token, policy=ACCEPT)
    result = accepting.check(StatusReference(LIST, 4), T0, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert result.code == "status.undetermined"


@pytest.mark.parametrize("policy", [REJECT, ACCEPT], ids=["reject", "accept"])
def test_index_out_of_range_is_rejected_under_every_policy(policy: StatusPolicy) -> None:
    checker, _ = _checker(_token(_list(1, 64)), policy=policy)
    with pytest.raises(StatusIndexOutOfRange) as info:
        checker.check(StatusReference(LIST, 64), T0, issuer_kid=KID)
    assert info.value.code == "status.index_out_of_range"


def test_missing_list_raises_undetermined_under_reject() -> None:
    checker, _ = _checker(None, policy=REJECT)
    with pytest.raises(StatusUndetermined) as info:
        checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert info.value.code == "status.undetermined"
    assert "no list is published" in info.value.message


def test_missing_list_returns_undetermined_under_accept() -> None:
    checker, _ = _checker(None, policy=ACCEPT)
    result = checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert result == StatusResult(StatusState.UNDETERMINED, result.reason, "status.undetermined")
    assert "no list is published" in result.reason


def test_expired_list_raises_undetermined_under_reject() -> None:
    checker, _ = _checker(_token(iat=T0 - 200, exp=T0 - 100))
    with pytest.raises(StatusUndetermined) as info:
        checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert info.value.code == "status.undetermined"
    assert isinstance(info.value.__cause__, StatusListExpired)


def test_expired_list_returns_undetermined_under_accept() -> None:
    checker, _ = _checker(_token(iat=T0 - 200, exp=T0 - 100), policy=ACCEPT)
    result = checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert result.code == "status.list_expired"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param(b"\xd2\x84", "cbor.length_exceeds_input", id="truncated"),
        pytest.param(b"\x1c", "cbor.malformed", id="reserved-head"),
        pytest.param(_token(list_id=OTHER_LIST), "status.list_invalid", id="other-list-number"),
        pytest.param(
            _signed(_claims(list=_DROP)), "status.list_invalid", id="token-without-list-claim"
        ),
    ],
)
def test_unverifiable_list_is_undetermined_with_the_cause_code(token: bytes, code: str) -> None:
    checker, _ = _checker(token, policy=ACCEPT, at=(KID, LIST))
    result = checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert result.code == code
    rejecting, _ = _checker(token, policy=REJECT, at=(KID, LIST))
    with pytest.raises(StatusUndetermined):
        rejecting.check(StatusReference(LIST, 0), T0, issuer_kid=KID)


def test_cache_honours_ttl_counted_from_the_fetch() -> None:
    lst = _list(1, 64)
    checker, provider = _checker(_token(lst, ttl=60))
    ref = StatusReference(LIST, 3)
    assert checker.check(ref, T0, issuer_kid=KID).state is StatusState.VALID
    lst.set(3, StatusValue.INVALID)
    provider.publish(_token(lst, iat=T0 + 10, ttl=60))
    assert checker.check(ref, T0 + 59, issuer_kid=KID).state is StatusState.VALID  # cached copy
    assert provider.fetches == 1
    with pytest.raises(Revoked):
        checker.check(ref, T0 + 60, issuer_kid=KID)
    assert provider.fetches == 2


def test_cache_never_outlives_exp_even_with_a_longer_ttl() -> None:
    checker, provider = _checker(_token(exp=T0 + 30, ttl=3_600), policy=ACCEPT)
    ref = StatusReference(LIST, 0)
    assert checker.check(ref, T0 + 29, issuer_kid=KID).state is StatusState.VALID
    result = checker.check(ref, T0 + 30, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert "expired" in result.reason
    assert provider.fetches == 2


def test_list_without_ttl_is_cached_until_exp() -> None:
    checker, provider = _checker(_token(exp=T0 + 1_000, ttl=None))
    ref = StatusReference(LIST, 0)
    for t in (T0, T0 + 500, T0 + 999):
        assert checker.check(ref, t, issuer_kid=KID).state is StatusState.VALID
    assert provider.fetches == 1


def test_list_without_ttl_or_exp_is_fetched_on_every_check() -> None:
    checker, provider = _checker(_token(exp=None, ttl=None))
    ref = StatusReference(LIST, 0)
    checker.check(ref, T0, issuer_kid=KID)
    checker.check(ref, T0, issuer_kid=KID)
    assert provider.fetches == 2


def test_stale_list_is_undetermined_without_max_age() -> None:
    checker, provider = _checker(_token(ttl=60), policy=ACCEPT)
    ref = StatusReference(LIST, 0)
    assert checker.check(ref, T0, issuer_kid=KID).state is StatusState.VALID
    provider.withdraw(KID, LIST)
    result = checker.check(ref, T0 + 61, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert "stale" in result.reason


def test_stale_list_is_used_within_max_age_of_its_fetch_then_undetermined() -> None:
    policy = StatusPolicy(on_undetermined="reject", max_age=600)
    checker, provider = _checker(_token(lst=_list(1, 64, {5: 1}), ttl=60), policy=policy)
    assert checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID).state is StatusState.VALID
    provider.publish(b"unverifiable now", at=(KID, LIST))
    result = checker.check(StatusReference(LIST, 0), T0 + 600, issuer_kid=KID)
    assert result.state is StatusState.VALID
    assert "stale list" in result.reason
    with pytest.raises(Revoked):
        checker.check(StatusReference(LIST, 5), T0 + 600, issuer_kid=KID)
    with pytest.raises(StatusUndetermined) as info:
        checker.check(StatusReference(LIST, 0), T0 + 601, issuer_kid=KID)
    assert "stale" in info.value.message


def test_stale_list_is_never_used_past_its_exp() -> None:
    policy = StatusPolicy(on_undetermined="accept", max_age=10_000)
    checker, provider = _checker(_token(exp=T0 + 120, ttl=60), policy=policy)
    ref = StatusReference(LIST, 0)
    checker.check(ref, T0, issuer_kid=KID)
    provider.withdraw(KID, LIST)
    assert checker.check(ref, T0 + 119, issuer_kid=KID).state is StatusState.VALID
    assert checker.check(ref, T0 + 120, issuer_kid=KID).state is StatusState.UNDETERMINED


def test_replayed_older_list_is_refused_and_the_newer_cached_list_kept() -> None:
    old = _token(_list(1, 64), iat=T0, ttl=60)
    new = _token(_list(1, 64, {2: 1}), iat=T0 + 10, ttl=60)
    policy = StatusPolicy(on_undetermined="accept", max_age=300)
    checker, provider = _checker(new, policy=policy)
    with pytest.raises(Revoked):
        checker.check(StatusReference(LIST, 2), T0 + 20, issuer_kid=KID)
    provider.publish(old)
    with pytest.raises(Revoked):
        checker.check(
            StatusReference(LIST, 2), T0 + 100, issuer_kid=KID
        )  # stale newer copy, within max_age
    result = checker.check(StatusReference(LIST, 2), T0 + 400, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert result.code == "status.list_invalid"


def test_forget_drops_the_cached_list() -> None:
    checker, provider = _checker(_token(ttl=3_600))
    ref = StatusReference(LIST, 0)
    checker.check(ref, T0, issuer_kid=KID)
    checker.forget(KID, OTHER_LIST)
    checker.check(ref, T0, issuer_kid=KID)
    assert provider.fetches == 1  # another list's entry was dropped, not this one
    checker.forget(KID, LIST)
    checker.check(ref, T0, issuer_kid=KID)
    checker.forget()
    checker.check(ref, T0, issuer_kid=KID)
    assert provider.fetches == 3


def test_checker_fetches_by_the_credential_issuer_kid_and_the_list_number() -> None:
    checker, provider = _checker(_token(list_id=7, lst=_list(1, 64, {3: 1})))
    assert checker.check(StatusReference(7, 0), T0, issuer_kid=KID).state is StatusState.VALID
    with pytest.raises(Revoked) as info:
        checker.check(StatusReference(7, 3), T0, issuer_kid=KID)
    assert "list 7" in info.value.message
    assert provider.asked == [(KID, 7)]


def test_lists_of_one_issuer_are_cached_apart_by_number() -> None:
    checker, provider = _checker(_token(list_id=LIST, lst=_list(1, 64, {5: 1})))
    provider.publish(_token(list_id=OTHER_LIST, lst=_list(1, 64, {6: 1})))
    with pytest.raises(Revoked):
        checker.check(StatusReference(LIST, 5), T0, issuer_kid=KID)
    assert checker.check(StatusReference(LIST, 6), T0, issuer_kid=KID).state is StatusState.VALID
    with pytest.raises(Revoked):
        checker.check(StatusReference(OTHER_LIST, 6), T0, issuer_kid=KID)
    other_5 = checker.check(StatusReference(OTHER_LIST, 5), T0, issuer_kid=KID)
    assert other_5.state is StatusState.VALID
    assert provider.fetches == 2


def test_forget_of_a_key_drops_every_list_of_that_key_and_only_them() -> None:
    checker, provider = _checker(_token(list_id=LIST, lst=_list(1, 64)))
    provider.publish(_token(list_id=OTHER_LIST, lst=_list(1, 64)))
    for list_id in (LIST, OTHER_LIST):
        checker.check(StatusReference(list_id, 0), T0, issuer_kid=KID)
    assert provider.fetches == 2
    checker.forget(OTHER_KID)
    checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID)
    assert provider.fetches == 2
    checker.forget(KID)
    for list_id in (LIST, OTHER_LIST):
        checker.check(StatusReference(list_id, 0), T0, issuer_kid=KID)
    assert provider.fetches == 4


@pytest.mark.parametrize("policy", [REJECT, ACCEPT], ids=["reject", "accept"])
def test_list_of_another_issuer_key_never_speaks_for_a_credential(policy: StatusPolicy) -> None:
    # Issuer B publishes a list with the number this credential of issuer A carries,
    # marking its entry VALID: A's credential stays undetermined, never VALID.
    other = _token(_list(1, 64), material=OTHER_MATERIAL)
    checker, provider = _checker(other, policy=policy, trust=BOTH_TRUSTED)
    assert provider.tokens.keys() == {(OTHER_KID, LIST)}
    ref = StatusReference(LIST, 0)
    if policy is REJECT:
        with pytest.raises(StatusUndetermined) as info:
            checker.check(ref, T0, issuer_kid=KID)
        assert info.value.code == "status.undetermined"
    else:
        result = checker.check(ref, T0, issuer_kid=KID)
        assert result.state is StatusState.UNDETERMINED
        assert result.code == "status.undetermined"
    assert provider.asked == [(KID, LIST)]
    # The same list does speak for B's own credentials.
    assert checker.check(ref, T0, issuer_kid=OTHER_KID).state is StatusState.VALID


@pytest.mark.parametrize("policy", [REJECT, ACCEPT], ids=["reject", "accept"])
def test_list_signed_by_another_issuer_served_for_this_issuer_is_undetermined(
    policy: StatusPolicy,
) -> None:
    # A provider (or an attacker in its place) hands over issuer B's list, revoking
    # nothing, when asked for issuer A's list 1: it is refused as not A's.
    other = _token(_list(1, 64), material=OTHER_MATERIAL)
    checker, _ = _checker(other, policy=policy, at=(KID, LIST), trust=BOTH_TRUSTED)
    ref = StatusReference(LIST, 0)
    if policy is REJECT:
        with pytest.raises(StatusUndetermined) as info:
            checker.check(ref, T0, issuer_kid=KID)
        assert isinstance(info.value.__cause__, StatusListInvalid)
    else:
        result = checker.check(ref, T0, issuer_kid=KID)
        assert result.state is StatusState.UNDETERMINED
        assert result.code == "status.list_invalid"


def test_in_memory_provider_files_tokens_under_their_claimed_kid_and_list() -> None:
    first, second = _token(list_id=LIST), _token(list_id=OTHER_LIST)
    other = _token(list_id=LIST, material=OTHER_MATERIAL)
    provider = InMemoryStatusProvider([first, other])
    assert provider.fetch(KID, LIST) == first
    assert provider.fetch(OTHER_KID, LIST) == other
    assert provider.fetch(KID, OTHER_LIST) is None
    assert provider.publish(second) == StatusListLocator(KID, OTHER_LIST, URI)
    assert provider.fetch(KID, OTHER_LIST) == second
    newer = _token(list_id=LIST, iat=T0 + 1)
    provider.publish(newer)
    assert provider.fetch(KID, LIST) == newer
    provider.withdraw(KID, LIST)
    assert provider.fetch(KID, LIST) is None
    assert provider.fetch(OTHER_KID, LIST) == other


def test_in_memory_provider_refuses_what_is_not_a_status_list_token() -> None:
    provider = InMemoryStatusProvider()
    with pytest.raises(InvalidArgument):
        provider.publish("token")  # type: ignore[arg-type]
    with pytest.raises(StatusListInvalid):
        provider.publish(_signed(_claims(list=_DROP)))
    with pytest.raises(VitaleCredError):
        provider.publish(b"\x1c")


def test_peek_reads_kid_list_and_uri_without_verifying() -> None:
    token = bytearray(_token(list_id=9, uri=OTHER_URI))
    token[-1] ^= 0x01  # the signature no longer verifies: peeking does not care
    assert peek_status_list(bytes(token)) == StatusListLocator(KID, 9, OTHER_URI)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_signed(_claims(list=_DROP)), id="no-list"),
        pytest.param(_signed(_claims(list=2**32)), id="list-2^32"),
        pytest.param(_signed(_claims(list=True)), id="bool-list"),
        pytest.param(_signed(_claims(sub=_DROP)), id="no-sub"),
        pytest.param(_signed([URI, LIST]), id="claims-not-a-map"),
        pytest.param(_signed(_claims(), kid=b""), id="empty-kid"),
    ],
)
def test_peek_refuses_a_token_that_does_not_say_which_list_it_is(token: bytes) -> None:
    with pytest.raises(StatusListInvalid) as info:
        peek_status_list(token)
    assert info.value.code == "status.list_invalid"


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param((LIST, 0), id="tuple"),
        pytest.param([LIST, 0], id="wire-array"),
        pytest.param(None, id="none"),
    ],
)
def test_checker_refuses_anything_but_a_status_reference(ref: Any) -> None:
    checker, provider = _checker(_token())
    with pytest.raises(InvalidArgument):
        checker.check(ref, T0, issuer_kid=KID)
    assert provider.fetches == 0


@pytest.mark.parametrize("issuer_kid", [b"", None, "kid", bytearray(b"kid")])
def test_checker_requires_the_issuer_kid_as_bytes(issuer_kid: Any) -> None:
    checker, provider = _checker(_token())
    with pytest.raises(InvalidArgument):
        checker.check(StatusReference(LIST, 0), T0, issuer_kid=issuer_kid)
    assert provider.fetches == 0


def test_checker_plugs_into_the_verifier_policy() -> None:
    checker, _ = _checker(_token())
    policy = Policy(trust=TRUST, clock=FixedClock(T0), status=checker)
    assert policy.status is checker


def test_file_provider_serves_files_and_a_missing_file_is_undetermined(tmp_path: Path) -> None:
    (tmp_path / "1.cwt").write_bytes(_token(_list(1, 64, {1: 1})))
    provider = FileStatusProvider([tmp_path / "1.cwt", tmp_path / "absent.cwt"])
    checker = StatusChecker(provider, TRUST, policy=ACCEPT)
    assert checker.check(StatusReference(LIST, 0), T0, issuer_kid=KID).state is StatusState.VALID
    with pytest.raises(Revoked):
        checker.check(StatusReference(LIST, 1), T0, issuer_kid=KID)
    result = checker.check(StatusReference(OTHER_LIST, 0), T0, issuer_kid=KID)
    assert result.state is StatusState.UNDETERMINED
    assert provider.fetch(KID, OTHER_LIST) is None


def test_file_provider_indexes_files_by_the_kid_and_list_their_tokens_claim(
    tmp_path: Path,
) -> None:
    # File names say nothing: "2.cwt" holds list 1 and "1.cwt" list 2.
    tokens = {
        "2.cwt": _token(list_id=LIST, uri=OTHER_URI),
        "1.cwt": _token(list_id=OTHER_LIST),
        "other-issuer.cwt": _token(list_id=LIST, material=OTHER_MATERIAL),
        "garbage.cwt": b"not a token",
        "no-list.cwt": _signed(_claims(list=_DROP)),
    }
    for name, token in tokens.items():
        (tmp_path / name).write_bytes(token)
    provider = FileStatusProvider(sorted(tmp_path.iterdir()))
    assert provider.fetch(KID, LIST) == tokens["2.cwt"]
    assert provider.fetch(KID, OTHER_LIST) == tokens["1.cwt"]
    assert provider.fetch(OTHER_KID, LIST) == tokens["other-issuer.cwt"]
    assert provider.fetch(OTHER_KID, OTHER_LIST) is None
    assert provider.fetch(KID, 0) is None
    assert "3 lists" in repr(provider)


def test_file_provider_reads_the_file_again_at_every_fetch(tmp_path: Path) -> None:
    path = tmp_path / "list.cwt"
    path.write_bytes(_token(_list(1, 64), ttl=60))
    provider = FileStatusProvider([path])
    checker = StatusChecker(provider, TRUST, policy=REJECT)
    ref = StatusReference(LIST, 4)
    assert checker.check(ref, T0, issuer_kid=KID).state is StatusState.VALID
    path.write_bytes(_token(_list(1, 64, {4: 1}), iat=T0 + 10, ttl=60))
    with pytest.raises(Revoked):
        checker.check(ref, T0 + 60, issuer_kid=KID)
    path.unlink()
    assert provider.fetch(KID, LIST) is None


def test_file_provider_reads_at_most_one_byte_past_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "list.cwt"
    path.write_bytes(_token())
    provider = FileStatusProvider([path], max_bytes=1_000)
    path.write_bytes(bytes(5_000))  # replaced by an oversized file after indexing
    assert len(provider.fetch(KID, LIST) or b"") == 1_001


@pytest.mark.parametrize(
    "kwargs",
    [{"on_undetermined": "ignore"}, {"on_undetermined": None}, {"max_age": -1}, {"max_age": 1.5}],
)
def test_policy_refuses_values_outside_its_documented_range(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        StatusPolicy(**kwargs)


def test_default_policy_rejects_undetermined_and_allows_no_stale_use() -> None:
    assert StatusPolicy() == StatusPolicy(on_undetermined="reject", max_age=0)


def test_checker_requires_a_status_policy() -> None:
    with pytest.raises(InvalidArgument):
        StatusChecker(InMemoryStatusProvider(), TRUST, policy="accept")  # type: ignore[arg-type]


# --- issuing: caller errors -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"uri": "http://status.example/1"},
        {"uri": "https://x/" + "a" * 247},
        {"list_id": -1},
        {"list_id": 2**32},
        {"list_id": True},
        {"list_id": "1"},
        {"list_id": None},
        {"iat": -1},
        {"exp": T0},
        {"ttl": 0},
        {"kid": b""},
        {"status_list": b"\x00"},
        {"aggregation_uri": "nope"},
    ],
)
def test_issue_refuses_bad_arguments_as_invalid_argument(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "kid": KID,
        "uri": URI,
        "list_id": LIST,
        "status_list": _list(),
        "iat": T0,
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidArgument):
        issue_status_list(SIGNER, **arguments)


def test_uri_of_exactly_the_maximum_length_is_issued_and_verified() -> None:
    uri = "https://x/" + "a" * 246
    assert len(uri) == status_module.MAX_URI_LENGTH
    assert (
        verify_status_list(_token(uri=uri), TRUST, clock=FixedClock(T0), expected_uri=uri).uri
        == uri
    )


def test_aggregation_uri_round_trips() -> None:
    token = issue_status_list(
        SIGNER,
        kid=KID,
        uri=URI,
        list_id=LIST,
        status_list=_list(),
        iat=T0,
        aggregation_uri="https://status.ameli.example/lists",
    )
    verified = verify_status_list(token, TRUST, clock=FixedClock(T0))
    assert verified.aggregation_uri == "https://status.ameli.example/lists"


def test_lookup_of_a_100k_entry_list_at_one_percent_revoked_matches_the_model() -> None:
    rng = random.Random(20_250_101)
    size = 100_000
    revoked = set(rng.sample(range(size), size // 100))
    lst = StatusList(1, size)
    for idx in revoked:
        lst.set(idx, StatusValue.INVALID)
    verified = verify_status_list(_token(lst), TRUST, clock=FixedClock(T0))
    assert all(verified.status(i) == (i in revoked) for i in range(size))
    assert len(lst.compressed()) < 2_000  # the draft's Appendix B says 1.4 KB
