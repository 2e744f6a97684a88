"""Signed trust list vectors (spec/trust.md section 5): verification, staleness,
rollback, entry checks."""

from __future__ import annotations

from typing import Any

from tools.vectors._build import (
    CaseList,
    RawIssuer,
    RawKey,
    diag,
    h,
    invalid,
    sign1,
    trust_json,
    valid,
)
from tools.vectors._material import ISSUED_AT, SHOWN_AT, Material, der
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey
from vitale_cred.registry import CoseAlg, CoseHeader, TrustEntryLabel, TrustListLabel
from vitale_cred.trust import spki_sha256
from vitale_cred.trustlist import TRUST_LIST_TYP

AREA = "trustlist"
DESCRIPTION = (
    "Signed trust lists fed to a reader in order (trust.md section 5.2): the verdict on "
    "the last list of each case, after the earlier ones were accepted."
)

_VERIFY = "trust.md#5.2"
_ROTATION = "trust.md#5.3"
_SINGLE_USAGE = "trust.md#6.1"
_WITHDRAWAL = "trust.md#7"
_DAY = 86_400


def build(mat: Material) -> CaseList:
    """The trust list cases."""
    cases = CaseList(AREA)
    authority = RawIssuer.of(mat, "tl-authority")
    authority_ed = RawIssuer.of(mat, "tl-authority-ed")
    authority_trust = trust_json(
        keys=[
            RawKey(authority.kid, authority.key, usages=["trust_list"]),
            RawKey(authority_ed.kid, authority_ed.key, usages=["trust_list"]),
        ]
    )
    raw256 = RawIssuer.of(mat, "raw-es256")
    raw_ed = RawIssuer.of(mat, "raw-eddsa")
    es384 = mat.pki["es384"]

    def entries() -> list[dict[int, Any]]:
        return [
            {
                TrustEntryLabel.KID: raw256.kid,
                TrustEntryLabel.KEY: raw256.key.to_map(),
                TrustEntryLabel.ALGS: [int(CoseAlg.ES256)],
                TrustEntryLabel.USAGES: [1, 2],
                TrustEntryLabel.NAME: "CPAM (test), ES256 raw key",
            },
            {
                TrustEntryLabel.KID: es384.kid,
                TrustEntryLabel.CERTIFICATE: der(es384.issuer),
                TrustEntryLabel.ALGS: [int(CoseAlg.ES384)],
                TrustEntryLabel.USAGES: [1],
            },
            {
                TrustEntryLabel.KID: raw_ed.kid,
                TrustEntryLabel.KEY: raw_ed.key.to_map(),
                TrustEntryLabel.ALGS: [int(CoseAlg.EDDSA)],
                TrustEntryLabel.USAGES: [1, 2, 3],
                TrustEntryLabel.NOT_BEFORE: ISSUED_AT - 30 * _DAY,
                TrustEntryLabel.NOT_AFTER: ISSUED_AT + 400 * _DAY,
            },
        ]

    def payload(seq: int = 5, changes: dict[int, Any] | None = None) -> dict[int, Any]:
        out: dict[int, Any] = {
            TrustListLabel.SEQ: seq,
            TrustListLabel.ISSUED_AT: ISSUED_AT,
            TrustListLabel.NEXT_UPDATE: ISSUED_AT + 30 * _DAY,
            TrustListLabel.ENTRIES: entries(),
        }
        out.update(changes or {})
        return out

    def signed(
        content: dict[int, Any] | bytes,
        *,
        signer: RawIssuer = authority,
        typ: Any = TRUST_LIST_TYP,
        tagged: bool = True,
    ) -> bytes:
        raw = content if isinstance(content, bytes) else _cbor.encode(content)
        protected: dict[int, Any] = {
            CoseHeader.ALG: int(signer.signer.alg),
            CoseHeader.KID: signer.kid,
        }
        if typ is not None:
            protected[CoseHeader.TYP] = typ
        return sign1(signer.signer, raw, protected=protected, tagged=tagged).data

    def add(
        case_id: str,
        section: str,
        description: str,
        lists: list[bytes],
        code: str | None,
        *,
        at: int = SHOWN_AT,
        stale: str = "reject",
        seq: int = 5,
        is_stale: bool = False,
        kids: list[bytes] | None = None,
        trust: dict[str, Any] | None = None,
    ) -> None:
        if code is None:
            expected = valid(
                {
                    "seq": seq,
                    "stale": is_stale,
                    "kids": [
                        h(k)
                        for k in ([raw256.kid, es384.kid, raw_ed.kid] if kids is None else kids)
                    ],
                }
            )
        else:
            expected = invalid(code)
        cases.add(
            case_id,
            section,
            description,
            "trust_list_update",
            expected,
            input={"lists": [h(x) for x in lists]},
            at=at,
            trust=trust or authority_trust,
            policy={"stale": stale},
            keys={**authority.keys("authority"), **authority_ed.keys("authority_ed")},
            intermediate={"payload_diagnostic": _diag(lists[-1])},
            cddl=[("input.lists.0", "trust-list")] if code is None else [],
        )

    list5 = signed(payload())
    list6 = signed(payload(6))

    # --- valid -------------------------------------------------------------------------
    add(
        "valid",
        _VERIFY,
        "three entries: an ES256 raw key, an ES384 issuer certificate, an Ed25519 raw key "
        "with a window",
        [list5],
        None,
    )
    add(
        "valid-ed25519-authority",
        _VERIFY,
        "signed by an Ed25519 trust-list authority",
        [signed(payload(), signer=authority_ed)],
        None,
    )
    add("valid-newer", _ROTATION, "list 5 then list 6", [list5, list6], None, seq=6)
    add("valid-same-list-again", _VERIFY, "the list in force received again", [list5, list5], None)
    add(
        "valid-stale-accepted",
        _VERIFY,
        "past next_update under a policy that accepts stale lists: used, flagged stale",
        [list5],
        None,
        at=ISSUED_AT + 31 * _DAY,
        stale="accept_stale",
        is_stale=True,
    )
    add(
        "valid-empty",
        _VERIFY,
        "no entry: every issuer withdrawn",
        [signed(payload(7, {TrustListLabel.ENTRIES: []}))],
        None,
        seq=7,
        kids=[],
    )

    # --- rejections ---------------------------------------------------------------------
    add(
        "stale-rejected",
        _VERIFY,
        "1 s past next_update under the default policy",
        [list5],
        "trust.list_expired",
        at=ISSUED_AT + 30 * _DAY + 1,
    )
    add("rollback", _VERIFY, "list 6 then list 5", [list6, list5], "trust.list_rollback")
    other5 = signed(payload(5, {TrustListLabel.NEXT_UPDATE: ISSUED_AT + 31 * _DAY}))
    add(
        "same-seq-other-bytes",
        _VERIFY,
        "two different lists claiming seq 5",
        [list5, other5],
        "trust.list_rollback",
    )
    add(
        "typ-missing",
        _VERIFY,
        "no typ(16) in the protected header",
        [signed(payload(), typ=None)],
        "trust.list_invalid",
    )
    add(
        "typ-other",
        _VERIFY,
        'typ(16) "application/cbor"',
        [signed(payload(), typ="application/cbor")],
        "trust.list_invalid",
    )
    add(
        "typ-status-list",
        _VERIFY,
        "a Status List Token's typ(16)",
        [signed(payload(), typ="application/statuslist+cwt")],
        "trust.list_invalid",
    )
    unknown = trust_json(keys=[RawKey(authority_ed.kid, authority_ed.key, usages=["trust_list"])])
    add(
        "unknown-authority",
        _VERIFY,
        "signed by a key the reader does not know",
        [list5],
        "trust.unknown_issuer",
        trust=unknown,
    )
    wrong_usage = trust_json(keys=[RawKey(authority.kid, authority.key)])
    add(
        "authority-not-for-trust-lists",
        _VERIFY,
        "signed by a key the reader trusts for credentials, not for trust lists",
        [list5],
        "trust.usage_not_allowed",
        trust=wrong_usage,
    )
    dual_usage = trust_json(
        keys=[
            RawKey(authority.kid, authority.key, usages=["trust_list", "credential"]),
            RawKey(authority_ed.kid, authority_ed.key, usages=["trust_list"]),
        ]
    )
    add(
        "authority-also-for-credentials",
        _SINGLE_USAGE,
        "signed by a key the reader trusts for trust lists and for credentials: an "
        "authority key is trusted for nothing else",
        [list5],
        "trust.usage_not_allowed",
        trust=dual_usage,
    )
    tampered = bytearray(list5)
    tampered[-5] ^= 0x01
    add(
        "bad-signature",
        _VERIFY,
        "one bit of the signature flipped",
        [bytes(tampered)],
        "cose.bad_signature",
    )
    add(
        "untagged",
        _VERIFY,
        "the list without tag 18",
        [signed(payload(), tagged=False)],
        "cose.malformed",
    )

    def entry_case(case_id: str, description: str, entry: dict[int, Any], code: str) -> None:
        content = payload()
        content[TrustListLabel.ENTRIES] = [*entries()[:1], entry]
        add(case_id, _VERIFY, description, [signed(content)], code)

    base = entries()[0]
    second = {**base, TrustEntryLabel.KID: b"second"}
    entry_case(
        "entry-key-and-certificate",
        "an entry with both key(2) and certificate(3)",
        {**second, TrustEntryLabel.CERTIFICATE: der(es384.issuer)},
        "trust.list_invalid",
    )
    entry_case(
        "entry-no-key",
        "an entry with neither key(2) nor certificate(3)",
        {k: v for k, v in second.items() if k != TrustEntryLabel.KEY},
        "trust.list_invalid",
    )
    entry_case(
        "entry-usage-4",
        "usage 4, which lists have no code for",
        {**second, TrustEntryLabel.USAGES: [4]},
        "trust.list_invalid",
    )
    entry_case(
        "entry-alg-es512",
        "algs [ES512]",
        {**second, TrustEntryLabel.ALGS: [-36]},
        "trust.list_invalid",
    )
    entry_case(
        "entry-alg-not-the-key",
        "algs [ES384] for a P-256 key",
        {**second, TrustEntryLabel.ALGS: [-35]},
        "trust.list_invalid",
    )
    entry_case("entry-unknown-label", "entry label 9", {**second, 9: 0}, "trust.list_invalid")
    entry_case(
        "entry-duplicate-kid", "two entries with the same kid", dict(base), "trust.list_invalid"
    )
    entry_case(
        "entry-empty-kid",
        "a zero-length kid",
        {**second, TrustEntryLabel.KID: b""},
        "trust.list_invalid",
    )
    # Booleans are not integers (true is not usage 1), and a null not_after never
    # means "no end" (encoding.md section 2.3).
    key_map = raw256.key.to_map()
    for case_id, description, entry, code in (
        ("entry-usages-true", "usages [true], which must not be read as [1]",
         {**second, TrustEntryLabel.USAGES: [True]}, "trust.list_invalid"),
        ("entry-algs-true", "algs [true]", {**second, TrustEntryLabel.ALGS: [True]},
         "trust.list_invalid"),
        ("entry-not-after-true", "not_after(7) true", {**second, TrustEntryLabel.NOT_AFTER: True},
         "trust.list_invalid"),
        ("entry-key-kty-true", "key(2) with kty(1) true",
         {**second, TrustEntryLabel.KEY: {**key_map, 1: True}}, "trust.list_invalid"),
        ("entry-not-after-null", "not_after(7) null: the key would never expire",
         {**second, TrustEntryLabel.NOT_AFTER: None}, "cbor.type_not_allowed"),
        ("entry-not-before-null", "not_before(6) null",
         {**second, TrustEntryLabel.NOT_BEFORE: None}, "cbor.type_not_allowed"),
        ("entry-name-null", "name(8) null", {**second, TrustEntryLabel.NAME: None},
         "cbor.type_not_allowed"),
        ("entry-key-kid-null", "key(2) with kid(2) null",
         {**second, TrustEntryLabel.KEY: {**key_map, 2: None}}, "cbor.type_not_allowed"),
    ):  # fmt: skip
        entry_case(case_id, description, entry, code)
    compressed = [dict(e) for e in entries()]
    compressed[0][TrustEntryLabel.KEY] = CoseKey.from_public_key(
        raw256.key.public_key(), compressed=True
    ).to_map()
    add(
        "valid-compressed-key",
        _VERIFY,
        "the ES256 raw key as a compressed point: y(-3) is a boolean sign bit, the one "
        "place a COSE_Key takes a boolean",
        [signed(payload(5, {TrustListLabel.ENTRIES: compressed}))],
        None,
    )
    # --- the authority key in an entry, withdrawn keys (trust.md sections 6.1, 7) -------
    entry_case(
        "entry-authority-key",
        "an entry carries the key of the list's own authority: the authority key would "
        "also sign credentials",
        {**second, TrustEntryLabel.KEY: authority.key.to_map()},
        "trust.usage_not_allowed",
    )
    entry_case(
        "entry-other-authority-key",
        "an entry carries the key of another trust-list authority of the reader",
        {
            **second,
            TrustEntryLabel.KEY: authority_ed.key.to_map(),
            TrustEntryLabel.ALGS: [int(CoseAlg.EDDSA)],
        },
        "trust.usage_not_allowed",
    )
    es256_key = spki_sha256(mat.pki["es256"].issuer_key.public_key())
    raw_ed_key = spki_sha256(raw_ed.key.verifying_key())
    add(
        "valid-withdrawn-keys",
        _WITHDRAWAL,
        "withdrawn_keys(5) lists the SPKI SHA-256 of a key no entry carries",
        [signed(payload(8, {TrustListLabel.WITHDRAWN_KEYS: [es256_key]}))],
        None,
        seq=8,
    )
    add(
        "withdrawn-keys-entry",
        _WITHDRAWAL,
        "withdrawn_keys(5) lists the key of one of the list's own entries",
        [signed(payload(8, {TrustListLabel.WITHDRAWN_KEYS: [es256_key, raw_ed_key]}))],
        "trust.list_invalid",
    )
    for case_id, description, value in (
        ("withdrawn-keys-empty", "withdrawn_keys(5) an empty array (absent is the one "
         "encoding of none)", []),
        ("withdrawn-keys-short", "a 31-byte withdrawn key", [es256_key[:31]]),
        ("withdrawn-keys-duplicate", "one withdrawn key listed twice", [es256_key, es256_key]),
        ("withdrawn-keys-not-array", "withdrawn_keys(5) a byte string", es256_key),
        ("withdrawn-keys-text", "a withdrawn key as text", [es256_key.hex()]),
    ):  # fmt: skip
        add(
            case_id,
            _WITHDRAWAL,
            description,
            [signed(payload(8, {TrustListLabel.WITHDRAWN_KEYS: value}))],
            "trust.list_invalid",
        )
    ca = mat.variant_issuer("ES256 issuer, CA (trust list)", 0x1301, ca=True, path_length=0)
    entry_case(
        "entry-certificate-profile",
        "a certificate entry that is a CA",
        {
            TrustEntryLabel.KID: b"ca",
            TrustEntryLabel.CERTIFICATE: der(ca.issuer),
            TrustEntryLabel.ALGS: [-7],
            TrustEntryLabel.USAGES: [1],
        },
        "trust.certificate_profile",
    )
    add(
        "next-update-before-issued",
        _VERIFY,
        "next_update(3) equal to issued_at(2)",
        [signed(payload(5, {TrustListLabel.NEXT_UPDATE: ISSUED_AT}))],
        "trust.list_invalid",
    )
    add(
        "missing-entries",
        _VERIFY,
        "no entries(4)",
        [signed({k: v for k, v in payload().items() if k != TrustListLabel.ENTRIES})],
        "trust.list_invalid",
    )
    add("seq-negative", _VERIFY, "seq(1) -1", [signed(payload(-1))], "trust.list_invalid")
    add("seq-true", _VERIFY, "seq(1) true", [signed(payload(True))], "trust.list_invalid")
    add(
        "next-update-null",
        _VERIFY,
        "next_update(3) null: the list would never go stale",
        [signed(payload(5, {TrustListLabel.NEXT_UPDATE: None}))],
        "cbor.type_not_allowed",
    )
    add(
        "typ-true",
        _VERIFY,
        "typ(16) true",
        [signed(payload(), typ=True)],
        "trust.list_invalid",
    )
    good = _cbor.encode(payload())
    reordered = good[:1] + _reorder_first_two(good[1:])
    add(
        "payload-non-deterministic",
        "encoding.md#2.3",
        "seq(1) and issued_at(2) swapped",
        [signed(reordered)],
        "cbor.non_deterministic",
    )
    return cases


def _reorder_first_two(body: bytes) -> bytes:
    """Swap the first two pairs of a map body whose keys and values are 1-byte and 5-byte."""
    seq_pair = body[:2]  # 01 05
    issued_pair = body[2:8]  # 02 1a xx xx xx xx
    return issued_pair + seq_pair + body[8:]


def _diag(data: bytes) -> str | None:
    try:
        message = _cbor.decode(data, tags=frozenset({18}), deterministic=False)
    except VitaleCredError:
        return None
    value = message.value if isinstance(message, _cbor.Tagged) else message
    if not isinstance(value, list) or len(value) != 4 or not isinstance(value[2], bytes):
        return None
    return diag(value[2])
