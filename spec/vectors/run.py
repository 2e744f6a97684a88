#!/usr/bin/env python3
"""Run the conformance vectors against an implementation; report per area and code.

Standalone, standard library only: copy it next to the vectors and run

    python3 run.py --adapter "CMD" [--json] [DIR]

``DIR`` defaults to the directory of this script. For each case the runner starts
``CMD`` (split like a shell command line, no shell involved), writes the case -- one
JSON object, exactly as it appears in the vector file -- on its standard input,
closes it, and reads one JSON object from the last non-empty line of its standard
output (``README.md`` section 6 gives the result forms). Exit status 0 when no case
failed, 1 when one did, 2 when the vectors or the command line are unusable.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "ADAPTER_TIMEOUT",
    "Outcome",
    "Report",
    "VectorFileError",
    "check",
    "compare",
    "load_cases",
    "main",
    "run",
    "subprocess_adapter",
]

#: Seconds an adapter process may take for one case.
ADAPTER_TIMEOUT = 60


class VectorFileError(ValueError):
    """A vector directory or file that cannot be read as vectors."""


Case = dict[str, Any]
Adapter = Callable[[Case], dict[str, Any]]


def _check_case(path: Path, number: int, case: Any) -> Case:
    """``case`` if it has what :func:`compare` and the report read, else the file's error."""
    where = f"{path}: case {number}"
    if not isinstance(case, dict) or not isinstance(case.get("id"), str):
        raise VectorFileError(f"{where} is not an object with a string id")
    expected = case.get("expected")
    if not isinstance(expected, dict) or expected.get("result") not in ("valid", "invalid"):
        raise VectorFileError(f"{where} ({case['id']}): expected.result must be valid or invalid")
    if expected["result"] == "invalid" and not isinstance(expected.get("code"), str):
        raise VectorFileError(f"{where} ({case['id']}): an invalid result needs a code")
    return case


def load_cases(directory: Path) -> list[tuple[str, Case]]:
    """Every case of every ``*.json`` vector file of ``directory``: (area, case).

    A file that is not a vector file (unreadable, not JSON, a case without its
    expected result or code) raises :class:`VectorFileError` naming it.
    """
    out: list[tuple[str, Case]] = []
    for path in sorted(directory.glob("*.json")):
        try:
            document = json.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise VectorFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise VectorFileError(f"{path} is not a JSON vector file") from exc
        if not isinstance(document, dict) or not isinstance(document.get("cases", []), list):
            raise VectorFileError(f"{path} is not a vector file (an object with a cases list)")
        area = document.get("area", path.stem)
        if not isinstance(area, str):
            raise VectorFileError(f"{path}: area must be a string")
        cases = document.get("cases", [])
        out.extend((area, _check_case(path, i, case)) for i, case in enumerate(cases, 1))
    return out


def _describe(result: Mapping[str, Any]) -> str:
    kind = result.get("result")
    if kind == "invalid":
        return f"invalid {result.get('code')}"
    if kind in ("error", "skipped"):
        return f"{kind} ({result.get('message') or result.get('reason') or ''})"
    return str(kind)


def _expected_transcript(case: Case) -> list[str] | None:
    exchanges = case.get("input", {}).get("exchanges")
    if exchanges is None:
        return None
    side = "command" if case.get("operation") == "nfc_reader" else "response"
    return [e[side].lower() for e in exchanges]


def _first_difference(expected: Any, actual: Any, path: str) -> str | None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            if key not in actual:
                return f"{path}.{key} missing"
            difference = _first_difference(expected[key], actual[key], f"{path}.{key}")
            if difference:
                return difference
        return None
    if expected != actual:
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


def compare(case: Case, result: Mapping[str, Any]) -> tuple[str, str]:
    """("pass" | "fail" | "skip", reason) for one case and the adapter's result."""
    expected = case["expected"]
    kind = result.get("result")
    if kind == "skipped":
        return "skip", str(result.get("reason", ""))
    want = "valid" if expected["result"] == "valid" else f"invalid {expected['code']}"
    if kind != expected["result"] or (kind == "invalid" and result.get("code") != expected["code"]):
        return "fail", f"expected {want}, got {_describe(result)}"
    if kind == "valid":
        actual = result.get("fields")
        if not isinstance(actual, dict):
            return "fail", "valid result without fields"
        difference = _first_difference(expected.get("fields", {}), actual, "fields")
        if difference:
            return "fail", difference
    transcript = _expected_transcript(case)
    if transcript is not None:
        sent = result.get("transcript")
        if not isinstance(sent, list):
            return "fail", "NFC case: the result carries no transcript"
        if [str(s).lower() for s in sent] != transcript:
            return "fail", "NFC transcript differs from the recorded exchanges"
    steps = result.get("steps")
    if isinstance(steps, dict) and "steps" in expected:
        difference = _first_difference(expected["steps"], steps, "steps")
        if difference:
            return "fail", difference
    return "pass", ""


@dataclass(frozen=True)
class Outcome:
    """One case's verdict."""

    area: str
    case_id: str
    code: str | None
    status: str
    reason: str


@dataclass
class Report:
    """Verdicts of a run, with per-area and per-code counts."""

    outcomes: list[Outcome] = field(default_factory=list)

    def _counts(self, key: Callable[[Outcome], str | None]) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            name = key(outcome)
            if name is None:
                continue
            row = table.setdefault(name, {"cases": 0, "pass": 0, "fail": 0, "skip": 0})
            row["cases"] += 1
            row[outcome.status] += 1
        return dict(sorted(table.items()))

    @property
    def by_area(self) -> dict[str, dict[str, int]]:
        """Counts per area."""
        return self._counts(lambda o: o.area)

    @property
    def by_code(self) -> dict[str, dict[str, int]]:
        """Counts per expected error code (invalid cases only)."""
        return self._counts(lambda o: o.code)

    def total(self, status: str) -> int:
        """Number of cases with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "cases": len(self.outcomes),
            "passed": self.total("pass"),
            "failed": self.total("fail"),
            "skipped": self.total("skip"),
            "areas": self.by_area,
            "codes": self.by_code,
            "failures": [
                {"id": o.case_id, "area": o.area, "reason": o.reason}
                for o in self.outcomes
                if o.status == "fail"
            ],
        }

    def render(self) -> str:
        """The report as text tables."""
        lines = []
        for title, table in (("area", self.by_area), ("error code", self.by_code)):
            width = max([len(title), *(len(k) for k in table)])
            lines.append(f"{title:<{width}}  cases   pass   fail   skip")
            for name, row in table.items():
                lines.append(
                    f"{name:<{width}}  {row['cases']:5d}  {row['pass']:5d}  "
                    f"{row['fail']:5d}  {row['skip']:5d}"
                )
            lines.append("")
        for outcome in self.outcomes:
            if outcome.status != "pass":
                lines.append(f"{outcome.status.upper()} {outcome.case_id}: {outcome.reason}")
        lines.append(
            f"{len(self.outcomes)} cases: {self.total('pass')} passed, "
            f"{self.total('fail')} failed, {self.total('skip')} skipped"
        )
        return "\n".join(lines)


def subprocess_adapter(command: str, timeout: float = ADAPTER_TIMEOUT) -> Adapter:
    """An adapter that runs ``command`` once per case (case on stdin, result on stdout)."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("empty adapter command")

    def adapter(case: Case) -> dict[str, Any]:
        try:
            process = subprocess.run(
                argv,
                input=json.dumps(case),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"result": "error", "message": f"adapter did not run: {exc}"}
        lines = [line for line in process.stdout.splitlines() if line.strip()]
        if not lines:
            detail = process.stderr.strip().splitlines()[-1:] or [f"exit {process.returncode}"]
            return {"result": "error", "message": f"adapter printed nothing ({detail[0]})"}
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            return {"result": "error", "message": "adapter output is not JSON"}
        if not isinstance(result, dict):
            return {"result": "error", "message": "adapter output is not a JSON object"}
        return result

    return adapter


def run(cases: Iterable[tuple[str, Case]], adapter: Adapter) -> Report:
    """Run every case through ``adapter``."""
    report = Report()
    for area, case in cases:
        result = adapter(case)
        status, reason = compare(case, result)
        code = case["expected"].get("code")
        report.outcomes.append(Outcome(area, case["id"], code, status, reason))
    return report


def check(directory: Path, adapter: Adapter, out: TextIO, json_out: bool) -> int:
    """Run the vectors of ``directory`` through ``adapter`` and print the report.

    0 if every case passed (or was skipped), 1 otherwise, 2 if ``directory`` holds
    no vectors.
    """
    cases = load_cases(Path(directory))
    if not cases:
        print(f"no vectors in {directory}", file=out)
        return 2
    report = run(cases, adapter)
    if json_out:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True), file=out)
    else:
        print(report.render(), file=out)
    return 0 if report.total("fail") == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """``python3 run.py --adapter CMD [--json] [DIR]``."""
    parser = argparse.ArgumentParser(
        prog="run.py", description="Check an implementation against the conformance vectors."
    )
    parser.add_argument(
        "directory",
        nargs="?",
        default=str(Path(__file__).resolve().parent),
        help="directory of *.json vector files (default: this script's directory)",
    )
    parser.add_argument(
        "--adapter", required=True, help='command that runs one case, e.g. "node adapter.mjs"'
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        adapter = subprocess_adapter(args.adapter)
        return check(Path(args.directory), adapter, sys.stdout, args.json)
    except (VectorFileError, ValueError) as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
