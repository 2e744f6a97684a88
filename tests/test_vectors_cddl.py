"""Every CBOR structure marked in the conformance vectors, checked against spec/cddl.

Each case of ``spec/vectors/*.json`` lists its CBOR structures in ``cddl``: a path
inside the case, a rule name of ``spec/cddl`` and whether the structure must
conform. They are validated with pycddl, an independent (Rust) CDDL implementation,
through the workarounds of ``tests/test_cddl.py`` (:func:`test_cddl.check`), which
document where pycddl 0.6.4 departs from RFC 8610.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "spec" / "vectors"
CDDL = ROOT / "spec" / "cddl"
_RULE = re.compile(r"^([a-z][a-z0-9-]*)\s*=", re.MULTILINE)


def _marks() -> list[tuple[str, str, str, bool]]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        for case in json.loads(path.read_text("utf-8"))["cases"]:
            for mark in case.get("cddl", []):
                out.append((case["id"], mark["path"], mark["rule"], bool(mark["conforms"])))
    return out


def _cases() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(VECTORS.glob("*.json")):
        for case in json.loads(path.read_text("utf-8"))["cases"]:
            out[case["id"]] = case
    return out


def _defined_rules() -> set[str]:
    return {m.group(1) for f in CDDL.glob("*.cddl") for m in _RULE.finditer(f.read_text("utf-8"))}


def _resolve(case: dict[str, Any], path: str) -> bytes:
    value: Any = case
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    assert isinstance(value, str), f"{path} is not a hex string"
    return bytes.fromhex(value)


MARKS = _marks()
CASES = _cases()
#: Structures that RFC 8610 rejects and pycddl 0.6.4 accepts (not worked around in
#: tests/test_cddl.py): the expectation stands, the validator is at fault.
PYCDDL_GAPS = {
    ("credential-exp-negative", "intermediate.credential_payload"): (
        "pycddl 0.6.4 accepts a negative integer for `uint .lt N` (posix-time)"
    ),
    ("credential-ins-unknown-label", "intermediate.credential_payload"): (
        "pycddl 0.6.4 accepts an unknown key in a map whose members are all optional (ins)"
    ),
}


def test_spec_cddl_exists() -> None:
    assert CDDL.is_dir() and any(CDDL.glob("*.cddl")), (
        "spec/cddl/*.cddl is missing: the CBOR structures of spec/vectors cannot be "
        "validated against the CDDL of the specification"
    )


def test_vectors_mark_structures() -> None:
    assert MARKS, "no case of spec/vectors lists a CBOR structure in `cddl`"
    rules = {rule for _, _, rule, _ in MARKS}
    assert {"credential", "claims", "presentation", "proof", "bundle", "trust-list"} <= rules


@pytest.mark.parametrize(
    ("case_id", "path", "rule", "conforms"),
    MARKS,
    ids=[f"{case_id}:{path}" for case_id, path, _, _ in MARKS],
)
def test_structure(case_id: str, path: str, rule: str, conforms: bool) -> None:
    if rule not in _defined_rules():
        pytest.skip(f"spec/cddl defines no rule {rule!r} yet")
    pycddl = pytest.importorskip("pycddl")
    test_cddl = pytest.importorskip("test_cddl", reason="tests/test_cddl.py holds the workarounds")
    data = _resolve(CASES[case_id], path)
    gap = PYCDDL_GAPS.get((case_id, path))
    if gap is not None:
        pytest.xfail(gap)
    if conforms:
        test_cddl.check(data, rule)
    else:
        with pytest.raises(pycddl.ValidationError):
            test_cddl.check(data, rule)
