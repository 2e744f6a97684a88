"""The conformance vectors of spec/vectors: reproducible, complete, and passed.

* the generator reproduces the committed files byte for byte;
* every case runs against this library as its own test (``file:id``);
* every error code an input can trigger has a vector;
* the runner and the subprocess adapter protocol work end to end.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.vectors import runner
from tools.vectors.adapter_self import run_case
from tools.vectors.generate import EXCLUDED_CODES, generate, main_generate
from vitale_cred.errors import all_error_classes

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "spec" / "vectors"


def _load() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        for case in json.loads(path.read_text("utf-8"))["cases"]:
            out.append((path.name, case))
    return out


CASES = _load()
REGISTRY = {cls.code for cls in all_error_classes()}


# --- reproducibility -------------------------------------------------------------------


def test_generation_is_byte_identical(tmp_path: Path) -> None:
    assert main_generate(tmp_path) == 0
    generated = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    # run.py is the standalone runner, written by hand and shipped with the vectors.
    committed = {
        p.name: p.read_bytes() for p in VECTORS.iterdir() if p.is_file() and p.name != "run.py"
    }
    assert sorted(generated) == sorted(committed), "files differ: regenerate spec/vectors"
    changed = [name for name in generated if generated[name] != committed[name]]
    details = []
    for name in changed:
        if not name.endswith(".json"):
            details.append(name)
            continue
        new = {c["id"]: c for c in json.loads(generated[name])["cases"]}
        old = {c["id"]: c for c in json.loads(committed[name])["cases"]}
        differing = sorted(i for i in new.keys() | old.keys() if new.get(i) != old.get(i))
        details.append(f"{name}: {differing[:5]}{' ...' if len(differing) > 5 else ''}")
    assert not changed, (
        "spec/vectors is not what the generator produces; run "
        "`python -m tools.vectors generate spec/vectors` and review the diff: " + "; ".join(details)
    )


def test_generation_is_deterministic_in_process() -> None:
    assert generate() == generate()


# --- every case, as its own test ---------------------------------------------------------


@pytest.mark.parametrize(
    "case", [case for _, case in CASES], ids=[f"{name}:{case['id']}" for name, case in CASES]
)
def test_vector(case: dict[str, Any]) -> None:
    result = run_case(case)
    status, reason = runner.compare(case, result)
    assert status == "pass", reason


# --- coverage ------------------------------------------------------------------------------


def test_sections_exist_in_the_spec() -> None:
    headings = set()
    for document in (ROOT / "spec").glob("*.md"):
        text = document.read_text("utf-8")
        for match in re.finditer(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", text, re.MULTILINE):
            headings.add(f"{document.name}#{match.group(1)}")
    unknown = sorted({c["section"] for _, c in CASES} - headings)
    assert not unknown, f"vectors cite sections the spec does not have: {unknown}"


def test_enough_cases_with_unique_ids() -> None:
    ids = [case["id"] for _, case in CASES]
    assert len(ids) >= 150
    assert len(ids) == len(set(ids))


def test_every_reachable_error_code_has_a_vector() -> None:
    covered = {c["expected"]["code"] for _, c in CASES if c["expected"]["result"] == "invalid"}
    missing = REGISTRY - covered - set(EXCLUDED_CODES)
    assert not missing, (
        f"error codes without a vector (add one, or exclude with a reason): {missing}"
    )
    assert covered <= REGISTRY, f"vectors expect unregistered codes: {covered - REGISTRY}"
    assert set(EXCLUDED_CODES) <= REGISTRY, "excluded codes no longer in the registry"
    assert not covered & set(EXCLUDED_CODES), "a code is both excluded and covered"


@pytest.mark.parametrize("alg", [-7, -35, -8])
def test_valid_cases_for_every_issuer_algorithm(alg: int) -> None:
    found = [
        c["id"]
        for _, c in CASES
        if c["expected"]["result"] == "valid"
        and c["operation"] in ("verify_qr", "verify_credential", "verify_presentation")
        and c.get("keys", {}).get("issuer", {}).get("alg") == alg
    ]
    assert len(found) >= 2, found


@pytest.mark.parametrize("extended", [True, False])
def test_valid_nfc_cases_for_both_length_modes(extended: bool) -> None:
    def mode(case: dict[str, Any]) -> bool:
        return bool(case[case["operation"][4:]]["extended_length"])

    found = [
        c["id"]
        for _, c in CASES
        if c["operation"] in ("nfc_reader", "nfc_holder")
        and c["expected"]["result"] == "valid"
        and mode(c) is extended
    ]
    assert len(found) >= 2, found


# --- runner and adapter protocol -------------------------------------------------------------


def _subset() -> list[tuple[str, dict[str, Any]]]:
    """The first valid and the first invalid case of every operation."""
    picked: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for name, case in CASES:
        picked.setdefault((case["operation"], case["expected"]["result"]), (name, case))
    return list(picked.values())


def test_subprocess_adapter_passes_a_subset() -> None:
    adapter = runner.subprocess_adapter(f"{sys.executable} -m tools.vectors.adapter_self")
    cases = [(name.removesuffix(".json"), case) for name, case in _subset()]
    report = runner.run(cases, adapter)
    failures = [o for o in report.outcomes if o.status != "pass"]
    assert not failures, failures
    assert len(report.outcomes) >= 20


def test_check_reports_per_area_and_code(tmp_path: Path) -> None:
    shutil.copy(VECTORS / "qr.json", tmp_path / "qr.json")
    out = io.StringIO()
    assert runner.check(tmp_path, run_case, out, False) == 0
    text = out.getvalue()
    assert "area" in text and "qr.bad_prefix" in text and "0 failed" in text


def test_check_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    document = json.loads((VECTORS / "cbor.json").read_text("utf-8"))
    document["cases"] = document["cases"][:3]
    document["cases"][0]["expected"] = {"result": "invalid", "code": "cbor.malformed"}
    (tmp_path / "cbor.json").write_text(json.dumps(document), "utf-8")
    out = io.StringIO()
    assert runner.check(tmp_path, run_case, out, True) == 1
    report = json.loads(out.getvalue())
    assert report["failed"] == 1 and report["passed"] == 2
    assert report["failures"][0]["id"] == document["cases"][0]["id"]
    assert report["codes"]["cbor.malformed"]["fail"] == 1


def test_check_without_vectors(tmp_path: Path) -> None:
    assert runner.check(tmp_path, run_case, io.StringIO(), False) == 2


def test_adapter_errors_and_skips_are_reported() -> None:
    case = CASES[0][1]
    assert runner.compare(case, {"result": "skipped", "reason": "no"})[0] == "skip"
    assert runner.compare(case, {"result": "error", "message": "boom"})[0] == "fail"
    assert run_case({"operation": "no_such_operation"})["result"] == "skipped"
    broken = {**case, "input": {"cbor": "zz"}}
    assert run_case(broken)["result"] == "error"


def test_nfc_transcript_must_match() -> None:
    case = next(c for _, c in CASES if c["operation"] == "nfc_reader")
    result = run_case(case)
    assert runner.compare(case, result)[0] == "pass"
    tampered = {**result, "transcript": [*result["transcript"][:-1], "00"]}
    assert runner.compare(case, tampered)[0] == "fail"
    assert runner.compare(case, {k: v for k, v in result.items() if k != "transcript"})[0] == (
        "fail"
    )


def test_the_standalone_runner_needs_only_the_standard_library(tmp_path: Path) -> None:
    """``spec/vectors/run.py`` runs from a copy outside the repository, in isolated mode."""
    shutil.copy(runner.RUN_PY, tmp_path / "run.py")
    shutil.copy(VECTORS / "qr.json", tmp_path / "qr.json")
    adapter = f"{sys.executable} -m tools.vectors.adapter_self"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "run.py"), "--adapter", adapter, "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["failed"] == 0
    imports = [
        line
        for line in runner.RUN_PY.read_text("utf-8").splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert not [line for line in imports if "vitale" in line or "tools" in line], imports


def test_python_m_tools_vectors_check(tmp_path: Path) -> None:
    shutil.copy(VECTORS / "cbor.json", tmp_path / "cbor.json")
    done = subprocess.run(
        [sys.executable, "-m", "tools.vectors", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "0 failed" in done.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "tools.vectors", "check", str(empty)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 2 and "no vectors" in done.stderr


def test_python_m_tools_vectors_check_names_a_case_without_its_code(tmp_path: Path) -> None:
    document = json.loads((VECTORS / "cbor.json").read_text("utf-8"))
    invalid = next(c for c in document["cases"] if c["expected"]["result"] == "invalid")
    del invalid["expected"]["code"]
    document["cases"] = [invalid]
    (tmp_path / "cbor.json").write_text(json.dumps(document), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tools.vectors", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 2
    assert "needs a code" in done.stderr and "Traceback" not in done.stderr
