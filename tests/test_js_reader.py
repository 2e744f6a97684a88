"""The JavaScript reader (examples/js-reader) passes the vector files it claims.

Runs ``spec/vectors/run.py`` with the reader's adapter (``node adapter.mjs``) over
each claimed file, the files in parallel (the runner starts Node once per case).
Skipped only when Node is not installed; ``npm ci`` is run when the reader's
dependencies are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

READER = ROOT / "examples" / "js-reader"
VECTORS = ROOT / "spec" / "vectors"
ADAPTER = "node examples/js-reader/adapter.mjs"
#: Every operation of these files is implemented: none of their cases may be skipped.
CLAIMED = ("qr", "cbor", "cose", "credential", "presentation", "trust")
#: Files the reader does not claim: each case must come back skipped, with a reason.
NOT_CLAIMED = ("trustlist", "status", "statement", "apdu", "nfc")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="Node.js is not installed (examples/js-reader/ci.sh installs it from Debian)",
)


@pytest.fixture(scope="module")
def reader() -> Path:
    """The reader, its npm dependencies installed from the committed lockfile."""
    if not (READER / "node_modules" / "@auth0" / "cose").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is installed but npm is not: cannot install examples/js-reader")
        done = subprocess.run(
            [npm, "ci", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=READER,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in examples/js-reader:\n{done.stdout}\n{done.stderr}")
    return READER


def _run_file(name: str, tmp: Path) -> dict[str, Any]:
    """The runner's JSON report for one vector file."""
    directory = tmp / name
    directory.mkdir()
    shutil.copy(VECTORS / f"{name}.json", directory)
    done = subprocess.run(
        [sys.executable, "spec/vectors/run.py", "--json", "--adapter", ADAPTER, str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise AssertionError(f"run.py failed on {name}.json: {done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_the_reader_passes_every_case_of_the_files_it_claims(reader: Path, tmp_path: Path) -> None:
    del reader
    workers = max(1, min(len(CLAIMED), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        reports = dict(
            zip(CLAIMED, pool.map(lambda n: _run_file(n, tmp_path), CLAIMED), strict=True)
        )
    problems = []
    for name, report in reports.items():
        cases = len(json.loads((VECTORS / f"{name}.json").read_text("utf-8"))["cases"])
        problems += [f"{name}: {f['id']}: {f['reason']}" for f in report["failures"]]
        if report["skipped"]:
            problems.append(f"{name}: {report['skipped']} cases skipped")
        if report["passed"] != cases:
            problems.append(f"{name}: {report['passed']} of {cases} cases passed")
    assert not problems, "\n".join(problems)


def test_the_files_it_does_not_claim_are_skipped_with_a_reason(reader: Path) -> None:
    del reader
    for name in NOT_CLAIMED:
        case = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))["cases"][0]
        done = subprocess.run(
            ["node", "adapter.mjs"],
            cwd=READER,
            input=json.dumps(case),
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["result"] == "skipped", (name, result)
        assert result["reason"], name
