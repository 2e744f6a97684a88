"""The wheel holds the library alone: no vector generator, no label-derived keys, no benchmark.

Built once with ``pip wheel`` (the project's own build backend) and read as a zip.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

#: Subpackages of the library; anything else under vitale_cred/ is a module file.
SUBPACKAGES = {"adapters", "audit", "cli", "data", "hazmat", "nfc", "service"}
#: The reception page of the reader service: plain files, the only non-Python ones.
SERVICE_STATIC = {"index.html", "page.js", "page.css", "verdict.schema.json"}
#: What only tools contain: the generator's key derivation label and its modules.
TOOL_MARKERS = (b"vitale-vectors/", b"import_module(", b"tools.vectors", b"benchmarks")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = out.glob("vitale_cred-*.whl")
    return zipfile.ZipFile(path)


def _library_files(wheel: zipfile.ZipFile) -> list[str]:
    return [n for n in wheel.namelist() if not n.startswith("vitale_cred-")]


def test_the_wheel_holds_only_the_package_and_its_metadata(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert all(n.startswith(("vitale_cred/", "vitale_cred-")) for n in names), names
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"vitale-cred = vitale_cred.cli.app:main" in entry_points


def test_every_library_file_is_source_typing_marker_or_the_demo_card(
    wheel: zipfile.ZipFile,
) -> None:
    for name in _library_files(wheel):
        parts = Path(name).parts
        assert parts[0] == "vitale_cred"
        if len(parts) > 2:
            assert parts[1] in SUBPACKAGES, name
            if parts[1:3] == ("service", "static"):
                assert len(parts) == 4 and parts[3] in SERVICE_STATIC, name
                continue
            assert len(parts) == 3, name
        assert name.endswith(".py") or name in {
            "vitale_cred/py.typed",
            "vitale_cred/data/family5.json",
        }, name


def test_no_tool_ships(wheel: zipfile.ZipFile) -> None:
    files = _library_files(wheel)
    assert not [n for n in files if "conformance" in n or "bench" in n or "_material" in n]
    for name in files:
        data = wheel.read(name)
        for marker in TOOL_MARKERS:
            assert marker not in data, (name, marker)


def test_the_wheel_matches_the_source_tree(wheel: zipfile.ZipFile) -> None:
    """Every module of src/vitale_cred ships, and nothing that is not in it."""
    source = ROOT / "src"
    expected = {
        str(p.relative_to(source))
        for p in (source / "vitale_cred").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert set(_library_files(wheel)) == expected
