"""Every Python block of README.md runs, in order, as one program."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from conftest import ROOT


def test_readme_python_blocks_run_in_order(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    (tmp_path / "spec").mkdir()
    shutil.copytree(ROOT / "spec/examples", tmp_path / "spec/examples")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert (tmp_path / "card.cbor").stat().st_size > 1000
    assert namespace["result"].beneficiary_index == 2  # type: ignore[attr-defined]
