"""NFC taps end to end: pcscd, the vpcd virtual reader and ``vitale-cred nfc-card`` as
the phone; the service watches the reader, reads each tap and publishes its verdict
to ``GET /v1/events`` and ``GET /v1/nfc/last``."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from service._world import ROOT, make_pki, serving, write_config
from test_pcsc import pcscd  # noqa: F401 - fixture: starts pcscd, or fails under CI
from vitale_cred.service.app import ReaderService
from vitale_cred.service.config import load_config

READER = "Virtual PCD 00 00"
VERDICT = json.loads((ROOT / "spec/json/verdict.schema.json").read_text("utf-8"))


def _card(directory: Path, beneficiary: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vitale_cred.cli.app",
            "nfc-card",
            "--credential",
            str(directory / "bundle.cbor"),
            "--device-key",
            str(directory / "device.pem"),
            "--beneficiary",
            str(beneficiary),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _remove(card: subprocess.Popen[str]) -> None:
    card.send_signal(signal.SIGINT)
    try:
        card.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        card.kill()
        pytest.fail("nfc-card did not stop on SIGINT")


def test_taps_are_read_and_published(pcscd: None, tmp_path: Path) -> None:  # noqa: F811
    pki = make_pki(tmp_path / "pki")
    config = load_config(
        write_config(tmp_path, pki, f'[nfc]\nenabled = true\nreaders = ["{READER}"]\nwait = 10\n')
    )
    service = ReaderService(config)
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    with serving(service) as url:

        def follow() -> None:
            with (
                httpx.Client(base_url=url, timeout=None) as client,
                client.stream("GET", "/v1/events") as stream,
            ):
                seen = 0
                for line in stream.iter_lines():
                    if line.startswith("data:"):
                        events.put(json.loads(line[5:]))
                        seen += 1
                        if seen == 2:
                            return

        threading.Thread(target=follow, daemon=True).start()
        deadline = time.monotonic() + 10
        while service.bus.subscribers == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        for beneficiary in (2, 4):
            card = _card(pki.directory, beneficiary)
            try:
                event = events.get(timeout=30)
            finally:
                _remove(card)
            verdict = event["verdict"]
            jsonschema.validate(verdict, VERDICT)
            assert event["reader"] == READER and event["kind"] == "nfc"
            assert verdict["ok"] is True, verdict
            assert verdict["presentation"]["beneficiary_index"] == beneficiary
            assert verdict["presentation"]["transcript"] is not None
            time.sleep(0.5)  # pcscd notices the removal
        last = httpx.get(f"{url}/v1/nfc/last", params={"count": 5}).json()
        assert last["enabled"] is True
        assert [e["verdict"]["presentation"]["beneficiary_index"] for e in last["events"]] == [4, 2]
        health = httpx.get(f"{url}/v1/health").json()
        assert health["nfc"]["running"] is True and READER in health["nfc"]["readers"]
        assert health["nfc"]["taps"] == 2
        metrics = httpx.get(f"{url}/metrics").text
        assert 'vitale_reader_verifications_total{channel="nfc",code="ok"} 2' in metrics
