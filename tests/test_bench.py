"""Smoke test of the performance suite: ``--quick`` runs and its JSON has the agreed shape.

Nothing about time is asserted: a loaded CI machine must not fail this test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from benchmarks import suite as bench


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("bench") / "results.json"
    assert bench.main(["--quick", "--json", str(path)]) == 0
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def test_quick_mode_is_recorded(results: dict[str, Any]) -> None:
    assert results["settings"]["quick"] is True
    assert results["settings"]["gc"]
    assert results["method"]


def test_every_row_has_a_time_a_rate_and_a_ratio(results: dict[str, Any]) -> None:
    names = {row["name"] for row in results["rows"]}
    for row in results["rows"]:
        assert row["median_us"] > 0, row["name"]
        assert row["ops"] > 0, row["name"]
        assert isinstance(row["ratio"], float), row["name"]
        assert row["ratio"] > 0, row["name"]
        assert row["baseline"] in names, row["name"]
        assert row["baseline_factor"] >= 1, row["name"]


def test_the_core_rows_are_present(results: dict[str, Any]) -> None:
    names = {row["name"] for row in results["rows"]}
    for expected in (
        "floor.es256.verify",
        "floor.p256.load_xy",
        "floor.p256.load_compressed",
        "floor.presentation",
        "floor.warm",
        "ours.cose.verify.credential.es256",
        "ours.credential.verify.cold.es256",
        "ours.verify.qr.cold",
        "ours.verify.token.cold",
        "ours.verify.qr.warm",
        "ours.issue.credential",
        "ours.issue.family5",
        "ours.present.token",
        "ours.present.qr",
        "ours.base45.encode",
        "ours.base45.decode",
        "ours.cbor.decode",
        "scale.verify_many.1worker",
        "scale.verify_many.2workers",
    ):
        assert expected in names


def test_targets_are_reported_as_booleans(results: dict[str, Any]) -> None:
    targets = {t["name"]: t for t in results["targets"]}
    assert set(targets) == {name for name, *_ in bench.TARGETS}
    for target in targets.values():
        if target["measured"]:
            assert isinstance(target["pass"], bool), target["name"]
            assert target["value"] > 0
        else:
            assert target["pass"] is None
    for always in ("qr_cold_vs_floor", "qr_warm_vs_floor", "scaling_2_workers"):
        assert isinstance(targets[always]["pass"], bool)


def test_sizes_and_status_sections(results: dict[str, Any]) -> None:
    sizes = results["sizes"]
    assert [s["beneficiaries"] for s in sizes] == list(range(1, 13))
    for size in sizes:
        assert 0 < size["qr_chars"]["min"] <= size["qr_chars"]["median"] <= size["qr_chars"]["max"]
        assert size["credential_bytes"]["min"] > size["compact_credential_bytes"]["min"]
    assert {s["entries"] for s in results["status"]} == {1_000_000}
    assert results["scaling"]["speedup_2_vs_1"] > 0
    assert results["latency"]


def test_markdown_names_every_row(results: dict[str, Any]) -> None:
    report = bench.markdown(results)
    for row in results["rows"]:
        assert f"`{row['name']}`" in report
    assert "## Targets" in report


def test_an_output_that_is_a_directory_is_refused_before_measuring(tmp_path: Path) -> None:
    with (
        mock.patch("benchmarks.suite.run", side_effect=AssertionError("measured")) as measure,
        pytest.raises(SystemExit) as exit_info,
    ):
        bench.main(["--quick", "--json", str(tmp_path)])
    assert exit_info.value.code == 2
    measure.assert_not_called()
