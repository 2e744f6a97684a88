"""Signed statements: the insured's recent invoice summaries, shown in the app only.

A statement is a tagged COSE_Sign1 signed by an issuer key trusted for
``statement`` usage, protected ``typ`` ``application/vitale-statement+cbor``, payload
(``spec/statement.md``)::

    { 1: iat, 2: card serial, 3: holder (SHA-256 of the device COSE_Key bytes),
      4: [ invoice ... ] }
    invoice = { 1: day (days since 1970-01-01), 2: professional kind,
                3: billed (euro cents), 4: reimbursed (euro cents),
                5: beneficiary index }

It is bound to the holder by the device-key digest, so a statement copied to another
phone does not verify there; it is never part of a presentation (its labels are not
credential claims, so a verifier refuses it with ``schema.unknown_label``). The
professional kind is a coarse category: a statement carries no medical data.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, final

from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.clock import Clock, read_clock
from vitale_cred.errors import InvalidArgument, StatementInvalid
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.registry import CoseHeader, InvoiceLabel, ProfessionalKind, StatementLabel
from vitale_cred.trust import TrustedKey, TrustStore, Usage, verify_typed

__all__ = [
    "MAX_DAY",
    "MAX_INVOICES",
    "STATEMENT_TYP",
    "Invoice",
    "ProfessionalKind",
    "Statement",
    "VerifiedStatement",
    "holder_digest",
    "sign_statement",
    "verify_statement",
]

STATEMENT_TYP = "application/vitale-statement+cbor"
#: Most invoices in one statement.
MAX_INVOICES = 100
#: Largest statement accepted (bytes).
MAX_STATEMENT_BYTES = 16_384
_EPOCH = _dt.date(1970, 1, 1)
_LAST_DAY = _dt.date(2199, 12, 31)
#: Largest invoice day number: 2199-12-31 is day 84 005 (the cap of every day number).
MAX_DAY = (_LAST_DAY - _EPOCH).days
_STATEMENT_LABELS = frozenset(StatementLabel)
_INVOICE_LABELS = frozenset(InvoiceLabel)


def holder_digest(device_key: cose.CoseKey) -> bytes:
    """SHA-256 of the deterministic encoding of the holder's device COSE_Key."""
    return hashlib.sha256(_cbor.encode(device_key.to_map())).digest()


@dataclass(frozen=True, slots=True)
class Invoice:
    """One invoice summary: when, who, how much billed and reimbursed."""

    day: _dt.date
    kind: ProfessionalKind
    billed_cents: int
    reimbursed_cents: int
    beneficiary: int = 0

    def __post_init__(self) -> None:
        if type(self.day) is not _dt.date or not _EPOCH <= self.day <= _LAST_DAY:
            raise InvalidArgument(f"day must be a date from {_EPOCH} to {_LAST_DAY}")
        for what, amount in (("billed", self.billed_cents), ("reimbursed", self.reimbursed_cents)):
            if type(amount) is not int or not 0 <= amount < 10**9:
                raise InvalidArgument(f"{what} must be 0..999,999,999 cents")
        if self.reimbursed_cents > self.billed_cents:
            raise InvalidArgument("reimbursed cannot exceed billed")
        if type(self.beneficiary) is not int or not 0 <= self.beneficiary < 16:
            raise InvalidArgument("beneficiary index must be 0..15")
        if not isinstance(self.kind, ProfessionalKind):
            raise InvalidArgument("kind must be a ProfessionalKind")

    def to_wire(self) -> dict[int, Any]:
        return {
            InvoiceLabel.DAY: (self.day - _EPOCH).days,
            InvoiceLabel.KIND: int(self.kind),
            InvoiceLabel.BILLED: self.billed_cents,
            InvoiceLabel.REIMBURSED: self.reimbursed_cents,
            InvoiceLabel.BENEFICIARY: self.beneficiary,
        }

    @classmethod
    def from_wire(cls, value: Any) -> Invoice:
        if not isinstance(value, dict) or set(value) != _INVOICE_LABELS:
            raise StatementInvalid("an invoice holds exactly day, kind, billed, reimbursed, index")
        day, kind = value[InvoiceLabel.DAY], value[InvoiceLabel.KIND]
        if type(day) is not int or not 0 <= day <= MAX_DAY:
            raise StatementInvalid(f"invoice day must be a day number 0..{MAX_DAY}")
        try:
            return cls(
                _EPOCH + _dt.timedelta(days=day),
                ProfessionalKind(kind) if type(kind) is int else ProfessionalKind(-1),
                value[InvoiceLabel.BILLED],
                value[InvoiceLabel.REIMBURSED],
                value[InvoiceLabel.BENEFICIARY],
            )
        except (ValueError, InvalidArgument) as exc:
            raise StatementInvalid(f"invoice rejected: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "kind": self.kind.name.lower(),
            "billed_cents": self.billed_cents,
            "reimbursed_cents": self.reimbursed_cents,
            "beneficiary": self.beneficiary,
        }

    @classmethod
    def from_json(cls, value: Any) -> Invoice:
        if not isinstance(value, dict) or not {"day", "kind", "billed_cents"} <= set(value):
            raise InvalidArgument("invoice JSON needs day, kind, billed_cents")
        try:
            return cls(
                _dt.date.fromisoformat(value["day"]),
                ProfessionalKind[str(value["kind"]).upper()],
                value["billed_cents"],
                value.get("reimbursed_cents", 0),
                value.get("beneficiary", 0),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidArgument(f"invoice JSON rejected: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Statement:
    """The content of a statement."""

    iat: int
    serial: int
    holder: bytes
    invoices: tuple[Invoice, ...]

    def __post_init__(self) -> None:
        if len(self.holder) != 32:
            raise InvalidArgument("holder must be a 32-byte device-key digest")
        if len(self.invoices) > MAX_INVOICES:
            raise InvalidArgument(f"at most {MAX_INVOICES} invoices")

    def to_wire(self) -> dict[int, Any]:
        return {
            StatementLabel.IAT: self.iat,
            StatementLabel.SERIAL: self.serial,
            StatementLabel.HOLDER: self.holder,
            StatementLabel.INVOICES: [i.to_wire() for i in self.invoices],
        }


def sign_statement(
    statement: Statement, signer: cose.Signer, *, kid: bytes, x5chain: bytes | None = None
) -> bytes:
    """Sign a statement with an issuer key (usage ``statement``).

    ``x5chain`` (the issuer certificate, DER) lets an app that trusts only the root
    verify it.
    """
    return cose.sign1(
        _cbor.encode(statement.to_wire()),
        signer,
        kid=kid,
        protected={CoseHeader.TYP: STATEMENT_TYP},
        unprotected={CoseHeader.X5CHAIN: x5chain} if x5chain else None,
    )


@final
class VerifiedStatement(Sealed, producer="verify_statement()"):
    """A statement whose issuer signature and holder binding were checked (sealed)."""

    __slots__ = ("issuer", "statement")

    statement: Statement
    issuer: TrustedKey


_new_verified_statement = sealed_factory(VerifiedStatement)


def verify_statement(
    data: bytes, trust: TrustStore, *, device_key: cose.CoseKey, clock: Clock
) -> VerifiedStatement:
    """Verify a statement for the holder of ``device_key`` (what the app does) at the
    time ``clock`` tells."""
    if not isinstance(data, bytes):
        raise InvalidArgument("statement must be bytes")
    now = read_clock(clock)
    message, issuer = verify_typed(
        data,
        trust,
        typ=STATEMENT_TYP,
        usage=Usage.STATEMENT,
        now=now,
        max_size=MAX_STATEMENT_BYTES,
        error=StatementInvalid,
    )
    value = _cbor.decode(message.payload, max_size=MAX_STATEMENT_BYTES, max_depth=4)
    if not isinstance(value, dict) or set(value) != _STATEMENT_LABELS:
        raise StatementInvalid("statement holds exactly iat, serial, holder, invoices")
    iat, serial, holder, invoices = (value[label] for label in StatementLabel)
    if type(iat) is not int or type(serial) is not int or iat < 0 or serial < 0:
        raise StatementInvalid("iat and serial must be unsigned integers")
    if not isinstance(holder, bytes) or not isinstance(invoices, list):
        raise StatementInvalid("holder must be bytes and invoices an array")
    if len(invoices) > MAX_INVOICES:
        raise StatementInvalid(f"at most {MAX_INVOICES} invoices")
    if not hmac.compare_digest(holder, holder_digest(device_key)):
        raise StatementInvalid("statement is bound to another holder")
    statement = Statement(iat, serial, holder, tuple(Invoice.from_wire(i) for i in invoices))
    return _new_verified_statement(statement=statement, issuer=issuer)
