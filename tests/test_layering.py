"""Imports go downward only: read every module's imports and check them against the layers.

The layers are those of the architecture (DESIGN.md): registries and errors at the
bottom, the strict CBOR and COSE layers above them, the model, keys and trust, the
recipes, the verifier, the NFC protocol, and the tools on top that nothing imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "vitale_cred"

LAYERS: dict[str, int] = {
    "errors": 0,
    "registry": 0,
    "clock": 1,
    # Sealed verified results: below device (layer 3), the lowest producer of one.
    "_sealed": 1,
    "_cbor": 1,
    "_zlib": 1,
    # Typed errors for local files and the private-key writer: errors only.
    "_files": 1,
    "base45": 1,
    "apdu": 1,
    "nir": 1,
    "qrimage": 1,
    # Above clock: its margins are the largest skew that clock.py defines.
    "replay": 2,
    "cose": 2,
    # Persisted high-water marks and the guarded clock: above clock, below the
    # trust-list reader and the status checker that consult it.
    "state": 2,
    "qrtext": 2,
    "ins": 2,
    # Above ins, which it holds per beneficiary.
    "model": 3,
    "pki": 3,
    "device": 3,
    "hsm": 3,
    "trust": 4,
    "status": 5,
    "trustlist": 5,
    "statement": 5,
    "credential": 6,
    "presentation": 7,
    "verify": 8,
    "nfc": 9,
    "inspect": 9,
    "pcsc": 10,
}
#: Tools on top: they may import anything; nothing in the library imports them.
TOP = {"cli", "demo", "bench", "conformance", "__init__", "__main__"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """First-level package modules imported by ``path`` (relative or absolute)."""
    tree = ast.parse(path.read_text("utf-8"))
    depth = len(path.relative_to(PACKAGE).parts) - 1
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level <= depth:  # within a subpackage: same top-level module
                    continue
                module = node.module or ""
                names = [module.split(".")[0]] if module else [a.name for a in node.names]
            elif node.module and node.module.startswith("vitale_cred."):
                names = [node.module.split(".")[1]]
            elif node.module == "vitale_cred":
                names = [a.name for a in node.names]
            else:
                continue
            out.update(n for n in names if n and n != "__version__")
    return out


def test_every_module_has_a_layer() -> None:
    names = {_name(p) for p in _modules()}
    assert names - TOP <= set(LAYERS), sorted(names - TOP - set(LAYERS))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_downward_only(path: Path) -> None:
    module = _name(path)
    for imported in _imports(path):
        assert imported not in TOP - {"__init__"} or module in TOP, (
            f"{module} imports the tool {imported}"
        )
        if module in TOP or imported in TOP:
            continue
        assert LAYERS[imported] < LAYERS[module], (
            f"{module} (layer {LAYERS[module]}) imports {imported} (layer {LAYERS[imported]})"
        )


def test_the_demo_does_not_import_the_command_line() -> None:
    assert "cli" not in _imports(PACKAGE / "demo.py")
