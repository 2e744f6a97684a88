"""Status vectors: Status List Tokens (draft-ietf-oauth-status-list, CWT form) and the
revocation step of verification (spec/verification.md section 2.3)."""

from __future__ import annotations

from typing import Any

from tools.vectors._build import (
    CaseList,
    RawIssuer,
    claims_wire,
    credential_fields,
    credential_intermediate,
    device_keys,
    diag,
    h,
    invalid,
    issue,
    pki_keys,
    pki_trust,
    policy_json,
    sign1,
    status_policy_json,
    valid,
)
from tools.vectors._material import CREDENTIAL_EXP, SHOWN_AT, Material, Pki, deflate_zlib
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.registry import CoseHeader, CwtClaim
from vitale_cred.status import STATUS_LIST_TYP, StatusList, StatusReference, StatusValue

AREA = "status"
DESCRIPTION = (
    "Revocation with the Token Status List: verification of a Status List Token, then "
    "the status step of credential verification (verification.md section 2.3)."
)

_STATUS = "verification.md#2.3"
URI = "https://status.example.fr/lists/1"
LIST_ID = 1
_LIST_IAT = SHOWN_AT - 9 * 3_600
_LIST_EXP = SHOWN_AT + 86_400
_LIST_TTL = 3_600


def _values() -> list[int]:
    values = [0] * 16
    values[1] = StatusValue.INVALID
    values[2] = StatusValue.SUSPENDED
    values[3] = StatusValue.APPLICATION_SPECIFIC
    return values


def _list_bytes(values: list[int], bits: int) -> bytes:
    status_list = StatusList(bits, len(values))
    for idx, value in enumerate(values):
        status_list.set(idx, value)
    return status_list.to_bytes()


def build(mat: Material) -> CaseList:
    """The status cases."""
    cases = CaseList(AREA)
    pki = mat.pki["es256"]
    values = _values()
    lst = deflate_zlib(_list_bytes(values, 2))

    def claims(**changes: Any) -> dict[Any, Any]:
        out: dict[Any, Any] = {
            CwtClaim.SUB: URI,
            CwtClaim.LIST: LIST_ID,
            CwtClaim.IAT: _LIST_IAT,
            CwtClaim.EXP: _LIST_EXP,
            CwtClaim.TTL: _LIST_TTL,
            CwtClaim.STATUS_LIST: {"bits": 2, "lst": lst},
        }
        for key, value in changes.items():
            label = int(key[1:]) if key.startswith("_") else CwtClaim[key.upper()]
            if value is _DROP:
                out.pop(label, None)
            else:
                out[label] = value
        return out

    def token(
        content: dict[Any, Any] | bytes,
        *,
        used: Pki = pki,
        typ: Any = STATUS_LIST_TYP,
        signer: RawIssuer | None = None,
    ) -> bytes:
        raw = content if isinstance(content, bytes) else _cbor.encode(content)
        alg = int((signer.signer if signer else used.signer()).alg)
        protected: dict[int, Any] = {
            CoseHeader.ALG: alg,
            CoseHeader.KID: signer.kid if signer else used.kid,
        }
        if typ is not None:
            protected[CoseHeader.TYP] = typ
        return sign1(signer.signer if signer else used.signer(), raw, protected=protected).data

    good = token(claims())

    def add_list(
        case_id: str,
        description: str,
        data: bytes,
        code: str | None,
        *,
        at: int = SHOWN_AT,
        fields: dict[str, Any] | None = None,
        trust: dict[str, Any] | None = None,
        expected_list: int | None = LIST_ID,
        expected_kid: bytes | None = None,
        keys: dict[str, Any] | None = None,
    ) -> None:
        if code is None:
            expected = valid(
                fields
                or {
                    "uri": URI,
                    "list": LIST_ID,
                    "iat": _LIST_IAT,
                    "exp": _LIST_EXP,
                    "ttl": _LIST_TTL,
                    "bits": 2,
                    "size": 16,
                    "values": values,
                }
            )
        else:
            expected = invalid(code)
        cases.add(
            case_id,
            _STATUS,
            description,
            "verify_status_list",
            expected,
            input={
                "token": h(data),
                "expected_kid": h(pki.kid if expected_kid is None else expected_kid),
                "expected_list": expected_list,
            },
            at=at,
            trust=trust or pki_trust(pki),
            keys=keys or pki_keys(pki),
            intermediate={"payload_diagnostic": _payload_diag(data)},
            cddl=[("input.token", "status-list-token")] if code is None else [],
        )

    # --- Status List Tokens ------------------------------------------------------------
    add_list(
        "list-valid",
        "2-bit list of 16 entries: 0 VALID, 1 INVALID, 2 SUSPENDED, 3 the "
        "application-specific value 3",
        good,
        None,
    )
    one_bit = [0, 1, 0, 0, 1, 0, 0, 1]
    add_list(
        "list-1-bit",
        "1-bit list of 8 entries",
        token(claims(status_list={"bits": 1, "lst": deflate_zlib(_list_bytes(one_bit, 1))})),
        None,
        fields={
            "uri": URI,
            "iat": _LIST_IAT,
            "exp": _LIST_EXP,
            "ttl": _LIST_TTL,
            "bits": 1,
            "size": 8,
            "values": one_bit,
        },
    )
    bare = {
        "uri": URI,
        "iat": _LIST_IAT,
        "exp": None,
        "ttl": None,
        "bits": 2,
        "size": 16,
        "values": values,
    }
    add_list(
        "list-no-exp-no-ttl",
        "neither exp(4) nor ttl(65534)",
        token(claims(exp=_DROP, ttl=_DROP)),
        None,
        fields=bare,
    )
    draft_order = (
        b"\xa6"
        + _cbor.encode(CwtClaim.SUB)
        + _cbor.encode(URI)
        + _cbor.encode(CwtClaim.LIST)
        + _cbor.encode(LIST_ID)
        + _cbor.encode(CwtClaim.IAT)
        + _cbor.encode(_LIST_IAT)
        + _cbor.encode(CwtClaim.EXP)
        + _cbor.encode(_LIST_EXP)
        + _cbor.encode(CwtClaim.TTL)
        + _cbor.encode(_LIST_TTL)
        + _cbor.encode(CwtClaim.STATUS_LIST)
        + b"\xa2"
        + _cbor.encode("bits")
        + _cbor.encode(2)
        + _cbor.encode("lst")
        + _cbor.encode(lst)
    )
    add_list(
        "list-claims-draft-order",
        "claims in the draft's example order (2, 6, 4, 65534, "
        "65533; bits before lst): the claims map need not be deterministic",
        token(draft_order),
        None,
    )
    add_list(
        "list-aggregation-uri",
        "with an aggregation_uri",
        token(
            claims(
                status_list={
                    "bits": 2,
                    "lst": lst,
                    "aggregation_uri": "https://status.example.fr/all",
                }
            )
        ),
        None,
    )
    raw = RawIssuer.of(mat, "raw-es256")
    add_list(
        "list-signer-credentials-only",
        "signed by a key trusted for credentials, not for status lists",
        token(claims(), signer=raw),
        "trust.usage_not_allowed",
        trust=raw.trust(usages=["credential"]),
        keys=raw.keys(),
    )
    for case_id, description, data, code, at in (
        ("list-typ-missing", "no typ(16)", token(claims(), typ=None), "status.list_invalid",
         SHOWN_AT),
        ("list-typ-coap", "typ(16) as the CoAP content format number", token(claims(), typ=61),
         "status.list_invalid", SHOWN_AT),
        ("list-bad-signature", "one bit of the signature flipped", _flip_last(good),
         "cose.bad_signature", SHOWN_AT),
        ("list-sub-missing", "no sub(2)", token(claims(sub=_DROP)), "status.list_invalid",
         SHOWN_AT),
        ("list-sub-http", "sub(2) an http:// URI", token(claims(sub="http://status.example.fr/1")),
         "status.list_invalid", SHOWN_AT),
        ("list-iat-missing", "no iat(6)", token(claims(iat=_DROP)), "status.list_invalid",
         SHOWN_AT),
        ("list-exp-before-iat", "exp(4) equal to iat(6)", token(claims(exp=_LIST_IAT)),
         "status.list_invalid", SHOWN_AT),
        ("list-ttl-0", "ttl(65534) 0", token(claims(ttl=0)), "status.list_invalid", SHOWN_AT),
        ("list-iat-future", "iat(6) 301 s after the verification instant",
         token(claims(iat=SHOWN_AT + 301, exp=SHOWN_AT + 86_400)), "status.list_invalid",
         SHOWN_AT),
        ("list-expired", "verified at exactly exp(4)", good, "status.list_expired", _LIST_EXP),
        ("list-unknown-claim", "an aud(3) claim", token(claims(aud="x")),
         "status.list_invalid", SHOWN_AT),
        ("list-bits-3", "bits 3", token(claims(status_list={"bits": 3, "lst": lst})),
         "status.list_invalid", SHOWN_AT),
        ("list-lst-text", "lst as text", token(claims(status_list={"bits": 2, "lst": "eJw"})),
         "status.list_invalid", SHOWN_AT),
        ("list-lst-missing", "status_list without lst",
         token(claims(status_list={"bits": 2})), "status.list_invalid", SHOWN_AT),
        ("list-lst-garbage", "lst is not a zlib stream",
         token(claims(status_list={"bits": 2, "lst": b"\x01\x02\x03"})),
         "compression.invalid", SHOWN_AT),
        ("list-lst-truncated", "lst without its Adler-32 trailer",
         token(claims(status_list={"bits": 2, "lst": lst[:-4]})), "compression.invalid",
         SHOWN_AT),
        ("list-expired-and-bits-3", "verified at exp(4) with bits 3: the claims are checked "
         "before the time", token(claims(status_list={"bits": 3, "lst": lst})),
         "status.list_invalid", _LIST_EXP),
        ("list-expired-and-aggregation-uri-http", "verified after exp(4), with an http:// "
         "aggregation_uri", token(claims(status_list={
             "bits": 2, "lst": lst, "aggregation_uri": "http://status.example.fr/all"})),
         "status.list_invalid", _LIST_EXP + 10),
        ("list-expired-and-lst-garbage", "verified at exp(4), lst not a zlib stream: the list "
         "is inflated only after the time checks",
         token(claims(status_list={"bits": 2, "lst": b"\x01\x02\x03"})),
         "status.list_expired", _LIST_EXP),
        ("list-aggregation-uri-fragment", "aggregation_uri with a fragment",
         token(claims(status_list={"bits": 2, "lst": lst,
                                   "aggregation_uri": "https://status.example.fr/all#x"})),
         "status.list_invalid", SHOWN_AT),
        ("list-ttl-bool", "ttl(65534) true", token(claims(ttl=True)), "status.list_invalid",
         SHOWN_AT),
        ("list-lst-empty", "lst a valid zlib stream of zero bytes: a list has at least one "
         "entry", token(claims(status_list={"bits": 2, "lst": deflate_zlib(b"")})),
         "status.list_invalid", SHOWN_AT),
        ("list-claims-too-deep", "an aggregation_uri inside an array: claims nest at most 2 "
         "levels", token(claims(status_list={"bits": 2, "lst": lst,
                                             "aggregation_uri": ["https://x.example.fr"]})),
         "cbor.too_deep", SHOWN_AT),
        ("list-duplicate-claim", "iat(6) twice (duplicates are refused even where the order "
         "is free)", token(b"\xa6" + _cbor.encode(6) + _cbor.encode(_LIST_IAT)
                           + _cbor.encode(claims())[1:]), "cbor.duplicate_key", SHOWN_AT),
    ):  # fmt: skip
        add_list(case_id, description, data, code, at=at)
    add_list(
        "list-other-number",
        "list(-65539) is another list than the one referenced",
        good,
        "status.list_invalid",
        expected_list=2,
    )
    add_list(
        "list-other-issuer",
        "signed by a trusted key other than the credential's issuer key",
        good,
        "status.list_invalid",
        expected_kid=bytes(8),
    )
    add_list(
        "list-number-missing", "no list(-65539)", token(claims(list=_DROP)), "status.list_invalid"
    )
    add_list(
        "list-number-2-32", "list(-65539) = 2^32", token(claims(list=2**32)), "status.list_invalid"
    )
    add_list(
        "list-number-negative", "list(-65539) = -1", token(claims(list=-1)), "status.list_invalid"
    )
    add_list(
        "list-number-text", 'list(-65539) = "1"', token(claims(list="1")), "status.list_invalid"
    )
    add_list(
        "list-number-true", "list(-65539) = true", token(claims(list=True)), "status.list_invalid"
    )

    # Null is never an absent claim (a null exp(4) would make a list never expire) and
    # booleans are not integers (encoding.md section 2.3).
    for case_id, description, data, code in (
        ("list-exp-null", "exp(4) null: the list would never expire",
         token(claims(exp=None)), "cbor.type_not_allowed"),
        ("list-ttl-null", "ttl(65534) null", token(claims(ttl=None)), "cbor.type_not_allowed"),
        ("list-iss-null", "iss(1) null", token(claims(iss=None)), "cbor.type_not_allowed"),
        ("list-aggregation-uri-null", "aggregation_uri null",
         token(claims(status_list={"bits": 2, "lst": lst, "aggregation_uri": None})),
         "cbor.type_not_allowed"),
        ("list-iat-true", "iat(6) true", token(claims(iat=True)), "status.list_invalid"),
        ("list-exp-true", "exp(4) true", token(claims(exp=True)), "status.list_invalid"),
        ("list-ttl-true", "ttl(65534) true, which must not be read as 1",
         token(claims(ttl=True)), "status.list_invalid"),
        ("list-bits-true", "bits true, which must not be read as 1",
         token(claims(status_list={"bits": True, "lst": lst})), "status.list_invalid"),
    ):  # fmt: skip
        add_list(case_id, description, data, code)

    # --- the status step of verification -------------------------------------------------
    def add_cred(
        case_id: str,
        description: str,
        idx: int | None,
        code: str | None,
        *,
        lists: list[bytes] | None = None,
        on_undetermined: str = "reject",
        status: str | None = None,
        at: int = SHOWN_AT,
        exp: int = CREDENTIAL_EXP,
    ) -> None:
        reference = None if idx is None else StatusReference(LIST_ID, idx)
        iat = exp - 365 * 86_400
        signed = issue(pki, claims_wire(mat, 0, status=reference, iat=iat, exp=exp))
        if code is None:
            expected = valid(
                credential_fields(
                    mat.card.view(0), issuer_kid=pki.kid, status=status, iat=iat, exp=exp
                )
            )
        else:
            expected = invalid(code)
        intermediate = credential_intermediate(signed)
        intermediate["credential"] = None
        cases.add(
            case_id,
            _STATUS,
            description,
            "verify_credential",
            expected,
            input={"credential": h(signed.data)},
            at=at,
            trust=pki_trust(pki),
            policy=policy_json(
                status=status_policy_json(
                    [good] if lists is None else lists, on_undetermined=on_undetermined
                )
            ),
            keys={**pki_keys(pki), **device_keys(mat.device)},
            intermediate=intermediate,
        )

    add_cred("check-valid", "entry 0 is VALID", 0, None, status="valid")
    add_cred("check-revoked", "entry 1 is INVALID", 1, "status.revoked")
    add_cred("check-suspended", "entry 2 is SUSPENDED", 2, "status.suspended")
    add_cred(
        "check-value-3", "entry 3 holds 3, which has no meaning here", 3, "status.undetermined"
    )
    add_cred(
        "check-value-3-accepted",
        'entry 3 under the "accept" policy: verified, undetermined',
        3,
        None,
        on_undetermined="accept",
        status="undetermined",
    )
    add_cred(
        "check-index-out-of-range",
        "index 16 in a list of 16 entries",
        16,
        "status.index_out_of_range",
    )
    add_cred(
        "check-index-out-of-range-accept",
        'index 16 under the "accept" policy: still refused',
        16,
        "status.index_out_of_range",
        on_undetermined="accept",
    )
    add_cred("check-no-list", "no list published", 0, "status.undetermined", lists=[])
    add_cred(
        "check-no-list-accepted",
        'no list published, "accept" policy',
        0,
        None,
        lists=[],
        on_undetermined="accept",
        status="undetermined",
    )
    add_cred(
        "check-list-expired",
        "the only list has expired",
        0,
        "status.undetermined",
        at=_LIST_EXP + 10,
    )
    add_cred(
        "check-list-bad-signature",
        "the only list does not verify",
        0,
        "status.undetermined",
        lists=[_flip_last(good)],
    )
    add_cred(
        "check-list-other-number",
        "the only list published is list 2 of the issuer key",
        0,
        "status.undetermined",
        lists=[token(claims(list=2))],
    )
    other = mat.pki["es384"]
    add_cred(
        "check-list-other-issuer",
        "the only list 1 published is signed by another issuer's key",
        0,
        "status.undetermined",
        lists=[token(claims(), used=other)],
    )
    add_cred(
        "check-no-reference",
        "a credential without status(7) under a status checker",
        None,
        "status.undetermined",
    )
    add_cred(
        "check-no-reference-accept",
        'no status(7) under the "accept" policy: verified, status undetermined',
        None,
        None,
        on_undetermined="accept",
        status="undetermined",
    )
    add_cred(
        "check-revoked-and-expired",
        "a revoked credential that has also expired: validity comes first",
        1,
        "validity.expired",
        exp=SHOWN_AT - 86_400,
    )
    return cases


class _Drop:
    """Marker: remove the claim."""


_DROP: Any = _Drop()


def _flip_last(data: bytes) -> bytes:
    out = bytearray(data)
    out[-1] ^= 0x01
    return bytes(out)


def _payload_diag(data: bytes) -> str | None:
    try:
        value = _cbor.decode(data, tags=frozenset({18}), deterministic=False)
    except VitaleCredError:
        return None
    body = value.value if isinstance(value, _cbor.Tagged) else value
    if isinstance(body, list) and len(body) == 4 and isinstance(body[2], bytes):
        return diag(body[2])
    return None
