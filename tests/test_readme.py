"""README.md opens with the two commands, and CI runs the second.

Its Python blocks run in tests/test_docs.py, with those of docs/*.md.
"""

from __future__ import annotations

import re

from conftest import ROOT


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
