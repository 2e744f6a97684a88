"""``python -m tools.vectors generate DIR`` and ``python -m tools.vectors check DIR``.

``generate`` writes the vectors (byte for byte reproducible). ``check`` runs every
vector through this library in-process, or through ``--adapter CMD`` (another
implementation, one case JSON on stdin and one result JSON on stdout), and prints a
pass/fail table per area and per error code. Exit status: 0 when no case failed, 1
when one did, 2 for an unusable command line or vector directory.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tools.vectors.generate import main_generate
from tools.vectors.runner import VectorFileError, check, load_cases, subprocess_adapter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.vectors",
        description="Generate the conformance vectors, or check an implementation against them.",
        epilog="example: python -m tools.vectors check spec/vectors --adapter 'java -jar r.jar'",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="write the vectors into DIR")
    generate.add_argument("dir")
    verify = actions.add_parser("check", help="run every vector; a pass/fail table per area")
    verify.add_argument("dir")
    verify.add_argument(
        "--adapter",
        help="command of another implementation (one case JSON on stdin, one result JSON "
        "on stdout); default: this library, in-process",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    if args.action == "generate":
        if directory.exists() and not directory.is_dir():
            parser.error(f"{directory} is not a directory")
        print(f"generating conformance vectors into {directory}...", file=sys.stderr, flush=True)
        code = main_generate(directory)
        print(f"{len(list(directory.glob('*.json')))} vector files written to {directory}")
        return code
    if not directory.is_dir():
        parser.error(f"{directory} is not a directory of vectors")
    if args.adapter is None:
        from tools.vectors.adapter_self import run_case

        adapter = run_case
    else:
        try:
            words = shlex.split(args.adapter)
        except ValueError as exc:
            parser.error(f"--adapter is not a command line: {exc}")
        if not words:
            parser.error("--adapter is empty")
        adapter = subprocess_adapter(args.adapter)
    try:
        if not load_cases(directory):
            parser.error(f"no vectors (*.json files with cases) in {directory}")
        return int(check(directory, adapter, sys.stdout, args.json))
    except VectorFileError as exc:
        print(f"python -m tools.vectors: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
