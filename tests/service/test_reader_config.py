"""The configuration file and the ``reader`` command line."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from vitale_cred.cli import reader
from vitale_cred.errors import FileExists, FileMissing, InvalidArgument
from vitale_cred.service.config import TEMPLATE, TOKEN_ENV, load_config, parse_config


def _parse(text: str, tmp_path: Path) -> object:
    return parse_config(tomllib.loads(text), base=tmp_path)


def test_the_template_is_a_valid_configuration_with_the_defaults(tmp_path: Path) -> None:
    config = parse_config(tomllib.loads(TEMPLATE), base=tmp_path)
    assert config.server.host == "127.0.0.1" and config.server.port == 8765
    assert config.trust.certificates == tmp_path / "trust.pem"
    assert config.status.lists == () and config.nfc.enabled is False
    assert config.state.replay_store.name == "replay.sqlite"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 1\n", "unknown key 'prot'"),
        ("[sever]\n", "unknown key 'sever'"),
        ('[server]\nport = "8765"\n', "server.port must be an integer"),
        ("[server]\nport = 70000\n", "server.port must be an integer 1..65535"),
        ('[trust]\ncertificates = "a.pem"\nauthority = "r.pem"\n', "trust.authority"),
        ("[trust]\n", "needs exactly one of"),
        (
            '[trust]\nauthority = "r.pem"\n[trust.list]\nsource = "http://x.example/l"\n',
            "must be an https:// URL or a file",
        ),
        (
            '[trust]\nauthority = "r.pem"\n[trust.list]\nsource = "l.cbor"\nrefresh = 600\n'
            "max_age = 60\n",
            "must be at least refresh",
        ),
        ('[trust]\ncertificates = "a.pem"\n[server]\nhost = "0.0.0.0"\n', "set tls_cert"),
        (
            '[trust]\ncertificates = "a.pem"\n[server]\nhost = "192.0.2.1"\ntls_cert = "c"\n'
            'tls_key = "k"\n',
            "set api_token_file",
        ),
        ('[trust]\ncertificates = "a.pem"\n[server]\ntls_cert = "c"\n', "go together"),
        ('[trust]\ncertificates = "a.pem"\n[server]\ncors_origins = ["*"]\n', "not an origin"),
        ('[trust]\ncertificates = "a.pem"\n[verifier]\nskew = 301\n', "verifier.skew"),
        (
            '[trust]\ncertificates = "a.pem"\n[status]\n[[status.list]]\nrefresh = 60\n',
            "status.list[0].source is required",
        ),
    ],
)
def test_bad_configurations_are_refused_with_the_key(
    tmp_path: Path, text: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(InvalidArgument, match=message.replace("[", r"\[").replace(".", r"\.")):
        _parse(text, tmp_path)


def test_off_loopback_with_tls_and_a_token_is_accepted(tmp_path: Path) -> None:
    config = _parse(
        '[trust]\ncertificates = "a.pem"\n[server]\nhost = "0.0.0.0"\ntls_cert = "c.pem"\n'
        'tls_key = "k.pem"\napi_token_file = "token"\n',
        tmp_path,
    )
    assert config.server.tls  # type: ignore[attr-defined]


def test_load_config_reports_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(FileMissing):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[server\n")
    with pytest.raises(InvalidArgument, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def _run(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="vitale-cred")
    commands = parser.add_subparsers(dest="command", required=True)
    reader.register(commands)
    args = parser.parse_args(["reader", *argv])
    out = io.StringIO()
    return args.func(args, out), out.getvalue()


def test_init_config_writes_the_template_and_refuses_to_replace_it(tmp_path: Path) -> None:
    path = tmp_path / "reader.toml"
    code, out = _run("init-config", "--out", str(path))
    assert code == 0 and "reader serve --config" in out
    assert path.read_text("utf-8") == TEMPLATE
    with pytest.raises(FileExists):
        _run("init-config", "--out", str(path))
    assert _run("init-config", "--out", str(path), "--force")[0] == 0


def test_the_commands_have_descriptions_defaults_and_examples() -> None:
    parser = argparse.ArgumentParser(prog="vitale-cred")
    commands = parser.add_subparsers(dest="command")
    reader.register(commands)
    top = commands.choices["reader"]
    assert "example:" in (top.epilog or "")
    actions = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("serve", "init-config"):
        sub = actions.choices[name]
        assert sub.description and "example: vitale-cred reader" in (sub.epilog or "")
        assert sub.set_defaults is not None and sub.get_default("func") is not None
    assert "(default: reader.toml)" in actions.choices["init-config"].format_help()


def test_serve_with_a_missing_configuration_fails_with_its_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vitale_cred", "reader", "serve", "--config", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "[io.not_found]" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_a_missing_trust_bundle_fails_with_its_code(tmp_path: Path) -> None:
    config = tmp_path / "reader.toml"
    config.write_text(
        f'[state]\ndir = "{tmp_path / "state"}"\n[trust]\ncertificates = "nope.pem"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "vitale_cred", "reader", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "[io.not_found]" in result.stderr and "nope.pem" in result.stderr
