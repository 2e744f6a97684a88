"""The random-card generator and the QR size measurement (``benchmarks/qr_sizes.py``).

Nothing here asserts a size: the measurement is a benchmark, and the wire changes.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.model import Card
from vitale_cred.nir import Nir, nir_key
from vitale_cred.presentation import NONCE_LENGTH

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
cards = importlib.import_module("benchmarks.cards")
qr_sizes = importlib.import_module("benchmarks.qr_sizes")

SEED = 20261101


def _ins_supported() -> bool:
    try:
        Card.from_json(cards.generate_cards(1, 0, ins=True)[0])
    except VitaleCredError:
        return False
    return True


INS = _ins_supported()


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = cards.generate_cards(600, SEED, ins=True)
    return value


def _without_ins(card: dict[str, Any]) -> dict[str, Any]:
    return {
        **card,
        "beneficiaries": [
            {k: v for k, v in b.items() if k != "ins"} for b in card["beneficiaries"]
        ],
    }


def test_same_seed_same_cards(generated: list[dict[str, Any]]) -> None:
    assert cards.generate_cards(600, SEED, ins=True) == generated
    assert cards.generate_cards(600, SEED + 1, ins=True) != generated


def test_the_ins_flag_only_adds_the_ins_objects(generated: list[dict[str, Any]]) -> None:
    plain = cards.generate_cards(600, SEED, ins=False)
    assert plain == [_without_ins(c) for c in generated]
    assert all("ins" not in b for c in plain for b in c["beneficiaries"])
    assert all("ins" in b for c in generated for b in c["beneficiaries"])


def test_every_card_parses(generated: list[dict[str, Any]]) -> None:
    for card in generated:
        Card.from_json(card if INS else _without_ins(card))


def test_every_number_has_a_valid_key(generated: list[dict[str, Any]]) -> None:
    for card in generated:
        numbers = [card["nir"]]
        for beneficiary in card["beneficiaries"]:
            numbers += [beneficiary["ins"]["matricule"]]
            if "nir" in beneficiary:
                numbers.append(beneficiary["nir"])
        for number in numbers:
            Nir.parse(number)  # checks the key
            assert cards.nir_key(number[:13]) == nir_key(number[:13])


def test_identities_agree_with_the_card(generated: list[dict[str, Any]]) -> None:
    sex_of_digit = {"1": "M", "2": "F", "7": "M", "8": "F"}
    for card in generated:
        people = card["beneficiaries"]
        assert 1 <= len(people) <= 6
        assert people[0]["qualite"] == "assure"
        assert people[0]["ins"]["matricule"] == card["nir"]
        assert len(str(card["serial"])) == 10
        for person in people:
            ins = person["ins"]
            matricule = ins["matricule"]
            assert ins["sex"] == sex_of_digit[matricule[0]]
            assert ins["oid"] == (cards.OID_NIA if matricule[0] in "78" else cards.OID_NIR)
            assert matricule[1:3] == person["birth_date"][2:4]
            if person["birth_date"][5:7] != "00":
                assert matricule[3:5] == person["birth_date"][5:7]
            if "nir" in person:
                assert person["nir"] == matricule
            place = ins["birth_place"]
            assert len(place) == 5
            assert place[:2] != "20"
            for name in [person["family_name"], ins["birth_name"], *person["given_names"]]:
                assert 1 <= len(name) <= cards.MAX_NAME_CHARS
            assert ins["birth_given_names"][: len(person["given_names"])] == person["given_names"]
        ranks = Counter(p["birth_date"] for p in people if p.get("birth_rank") == 2)
        for day in ranks:
            assert any(p["birth_date"] == day and p.get("birth_rank") == 1 for p in people)


def test_the_mix_is_realistic(generated: list[dict[str, Any]]) -> None:
    people = [b for c in generated for b in c["beneficiaries"]]
    cards_with: Counter[str] = Counter()
    for card in generated:
        for key in ("amc", "css"):
            cards_with[key] += any(key in b for b in card["beneficiaries"])
    assert 0.5 < cards_with["amc"] / len(generated) < 0.7
    assert 0.05 < cards_with["css"] / len(generated) < 0.15
    ald = sum(any(e["code"] == "ald" for e in b.get("exonerations", ())) for b in people)
    assert 0.08 < ald / len(people) < 0.22
    nia = sum(b["ins"]["oid"] == cards.OID_NIA for b in people)
    assert 0.01 < nia / len(people) < 0.06
    assert any(b["qualite"] == "ascendant" for b in people)
    assert any(b.get("birth_rank") == 2 for b in people)
    assert any(b["ins"]["birth_name"] != b["family_name"] for b in people)
    assert any(b["ins"]["birth_place"] != b["ins"]["matricule"][5:10] for b in people)
    names = [n for b in people for n in (b["family_name"], *b["given_names"])]
    assert any("-" in n and n[0].isupper() and not n.isupper() for n in names)  # Jean-Baptiste
    assert any("-" in n and n.isupper() for n in names)  # DUPONT-MOREAU
    assert any(" " in n for n in names)  # DE LA FONTAINE
    assert any(not n.isascii() for n in names)
    departments = {b["ins"]["matricule"][5:7] for b in people}
    assert departments & {"2A", "2B"}
    assert "20" in departments  # Corsica before 1976
    assert {"97", "99"} <= departments
    assert len(cards.FAMILY_NAMES) >= 100
    assert len(set(cards.MALE_GIVEN_NAMES)) >= 100
    assert len(set(cards.FEMALE_GIVEN_NAMES)) >= 100


def test_breakdown_sums_to_the_token() -> None:
    bench = qr_sizes.Bench(1)
    family5 = json.loads(qr_sizes.FAMILY5.read_text(encoding="utf-8"))
    if not INS:
        family5 = _without_ins(family5)
    checked = 0
    for number, card_json in enumerate(
        [family5, *cards.generate_cards(10, SEED, ins=INS)], start=-1
    ):
        card = Card.from_json(card_json)
        samples, texts = bench.present_card(card, number)
        for sample, text in zip(samples, texts, strict=True):
            token = decode_qr_text(text)
            tally = qr_sizes.breakdown(token)
            assert tally.total == len(token) == sample.token_bytes
            assert sum(tally.fields.values()) == len(token)
            assert set(tally.categories) <= set(qr_sizes.CATEGORIES)
            assert tally.categories["signatures"] == 128
            assert tally.categories["nonce"] == NONCE_LENGTH
            unnamed = [f for f in tally.fields if "(" in f and not f.endswith(".(map)")]
            assert not unnamed, f"labels the breakdown does not know: {unnamed}"
            checked += 1
    assert checked >= 15


def test_status_adapter_builds_a_reference() -> None:
    reference = qr_sizes.status_reference(7, 1234)
    assert reference.idx == 1234


def test_version_table_agrees_with_segno() -> None:
    segno = pytest.importorskip("segno")
    for chars in (1, 16, 17, 426, 427, 531, 532, 574, 575, 644, 645, 702, 703, 2420):
        text = "VC1:" + "A" * (chars - 4) if chars > 4 else "A" * chars
        made = segno.make(text, error="q", micro=False, boost_error=False)
        assert made.version == qr_sizes.qr_version_q(chars), chars
    with pytest.raises(ValueError, match="version-40"):
        qr_sizes.qr_version_q(2421)


def test_smoke_run(tmp_path: Path) -> None:
    out, md = tmp_path / "qr.json", tmp_path / "qr.md"
    assert qr_sizes.main(["--cards", "20", "--seed", "3", "--json", str(out), "--md", str(md)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["settings"]["cards"] == 20
    assert results["settings"]["ins"] is INS
    total = results["presentations"]
    assert total == sum(results["version_histogram"].values())
    assert total == sum(int(k) * v for k, v in results["cards_by_beneficiaries"].items())
    shares = sum(c["share"] for c in results["breakdown"].values())
    assert shares == pytest.approx(1, abs=1e-3)
    means = sum(c["mean_bytes"] for c in results["breakdown"].values())
    assert means == pytest.approx(results["token_bytes"]["mean"], abs=0.1)
    chars = results["qr_chars"]
    assert chars["min"] <= chars["median"] <= chars["p95"] <= chars["max"]
    assert len(results["family5"]) == 5
    assert "# QR size on random cards" in md.read_text(encoding="utf-8")
