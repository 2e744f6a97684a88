"""``vitale-cred completion bash|zsh``: scripts generated from the parser, run in real shells."""

from __future__ import annotations

import argparse
import io
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from vitale_cred.cli import app as cli
from vitale_cred.cli.app import EXIT_OK, EXIT_USAGE

BASH = shutil.which("bash")
ZSH = shutil.which("zsh")


def script(shell: str) -> str:
    out = io.StringIO()
    assert cli.main(["completion", shell], out) == EXIT_OK
    return out.getvalue()


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "vitale-cred.bash"
    path.write_text(script("bash"), "utf-8")
    return path


def complete_bash(script_path: Path, line: list[str], cwd: Path | None = None) -> list[str]:
    """COMPREPLY for the words ``line`` (the last one being completed), as bash's
    programmable completion would call the function registered for vitale-cred."""
    assert BASH is not None
    words = " ".join(shlex.quote(w) for w in line)
    program = f"""
        source {shlex.quote(str(script_path))}
        COMP_WORDS=({words})
        COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        COMP_LINE="${{COMP_WORDS[*]}}"
        COMP_POINT=${{#COMP_LINE}}
        func=$(complete -p vitale-cred | sed -E 's/.*-F ([^ ]+).*/\\1/')
        "$func" vitale-cred "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    done = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        timeout=30,
    )
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


pytestmark = pytest.mark.skipif(BASH is None, reason="bash is not installed")


def test_the_bash_script_is_valid_bash(bash_script: Path) -> None:
    assert BASH is not None
    subprocess.run([BASH, "-n", str(bash_script)], check=True, timeout=30)


def test_bash_completes_commands_and_their_options(bash_script: Path) -> None:
    assert complete_bash(bash_script, ["vitale-cred", "ver"]) == ["verify"]
    assert "--trust" in complete_bash(bash_script, ["vitale-cred", "verify", "--tr"])
    assert complete_bash(bash_script, ["vitale-cred", "verify", "--trust-l"]) == ["--trust-list"]
    assert "completion" in complete_bash(bash_script, ["vitale-cred", ""])
    assert complete_bash(bash_script, ["vitale-cred", "init-issuer", "--enc"]) == ["--encrypt"]


def test_bash_completes_nested_actions_choices_and_positionals(bash_script: Path) -> None:
    assert complete_bash(bash_script, ["vitale-cred", "status-list", ""]) == ["build", "set"]
    assert complete_bash(bash_script, ["vitale-cred", "status-list", "b"]) == ["build"]
    assert "--uri" in complete_bash(bash_script, ["vitale-cred", "status-list", "build", "--"])
    bits = ["vitale-cred", "status-list", "build", "--bits", ""]
    assert complete_bash(bash_script, bits) == ["1", "2", "4", "8"]
    state = ["vitale-cred", "status-list", "set", "list.cwt", "3", "r"]
    assert complete_bash(bash_script, state) == ["revoked"]
    assert complete_bash(bash_script, ["vitale-cred", "completion", ""]) == ["bash", "zsh"]
    alg = ["vitale-cred", "init-issuer", "--force", "--alg", "E"]
    assert complete_bash(bash_script, alg) == ["ES256", "ES384", "EdDSA"]


def test_bash_completes_file_names_for_path_options_and_directories_for_dir_options(
    bash_script: Path, tmp_path: Path
) -> None:
    (tmp_path / "readers.pem").write_text("")
    (tmp_path / "issuer").mkdir()
    trust = ["vitale-cred", "verify", "--at", "2026-01-01", "--trust", "re"]
    assert complete_bash(bash_script, trust, cwd=tmp_path) == ["readers.pem"]
    out = ["vitale-cred", "init-issuer", "--out", ""]
    assert complete_bash(bash_script, out, cwd=tmp_path) == ["issuer"]
    inspect = ["vitale-cred", "inspect", ""]
    assert sorted(complete_bash(bash_script, inspect, cwd=tmp_path)) == ["issuer", "readers.pem"]
    # A value that is not a path (an instant) offers nothing.
    assert complete_bash(bash_script, ["vitale-cred", "verify", "--at", ""], cwd=tmp_path) == []


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


def test_bash_offers_every_option_of_every_command_of_the_parser(bash_script: Path) -> None:
    """Generated from the parser: nothing to keep in step by hand."""
    assert BASH is not None
    commands = _commands(cli._parser())
    assert len(commands) > 20
    program = f"source {shlex.quote(str(bash_script))}\n" + "".join(
        f'echo "== {" ".join(path)}"; _vitale_cred_options {shlex.quote(" ".join(path))}\n'
        for path, _ in commands
    )
    done = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    offered: dict[str, set[str]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("== "):
            current = offered.setdefault(line[3:], set())
        else:
            current.add(line)
    for path, parser in commands:
        options = {o for a in parser._actions for o in a.option_strings}
        assert offered[" ".join(path)] == options, path


def test_completion_needs_a_known_shell(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", "fish"], io.StringIO()) == EXIT_USAGE
    assert "[usage.command_line]" in capsys.readouterr().err


@pytest.mark.skipif(ZSH is None, reason="zsh is not installed")
def test_the_zsh_script_is_valid_zsh_and_completes(tmp_path: Path) -> None:
    assert ZSH is not None
    path = tmp_path / "_vitale-cred"
    path.write_text(script("zsh"), "utf-8")
    subprocess.run([ZSH, "-n", str(path)], check=True, timeout=30)
    # The completion system's functions are stood in for: each prints what it was given.
    program = f"""
        compdef() {{ :; }}
        _describe() {{ local -a items; items=("${{(@P)4}}"); print -r -- "${{items[@]%%:*}}"; }}
        _files() {{ print -r -- "files $*"; }}
        compadd() {{ shift; print -r -- "$*"; }}
        source {shlex.quote(str(path))}
        t() {{ words=("$@"); CURRENT=${{#words}}; _vitale_cred; }}
        t vitale-cred ver
        t vitale-cred verify --tr
        t vitale-cred status-list set list.cwt 3 ''
        t vitale-cred init-issuer --out ''
        t vitale-cred verify --trust ''
    """
    done = subprocess.run(
        [ZSH, "-f", "-c", program], capture_output=True, text=True, check=True, timeout=30
    )
    lines = done.stdout.splitlines()
    assert "verify" in lines[0].split()
    assert "--trust" in lines[1].split() and "--trust-list" in lines[1].split()
    assert lines[2:] == ["revoked suspended valid", "files -/", "files "]
