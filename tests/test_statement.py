"""Signed statements: bound to the holder, verified by the app, never presentable."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from vitale_cred.clock import FixedClock
from vitale_cred.credential import decode_claims
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.errors import (
    InvalidArgument,
    KeyUsageNotAllowed,
    SchemaUnknownLabel,
    StatementInvalid,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.presentation import NONCE_LENGTH, PresentationPayload
from vitale_cred.registry import CoseAlg, CoseHeader
from vitale_cred.statement import (
    STATEMENT_TYP,
    Invoice,
    ProfessionalKind,
    Statement,
    holder_digest,
    sign_statement,
    verify_statement,
)
from vitale_cred.trust import TrustStore, Usage, raw_key

from _world import NOW, World
from conftest import ROOT


def invoices() -> tuple[Invoice, ...]:
    raw = json.loads((ROOT / "spec/examples/invoices.json").read_text())
    return tuple(Invoice.from_json(i) for i in raw)


def signed(world: World, holder: SoftwareDeviceKey | None = None) -> bytes:
    key = (holder or world.device).cose_key()
    statement = Statement(NOW, world.card.serial, holder_digest(key), invoices())
    return sign_statement(
        statement,
        world.material.signer(),
        kid=world.material.kid,
        x5chain=world.material.issuer_certificate.public_bytes(Encoding.DER),
    )


def test_app_verifies_its_statement_with_the_root_alone(world: World) -> None:
    trust = TrustStore(roots=[world.material.root_certificate])
    verified = verify_statement(
        signed(world), trust, device_key=world.device.cose_key(), clock=FixedClock(NOW)
    )
    assert verified.statement.invoices == invoices()
    assert verified.statement.serial == world.card.serial
    assert verified.statement.invoices[1].kind is ProfessionalKind.PHARMACIE


def test_statement_copied_to_another_phone_does_not_verify(world: World) -> None:
    other = SoftwareDeviceKey.generate()
    with pytest.raises(StatementInvalid) as info:
        verify_statement(
            signed(world), world.trust, device_key=other.cose_key(), clock=FixedClock(NOW)
        )
    assert info.value.code == "statement.invalid"


def test_statement_cannot_be_presented_as_a_credential(world: World) -> None:
    statement = signed(world)
    with pytest.raises(SchemaUnknownLabel):
        decode_claims(cose.decode_sign1(statement).payload)
    token = cose.sign1(
        _cbor.encode(PresentationPayload(statement, NOW, 60, b"\x05" * NONCE_LENGTH).to_wire()),
        world.device,
    )
    with pytest.raises(VitaleCredError) as info:
        world.verifier().verify_presentation(token)
    assert info.value.code in {"schema.unknown_label", "schema.missing_label"}


def test_a_credential_is_not_a_statement(world: World) -> None:
    with pytest.raises(StatementInvalid):
        verify_statement(
            world.bundle.credentials[0],
            world.trust,
            device_key=world.device.cose_key(),
            clock=FixedClock(NOW),
        )


def test_key_not_trusted_for_statements_is_refused(world: World) -> None:
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()), b"c", usages=[Usage.CREDENTIAL]
            )
        ]
    )
    data = sign_statement(
        Statement(NOW, 1, holder_digest(world.device.cose_key()), invoices()), signer, kid=b"c"
    )
    with pytest.raises(KeyUsageNotAllowed):
        verify_statement(data, trust, device_key=world.device.cose_key(), clock=FixedClock(NOW))


def test_tampered_statement_is_refused(world: World) -> None:
    data = bytearray(signed(world))
    data[-2] ^= 0x10
    with pytest.raises(VitaleCredError) as info:
        verify_statement(
            bytes(data), world.trust, device_key=world.device.cose_key(), clock=FixedClock(NOW)
        )
    assert info.value.code == "cose.bad_signature"


def test_invoice_amounts_are_checked() -> None:
    day = dt.date(2026, 10, 1)
    with pytest.raises(InvalidArgument):
        Invoice(day, ProfessionalKind.MEDECIN, 100, 200)
    with pytest.raises(InvalidArgument):
        Invoice(day, ProfessionalKind.MEDECIN, -1, 0)
    with pytest.raises(InvalidArgument):
        Invoice.from_json({"day": "2026-10-01", "kind": "psychiatre", "billed_cents": 1})


def test_invoice_with_an_unknown_kind_on_the_wire_is_refused() -> None:
    wire = Invoice(dt.date(2026, 10, 1), ProfessionalKind.MEDECIN, 100, 50).to_wire()
    wire[2] = 42
    with pytest.raises(StatementInvalid):
        Invoice.from_wire(wire)


_KEY = cose.CoseKey.from_public_key(generate_private_key(CoseAlg.ES256).public_key())


@given(st.binary(max_size=300))
def test_arbitrary_bytes_into_verify_statement_raise_only_library_errors(data: bytes) -> None:
    with pytest.raises(VitaleCredError):
        verify_statement(data, TrustStore(), device_key=_KEY, clock=FixedClock(NOW))


def test_invoice_day_is_capped_at_2199_12_31() -> None:
    wire = Invoice(dt.date(2199, 12, 31), ProfessionalKind.MEDECIN, 100, 50).to_wire()
    assert wire[1] == 84_005
    assert Invoice.from_wire(wire).day == dt.date(2199, 12, 31)
    wire[1] = 84_006
    with pytest.raises(StatementInvalid) as info:
        Invoice.from_wire(wire)
    assert info.value.code == "statement.invalid"
    with pytest.raises(InvalidArgument) as local:
        Invoice(dt.date(2200, 1, 1), ProfessionalKind.MEDECIN, 100, 50)
    assert local.value.code == "usage.invalid_argument"
    with pytest.raises(InvalidArgument):
        Invoice(dt.date(1969, 12, 31), ProfessionalKind.MEDECIN, 100, 50)
    with pytest.raises(InvalidArgument):
        Invoice.from_json({"day": "2200-01-01", "kind": "medecin", "billed_cents": 1})


def _signed_payload(world: World, payload: bytes) -> bytes:
    return cose.sign1(
        payload,
        world.material.signer(),
        kid=world.material.kid,
        protected={CoseHeader.TYP: STATEMENT_TYP},
        unprotected={
            CoseHeader.X5CHAIN: world.material.issuer_certificate.public_bytes(Encoding.DER)
        },
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("a201010101", "cbor.duplicate_key"),  # {1: 1, 1: 1}
        ("a202010101", "cbor.non_deterministic"),  # {2: 1, 1: 1}: keys out of order
        ("a1011800", "cbor.non_deterministic"),  # {1: 0} with a non-shortest head
        ("a1018181818101", "cbor.too_deep"),  # {1: [[[[1]]]]}: 5 levels
        ("a101", "cbor.length_exceeds_input"),  # {1: ...}: no value
    ],
)
def test_cbor_defects_inside_a_statement_payload_keep_their_cbor_code(
    world: World, payload: str, code: str
) -> None:
    data = _signed_payload(world, bytes.fromhex(payload))
    with pytest.raises(VitaleCredError) as info:
        verify_statement(
            data, world.trust, device_key=world.device.cose_key(), clock=FixedClock(NOW)
        )
    assert info.value.code == code
