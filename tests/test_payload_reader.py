"""The credential payload's usual-layout reader agrees with the strict decoder.

:func:`vitale_cred._payload_reader.read_usual` is a shortcut of
``cbor.decode(payload, max_size=MAX_CREDENTIAL_BYTES, max_depth=8)``: on every input
it returns None or exactly what the strict decoder returns, with the same types (a
CBOR ``true`` is never the integer 1). Checked on every credential payload of the
vectors (valid and refused), on random realistic cards in every optional shape, and
on byte-level mutations of all of them; and the random cards must all take the
shortcut, or it would be dead code.
"""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.cards import generate_cards
from vitale_cred._payload_reader import read_usual
from vitale_cred.credential import MAX_CREDENTIAL_BYTES, decode_claims
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor, cose
from vitale_cred.model import Card, StatusReference

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"


def _strict(payload: bytes) -> Any:
    return cbor.decode(payload, max_size=MAX_CREDENTIAL_BYTES, max_depth=8)


def _same(a: Any, b: Any) -> bool:
    """Equal values of identical types all the way down (``True`` is not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check(payload: bytes) -> Any:
    """Assert the agreement on ``payload``; return the shortcut's answer."""
    fast = read_usual(payload)
    try:
        strict = _strict(payload)
    except VitaleCredError:
        assert fast is None, payload.hex()
        return None
    if fast is not None:
        assert _same(fast, strict), payload.hex()
    return fast


def _hex_strings(value: Any) -> list[bytes]:
    if isinstance(value, str):
        try:
            return [bytes.fromhex(value)] if value and len(value) % 2 == 0 else []
        except ValueError:
            return []
    if isinstance(value, dict):
        return [b for v in value.values() for b in _hex_strings(v)]
    if isinstance(value, list):
        return [b for v in value for b in _hex_strings(v)]
    return []


def _vector_payloads() -> list[bytes]:
    """Every credential payload the vectors hold, directly or inside a COSE_Sign1."""
    found: dict[bytes, None] = {}
    for name in ("credential.json", "presentation.json", "qr.json", "evidence.json"):
        cases = json.loads((VECTORS / name).read_text("utf-8"))["cases"]
        for case in cases:
            for blob in _hex_strings([case.get("input"), case.get("intermediate")]):
                found[blob] = None
                with contextlib.suppress(VitaleCredError):
                    found[cose.decode_sign1(blob, max_size=MAX_CREDENTIAL_BYTES).payload] = None
    return list(found)


_VECTOR_PAYLOADS = _vector_payloads()


def _random_payloads(count: int, seed: int) -> list[bytes]:
    """Credential payloads of random realistic cards, every optional claim drawn."""
    rng = random.Random(seed)
    out = []
    for card_json in generate_cards(count, seed):
        card = Card.from_json(card_json)
        index = rng.randrange(len(card.beneficiaries))
        iat = rng.randrange(1_700_000_000, 2_000_000_000)
        card_map = card.view(index).to_wire()
        if rng.random() < 0.7:
            status = StatusReference(rng.randrange(2**32), rng.randrange(2**32))
            card_map[7] = status.to_wire()
        claims: dict[int, Any] = {
            6: iat,
            4: iat + rng.randrange(1, 400 * 86_400),
            8: {1: {1: 2, -1: 1, -2: rng.randbytes(32), -3: rng.random() < 0.5}},
            -65537: card_map,
        }
        if rng.random() < 0.3:
            claims[5] = iat + rng.randrange(0, 86_400)
        if rng.random() < 0.3:
            claims[1] = rng.choice(["CPAM 75", "https://ameli.example/issuer", "x" * 40])
        out.append(cbor.encode(claims))
    return out


_RANDOM_PAYLOADS = _random_payloads(300, 20261206)


def test_every_random_card_takes_the_shortcut_and_agrees() -> None:
    for payload in _RANDOM_PAYLOADS:
        fast = check(payload)
        assert fast is not None, payload.hex()
        # And the claims built from it are those of the strict path.
        decode_claims(payload)


def test_every_vector_payload_agrees() -> None:
    taken = sum(check(payload) is not None for payload in _VECTOR_PAYLOADS)
    # The valid credentials of the vectors are usual ones.
    assert taken >= 20


@pytest.mark.parametrize("seed", range(4))
def test_single_byte_mutations_agree(seed: int) -> None:
    rng = random.Random(seed)
    payloads = _RANDOM_PAYLOADS[seed::4][:40] + _VECTOR_PAYLOADS[seed::4]
    for payload in payloads:
        for _ in range(60):
            data = bytearray(payload)
            at = rng.randrange(len(data))
            kind = rng.randrange(4)
            if kind == 0:
                data[at] = rng.randrange(256)
            elif kind == 1:
                data[at] ^= 1 << rng.randrange(8)
            elif kind == 2:
                del data[at:]
            else:
                data.insert(at, rng.randrange(256))
            check(bytes(data))


def test_every_head_byte_at_every_position_agrees() -> None:
    # One valid payload, every offset, every value a head byte may take there.
    payload = _RANDOM_PAYLOADS[0]
    for at in range(len(payload)):
        for value in range(256):
            data = bytearray(payload)
            data[at] = value
            check(bytes(data))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_splices_agree(data: st.DataObject) -> None:
    payload = data.draw(st.sampled_from(_RANDOM_PAYLOADS[:50]))
    start = data.draw(st.integers(0, len(payload)))
    stop = data.draw(st.integers(start, len(payload)))
    middle = data.draw(st.binary(max_size=12))
    check(payload[:start] + middle + payload[stop:])


@pytest.mark.parametrize(
    "claims",
    [
        # CBOR true/false and null where the shortcut reads integers or key signs.
        {6: True, 4: 2, 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: False}}, -65537: {}},
        {6: 1, 4: 2, 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: None}}, -65537: {}},
        {6: 1, 4: 2, 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: 0}}, -65537: {}},
        # Claims the shortcut leaves to the strict decoder.
        {6: 1, 4: 2, 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: True}}, -65537: {}, -65538: {}},
        {6: 1, 4: 2, 7: b"cti", 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: True}}, -65537: {}},
        {6: 1, 4: 2, 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: b"y" * 32}}, -65537: {}},
        {6: 1, 4: 2, 8: {1: {1: 2, -1: 1, -2: b"x" * 32, -3: True}}, -65537: {1: "t" * 300}},
    ],
)
def test_unusual_claims_are_left_to_the_strict_decoder(claims: dict[int, Any]) -> None:
    payload = cbor.encode(claims)
    assert read_usual(payload) is None or _same(read_usual(payload), _strict(payload))
    check(payload)


def test_non_deterministic_forms_of_a_usual_payload_are_left_to_the_strict_decoder() -> None:
    payload = _RANDOM_PAYLOADS[1]
    claims = _strict(payload)
    iat = claims[6]
    # iat under a longer head than needed: 0x1b and eight bytes.
    long_head = payload.replace(
        b"\x06\x1a" + iat.to_bytes(4, "big"), b"\x06\x1b" + iat.to_bytes(8, "big")
    )
    assert long_head != payload
    assert read_usual(long_head) is None
    check(long_head)
    # The same claims with iat(6) before exp(4), and with exp(4) twice.
    exp_field = b"\x04\x1a" + claims[4].to_bytes(4, "big")
    iat_field = b"\x06\x1a" + iat.to_bytes(4, "big")
    assert payload.startswith(b"\xa4" + exp_field + iat_field)
    rest = payload[1 + len(exp_field) + len(iat_field) :]
    for reordered in (
        b"\xa4" + iat_field + exp_field + rest,
        b"\xa5" + exp_field * 2 + iat_field + rest,
    ):
        assert read_usual(reordered) is None
        check(reordered)
    # Input that is not bytes, or too large for the item budget to be implied.
    assert read_usual(bytearray(payload)) is None  # type: ignore[arg-type]
    assert read_usual(b"\xa0" * 4097) is None
