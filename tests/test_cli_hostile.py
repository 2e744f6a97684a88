"""The command line under hostile operators: one error line, a known exit status, no traceback.

Every failure becomes ``vitale-cred: error [CODE] message`` on stderr (cli.main is
the one error boundary), and private keys are never replaced by accident.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import random
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitale_cred.cli import app as cli
from vitale_cred.cli.app import EXIT_DEFECT, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE
from vitale_cred.errors import PcscUnavailable

from conftest import ROOT, check_json_output, one_error

AT = "2026-11-03T10:00:00+00:00"
HUGE = 10 * 1024 * 1024


@pytest.fixture(autouse=True)
def _never_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hostile input may reach a passphrase or PIN prompt: stdin is no terminal here,
    and with no passphrase in the environment an encrypted key is a usage error."""
    monkeypatch.delenv("VITALE_CRED_PASSPHRASE", raising=False)

    def prompt(*args: object, **kwargs: object) -> str:
        raise AssertionError("a prompt without a terminal")

    monkeypatch.setattr("getpass.getpass", prompt)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command line; a --json output, whatever the input, matches its schema."""
    out = io.StringIO()
    code = cli.main(list(argv), out)
    if (
        "--json" in argv
        and code != EXIT_INTERRUPTED
        and not any(a in ("-h", "--help") for a in argv)
    ):
        check_json_output(argv, out.getvalue())
    return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Issuer, device key, bundle, lists, statement and vectors, made with the CLI."""
    d = tmp_path_factory.mktemp("hostile")

    def ok(*argv: str) -> str:
        out = io.StringIO()
        assert cli.main(list(argv), out) == EXIT_OK, argv
        return out.getvalue()

    ok("init-issuer", "--out", str(d / "issuer"), "--at", "2026-11-01T00:00:00Z")
    (d / "dev.pub").write_text(ok("device-key", "--out", str(d / "dev.pem")))
    issuer = str(d / "issuer")
    card = str(ROOT / "spec/examples/family5.json")
    ok(
        "issue",
        "--issuer",
        issuer,
        "--card",
        card,
        "--device-public-key",
        str(d / "dev.pub"),
        "--out",
        str(d / "cred.cbor"),
        "--at",
        "2026-11-02T00:00:00Z",
    )
    (d / "readers.pem").write_text(
        (d / "issuer/root.pem").read_text() + (d / "issuer/issuer.pem").read_text()
    )
    qr = ok(
        "present",
        "--credential",
        str(d / "cred.cbor"),
        "--device-key",
        str(d / "dev.pem"),
        "--at",
        AT,
    )
    (d / "qr.txt").write_text(qr)
    ok(
        "status-list",
        "build",
        "--issuer",
        issuer,
        "--size",
        "16",
        "--uri",
        "https://s/1",
        "--out",
        str(d / "list.cwt"),
        "--at",
        AT,
    )
    ok(
        "trust-list",
        "sign",
        "--issuer",
        issuer,
        "--seq",
        "1",
        "--out",
        str(d / "trust.cbor"),
        "--at",
        AT,
    )
    (d / "invoices.json").write_text("[]")
    ok(
        "statement",
        "issue",
        "--issuer",
        issuer,
        "--credential",
        str(d / "cred.cbor"),
        "--invoices",
        str(d / "invoices.json"),
        "--out",
        str(d / "statement.cbor"),
        "--at",
        AT,
    )
    vectors = json.loads((ROOT / "spec/vectors/cbor.json").read_text("utf-8"))
    vectors["cases"] = vectors["cases"][:1]
    (d / "vectors").mkdir()
    (d / "vectors/cbor.json").write_text(json.dumps(vectors))
    broken = json.loads(json.dumps(vectors))
    case = next(
        c
        for c in json.loads((ROOT / "spec/vectors/cbor.json").read_text())["cases"]
        if c["expected"]["result"] == "invalid"
    )
    del case["expected"]["code"]
    broken["cases"] = [case]
    (d / "vectors-broken").mkdir()
    (d / "vectors-broken/cbor.json").write_text(json.dumps(broken))
    # The hostile files.
    (d / "binary").write_bytes(random.Random(7).randbytes(4096))
    (d / "empty").write_bytes(b"")
    (d / "latin1").write_bytes("carte vitale : bénéficiaire\n".encode("latin-1") + b"\xff\xfe")
    (d / "huge").write_bytes(b"\xa7" + b"A" * (HUGE - 1))
    (d / "a-directory").mkdir()
    return d


# --- the tracebacks operators reported -------------------------------------------------


def test_binary_card_is_one_error_line(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "issue",
        "--issuer",
        str(world / "issuer"),
        "--card",
        str(world / "binary"),
        "--device-public-key",
        str(world / "dev.pub"),
        "--out",
        str(world / "x.cbor"),
    )
    assert code == EXIT_INVALID
    assert "[usage.invalid_argument]" in one_error(err)


def test_binary_invoices_is_one_error_line(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "statement",
        "issue",
        "--issuer",
        str(world / "issuer"),
        "--credential",
        str(world / "cred.cbor"),
        "--invoices",
        str(world / "binary"),
        "--out",
        str(world / "s.cbor"),
    )
    assert code == EXIT_INVALID
    assert "[usage.invalid_argument]" in one_error(err)


@pytest.mark.parametrize(
    ("option", "target", "error"),
    [
        ("--png", "missing/qr.png", "io.not_found"),
        ("--svg", "missing/qr.svg", "io.not_found"),
        ("--png", "a-directory", "io.is_a_directory"),
        ("--svg", "a-directory", "io.is_a_directory"),
        ("--png", "empty/qr.png", "io.not_a_directory"),
    ],
)
def test_qr_image_into_a_bad_place(
    world: Path, capsys: pytest.CaptureFixture[str], option: str, target: str, error: str
) -> None:
    code, _, err = run(
        capsys,
        "present",
        "--credential",
        str(world / "cred.cbor"),
        "--device-key",
        str(world / "dev.pem"),
        option,
        str(world / target),
    )
    assert code == EXIT_INVALID
    assert f"[{error}]" in one_error(err)


def test_init_issuer_onto_a_file(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init-issuer", "--out", str(world / "empty"))
    assert code == EXIT_INVALID
    assert "[io.not_a_directory]" in one_error(err)
    assert (world / "empty").read_bytes() == b""


def test_demo_workdir_onto_a_file(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--workdir", str(world / "empty"))
    assert code == EXIT_INVALID
    assert "[io.not_a_directory]" in one_error(err)


def test_ctrl_c_in_nfc_read_exits_130_quietly(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock.patch("vitale_cred.adapters.pcsc.read_presentation", side_effect=KeyboardInterrupt):
        code, out, err = run(capsys, "nfc-read", "--trust", str(world / "readers.pem"))
    assert code == EXIT_INTERRUPTED
    assert err == "" and out == ""


def test_an_unexpected_exception_is_one_line_and_exit_70(
    world: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def defect(args: argparse.Namespace, out: object) -> int:
        raise ZeroDivisionError("a defect\nover two lines")

    monkeypatch.setattr(cli, "cmd_inspect", defect)
    code, _, err = run(capsys, "inspect", str(world / "cred.cbor"))
    assert code == EXIT_DEFECT
    assert "[internal] unexpected ZeroDivisionError: a defect over two lines" in one_error(err)
    assert err.count("\n") == 1
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["inspect", str(world / "cred.cbor")], io.StringIO())


def test_argument_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["issue"], ["present", "--ttl", "x"], ["--nope"], ["status-list", "bogus"]):
        code, _, err = run(capsys, *argv)
        assert code == EXIT_USAGE
        assert "[usage.command_line]" in one_error(err)
        assert err.count("\n") == 1


def test_json_errors_also_go_to_stdout(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "trust-list",
        "verify",
        str(world / "a-directory"),
        "--trust",
        str(world / "readers.pem"),
        "--json",
    )
    assert code == EXIT_INVALID
    assert json.loads(out)["code"] == "io.is_a_directory"
    one_error(err)


# --- every command and subcommand, with hostile arguments -----------------------------


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


def _value_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.nargs != 0 and not isinstance(a, argparse._SubParsersAction) and a.dest != "help"
    ]


INPUT_FILES = {
    "card",
    "device_public_key",
    "device_proof",
    "credential",
    "device_key",
    "trust",
    "trust_list",
    "status_list",
    "image",
    "revoked",
    "list",
    "issuer_cert",
    "invoices",
    "statement",
    "file",
    "inputs",
    "professionals",
    "invoice_file",
    "professional_key",
}
OUTPUT_FILES = {"out", "public_out", "png", "svg", "json_file", "replay_store", "evidence_out"}
OUTPUT_DIRS = {("init-issuer", "out"), ("demo", "workdir"), ("audit", "out")}
INPUT_DIRS = {"issuer", "dir", "archive"}
GARBAGE = ["", "garbage", "-1", "9" * 30, "nan", "é☃\t\n", "--json"]


def _baseline(world: Path, command: tuple[str, ...], fresh: Path) -> dict[str, str]:
    """Arguments that make ``command`` run (before one of them is made hostile)."""
    w = {name: str(world / name) for name in ("cred.cbor", "dev.pem", "readers.pem")}
    issuer = str(world / "issuer")
    shutil.copy(world / "list.cwt", fresh / "list.cwt")
    if command == ("reader", "serve"):
        from vitale_cred.service.config import TEMPLATE

        (fresh / "reader.toml").write_text(TEMPLATE, "utf-8")
    table: dict[tuple[str, ...], dict[str, str]] = {
        ("demo",): {"at": AT},
        ("init-issuer",): {"out": str(fresh / "issuer"), "at": AT},
        ("device-key",): {"out": str(fresh / "dev.pem")},
        ("issue",): {
            "issuer": issuer,
            "card": str(ROOT / "spec/examples/family5.json"),
            "device_public_key": str(world / "dev.pub"),
            "out": str(fresh / "c"),
            "at": AT,
        },
        ("present",): {"credential": w["cred.cbor"], "device_key": w["dev.pem"], "at": AT},
        ("verify",): {
            "trust": w["readers.pem"],
            "qr_text": (world / "qr.txt").read_text(),
            "at": AT,
        },
        # Port 1: nothing serves there, whereas a vpcd may listen on the default port.
        ("nfc-card",): {
            "credential": w["cred.cbor"],
            "device_key": w["dev.pem"],
            "vpcd": "127.0.0.1:1",
        },
        ("nfc-read",): {"trust": w["readers.pem"], "wait": "0"},
        ("status-list", "build"): {
            "issuer": issuer,
            "size": "16",
            "uri": "u",
            "out": str(fresh / "l"),
            "at": AT,
        },
        ("status-list", "set"): {
            "list": str(fresh / "list.cwt"),
            "index": "1",
            "state": "revoked",
            "issuer": issuer,
            "at": AT,
        },
        ("audit",): {
            "trust": w["readers.pem"],
            "inputs": str(world / "empty"),
            "out": str(fresh / "report"),
            "workers": "0",
        },
        ("reader", "init-config"): {"out": str(fresh / "reader.toml")},
        ("reader", "serve"): {"config": str(fresh / "reader.toml")},
        ("trust", "bundle"): {
            "root": str(world / "issuer" / "root.pem"),
            "issuer": str(world / "issuer" / "issuer.pem"),
            "out": str(fresh / "b.pem"),
            "at": AT,
        },
        ("trust-list", "sign"): {
            "issuer": issuer,
            "seq": "2",
            "out": str(fresh / "t"),
            "at": AT,
        },
        ("trust-list", "verify"): {
            "list": str(world / "trust.cbor"),
            "trust": w["readers.pem"],
            "at": AT,
        },
        ("statement", "issue"): {
            "issuer": issuer,
            "credential": w["cred.cbor"],
            "invoices": str(world / "invoices.json"),
            "out": str(fresh / "s"),
            "at": AT,
        },
        ("statement", "verify"): {
            "statement": str(world / "statement.cbor"),
            "trust": w["readers.pem"],
            "device_key": w["dev.pem"],
            "at": AT,
        },
        ("inspect",): {"file": w["cred.cbor"]},
        ("completion",): {"shell": "bash"},
    }
    return dict(table[command])


def _hostile_values(world: Path, command: tuple[str, ...], dest: str, fresh: Path) -> list[str]:
    files = [str(world / n) for n in ("binary", "empty", "latin1", "huge", "a-directory")]
    files.append(str(fresh / "missing"))
    if (*command, dest) in OUTPUT_DIRS:
        return [str(world / "empty"), str(world / "binary" / "child")]
    if dest in OUTPUT_FILES:
        return [
            str(world / "a-directory"),
            str(fresh / "missing" / "x"),
            str(world / "empty" / "x"),
        ]
    if dest in INPUT_FILES:
        return files
    if dest in INPUT_DIRS:
        # A directory whose files are the hostile ones, plus the plain hostile paths.
        values = [*files]
        for i, name in enumerate(("binary", "latin1", "huge", "empty")):
            directory = fresh / f"dir-{i}"
            directory.mkdir()
            for member in ("root.pem", "issuer.pem", "issuer-key.pem", "x.json", "hsm.json"):
                os.link(world / name, directory / member)
            values.append(str(directory))
        return values
    return GARBAGE


def _argv(
    command: tuple[str, ...], parser: argparse.ArgumentParser, values: dict[str, str]
) -> list[str]:
    argv = list(command)
    for action in _value_actions(parser):
        if action.dest in values:
            value = values[action.dest]
            argv += [value] if not action.option_strings else [action.option_strings[0], value]
    return argv


def test_every_command_survives_hostile_arguments(
    world: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    leaves = list(_leaves(cli._parser()))
    assert {c[0] for c, _ in leaves} >= {"demo", "inspect", "statement"}
    # Hostile values are relative paths too: nothing may land in the working directory.
    before = set(os.listdir())
    runs = 0
    # The vpcd transport (which retries its connection for 10 s) is not under test; the
    # command line's checks of its arguments run before it.
    # Nor is the reader service, which would serve until stopped: its configuration is
    # read and checked before it starts.
    # Without the [service] extra, serve stops at its missing dependencies by itself.
    serving = (
        mock.patch("vitale_cred.service.app.serve", return_value=EXIT_OK)
        if importlib.util.find_spec("starlette") is not None
        else contextlib.nullcontext()
    )
    with (
        mock.patch(
            "vitale_cred.adapters.pcsc.serve_virtual_card",
            side_effect=PcscUnavailable("no vpcd"),
        ),
        serving,
    ):
        for command, parser in leaves:
            for action in _value_actions(parser):
                name = f"{'-'.join(command)}-{action.dest}"
                (tmp_path / name).mkdir()
                hostile = _hostile_values(world, command, action.dest, tmp_path / name)
                for n, value in enumerate(hostile):
                    fresh = tmp_path / f"{name}-{n}"
                    fresh.mkdir()
                    values = _baseline(world, command, fresh)
                    values[action.dest] = value
                    argv = _argv(command, parser, values)
                    code, _, err = run(capsys, *argv)
                    runs += 1
                    assert "Traceback" not in err, argv
                    assert code in (EXIT_OK, EXIT_INVALID, EXIT_USAGE), (argv, err)
                    if code != EXIT_OK:
                        assert err.count("vitale-cred: error [") == 1, (argv, err)
                        one_error(err)
    assert runs > 200
    assert set(os.listdir()) == before, sorted(set(os.listdir()) - before)


# --- random command lines -------------------------------------------------------------


def _tokens() -> list[str]:
    names: set[str] = set()
    for command, parser in _leaves(cli._parser()):
        names.update(command)
        for action in parser._actions:
            names.update(action.option_strings)
            names.update(str(c) for c in action.choices or () if isinstance(c, str))
    return sorted(names)


TOKENS = _tokens()
FILES = ("f0", "f1", "f2")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    argv=st.lists(
        st.one_of(
            st.sampled_from(TOKENS),
            st.sampled_from(FILES),
            st.text(max_size=12),
            st.sampled_from(["0", "1", "-1", "16", AT, "ES256", "x:1"]),
        ),
        max_size=12,
    ),
    contents=st.lists(st.binary(max_size=300), min_size=3, max_size=3),
)
def test_random_command_lines(
    argv: list[str], contents: list[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in zip(FILES, contents, strict=True):
            (Path(tmp) / name).write_bytes(data)
        cwd = os.getcwd()
        os.chdir(tmp)
        # Slow or waiting commands are replaced: their arguments are still parsed and
        # checked by the command line, which is what is under test.
        try:
            with (
                mock.patch("vitale_cred.cli.demo.run_demo", return_value=EXIT_OK),
                mock.patch(
                    "vitale_cred.adapters.pcsc.read_presentation", side_effect=KeyboardInterrupt
                ),
                mock.patch("vitale_cred.adapters.pcsc.serve_virtual_card", return_value=0),
            ):
                code, _, err = run(capsys, *argv)
        finally:
            os.chdir(cwd)
    assert "Traceback" not in err
    assert code in (EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED), (argv, err)
    if code in (EXIT_INVALID, EXIT_USAGE) and argv and "--help" not in argv:
        assert err.count("vitale-cred: error [") <= 1


# --- private keys -----------------------------------------------------------------------


def test_init_issuer_refuses_an_issuer_directory_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "issuer"
    assert run(capsys, "init-issuer", "--out", str(out))[0] == EXIT_OK
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = run(capsys, "init-issuer", "--out", str(out))
    assert code == EXIT_USAGE
    assert "[io.exists]" in one_error(err) and "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert run(capsys, "init-issuer", "--out", str(out), "--force")[0] == EXIT_OK
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after.keys() == before.keys() and after["issuer-key.pem"] != before["issuer-key.pem"]
    for key in ("root-key.pem", "issuer-key.pem"):
        assert stat.S_IMODE((out / key).stat().st_mode) == 0o600


def test_device_key_refuses_an_existing_file_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "dev.pem"
    assert run(capsys, "device-key", "--out", str(key))[0] == EXIT_OK
    before = key.read_bytes()
    code, out, err = run(capsys, "device-key", "--out", str(key))
    assert code == EXIT_USAGE and out == ""
    assert "[io.exists]" in one_error(err)
    assert key.read_bytes() == before
    assert run(capsys, "device-key", "--out", str(key), "--force")[0] == EXIT_OK
    assert key.read_bytes() != before
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_device_key_public_out_may_not_be_the_private_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(tmp_path / "dev.pem")
    code, _, err = run(capsys, "device-key", "--out", key, "--public-out", key, "--force")
    assert code == EXIT_USAGE and not Path(key).exists()
    one_error(err)


def test_private_keys_are_created_0600_whatever_the_umask(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created: list[int] = []
    real_open = os.open

    def spy(path: str, flags: int, mode: int = 0o777, *args: object, **kw: object) -> int:
        if flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, *args, **kw)  # type: ignore[arg-type]

    previous = os.umask(0)
    try:
        with mock.patch("os.open", spy):
            assert run(capsys, "device-key", "--out", str(tmp_path / "k.pem"))[0] == EXIT_OK
    finally:
        os.umask(previous)
    assert created and set(created) == {0o600}
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_a_failed_key_write_leaves_no_partial_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "dev.pem"
    key.write_bytes(b"the old key")
    with mock.patch("os.fsync", side_effect=OSError(28, "No space left on device")):
        code, _, err = run(capsys, "device-key", "--out", str(key), "--force")
    assert code == EXIT_INVALID
    assert "[io.failed]" in one_error(err)
    assert key.read_bytes() == b"the old key"
    assert [p.name for p in tmp_path.iterdir()] == ["dev.pem"]


def test_ctrl_c_during_a_key_write_leaves_no_partial_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock.patch("os.fsync", side_effect=KeyboardInterrupt):
        code, _, _ = run(capsys, "init-issuer", "--out", str(tmp_path / "issuer"))
    assert code == EXIT_INTERRUPTED
    assert not [p for p in (tmp_path / "issuer").iterdir() if p.name.endswith(".tmp")]
