"""The vector runner, ``spec/vectors/run.py``, loaded as a module.

The runner ships with the vectors as a standalone standard-library script, so that
other implementers can run it without this repository's Python code; the tools and
the tests of this repository use that same file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

RUN_PY = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "run.py"


def _load() -> object:
    name = "vitale_vectors_run"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, RUN_PY)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {RUN_PY}")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up by name.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_run = _load()
ADAPTER_TIMEOUT = _run.ADAPTER_TIMEOUT  # type: ignore[attr-defined]
Outcome = _run.Outcome  # type: ignore[attr-defined]
Report = _run.Report  # type: ignore[attr-defined]
VectorFileError = _run.VectorFileError  # type: ignore[attr-defined]
check = _run.check  # type: ignore[attr-defined]
compare = _run.compare  # type: ignore[attr-defined]
load_cases = _run.load_cases  # type: ignore[attr-defined]
run = _run.run  # type: ignore[attr-defined]
subprocess_adapter = _run.subprocess_adapter  # type: ignore[attr-defined]
