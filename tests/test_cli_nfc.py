"""``nfc-card`` and ``nfc-read`` end to end over pcscd and vpcd on this machine."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import ROOT, run
from test_pcsc import pcscd  # noqa: F401 - fixture that starts pcscd or fails under CI
from vitale_cred.cli.app import EXIT_INTERRUPTED


def test_nfc_card_and_nfc_read_verify_a_tap(pcscd: None, tmp_path: Path) -> None:  # noqa: F811
    assert (
        run("init-issuer", "--out", str(tmp_path / "issuer"), "--at", "2026-11-01T00:00:00Z")[0]
        == 0
    )
    code, public = run("device-key", "--out", str(tmp_path / "dev.pem"))
    (tmp_path / "dev.pub").write_text(public)
    code, _ = run(
        "issue",
        "--issuer",
        str(tmp_path / "issuer"),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
        "--device-public-key",
        str(tmp_path / "dev.pub"),
        "--out",
        str(tmp_path / "cred.cbor"),
    )
    assert code == 0
    readers = (tmp_path / "issuer/root.pem").read_text()
    (tmp_path / "readers.pem").write_text(readers + (tmp_path / "issuer/issuer.pem").read_text())
    card = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vitale_cred.cli.app",
            "nfc-card",
            "--credential",
            str(tmp_path / "cred.cbor"),
            "--device-key",
            str(tmp_path / "dev.pem"),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        read = subprocess.run(
            [
                sys.executable,
                "-m",
                "vitale_cred.cli.app",
                "nfc-read",
                "--trust",
                str(tmp_path / "readers.pem"),
                "--beneficiary",
                "4",
                "--wait",
                "20",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert read.returncode == 0, read.stderr
        result = json.loads(read.stdout)
        assert result["ok"] is True
        assert result["presentation"]["beneficiary_index"] == 4
        assert result["presentation"]["beneficiary"]["given_names"] == ["Inès"]
    finally:
        card.send_signal(signal.SIGINT)
        try:
            out, _ = card.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            card.kill()
            pytest.fail("nfc-card did not stop on SIGINT")
    # Ctrl-C stops the card: exit 130, with the APDUs it answered (the tap's) reported.
    assert card.returncode == EXIT_INTERRUPTED
    report = json.loads(out)
    assert report["ok"] is True and report["interrupted"] is True
    assert report["apdus"] > 0
