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


def test_readme_opens_with_the_two_commands_and_ci_runs_the_same_test_command() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert first_block is not None
    assert text.startswith("# vitale_cred\n\n```sh\n")  # nothing before the two commands
    commands = first_block.group(1).strip().splitlines()
    assert len(commands) == 2
    assert "vitale-cred demo" in commands[0]
    ci = (ROOT / ".ci/run").read_text("utf-8")
    # CI runs exactly that command (its output also kept for the closing summary).
    assert any(
        line == commands[1] or line.startswith(commands[1] + " 2>&1 | tee ")
        for line in ci.splitlines()
    )
