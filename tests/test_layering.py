"""Imports go downward only: read every module's imports and check them against the layers.

Every module of the package, subpackages included, has a layer: registries and errors
at the bottom, the low-level ``hazmat`` layers above them, the model, keys and trust,
the recipes, the verifier, the NFC protocol, the adapters, and the command line on
top, which nothing imports. An import is read from the source (``import``, ``from``,
relative or absolute); importing by name at run time is refused outright, because it
would slip past this test.
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
    # One strict reader of labelled maps, for every structure of the protocol.
    "_schema": 1,
    # The credential payload's usual layout, read by shape (below credential).
    "_payload_reader": 1,
    "hazmat": 1,
    "hazmat.cbor": 1,
    "hazmat.deflate": 1,
    "hazmat.base45": 1,
    "hazmat.apdu": 1,
    "nir": 1,
    # Above clock: its margins are the largest skew that clock.py defines.
    "replay": 2,
    "hazmat.cose": 2,
    "hazmat.session": 2,
    # Persisted high-water marks and the guarded clock: above clock, below the
    # trust-list reader and the status checker that consult it.
    "state": 2,
    "hazmat.qrtext": 2,
    "ins": 2,
    # Above ins, which it holds per beneficiary.
    "model": 3,
    "pki": 3,
    "device": 3,
    "trust": 4,
    "status": 5,
    "trustlist": 5,
    "statement": 5,
    "credential": 6,
    "presentation": 7,
    "verify": 8,
    # Evidence of presence wraps verified results (verify, 8) and gives the NFC roles
    # (nfc.holder, nfc.reader, 10) the request context they put in the transcript.
    "evidence": 9,
    "nfc": 9,
    "nfc._wire": 9,
    "nfc._state": 9,
    "nfc.holder": 10,
    "nfc.reader": 10,
    # Adapters: file system, optional extras. The protocol never imports them.
    "adapters": 11,
    "adapters.files": 11,
    "adapters.qrimage": 11,
    "adapters.hsm": 11,
    "adapters.pcsc": 12,
    # The curated API imports the protocol modules, and nothing imports it back.
    "__init__": 13,
    # The reader service: above the adapters, beside the curated API (which it does
    # not import), under the command line that runs it.
    "service": 13,
    "service.config": 13,
    "service.lists": 13,
    "service.metrics": 13,
    "service.nfc_watch": 13,
    "service.openapi": 13,
    "service.replay_group": 13,
    "service.app": 13,
    # The fund's audit of evidence: Dask and pyarrow are imported lazily, so the
    # library imports without them; nothing but the command line imports it.
    "audit": 13,
    "audit._archive": 13,
    "audit._check": 13,
    "audit._inputs": 13,
    "audit._report": 13,
    "audit._route": 13,
    "audit._run": 13,
    "cli": 14,
    "cli.audit": 14,
    "cli.dump": 14,
    "cli.reader": 14,
    "cli._help": 14,
    "cli._keys": 14,
    "cli.completion": 14,
    "cli.demo": 15,
    "cli.app": 16,
    "__main__": 17,
}
#: Imported by nothing in the package.
TOP = {
    "cli",
    "cli._help",
    "cli._keys",
    "cli.completion",
    "cli.audit",
    "cli.dump",
    "cli.reader",
    "cli.demo",
    "cli.app",
    "__main__",
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    """``hazmat.cose`` for ``hazmat/cose.py``, ``nfc`` for ``nfc/__init__.py``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _known(dotted: str) -> str:
    """The longest module of the layer table that ``dotted`` names or lies in."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in LAYERS:
            return candidate
    raise AssertionError(f"vitale_cred.{dotted} has no layer")


def _imports(path: Path) -> set[str]:
    """Package modules imported by ``path``, as keys of :data:`LAYERS`."""
    tree = ast.parse(path.read_text("utf-8"))
    package = list(path.relative_to(PACKAGE).parent.parts)
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module == "vitale_cred":
                module = ""
            elif node.module and node.module.startswith("vitale_cred."):
                module = node.module.removeprefix("vitale_cred.")
            else:
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                if alias.name == "__version__" or (not module and full not in LAYERS):
                    full = module or "__init__"
                targets.append(full)
        elif isinstance(node, ast.Import):
            targets = [
                a.name.removeprefix("vitale_cred.")
                for a in node.names
                if a.name.startswith("vitale_cred.")
            ]
        out.update(_known(t) for t in targets if t)
    return out


def test_every_module_has_a_layer() -> None:
    names = {_name(p) for p in _modules()}
    assert names <= set(LAYERS), sorted(names - set(LAYERS))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_downward_only(path: Path) -> None:
    module = _name(path)
    for imported in _imports(path) - {module}:
        # A package's __init__ may gather its own modules; nothing else imports upward.
        if imported.startswith(f"{module}.") and path.name == "__init__.py":
            continue
        assert imported not in TOP or module in TOP, f"{module} imports the tool {imported}"
        assert LAYERS[imported] <= LAYERS[module], (
            f"{module} (layer {LAYERS[module]}) imports {imported} (layer {LAYERS[imported]})"
        )
        if LAYERS[imported] == LAYERS[module]:
            # Within one layer only a subpackage's private parts and its package.
            assert imported.split(".")[0] == module.split(".")[0], (
                f"{module} imports {imported} of its own layer {LAYERS[module]}"
            )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_by_name_at_run_time(path: Path) -> None:
    """``importlib.import_module`` and ``__import__`` would hide an import from this test."""
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "import_module":
            pytest.fail(f"{path.name}:{node.lineno} calls import_module")
        if isinstance(node, ast.Name) and node.id == "__import__":
            pytest.fail(f"{path.name}:{node.lineno} calls __import__")
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "importlib"
            and any(alias.name == "import_module" for alias in node.names)
        ):
            pytest.fail(f"{path.name}:{node.lineno} imports import_module")


def test_the_demo_does_not_import_the_command_line() -> None:
    assert "cli.app" not in _imports(PACKAGE / "cli" / "demo.py")


def test_the_layering_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself: a low module importing a high one is reported."""
    fake = PACKAGE / "hazmat" / "cbor.py"
    imports = _imports(fake)
    assert "verify" not in imports
    assert _known("hazmat.cose.CoseKey") == "hazmat.cose"
    assert _known("nfc.holder.HolderSession") == "nfc.holder"
    with pytest.raises(AssertionError):
        _known("no_such_module")
