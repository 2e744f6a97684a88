"""Signed statement vectors (invoice summaries shown by the app; spec/statement.md)."""

from __future__ import annotations

from typing import Any

from tools.vectors._build import (
    CaseList,
    RawIssuer,
    diag,
    h,
    invalid,
    pki_keys,
    pki_trust,
    sign1,
    valid,
)
from tools.vectors._material import ISSUED_AT, SHOWN_AT, Material, Pki, cose_key_hex
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.registry import CoseHeader, InvoiceLabel, StatementLabel
from vitale_cred.statement import MAX_DAY as _MAX_DAY
from vitale_cred.statement import STATEMENT_TYP, holder_digest

AREA = "statement"
DESCRIPTION = (
    "Signed statements (the insured's recent invoice summaries) verified by the holder's "
    "app: issuer signature for the statement usage, structure, binding to the device key."
)

_SECTION = "statement.md#3"
_EPOCH_DAY = 20_760  # 2026-11-03


def build(mat: Material) -> CaseList:
    """The statement cases."""
    cases = CaseList(AREA)
    pki = mat.pki["es256"]
    device_key = mat.device.cose_key()
    holder = holder_digest(device_key)
    invoices = [
        {1: _EPOCH_DAY - 20, 2: 1, 3: 3000, 4: 2100, 5: 0},
        {1: _EPOCH_DAY - 3, 2: 2, 3: 1245, 4: 1245, 5: 2},
    ]
    invoices_json = [
        {
            "day": "2026-10-14",
            "kind": "medecin",
            "billed_cents": 3000,
            "reimbursed_cents": 2100,
            "beneficiary": 0,
        },
        {
            "day": "2026-10-31",
            "kind": "pharmacie",
            "billed_cents": 1245,
            "reimbursed_cents": 1245,
            "beneficiary": 2,
        },
    ]

    def payload(**changes: Any) -> dict[int, Any]:
        out: dict[int, Any] = {
            StatementLabel.IAT: ISSUED_AT + 2 * 86_400,
            StatementLabel.SERIAL: 7511000042,
            StatementLabel.HOLDER: holder,
            StatementLabel.INVOICES: [dict(i) for i in invoices],
        }
        for name, value in changes.items():
            out[StatementLabel[name.upper()]] = value
        return out

    def signed(
        content: dict[Any, Any],
        *,
        used: Pki = pki,
        typ: str | None = STATEMENT_TYP,
        signer: RawIssuer | None = None,
    ) -> bytes:
        key = signer.signer if signer else used.signer()
        protected: dict[int, Any] = {
            CoseHeader.ALG: int(key.alg),
            CoseHeader.KID: signer.kid if signer else used.kid,
        }
        if typ is not None:
            protected[CoseHeader.TYP] = typ
        return sign1(key, _cbor.encode(content), protected=protected).data

    def signed_raw(content: bytes) -> bytes:
        key = pki.signer()
        protected: dict[int, Any] = {
            CoseHeader.ALG: int(key.alg),
            CoseHeader.KID: pki.kid,
            CoseHeader.TYP: STATEMENT_TYP,
        }
        return sign1(key, content, protected=protected).data

    def add(
        case_id: str,
        description: str,
        data: bytes,
        code: str | None,
        *,
        trust: dict[str, Any] | None = None,
        keys: dict[str, Any] | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        if code is None:
            expected = valid(
                fields
                or {
                    "iat": ISSUED_AT + 2 * 86_400,
                    "serial": 7511000042,
                    "invoices": invoices_json,
                    "issuer_kid": h(pki.kid),
                }
            )
        else:
            expected = invalid(code)
        cases.add(
            case_id,
            _SECTION,
            description,
            "verify_statement",
            expected,
            input={"statement": h(data), "device_key": cose_key_hex(device_key)},
            at=SHOWN_AT,
            trust=trust or pki_trust(pki),
            keys=keys or pki_keys(pki),
            intermediate={"holder_digest": h(holder), "payload_diagnostic": _payload(data)},
        )

    add("valid", "two invoices, bound to the holder's device key", signed(payload()), None)
    add(
        "valid-empty",
        "no invoice",
        signed(payload(invoices=[])),
        None,
        fields={
            "iat": ISSUED_AT + 2 * 86_400,
            "serial": 7511000042,
            "invoices": [],
            "issuer_kid": h(pki.kid),
        },
    )
    for case_id, description, data in (
        ("typ-missing", "no typ(16)", signed(payload(), typ=None)),
        ("typ-trust-list", "a trust list's typ(16)",
         signed(payload(), typ="application/vitale-trust-list+cbor")),
        ("other-holder", "bound to another device key",
         signed(payload(holder=holder_digest(mat.other_device.cose_key())))),
        ("missing-invoices", "no invoices(4)",
         signed({k: v for k, v in payload().items() if k != StatementLabel.INVOICES})),
        ("iat-negative", "iat(1) -1", signed(payload(iat=-1))),
        ("invoice-extra-label", "an invoice with label 6",
         signed(payload(invoices=[{**invoices[0], 6: 0}]))),
        ("invoice-kind-8", "professional kind 8, not registered",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.KIND: 8}]))),
        ("invoice-reimbursed-above-billed", "reimbursed above billed",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.REIMBURSED: 3001}]))),
        ("invoice-beneficiary-16", "beneficiary index 16",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.BENEFICIARY: 16}]))),
        ("too-many-invoices", "101 invoices", signed(payload(invoices=[invoices[0]] * 101))),
        # Booleans are not integers (encoding.md section 2.3): false is not index 0.
        ("iat-true", "iat(1) true", signed(payload(iat=True))),
        ("serial-false", "serial(2) false", signed(payload(serial=False))),
        ("invoice-kind-true", "professional kind true, which must not be read as 1",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.KIND: True}]))),
        ("invoice-beneficiary-false", "beneficiary index false, which must not be read as 0",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.BENEFICIARY: False}]))),
        ("invoice-day-above-cap", "invoice day 84 006 (2200-01-01), one past the cap",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.DAY: _MAX_DAY + 1}]))),
        ("invoice-day-bool", "invoice day true",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.DAY: True}]))),
    ):  # fmt: skip
        add(case_id, description, data, "statement.invalid")
    for case_id, description, data in (
        ("holder-null", "holder(3) null", signed(payload(holder=None))),
        ("invoice-reimbursed-null", "an invoice whose reimbursed(4) is null",
         signed(payload(invoices=[{**invoices[0], InvoiceLabel.REIMBURSED: None}]))),
    ):  # fmt: skip
        add(case_id, description, data, "cbor.type_not_allowed")
    last_day = {**invoices[0], InvoiceLabel.DAY: _MAX_DAY}
    add(
        "valid-day-at-cap",
        "an invoice on day 84 005 (2199-12-31), the last day number",
        signed(payload(invoices=[last_day])),
        None,
        fields={
            "iat": ISSUED_AT + 2 * 86_400,
            "serial": 7511000042,
            "invoices": [{**invoices_json[0], "day": "2199-12-31"}],
            "issuer_kid": h(pki.kid),
        },
    )
    for case_id, description, raw_payload, code in (
        ("payload-duplicate-key", "payload {1: 1, 1: 1}: a CBOR defect keeps its CBOR code",
         bytes.fromhex("a201010101"), "cbor.duplicate_key"),
        ("payload-unsorted", "payload keys out of deterministic order",
         _cbor.encode(payload())[:1] + _reorder(payload()), "cbor.non_deterministic"),
        ("payload-too-deep", "an invoice inside two more arrays: 5 levels, the cap is 4",
         _cbor.encode(payload(invoices=[[[dict(invoices[0])]]])), "cbor.too_deep"),
    ):  # fmt: skip
        add(case_id, description, signed_raw(raw_payload), code)
    raw = RawIssuer.of(mat, "raw-es256")
    add(
        "signer-credentials-only",
        "signed by a key trusted for credentials only",
        signed(payload(), signer=raw),
        "trust.usage_not_allowed",
        trust=raw.trust(usages=["credential"]),
        keys=raw.keys(),
    )
    tampered = bytearray(signed(payload()))
    tampered[-3] ^= 0x10
    add("bad-signature", "one bit of the signature flipped", bytes(tampered), "cose.bad_signature")
    return cases


def _reorder(content: dict[int, Any]) -> bytes:
    """The map's entries (without its head) in descending key order."""
    return b"".join(_cbor.encode(k) + _cbor.encode(content[k]) for k in sorted(content)[::-1])


def _payload(data: bytes) -> str | None:
    value = _cbor.decode(data, tags=frozenset({18}))
    return diag(value.value[2])
