"""The command line: every command's success and failure paths, exit codes, JSON shape."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vitale_cred.cli.app import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from vitale_cred.credential import CredentialBundle, decode_claims
from vitale_cred.hazmat.cose import decode_sign1
from vitale_cred.status import StatusReference, peek_status_list

from conftest import ROOT, check_json_output

AT = "2026-11-03T10:00:00+00:00"
COMMANDS = (
    "demo",
    "init-issuer",
    "device-key",
    "issue",
    "present",
    "verify",
    "nfc-card",
    "nfc-read",
    "status-list",
    "trust-list",
    "statement",
    "inspect",
)


def run(*argv: str) -> tuple[int, str]:
    """Run the command line; every --json output is checked against its published schema."""
    out = io.StringIO()
    code = main(list(argv), out)
    if "--json" in argv:
        check_json_output(argv, out.getvalue())
    return code, out.getvalue()


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An issuer, a device key and a bundle for family5.json, made with the CLI."""
    d = tmp_path_factory.mktemp("cli")
    assert run("init-issuer", "--out", str(d / "issuer"), "--at", "2026-11-01T00:00:00Z")[0] == 0
    code, public = run("device-key", "--out", str(d / "dev.pem"))
    assert code == EXIT_OK and "BEGIN PUBLIC KEY" in public
    (d / "dev.pub.pem").write_text(public)
    code, _ = run(
        "issue",
        "--issuer",
        str(d / "issuer"),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
        "--device-public-key",
        str(d / "dev.pub.pem"),
        "--valid-days",
        "365",
        "--out",
        str(d / "cred.cbor"),
        "--at",
        "2026-11-02T00:00:00Z",
    )
    assert code == EXIT_OK
    readers = (d / "issuer/root.pem").read_text() + (d / "issuer/issuer.pem").read_text()
    (d / "readers.pem").write_text(readers)
    return d


def present(d: Path, *extra: str) -> str:
    code, text = run(
        "present",
        "--credential",
        str(d / "cred.cbor"),
        "--device-key",
        str(d / "dev.pem"),
        "--at",
        AT,
        *extra,
    )
    assert code == EXIT_OK
    return text.strip()


def test_init_issuer_writes_the_four_pem_files_with_private_keys_unreadable(
    issued: Path,
) -> None:
    for name in ("root.pem", "root-key.pem", "issuer.pem", "issuer-key.pem"):
        assert (issued / "issuer" / name).exists()
    assert (issued / "issuer/issuer-key.pem").stat().st_mode & 0o077 == 0
    assert (issued / "dev.pem").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("alg", ["ES384", "EdDSA"])
def test_init_issuer_supports_other_algorithms(tmp_path: Path, alg: str) -> None:
    code, out = run("init-issuer", "--out", str(tmp_path), "--alg", alg)
    assert code == EXIT_OK and f"alg {alg}" in out


def test_present_then_verify_prints_the_beneficiary(issued: Path) -> None:
    text = present(issued, "--beneficiary", "3")
    assert text.startswith("VC1:")
    code, out = run("verify", "--trust", str(issued / "readers.pem"), "--at", AT, text)
    assert code == EXIT_OK
    assert "VALID" in out and "Hugo" in out and "rank 2" in out


def test_verify_json_has_the_documented_shape(issued: Path) -> None:
    text = present(issued, "--beneficiary", "1")
    code, out = run("verify", "--trust", str(issued / "readers.pem"), "--at", AT, "--json", text)
    assert code == EXIT_OK
    result = json.loads(out)
    assert result["ok"] is True and result["code"] is None
    presentation = result["presentation"]
    assert presentation["insured_nir"] == "178047505612327"
    assert presentation["beneficiary_index"] == 1
    assert presentation["beneficiary"]["exonerations"][0]["code"] == "ald"


def test_verify_of_an_expired_token_exits_1_with_its_code(issued: Path) -> None:
    text = present(issued)
    later = "2026-11-03T10:05:00+00:00"
    code, out = run("verify", "--trust", str(issued / "readers.pem"), "--at", later, "--json", text)
    assert code == EXIT_INVALID
    assert json.loads(out) == {
        "ok": False,
        "code": "presentation.expired",
        "message": "token has expired",
        "presentation": None,
    }


def test_verify_with_only_the_root_cannot_resolve_a_compact_token(issued: Path) -> None:
    code, out = run(
        "verify",
        "--trust",
        str(issued / "issuer/root.pem"),
        "--at",
        AT,
        "--json",
        present(issued),
    )
    assert code == EXIT_INVALID and json.loads(out)["code"] == "trust.unknown_issuer"


def test_verify_of_garbage_prints_one_line_with_the_code(
    issued: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("verify", "--trust", str(issued / "readers.pem"), "vc1:abc")
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[qr.bad_prefix]" in err


def test_present_writes_png_and_svg_that_verify(issued: Path) -> None:
    pytest.importorskip("segno")
    pytest.importorskip("zxingcpp")
    present(issued, "--png", str(issued / "qr.png"), "--svg", str(issued / "qr.svg"))
    assert (issued / "qr.svg").read_text().startswith("<?xml")
    code, out = run(
        "verify",
        "--trust",
        str(issued / "readers.pem"),
        "--at",
        AT,
        "--json",
        "--image",
        str(issued / "qr.png"),
    )
    assert code == EXIT_OK
    assert json.loads(out)["ok"] is True


def test_inspect_describes_bundle_and_qr_text(issued: Path) -> None:
    code, out = run("inspect", str(issued / "cred.cbor"))
    assert code == EXIT_OK
    assert "credential bundle: 5 credentials" in out and "Inès" in out
    (issued / "qr.txt").write_text(present(issued))
    code, out = run("inspect", str(issued / "qr.txt"))
    assert code == EXIT_OK and "presentation" in out and "nonce" in out


def test_inspect_of_a_missing_file_exits_1(tmp_path: Path) -> None:
    assert run("inspect", str(tmp_path / "nope"))[0] == EXIT_INVALID


def test_issue_with_a_bad_card_exits_1_with_the_nir_code(
    issued: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = json.loads((ROOT / "spec/examples/family5.json").read_text())
    card["nir"] = "1 78 04 75 056 123 28"
    (tmp_path / "bad.json").write_text(json.dumps(card))
    code, _ = run(
        "issue",
        "--issuer",
        str(issued / "issuer"),
        "--card",
        str(tmp_path / "bad.json"),
        "--device-public-key",
        str(issued / "dev.pub.pem"),
        "--out",
        str(tmp_path / "x.cbor"),
    )
    assert code == EXIT_INVALID
    assert "[card.nir_invalid]" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    assert run()[0] == EXIT_USAGE
    assert run("verify")[0] == EXIT_USAGE
    assert run("present", "--ttl", "x")[0] == EXIT_USAGE
    assert run("issue", "--issuer", "a", "--card", "b", "--out", "c")[0] == EXIT_USAGE


def test_every_command_has_help_with_an_example() -> None:
    for command in (
        "demo",
        "init-issuer",
        "device-key",
        "issue",
        "present",
        "verify",
        "inspect",
        "status-list",
        "trust-list",
        "statement",
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "vitale_cred.cli.app", command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0
        assert "example: vitale-cred" in proc.stdout


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    code, out = run("demo", "--workdir", str(tmp_path), "--at", AT)
    assert code == EXIT_OK
    assert "presentation.replayed" in out
    assert "[status.revoked]" in out
    assert "NFC    #1  MARTIN Claire" in out
    assert "MARTIN Léa" in out
    assert (tmp_path / "card.cbor").exists()


def test_statement_issue_and_verify_for_the_holder_only(issued: Path) -> None:
    code, _ = run(
        "statement",
        "issue",
        "--issuer",
        str(issued / "issuer"),
        "--credential",
        str(issued / "cred.cbor"),
        "--invoices",
        str(ROOT / "spec/examples/invoices.json"),
        "--out",
        str(issued / "st.cbor"),
        "--at",
        AT,
    )
    assert code == EXIT_OK
    code, out = run(
        "statement",
        "verify",
        "--trust",
        str(issued / "issuer/root.pem"),
        "--device-key",
        str(issued / "dev.pem"),
        "--json",
        "--at",
        AT,
        str(issued / "st.cbor"),
    )
    assert code == EXIT_OK
    assert [i["kind"] for i in json.loads(out)["invoices"]] == [
        "medecin",
        "pharmacie",
        "medecin",
        "dentiste",
    ]
    run("device-key", "--out", str(issued / "other.pem"))
    code, out = run(
        "statement",
        "verify",
        "--trust",
        str(issued / "issuer/root.pem"),
        "--device-key",
        str(issued / "other.pem"),
        "--json",
        "--at",
        AT,
        str(issued / "st.cbor"),
    )
    assert code == EXIT_INVALID
    assert json.loads(out)["code"] == "statement.invalid"


def test_revocation_through_the_command_line(issued: Path, tmp_path: Path) -> None:
    uri = "https://status.vitale.example/cli"
    code, _ = run(
        "issue",
        "--issuer",
        str(issued / "issuer"),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
        "--device-public-key",
        str(issued / "dev.pub.pem"),
        "--out",
        str(tmp_path / "c.cbor"),
        "--at",
        "2026-11-02T00:00:00Z",
        "--status-uri",
        uri,
        "--status-index",
        "40",
    )
    assert code == EXIT_OK
    (tmp_path / "revoked.txt").write_text("# lost phone\n42\n43 suspended\n")
    code, _ = run(
        "status-list",
        "build",
        "--issuer",
        str(issued / "issuer"),
        "--size",
        "128",
        "--revoked",
        str(tmp_path / "revoked.txt"),
        "--uri",
        uri,
        "--out",
        str(tmp_path / "list.cwt"),
        "--at",
        AT,
    )
    assert code == EXIT_OK

    def verify(index: int) -> dict[str, object]:
        code, text = run(
            "present",
            "--credential",
            str(tmp_path / "c.cbor"),
            "--device-key",
            str(issued / "dev.pem"),
            "--beneficiary",
            str(index),
            "--at",
            AT,
        )
        assert code == EXIT_OK
        _, out = run(
            "verify",
            "--trust",
            str(issued / "readers.pem"),
            "--status-list",
            str(tmp_path / "list.cwt"),
            "--at",
            AT,
            "--json",
            text.strip(),
        )
        return json.loads(out)  # type: ignore[no-any-return]

    assert verify(0)["ok"] is True
    assert verify(2)["code"] == "status.revoked"
    assert verify(3)["code"] == "status.suspended"
    code, _ = run(
        "status-list",
        "set",
        str(tmp_path / "list.cwt"),
        "43",
        "valid",
        "--issuer",
        str(issued / "issuer"),
        "--at",
        AT,
    )
    assert code == EXIT_OK
    assert verify(3)["ok"] is True


def test_trust_list_sign_verify_and_use(issued: Path, tmp_path: Path) -> None:
    code, _ = run(
        "trust-list",
        "sign",
        "--issuer",
        str(issued / "issuer"),
        "--seq",
        "3",
        "--out",
        str(tmp_path / "tl.cbor"),
        "--at",
        AT,
    )
    assert code == EXIT_OK
    code, out = run(
        "trust-list",
        "verify",
        "--trust",
        str(issued / "issuer/root.pem"),
        "--json",
        "--at",
        AT,
        str(tmp_path / "tl.cbor"),
    )
    assert code == EXIT_OK
    report = json.loads(out)
    assert report["seq"] == 3
    assert report["entries"][0]["algs"] == ["ES256"]
    code, out = run(
        "verify",
        "--trust",
        str(issued / "issuer/root.pem"),
        "--trust-list",
        str(tmp_path / "tl.cbor"),
        "--at",
        AT,
        "--json",
        present(issued),
    )
    assert code == EXIT_OK
    assert json.loads(out)["ok"] is True
    later = "2026-11-20T00:00:00+00:00"
    code, out = run(
        "trust-list",
        "verify",
        "--trust",
        str(issued / "issuer/root.pem"),
        "--at",
        later,
        str(tmp_path / "tl.cbor"),
    )
    assert code == EXIT_INVALID


def test_inspect_reads_every_object_of_the_protocol(issued: Path, tmp_path: Path) -> None:
    run(
        "trust-list",
        "sign",
        "--issuer",
        str(issued / "issuer"),
        "--seq",
        "1",
        "--out",
        str(tmp_path / "tl.cbor"),
        "--at",
        AT,
    )
    run(
        "status-list",
        "build",
        "--issuer",
        str(issued / "issuer"),
        "--size",
        "8",
        "--uri",
        "https://status.vitale.example/i",
        "--out",
        str(tmp_path / "sl.cwt"),
        "--at",
        AT,
    )
    (tmp_path / "apdu.txt").write_text("> 00A4040008F0564954414C450100\n< 9000\n> 00\n< 6D\n")
    expected = {
        "tl.cbor": "trust list",
        "sl.cwt": "status list token",
        "apdu.txt": "APDU transcript: 2 exchanges",
    }
    for name, first_line in expected.items():
        code, out = run("inspect", str(tmp_path / name))
        assert code == EXIT_OK
        assert out.startswith(first_line)
    code, out = run("inspect", str(tmp_path / "apdu.txt"))
    assert "malformed command: [apdu.too_short]" in out
    assert "malformed response: [apdu.response_malformed]" in out


def test_inspect_with_trust_flags_an_expired_token(issued: Path) -> None:
    (issued / "q2.txt").write_text(present(issued))
    code, out = run(
        "inspect", str(issued / "q2.txt"), "--trust", str(issued / "readers.pem"), "--at", AT
    )
    assert code == EXIT_OK
    assert out.rstrip().endswith("verification: VALID")
    code, out = run(
        "inspect",
        str(issued / "q2.txt"),
        "--trust",
        str(issued / "readers.pem"),
        "--at",
        "2026-11-04T00:00:00+00:00",
    )
    assert "verification: FAILS [presentation.expired]" in out


def test_top_level_help_lists_every_command_on_one_line() -> None:
    out = io.StringIO()
    assert main([], out) == EXIT_USAGE
    lines = out.getvalue().splitlines()
    for command in COMMANDS:
        matching = [line for line in lines if line.split()[:1] == [command]]
        assert len(matching) == 1, command
        assert len(matching[0].split()) > 2, f"{command} has no summary on its line"


def test_reporting_commands_print_one_json_object_with_ok(tmp_path: Path) -> None:
    def ok(*argv: str) -> dict[str, object]:
        code, out = run(*argv, "--json")
        assert code == EXIT_OK, argv
        report: dict[str, object] = json.loads(out)
        assert report["ok"] is True
        return report

    assert ok("init-issuer", "--out", str(tmp_path / "i"), "--at", AT)["alg"] == "ES256"
    key = ok("device-key", "--out", str(tmp_path / "d.pem"))
    (tmp_path / "d.pub").write_text(str(key["public_key_pem"]))
    issued = ok(
        "issue",
        "--issuer",
        str(tmp_path / "i"),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
        "--device-public-key",
        str(tmp_path / "d.pub"),
        "--out",
        str(tmp_path / "c.cbor"),
        "--at",
        AT,
    )
    assert issued["credentials"] == 5
    shown = ok(
        "present",
        "--credential",
        str(tmp_path / "c.cbor"),
        "--device-key",
        str(tmp_path / "d.pem"),
        "--at",
        AT,
    )
    assert str(shown["qr_text"]).startswith("VC1:")
    assert (
        ok(
            "status-list",
            "build",
            "--issuer",
            str(tmp_path / "i"),
            "--size",
            "16",
            "--uri",
            "https://status.vitale.example/j",
            "--out",
            str(tmp_path / "s.cwt"),
            "--at",
            AT,
        )["entries"]
        == 16
    )
    assert (
        ok(
            "trust-list",
            "sign",
            "--issuer",
            str(tmp_path / "i"),
            "--seq",
            "1",
            "--out",
            str(tmp_path / "t.cbor"),
            "--at",
            AT,
        )["seq"]
        == 1
    )
    code, out = run(
        "issue",
        "--issuer",
        str(tmp_path / "missing"),
        "--card",
        "x.json",
        "--device-public-key",
        str(tmp_path / "d.pub"),
        "--out",
        "o",
        "--json",
    )
    assert code == EXIT_INVALID
    assert json.loads(out) == {
        "ok": False,
        # A missing file: io.not_found, a child of usage.invalid_argument.
        "code": "io.not_found",
        "message": json.loads(out)["message"],
    }


# --- status-list numbering ----------------------------------------------------------


def _issue(issuer: Path, device_public_key: Path, out: Path, *extra: str) -> int:
    code, _ = run(
        "issue",
        "--issuer",
        str(issuer),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
        "--device-public-key",
        str(device_public_key),
        "--out",
        str(out),
        "--at",
        "2026-11-02T00:00:00Z",
        *extra,
    )
    return code


def _references(bundle: Path) -> list[StatusReference | None]:
    return [
        decode_claims(decode_sign1(credential).payload).status
        for credential in CredentialBundle.decode(bundle.read_bytes()).credentials
    ]


@pytest.fixture
def numbering(tmp_path: Path) -> Path:
    """A fresh issuer directory (numbering starts empty) and a device public key."""
    assert (
        run("init-issuer", "--out", str(tmp_path / "issuer"), "--at", "2026-11-01T00:00:00Z")[0]
        == EXIT_OK
    )
    code, public = run("device-key", "--out", str(tmp_path / "dev.pem"))
    assert code == EXIT_OK
    (tmp_path / "dev.pub.pem").write_text(public)
    readers = (tmp_path / "issuer/root.pem").read_text() + (
        tmp_path / "issuer/issuer.pem"
    ).read_text()
    (tmp_path / "readers.pem").write_text(readers)
    return tmp_path


def test_issue_numbers_each_status_uri_once_in_the_issuer_directory(numbering: Path) -> None:
    d = numbering
    first, second = "https://status.vitale.example/a", "https://status.vitale.example/b"
    assert _issue(d / "issuer", d / "dev.pub.pem", d / "1.cbor", "--status-uri", first) == EXIT_OK
    assert _issue(d / "issuer", d / "dev.pub.pem", d / "2.cbor", "--status-uri", second) == EXIT_OK
    assert (
        _issue(
            d / "issuer",
            d / "dev.pub.pem",
            d / "3.cbor",
            "--status-uri",
            first,
            "--status-index",
            "100",
        )
        == EXIT_OK
    )
    assert _references(d / "1.cbor") == [StatusReference(1, i) for i in range(5)]
    assert _references(d / "2.cbor") == [StatusReference(2, i) for i in range(5)]
    assert _references(d / "3.cbor") == [StatusReference(1, 100 + i) for i in range(5)]
    registry = json.loads((d / "issuer/status-lists.json").read_text())
    assert registry == {first: 1, second: 2}


def test_issue_without_a_status_uri_carries_no_reference_and_numbers_nothing(
    numbering: Path,
) -> None:
    d = numbering
    assert _issue(d / "issuer", d / "dev.pub.pem", d / "c.cbor") == EXIT_OK
    assert _references(d / "c.cbor") == [None] * 5
    assert not (d / "issuer/status-lists.json").exists()


def test_status_index_without_a_status_uri_is_a_usage_error(
    numbering: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = numbering
    code = _issue(d / "issuer", d / "dev.pub.pem", d / "c.cbor", "--status-index", "40")
    assert code == EXIT_USAGE
    assert "--status-uri" in capsys.readouterr().err
    assert not (d / "c.cbor").exists()


def test_status_list_build_signs_the_number_issue_gave_its_uri(numbering: Path) -> None:
    d = numbering
    first, second = "https://status.vitale.example/a", "https://status.vitale.example/b"
    assert _issue(d / "issuer", d / "dev.pub.pem", d / "c.cbor", "--status-uri", first) == EXIT_OK
    for uri, number in ((second, 2), (first, 1)):
        code, out = run(
            "status-list",
            "build",
            "--issuer",
            str(d / "issuer"),
            "--size",
            "64",
            "--uri",
            uri,
            "--out",
            str(d / f"{number}.cwt"),
            "--at",
            AT,
            "--json",
        )
        assert code == EXIT_OK
        assert json.loads(out)["list"] == number
        locator = peek_status_list((d / f"{number}.cwt").read_bytes())
        assert (locator.list_id, locator.uri) == (number, uri)
        assert locator.kid == decode_sign1(_first_credential(d / "c.cbor")).kid
    registry = json.loads((d / "issuer/status-lists.json").read_text())
    assert registry == {first: 1, second: 2}


def _first_credential(bundle: Path) -> bytes:
    return CredentialBundle.decode(bundle.read_bytes()).credentials[0]


def test_verify_with_a_status_list_file_checks_revocation_end_to_end(numbering: Path) -> None:
    d = numbering
    first, second = "https://status.vitale.example/a", "https://status.vitale.example/b"
    assert _issue(d / "issuer", d / "dev.pub.pem", d / "a.cbor", "--status-uri", first) == EXIT_OK
    assert _issue(d / "issuer", d / "dev.pub.pem", d / "b.cbor", "--status-uri", second) == EXIT_OK
    (d / "revoked.txt").write_text("1\n")

    def build(uri: str, out: str) -> None:
        code, _ = run(
            "status-list",
            "build",
            "--issuer",
            str(d / "issuer"),
            "--size",
            "64",
            "--revoked",
            str(d / "revoked.txt"),
            "--uri",
            uri,
            "--out",
            str(d / out),
            "--at",
            AT,
        )
        assert code == EXIT_OK

    build(first, "a.cwt")
    build(second, "b.cwt")

    def verify(bundle: str, beneficiary: int, status_list: str) -> dict[str, object]:
        code, text = run(
            "present",
            "--credential",
            str(d / bundle),
            "--device-key",
            str(d / "dev.pem"),
            "--beneficiary",
            str(beneficiary),
            "--at",
            AT,
        )
        assert code == EXIT_OK
        _, out = run(
            "verify",
            "--trust",
            str(d / "readers.pem"),
            "--status-list",
            str(d / status_list),
            "--at",
            AT,
            "--json",
            text.strip(),
        )
        return json.loads(out)  # type: ignore[no-any-return]

    assert verify("a.cbor", 0, "a.cwt")["ok"] is True
    assert verify("a.cbor", 1, "a.cwt")["code"] == "status.revoked"
    assert verify("b.cbor", 1, "b.cwt")["code"] == "status.revoked"
    # List 2 says nothing about credentials that point into list 1.
    assert verify("a.cbor", 0, "b.cwt")["code"] == "status.undetermined"
    assert verify("a.cbor", 1, "b.cwt")["code"] == "status.undetermined"


def test_json_outputs_are_checked_against_the_schemas() -> None:
    """The schema check in run() can fail: a wrong shape is refused."""
    with pytest.raises(AssertionError):
        check_json_output(("verify", "--json"), '{"valid": true}\n')
    with pytest.raises(AssertionError):
        check_json_output(("status-list", "--json"), '{"ok": false, "code": "x"}\n')
    with pytest.raises(AssertionError):
        check_json_output(("issue", "--json"), "not json\n")
    check_json_output(("issue", "--json"), '{"ok": true, "credentials": 5}\n')


def test_usage_errors_with_json_print_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run("verify", "--json", "--no-such-option")
    assert code == EXIT_USAGE
    assert json.loads(out) == {
        "ok": False,
        "code": "usage.command_line",
        "message": json.loads(out)["message"],
        "presentation": None,
    }
    code, out = run("status-list", "--json")
    assert code == EXIT_USAGE and json.loads(out)["code"] == "usage.command_line"


# --- replay memory across runs, and the QR text from standard input -------------------


def _verify_json(issued: Path, text: str, *extra: str) -> dict[str, object]:
    code, out = run(
        "verify", "--trust", str(issued / "readers.pem"), "--at", AT, "--json", *extra, text
    )
    report: dict[str, object] = json.loads(out)
    assert (code == EXIT_OK) is (report["ok"] is True)
    return report


def test_a_qr_code_verifies_once_across_runs(issued: Path, tmp_path: Path) -> None:
    text = present(issued)
    assert _verify_json(issued, text)["ok"] is True
    # A second process run, same default store (the state directory): a replay.
    assert _verify_json(issued, text)["code"] == "presentation.replayed"
    store = tmp_path / "site-replay.sqlite"
    assert _verify_json(issued, text, "--replay-store", str(store))["ok"] is True
    assert store.exists()
    assert _verify_json(issued, text, "--replay-store", str(store))["code"] == (
        "presentation.replayed"
    )
    # Only tests may forget: --no-replay-store accepts the same code again and again.
    assert _verify_json(issued, text, "--no-replay-store")["ok"] is True
    assert _verify_json(issued, text, "--no-replay-store")["ok"] is True


def test_the_replay_store_is_refused_in_a_file_posing_as_a_directory(
    issued: Path, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x")
    report = _verify_json(issued, present(issued), "--replay-store", str(tmp_path / "file/r.db"))
    assert report["code"] == "io.not_a_directory"


def test_verify_reads_the_qr_text_from_stdin(issued: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = present(issued)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode() + b"\n")))
    assert _verify_json(issued, "-")["ok"] is True
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("VC1:é".encode())))
    assert _verify_json(issued, "-")["code"] == "usage.invalid_argument"


# --- the reader bundle ------------------------------------------------------------------


def test_init_issuer_writes_the_reader_bundle_a_reader_needs(issued: Path) -> None:
    bundle = issued / "issuer" / "readers.pem"
    assert (
        bundle.read_text()
        == (issued / "issuer/root.pem").read_text() + (issued / "issuer/issuer.pem").read_text()
    )
    code, out = run("verify", "--trust", str(bundle), "--at", AT, "--json", present(issued))
    assert code == EXIT_OK and json.loads(out)["ok"] is True


def test_a_root_alone_is_refused_with_what_to_add(issued: Path) -> None:
    root = str(issued / "issuer/root.pem")
    code, out = run("verify", "--trust", root, "--at", AT, "--json", present(issued))
    report = json.loads(out)
    assert code == EXIT_INVALID and report["code"] == "trust.unknown_issuer"
    assert "issuer's certificate" in report["message"] and "reader bundle" in report["message"]


def test_trust_bundle_checks_each_issuer_against_the_roots(issued: Path, tmp_path: Path) -> None:
    root, issuer = str(issued / "issuer/root.pem"), str(issued / "issuer/issuer.pem")
    out_file = tmp_path / "readers.pem"
    argv = ["trust", "bundle", "--root", root, "--issuer", issuer, "--at", AT, "--json"]
    code, out = run(*argv, "--out", str(out_file))
    assert code == EXIT_OK and json.loads(out)["roots"] == 1
    code, out = run("verify", "--trust", str(out_file), "--at", AT, "--json", present(issued))
    assert json.loads(out)["ok"] is True
    # Never replaced silently.
    code, out = run(*argv, "--out", str(out_file))
    assert code == EXIT_USAGE and json.loads(out)["code"] == "io.exists"
    assert run(*argv, "--out", str(out_file), "--force")[0] == EXIT_OK
    # An issuer of another root, a root given as an issuer, an issuer given as a root.
    assert run("init-issuer", "--out", str(tmp_path / "other"), "--at", AT)[0] == EXIT_OK
    other = str(tmp_path / "other/issuer.pem")
    code, out = run(
        "trust",
        "bundle",
        "--root",
        root,
        "--issuer",
        other,
        "--at",
        AT,
        "--json",
        "--out",
        str(tmp_path / "x.pem"),
    )
    assert code == EXIT_INVALID and json.loads(out)["code"].startswith("trust.")
    assert not (tmp_path / "x.pem").exists()
    code, out = run(
        "trust",
        "bundle",
        "--root",
        root,
        "--issuer",
        root,
        "--json",
        "--out",
        str(tmp_path / "x.pem"),
    )
    assert code == EXIT_USAGE and "give it with --root" in json.loads(out)["message"]
    code, out = run("trust", "bundle", "--root", issuer, "--json", "--out", str(tmp_path / "x.pem"))
    assert code == EXIT_USAGE and "not a root" in json.loads(out)["message"]
    # Outside its validity the issuer certificate does not go into a bundle.
    code, out = run(
        *argv[:-3], "--at", "2040-01-01T00:00:00Z", "--json", "--out", str(tmp_path / "late.pem")
    )
    assert code == EXIT_INVALID and json.loads(out)["code"].startswith(("trust.", "validity."))


# --- documentation of every command -------------------------------------------------------


def _leaf_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    out = []
    for name, child in subs[0].choices.items():
        out.extend(_leaf_parsers(child, (*path, name)))
    return out


def test_every_command_documents_itself_with_an_example_and_option_help() -> None:
    from vitale_cred.cli import app

    leaves = _leaf_parsers(app._parser())
    assert len(leaves) >= 16
    for path, parser in leaves:
        assert parser.description, path
        assert (parser.epilog or "").startswith("example: vitale-cred " + path[0]), path
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (path, action.dest)
        text = parser.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, path


def test_python_m_vitale_cred_is_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vitale_cred", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.startswith("vitale-cred ")


# --- producers refuse what readers would refuse ------------------------------------------


def test_producers_refuse_what_the_readers_or_the_spec_refuse(tmp_path: Path) -> None:
    issuer = str(tmp_path / "i")
    assert run("init-issuer", "--out", issuer, "--at", AT)[0] == EXIT_OK
    sign = ("trust-list", "sign", "--issuer", issuer, "--at", AT, "--json", "--out")
    build = (
        "status-list",
        "build",
        "--issuer",
        issuer,
        "--at",
        AT,
        "--json",
        "--uri",
        "https://status.example.fr/1",
        "--out",
    )
    cases = [
        ((*sign, str(tmp_path / "a"), "--seq", "-1"), "trust.list_invalid"),
        (
            (*sign, str(tmp_path / "b"), "--seq", "1", "--issuer-cert", f"{issuer}/root.pem"),
            "trust.certificate_profile",
        ),
        (
            (*sign, str(tmp_path / "c"), "--seq", "1", "--valid-days", "100000"),
            "usage.invalid_argument",
        ),
        ((*build, str(tmp_path / "d"), "--size", "0"), "usage.invalid_argument"),
        (
            (*build, str(tmp_path / "e"), "--size", "8", "--ttl", str(10**12)),
            "usage.invalid_argument",
        ),
    ]
    for argv, code in cases:
        status, out = run(*argv)
        assert status != EXIT_OK and json.loads(out)["code"] == code, (argv, out)
        assert not Path(argv[argv.index("--out") + 1]).exists(), argv
    # At the limits, both are produced.
    assert run(*sign, str(tmp_path / "f"), "--seq", "0", "--valid-days", "90")[0] == EXIT_OK
    assert run(*build, str(tmp_path / "g"), "--size", "1", "--ttl", str(31 * 86_400))[0] == (
        EXIT_OK
    )


# --- never the wrong person ---------------------------------------------------------------


def test_the_command_line_refuses_the_wrong_person_or_the_wrong_file(
    issued: Path, tmp_path: Path
) -> None:
    present_argv = ("present", "--credential", str(issued / "cred.cbor"), "--at", AT, "--json")
    code, out = run("device-key", "--out", str(tmp_path / "other.pem"))
    assert code == EXIT_OK
    # A device key the credential is not bound to, an expired credential.
    code, out = run(*present_argv, "--device-key", str(tmp_path / "other.pem"))
    assert json.loads(out)["code"] == "binding.device_signature_invalid"
    code, out = run(
        *present_argv[:-3],
        "--at",
        "2031-01-01T00:00:00Z",
        "--json",
        "--device-key",
        str(issued / "dev.pem"),
    )
    assert json.loads(out)["code"] == "validity.expired"
    # A beneficiary that is not on the card; an image named for another format.
    code, out = run(*present_argv, "--device-key", str(issued / "dev.pem"), "--beneficiary", "7")
    assert code != EXIT_OK and json.loads(out)["ok"] is False
    code, out = run(
        *present_argv, "--device-key", str(issued / "dev.pem"), "--png", str(tmp_path / "q.jpg")
    )
    assert code == EXIT_USAGE and not (tmp_path / "q.jpg").exists()
    # A card whose child is born in 2099; invoices for someone not on the card.
    card = json.loads((ROOT / "spec/examples/family5.json").read_text("utf-8"))
    card["beneficiaries"][2]["birth_date"] = "2099-01-01"
    card["beneficiaries"][2].pop("ins", None)
    (tmp_path / "card.json").write_text(json.dumps(card), "utf-8")
    code, out = run(
        "issue",
        "--issuer",
        str(issued / "issuer"),
        "--card",
        str(tmp_path / "card.json"),
        "--device-public-key",
        str(issued / "dev.pub.pem"),
        "--out",
        str(tmp_path / "c.cbor"),
        "--at",
        AT,
        "--json",
    )
    assert json.loads(out)["code"] == "card.invalid" and not (tmp_path / "c.cbor").exists()
    invoice = {
        "day": "2026-10-01",
        "beneficiary": 7,
        "kind": "pharmacie",
        "billed_cents": 1000,
        "reimbursed_cents": 700,
    }
    (tmp_path / "inv.json").write_text(json.dumps([invoice]), "utf-8")
    code, out = run(
        "statement",
        "issue",
        "--issuer",
        str(issued / "issuer"),
        "--credential",
        str(issued / "cred.cbor"),
        "--invoices",
        str(tmp_path / "inv.json"),
        "--out",
        str(tmp_path / "s.cbor"),
        "--at",
        AT,
        "--json",
    )
    assert json.loads(out)["code"] == "usage.invalid_argument"
    assert "not on this card" in json.loads(out)["message"]


def test_nfc_commands_refuse_a_beneficiary_that_is_not_the_one_asked_for(
    issued: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run(
        "nfc-card",
        "--credential",
        str(issued / "cred.cbor"),
        "--device-key",
        str(issued / "dev.pem"),
        "--beneficiary",
        "7",
        "--json",
    )
    assert (
        code == EXIT_USAGE and "holds beneficiaries [0, 1, 2, 3, 4]" in json.loads(out)["message"]
    )
    # The phone chose the insured although the professional asked for beneficiary 2.
    from vitale_cred.adapters import pcsc
    from vitale_cred.clock import clock_at
    from vitale_cred.device import SoftwareDeviceKey
    from vitale_cred.presentation import present
    from vitale_cred.trust import TrustStore
    from vitale_cred.verify import Policy, Verifier

    clock = clock_at(AT)
    bundle = CredentialBundle.decode((issued / "cred.cbor").read_bytes())
    device = SoftwareDeviceKey.from_pem((issued / "dev.pem").read_bytes())
    trust = TrustStore.from_pem((issued / "readers.pem").read_bytes())
    insured = Verifier(Policy(trust=trust, clock=clock)).verify_presentation(
        present(bundle.credentials[0], device, clock=clock)
    )
    monkeypatch.setattr(pcsc, "read_presentation", lambda *a, **k: insured)
    argv = ("nfc-read", "--trust", str(issued / "readers.pem"), "--at", AT, "--json")
    code, out = run(*argv, "--beneficiary", "2")
    assert code == EXIT_INVALID
    assert json.loads(out)["code"] == "presentation.beneficiary_mismatch"
    code, out = run(*argv, "--beneficiary", "0")
    assert code == EXIT_OK and json.loads(out)["presentation"]["beneficiary_index"] == 0
    code, out = run(*argv, "--beneficiary", "99")
    assert code == EXIT_USAGE


def test_a_file_of_another_kind_where_cbor_is_expected_is_named(
    issued: Path, tmp_path: Path
) -> None:
    (tmp_path / "card.json").write_text('{"nir": "1"}', "utf-8")
    (tmp_path / "qr.txt").write_text("VC1:ABC", "utf-8")
    cases = {
        str(issued / "readers.pem"): "is a PEM file",
        str(tmp_path / "card.json"): "is a JSON file",
        str(tmp_path / "qr.txt"): "is a QR text",
    }
    for path, said in cases.items():
        code, out = run(
            "present",
            "--credential",
            path,
            "--device-key",
            str(issued / "dev.pem"),
            "--at",
            AT,
            "--json",
        )
        report = json.loads(out)
        assert code == EXIT_INVALID and said in report["message"], report
        assert "credential bundle" in report["message"]
        code, out = run(
            "trust-list", "verify", path, "--trust", str(issued / "issuer/root.pem"), "--json"
        )
        assert said in json.loads(out)["message"]


def test_inspect_with_trust_verifies_every_credential_of_a_bundle(
    issued: Path, tmp_path: Path
) -> None:
    argv = ("inspect", "--trust", str(issued / "readers.pem"), "--at", AT, "--json")
    code, out = run(*argv, str(issued / "cred.cbor"))
    assert code == EXIT_OK and json.loads(out)["verified"] is True
    flipped = bytearray((issued / "cred.cbor").read_bytes())
    flipped[-5] ^= 1
    (tmp_path / "flip.cbor").write_bytes(bytes(flipped))
    code, out = run(*argv, str(tmp_path / "flip.cbor"))
    assert code == EXIT_INVALID and json.loads(out)["code"] == "cose.bad_signature"
    code, out = run("inspect", str(tmp_path / "flip.cbor"), "--json")
    assert code == EXIT_OK and json.loads(out)["decoded"] is True
