"""Status List Token rules of spec/status.md section 3: claims before time, one size
cap, the claims depth, indices below 2^32."""

from __future__ import annotations

import datetime as dt
from typing import Any

import cbor2
import pytest

from vitale_cred.clock import FixedClock
from vitale_cred.errors import InvalidArgument, VitaleCredError
from vitale_cred.hazmat.cose import sign1
from vitale_cred.pki import IssuerMaterial
from vitale_cred.registry import CoseAlg, CwtClaim
from vitale_cred.status import (
    MAX_STATUS_INDEX,
    MAX_STATUS_LIST_BYTES,
    MAX_STATUS_TOKEN_BYTES,
    MAX_TOKEN_CLAIMS_DEPTH,
    STATUS_LIST_TYP,
    StatusList,
    peek_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustStore

NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
MATERIAL = IssuerMaterial.generate(CoseAlg.ES256, NOT_BEFORE)
SIGNER = MATERIAL.signer()
KID = MATERIAL.kid
TRUST = TrustStore(roots=[MATERIAL.root_certificate], certificates=[MATERIAL.issuer_certificate])
T0 = int(NOT_BEFORE.timestamp()) + 86_400
EXP = T0 + 86_400
URI = "https://status.ameli.example/lists/1"
_TYP = 16


def _claims(**changes: Any) -> dict[int, Any]:
    claims: dict[int, Any] = {
        CwtClaim.SUB: URI,
        CwtClaim.LIST: 1,
        CwtClaim.IAT: T0,
        CwtClaim.EXP: EXP,
        CwtClaim.TTL: 3_600,
        CwtClaim.STATUS_LIST: {"bits": 1, "lst": StatusList(1, 64).compressed()},
    }
    for name, value in changes.items():
        claims[CwtClaim[name.upper()]] = value
    return {int(k): v for k, v in claims.items()}


def _signed(claims: Any) -> bytes:
    return sign1(cbor2.dumps(claims), SIGNER, kid=KID, protected={_TYP: STATUS_LIST_TYP})


def _code(token: bytes, now: int) -> str:
    with pytest.raises(VitaleCredError) as info:
        verify_status_list(token, TRUST, clock=FixedClock(now), expected_kid=KID, expected_list=1)
    return info.value.code


def test_the_valid_token_verifies_before_exp_and_is_expired_at_exp() -> None:
    token = _signed(_claims())
    assert (
        verify_status_list(
            token, TRUST, clock=FixedClock(EXP - 1), expected_kid=KID, expected_list=1
        ).size
        == 64
    )
    assert _code(token, EXP) == "status.list_expired"


@pytest.mark.parametrize(
    "changes",
    [
        {"status_list": {"bits": 3, "lst": StatusList(1, 64).compressed()}},
        {"status_list": {"bits": True, "lst": StatusList(1, 64).compressed()}},
        {"status_list": {"bits": 1, "lst": "eJw"}},
        {"status_list": {"bits": 1}},
        {"status_list": [1]},
        {"status_list": {"bits": 1, "lst": b"", "aggregation_uri": "http://x.example"}},
        {"status_list": {"bits": 1, "lst": b"", "more": 1}},
        {"ttl": 0},
        {"sub": "http://status.ameli.example/lists/1"},
        {"iss": 7},
    ],
)
def test_an_expired_and_malformed_token_reports_the_claims_error(changes: dict[str, Any]) -> None:
    assert _code(_signed(_claims(**changes)), EXP + 10) == "status.list_invalid"


def test_an_expired_token_with_an_undecodable_list_reports_the_expiry() -> None:
    # lst is inflated only after the time checks: an expired list costs no inflation.
    token = _signed(_claims(status_list={"bits": 1, "lst": b"\x01\x02\x03"}))
    assert _code(token, EXP) == "status.list_expired"
    assert _code(token, T0) == "compression.invalid"


def test_exp_not_after_iat_is_refused() -> None:
    assert _code(_signed(_claims(exp=T0)), T0) == "status.list_invalid"
    assert _code(_signed(_claims(exp=T0 - 1)), T0) == "status.list_invalid"
    assert (
        verify_status_list(_signed(_claims(exp=T0 + 1)), TRUST, clock=FixedClock(T0)).exp == T0 + 1
    )


def test_ttl_of_one_second_is_the_smallest_accepted() -> None:
    assert verify_status_list(_signed(_claims(ttl=1)), TRUST, clock=FixedClock(T0)).ttl == 1
    assert _code(_signed(_claims(ttl=0)), T0) == "status.list_invalid"
    assert _code(_signed(_claims(ttl=-1)), T0) == "status.list_invalid"


def test_claims_nested_deeper_than_the_depth_cap_are_refused() -> None:
    assert MAX_TOKEN_CLAIMS_DEPTH == 2
    deep = _claims(status_list={"bits": 1, "lst": b"", "aggregation_uri": ["https://x"]})
    assert _code(_signed(deep), T0) == "cbor.too_deep"
    assert _code(_signed(_claims(iss={"a": 1})), T0) == "status.list_invalid"


def test_one_token_size_cap_for_reading_the_uri_and_verifying() -> None:
    assert MAX_STATUS_TOKEN_BYTES == MAX_STATUS_LIST_BYTES + 64 * 1024
    token = _signed(_claims())
    assert peek_status_list(token).uri == URI
    filler = MAX_STATUS_TOKEN_BYTES - len(token) + 1
    oversized = token + bytes(filler)
    with pytest.raises(VitaleCredError) as info:
        peek_status_list(oversized)
    assert info.value.code == "cbor.too_large"


def test_peek_reads_a_token_between_the_list_and_the_token_caps() -> None:
    # A list at the 16 MiB cap stored without compression makes a token above 16 MiB;
    # reading its URI must accept what verification accepts.
    big = cbor2.dumps(_claims(iss="x" * (MAX_STATUS_LIST_BYTES + 16)))
    token = sign1(big, SIGNER, kid=KID, protected={_TYP: STATUS_LIST_TYP})
    assert MAX_STATUS_LIST_BYTES < len(token) <= MAX_STATUS_TOKEN_BYTES
    assert peek_status_list(token).uri == URI


def test_indices_and_sizes_stay_below_two_to_the_32() -> None:
    assert MAX_STATUS_INDEX == 2**32 - 1
    with pytest.raises(InvalidArgument):
        StatusList(1, 2**32 + 1)
    lst = StatusList(1, 8)
    for idx in (2**32 - 1, 2**32, 2**64):
        with pytest.raises(VitaleCredError) as info:
            lst.get(idx)
        assert info.value.code == "status.index_out_of_range"
