"""Generate the conformance vectors (``python -m tools.vectors generate DIR``).

The output is the same, byte for byte, on every run and every platform: keys,
nonces and certificates are derived from fixed labels (:mod:`._material`), ECDSA
signatures are deterministic (RFC 6979), compressed bytes come from a fixed
encoder, and the JSON is written with sorted keys, an indent of 2 and a final
newline. ``tests/test_vectors.py`` regenerates the files and compares them with
``spec/vectors/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.vectors._build import CaseList
from tools.vectors._material import Material
from tools.vectors._readme import EXCLUDED_CODES, render_readme
from tools.vectors.cases import (
    apdu,
    cbor,
    cose,
    credential,
    evidence,
    nfc,
    presentation,
    qr,
    statement,
    status,
    trust,
    trustlist,
)

__all__ = ["AREAS", "EXCLUDED_CODES", "generate", "main_generate", "render"]

#: The case modules, in the order of the README.
AREAS: tuple[ModuleType, ...] = (
    cbor,
    qr,
    cose,
    credential,
    presentation,
    trust,
    trustlist,
    status,
    statement,
    apdu,
    nfc,
    evidence,
)

#: Version of the vector file format.
FORMAT_VERSION = 1


def render(document: Any) -> str:
    """The canonical JSON text of a vector file."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """Every file of the vector directory: name -> text."""
    mat = Material()
    lists: list[tuple[ModuleType, CaseList]] = []
    for module in AREAS:
        builder: Callable[[Material], CaseList] = module.build
        lists.append((module, builder(mat)))
    files: dict[str, str] = {}
    for module, cases in lists:
        files[f"{cases.area}.json"] = render(
            {
                "area": cases.area,
                "description": module.DESCRIPTION,
                "format_version": FORMAT_VERSION,
                "protocol_version": 1,
                "cases": cases.cases,
            }
        )
    files["README.md"] = render_readme(
        [cases for _, cases in lists],
        {cases.area: module.DESCRIPTION for module, cases in lists},
    )
    return files


def main_generate(out_dir: Path) -> int:
    """Write the vectors to ``out_dir`` (created if needed); 0 on success."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (out / name).write_bytes(text.encode("utf-8"))
    return 0
