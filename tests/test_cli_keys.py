"""Private keys encrypted with a passphrase: written by ``--encrypt``, read by every
command that signs, the passphrase from the environment or a terminal, never argv."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from unittest import mock

import pytest

from vitale_cred.adapters.files import load_issuer_directory, read_private_pem
from vitale_cred.cli import app as cli
from vitale_cred.cli._keys import PASSPHRASE_ENV
from vitale_cred.cli.app import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from vitale_cred.errors import KeyPassphraseError

from conftest import ROOT, check_json_output, one_error

AT = "2026-11-03T10:00:00+00:00"
SECRET = "correct horse battery staple"
CARD = str(ROOT / "spec/examples/family5.json")
ENCRYPTED = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out)
    if "--json" in argv:
        check_json_output(argv, out.getvalue())
    return code, out.getvalue(), capsys.readouterr().err


class Terminal:
    """A terminal on stdin, with the answers the operator types at each prompt."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def getpass(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No passphrase in the environment, stdin no terminal, and any prompt a failure."""
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)

    def prompt(*args: object, **kwargs: object) -> str:
        raise AssertionError("prompted without a terminal")

    monkeypatch.setattr("getpass.getpass", prompt)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """Stdin a terminal; the test sets the answers typed."""
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    typed = Terminal()
    stdin = mock.Mock()
    stdin.isatty.return_value = True
    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("getpass.getpass", typed.getpass)
    return typed


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An issuer and a device key written with --encrypt, and a bundle issued with them."""
    d = tmp_path_factory.mktemp("sealed")
    with mock.patch.dict("os.environ", {PASSPHRASE_ENV: SECRET}):
        out = io.StringIO()
        argv = ["init-issuer", "--out", str(d / "issuer"), "--encrypt", "--json"]
        argv += ["--at", "2026-11-01T00:00:00Z"]
        assert cli.main(argv, out) == EXIT_OK
        assert json.loads(out.getvalue())["encrypted"] is True
        out = io.StringIO()
        argv = ["device-key", "--out", str(d / "dev.pem"), "--encrypt", "--json"]
        assert cli.main(argv, out) == EXIT_OK
        (d / "dev.pub").write_text(json.loads(out.getvalue())["public_key_pem"])
        argv = ["issue", "--issuer", str(d / "issuer"), "--card", CARD]
        argv += ["--device-public-key", str(d / "dev.pub"), "--out", str(d / "cred.cbor")]
        assert cli.main([*argv, "--at", "2026-11-02T00:00:00Z"], io.StringIO()) == EXIT_OK
    (d / "invoices.json").write_text("[]")
    return d


# --- written encrypted, read back with the passphrase ------------------------------------


def test_encrypt_writes_pkcs8_encrypted_keys_0600_and_no_temporary_file(sealed: Path) -> None:
    for key in (
        sealed / "issuer/root-key.pem",
        sealed / "issuer/issuer-key.pem",
        sealed / "dev.pem",
    ):
        assert key.read_bytes().startswith(ENCRYPTED), key
        assert b"BEGIN PRIVATE KEY" not in key.read_bytes()
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not list(sealed.rglob("*.tmp"))


def test_encrypted_issuer_then_issue_present_verify_end_to_end(
    sealed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, SECRET)
    issuer = str(sealed / "issuer")
    code, _, err = run(
        capsys,
        "issue",
        "--issuer",
        issuer,
        "--card",
        CARD,
        "--device-public-key",
        str(sealed / "dev.pub"),
        "--out",
        str(sealed / "again.cbor"),
        "--at",
        "2026-11-02T00:00:00Z",
    )
    assert code == EXIT_OK, err
    code, qr, err = run(
        capsys,
        "present",
        "--credential",
        str(sealed / "again.cbor"),
        "--device-key",
        str(sealed / "dev.pem"),
        "--beneficiary",
        "2",
        "--at",
        AT,
    )
    assert code == EXIT_OK, err
    code, out, err = run(
        capsys,
        "verify",
        "--trust",
        str(sealed / "issuer/readers.pem"),
        "--no-replay-store",
        "--at",
        AT,
        "--json",
        qr.strip(),
    )
    assert code == EXIT_OK, err
    assert json.loads(out)["presentation"]["beneficiary_index"] == 2


def test_every_command_that_signs_reads_the_encrypted_keys(
    sealed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, SECRET)
    issuer = str(sealed / "issuer")
    commands = [
        (
            "status-list",
            "build",
            "--issuer",
            issuer,
            "--size",
            "16",
            "--uri",
            "https://s/1",
            "--out",
            str(tmp_path / "list.cwt"),
            "--at",
            AT,
        ),
        (
            "status-list",
            "set",
            str(tmp_path / "list.cwt"),
            "3",
            "revoked",
            "--issuer",
            issuer,
            "--at",
            AT,
        ),
        (
            "trust-list",
            "sign",
            "--issuer",
            issuer,
            "--seq",
            "1",
            "--out",
            str(tmp_path / "trust.cbor"),
            "--at",
            AT,
        ),
        (
            "statement",
            "issue",
            "--issuer",
            issuer,
            "--credential",
            str(sealed / "cred.cbor"),
            "--invoices",
            str(sealed / "invoices.json"),
            "--out",
            str(tmp_path / "st.cbor"),
            "--at",
            AT,
        ),
        (
            "statement",
            "verify",
            str(tmp_path / "st.cbor"),
            "--trust",
            str(sealed / "issuer/readers.pem"),
            "--device-key",
            str(sealed / "dev.pem"),
            "--at",
            AT,
        ),
    ]
    for argv in commands:
        code, _, err = run(capsys, *argv)
        assert code == EXIT_OK, (argv, err)


def test_the_passphrase_is_typed_twice_for_a_new_key_and_once_to_read_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], terminal: Terminal
) -> None:
    key = tmp_path / "dev.pem"
    terminal.answers = ["typed secret", "typed secret"]
    code, public, err = run(capsys, "device-key", "--out", str(key), "--encrypt")
    assert code == EXIT_OK, err
    assert len(terminal.prompts) == 2 and key.read_bytes().startswith(ENCRYPTED)
    (tmp_path / "dev.pub").write_text(public)
    # An issuer directory holds two encrypted keys: one prompt for both.
    terminal.answers, terminal.prompts = ["issuer secret", "issuer secret"], []
    issuer = str(tmp_path / "issuer")
    assert run(capsys, "init-issuer", "--out", issuer, "--encrypt", "--at", AT)[0] == EXIT_OK
    assert len(terminal.prompts) == 2
    terminal.answers, terminal.prompts = ["issuer secret"], []
    code, _, err = run(
        capsys, "trust-list", "sign", "--issuer", issuer, "--seq", "1", "--out", str(tmp_path / "t")
    )
    assert code == EXIT_OK, err
    assert len(terminal.prompts) == 1
    terminal.answers, terminal.prompts = ["issuer secret"], []
    argv = ["issue", "--issuer", issuer, "--card", CARD, "--device-public-key"]
    argv += [str(tmp_path / "dev.pub"), "--out", str(tmp_path / "c.cbor"), "--at", AT]
    code, _, err = run(capsys, *argv)
    assert code == EXIT_OK, err
    assert len(terminal.prompts) == 1
    terminal.answers, terminal.prompts = ["typed secret"], []
    argv = ["present", "--credential", str(tmp_path / "c.cbor"), "--device-key", str(key)]
    code, qr, err = run(capsys, *argv, "--at", AT)
    assert code == EXIT_OK, err
    assert qr.startswith("VC1:") and terminal.prompts == [f"passphrase for {key}: "]


def test_the_environment_passphrase_is_taken_without_a_prompt(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    terminal: Terminal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, SECRET)
    key = tmp_path / "dev.pem"
    assert run(capsys, "device-key", "--out", str(key), "--encrypt")[0] == EXIT_OK
    assert terminal.prompts == []
    read_private_pem(key, lambda path: SECRET.encode())  # the environment's passphrase


# --- refused, with their codes and exit statuses -----------------------------------------


def test_a_wrong_passphrase_is_key_passphrase_exit_1(
    sealed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")
    issuer = str(sealed / "issuer")
    commands = [
        (
            "issue",
            "--issuer",
            issuer,
            "--card",
            CARD,
            "--device-public-key",
            str(sealed / "dev.pub"),
            "--out",
            str(tmp_path / "c.cbor"),
        ),
        (
            "present",
            "--credential",
            str(sealed / "cred.cbor"),
            "--device-key",
            str(sealed / "dev.pem"),
            "--at",
            AT,
        ),
        (
            "nfc-card",
            "--credential",
            str(sealed / "cred.cbor"),
            "--device-key",
            str(sealed / "dev.pem"),
            "--vpcd",
            "127.0.0.1:1",
        ),
        (
            "status-list",
            "build",
            "--issuer",
            issuer,
            "--size",
            "16",
            "--uri",
            "https://s/9",
            "--out",
            str(tmp_path / "l.cwt"),
        ),
        ("trust-list", "sign", "--issuer", issuer, "--seq", "1", "--out", str(tmp_path / "t")),
        (
            "statement",
            "issue",
            "--issuer",
            issuer,
            "--credential",
            str(sealed / "cred.cbor"),
            "--invoices",
            str(sealed / "invoices.json"),
            "--out",
            str(tmp_path / "s.cbor"),
        ),
    ]
    for argv in commands:
        code, out, err = run(capsys, *argv, "--json")
        assert code == EXIT_INVALID, (argv, err)
        assert "[key.passphrase]" in one_error(err), argv
        assert json.loads(out)["code"] == "key.passphrase"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    # Nothing was numbered in the issuer directory for the list that was not signed.
    registry = sealed / "issuer/status-lists.json"
    assert not registry.exists() or "https://s/9" not in registry.read_text()


def test_a_missing_passphrase_without_a_terminal_is_a_usage_error_exit_2(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_terminal: None
) -> None:
    for argv in (
        ("init-issuer", "--out", str(tmp_path / "issuer"), "--encrypt"),
        ("device-key", "--out", str(tmp_path / "dev.pem"), "--encrypt"),
    ):
        code, out, err = run(capsys, *argv, "--json")
        assert code == EXIT_USAGE, err
        line = one_error(err)
        assert "[usage.command_line]" in line and PASSPHRASE_ENV in line
        assert json.loads(out)["code"] == "usage.command_line"
    assert list(tmp_path.iterdir()) == []  # asked before any key was made
    code, out, err = run(
        capsys, "present", "--credential", str(sealed / "cred.cbor"), "--device-key",
        str(sealed / "dev.pem"), "--at", AT,
    )  # fmt: skip
    assert code == EXIT_USAGE and out == ""
    line = one_error(err)
    assert "[usage.command_line]" in line and "is encrypted" in line and PASSPHRASE_ENV in line
    code, _, err = run(
        capsys, "trust-list", "sign", "--issuer", str(sealed / "issuer"), "--seq", "1",
        "--out", str(tmp_path / "t"),
    )  # fmt: skip
    assert code == EXIT_USAGE and "[usage.command_line]" in one_error(err)


def test_an_empty_passphrase_is_refused(
    sealed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    terminal: Terminal,
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "")
    code, _, err = run(capsys, "device-key", "--out", str(tmp_path / "a.pem"), "--encrypt")
    assert code == EXIT_USAGE and "empty passphrase" in one_error(err)
    code, _, err = run(
        capsys, "present", "--credential", str(sealed / "cred.cbor"), "--device-key",
        str(sealed / "dev.pem"),
    )  # fmt: skip
    assert code == EXIT_USAGE and "empty passphrase" in one_error(err)
    monkeypatch.delenv(PASSPHRASE_ENV)
    terminal.answers = [""]
    code, _, err = run(capsys, "device-key", "--out", str(tmp_path / "b.pem"), "--encrypt")
    assert code == EXIT_USAGE and "empty passphrase" in one_error(err)
    assert terminal.prompts == ["passphrase for the new private key: "]
    assert terminal.answers == [] and list(tmp_path.iterdir()) == []


def test_two_different_passphrases_typed_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], terminal: Terminal
) -> None:
    terminal.answers = ["one", "two"]
    code, out, err = run(capsys, "init-issuer", "--out", str(tmp_path / "issuer"), "--encrypt")
    assert code == EXIT_USAGE and out == ""
    assert "differ" in one_error(err)
    assert not (tmp_path / "issuer").exists()


def test_force_is_still_needed_and_checked_before_the_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_terminal: None
) -> None:
    key = tmp_path / "dev.pem"
    key.write_bytes(b"the old key")
    code, _, err = run(capsys, "device-key", "--out", str(key), "--encrypt")
    assert code == EXIT_USAGE and "[io.exists]" in one_error(err)
    assert key.read_bytes() == b"the old key"


def test_the_passphrase_is_never_an_argument() -> None:
    options = {o for c in ("init-issuer", "device-key") for o in _options(c)}
    assert "--encrypt" in options
    assert not [o for o in options if "pass" in o]


def test_the_library_refuses_an_encrypted_issuer_without_a_passphrase(sealed: Path) -> None:
    with pytest.raises(KeyPassphraseError) as refused:
        load_issuer_directory(sealed / "issuer")
    assert refused.value.code == "key.passphrase"
    with pytest.raises(KeyPassphraseError):
        load_issuer_directory(sealed / "issuer", lambda path: b"wrong")
    material = load_issuer_directory(sealed / "issuer", lambda path: SECRET.encode())
    assert material.issuer_key is not None and material.root_key is not None
    asked: list[Path] = []
    material = load_issuer_directory(
        sealed / "issuer", lambda path: asked.append(path) or SECRET.encode(), root_key=False
    )
    assert material.root_key is None and asked == [sealed / "issuer/issuer-key.pem"]


def test_the_demo_writes_its_keys_unencrypted_whatever_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, SECRET)
    assert run(capsys, "demo", "--workdir", str(tmp_path), "--at", AT)[0] == EXIT_OK
    keys = [tmp_path / "device.pem", tmp_path / "issuer/issuer-key.pem"]
    for key in keys:
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----"), key


def _options(command: str) -> set[str]:
    parser = cli._parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    child = sub.choices[command]  # type: ignore[index]
    return {o for a in child._actions for o in a.option_strings}


def test_verify_signs_its_evidence_with_an_encrypted_professional_key(
    sealed: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, SECRET)
    argv = ["present", "--credential", str(sealed / "cred.cbor"), "--device-key"]
    code, qr, err = run(capsys, *argv, str(sealed / "dev.pem"), "--at", AT)
    assert code == EXIT_OK, err
    argv = ["verify", "--trust", str(sealed / "issuer/readers.pem"), "--no-replay-store"]
    argv += ["--at", AT, "--evidence-out", str(tmp_path / "evidence.cbor")]
    argv += ["--professional", "10001234567", "--invoice", "0a0b"]
    argv += ["--professional-key", str(sealed / "dev.pem"), qr.strip()]
    code, _, err = run(capsys, *argv)
    assert code == EXIT_OK, err
    assert (tmp_path / "evidence.cbor").stat().st_size > 0
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")
    (tmp_path / "evidence.cbor").unlink()
    code, _, err = run(capsys, *argv)
    assert code == EXIT_INVALID and "[key.passphrase]" in one_error(err)
