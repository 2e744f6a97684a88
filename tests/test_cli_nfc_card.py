"""``nfc-card`` stopped by Ctrl-C: the APDUs it answered are reported, and it exits 130.

No pcscd here: the first test replaces the vpcd transport, the second serves the real
one to a stand-in for vpcd on a local socket.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from vitale_cred.cli import app as cli
from vitale_cred.cli.app import EXIT_INTERRUPTED, EXIT_OK

from conftest import ROOT, check_json_output


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("nfc-card")
    out = io.StringIO()
    assert cli.main(["init-issuer", "--out", str(d / "issuer")], out) == EXIT_OK
    out = io.StringIO()
    assert cli.main(["device-key", "--out", str(d / "dev.pem")], out) == EXIT_OK
    (d / "dev.pub").write_text(out.getvalue())
    argv = [
        "issue",
        "--issuer",
        str(d / "issuer"),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
    ]
    argv += ["--device-public-key", str(d / "dev.pub"), "--out", str(d / "cred.cbor")]
    assert cli.main(argv, io.StringIO()) == EXIT_OK
    return d


def nfc_card(d: Path, *extra: str) -> list[str]:
    return [
        "nfc-card",
        "--credential",
        str(d / "cred.cbor"),
        "--device-key",
        str(d / "dev.pem"),
        *extra,
    ]


def _answers_then_ctrl_c(count: int) -> Callable[..., int]:
    def serve(*args: Any, on_answer: Callable[[int], None] | None = None, **kwargs: Any) -> int:
        assert on_answer is not None, "nfc-card must follow the count of answered APDUs"
        for answered in range(1, count + 1):
            on_answer(answered)
        raise KeyboardInterrupt

    return serve


def test_ctrl_c_reports_the_apdus_answered_and_exits_130(
    card: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    with mock.patch(
        "vitale_cred.adapters.pcsc.serve_virtual_card", side_effect=_answers_then_ctrl_c(7)
    ):
        code = cli.main(nfc_card(card), out)
    assert code == EXIT_INTERRUPTED
    assert out.getvalue() == "card removed after 7 APDUs\n"
    err = capsys.readouterr().err
    assert "vitale-cred: error" not in err and "Traceback" not in err


def test_ctrl_c_with_json_prints_the_result_with_the_count(
    card: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    argv = nfc_card(card, "--json")
    with mock.patch(
        "vitale_cred.adapters.pcsc.serve_virtual_card", side_effect=_answers_then_ctrl_c(3)
    ):
        code = cli.main(argv, out)
    assert code == EXIT_INTERRUPTED
    check_json_output(argv, out.getvalue())
    assert json.loads(out.getvalue()) == {"ok": True, "apdus": 3, "interrupted": True}
    assert "vitale-cred: error" not in capsys.readouterr().err


def test_ctrl_c_before_any_apdu_reports_zero(card: Path) -> None:
    out = io.StringIO()
    with mock.patch(
        "vitale_cred.adapters.pcsc.serve_virtual_card", side_effect=_answers_then_ctrl_c(0)
    ):
        assert cli.main(nfc_card(card), out) == EXIT_INTERRUPTED
    assert out.getvalue() == "card removed after 0 APDUs\n"


def test_a_card_that_vpcd_removes_still_exits_0(card: Path) -> None:
    out = io.StringIO()
    with mock.patch("vitale_cred.adapters.pcsc.serve_virtual_card", return_value=5):
        assert cli.main(nfc_card(card, "--json"), out) == EXIT_OK
    assert json.loads(out.getvalue()) == {"ok": True, "apdus": 5}


class _Holder:
    """Answers 90 00 to every APDU; the operator presses Ctrl-C during the fourth."""

    processed = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def process(self, apdu: bytes) -> bytes:
        _Holder.processed += 1
        if _Holder.processed == 4:
            raise KeyboardInterrupt
        return b"\x90\x00"


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(2, "big") + payload


def test_the_real_vpcd_transport_counts_what_it_answered_before_ctrl_c(card: Path) -> None:
    """The counter lives in the adapter's loop: three answers, then Ctrl-C in the fourth."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    responses: list[bytes] = []

    def vpcd() -> None:
        connection, _ = server.accept()
        with connection:
            connection.sendall(_frame(b"\x01"))  # power on
            for _ in range(4):
                connection.sendall(_frame(bytes.fromhex("00A4040007A0000000000000")))
                if len(responses) < 3:
                    data = b""
                    while len(data) < 4:
                        chunk = connection.recv(4 - len(data))
                        if not chunk:
                            return
                        data += chunk
                    responses.append(data[2:])
            connection.recv(1)  # until the card hangs up

    thread = threading.Thread(target=vpcd, daemon=True)
    thread.start()
    _Holder.processed = 0
    out = io.StringIO()
    try:
        with mock.patch("vitale_cred.nfc.HolderSession", _Holder):
            code = cli.main(nfc_card(card, "--vpcd", f"127.0.0.1:{port}"), out)
    finally:
        thread.join(timeout=10)
        server.close()
    assert code == EXIT_INTERRUPTED
    assert responses == [b"\x90\x00"] * 3
    assert out.getvalue() == "card removed after 3 APDUs\n"
