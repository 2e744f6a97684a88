"""``python -m benchmarks [--quick] [--json FILE] [--markdown FILE]``.

The suite lives in :mod:`benchmarks.suite`. A full run given neither ``--json``
nor ``--markdown`` writes ``benchmarks/results/results.json`` and ``results.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.suite import main

RESULTS = Path(__file__).resolve().parent / "results"


def _arguments(argv: list[str]) -> list[str]:
    if "--quick" in argv or "--json" in argv or "--markdown" in argv:
        return argv
    return [
        *argv,
        "--json",
        str(RESULTS / "results.json"),
        "--markdown",
        str(RESULTS / "results.md"),
    ]


if __name__ == "__main__":
    sys.exit(main(_arguments(sys.argv[1:])))
