"""Two service processes sharing one replay store and trust state (one pharmacy machine),
and the bounded load test in its quick mode (correctness only, never time)."""

from __future__ import annotations

import concurrent.futures
import json
import sys
from pathlib import Path

import httpx

from service._world import NAMES, NIR, free_port, make_pki, running_service, write_config


def test_a_replay_is_refused_across_two_service_processes(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    state = tmp_path / "shared-state"
    ports = [free_port(), free_port()]
    configs = []
    for n, port in enumerate(ports):
        directory = tmp_path / f"service{n}"
        directory.mkdir()
        configs.append(write_config(directory, pki, port=port, state=state))
    with (
        running_service(configs[0], ports[0]) as first,
        running_service(configs[1], ports[1]) as second,
    ):
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        qr = pki.qr(0)
        assert httpx.post(f"{a}/v1/verify/qr", json={"qr": qr}).json()["ok"] is True
        replay = httpx.post(f"{b}/v1/verify/qr", json={"qr": qr}).json()
        assert replay["code"] == "presentation.replayed"
        # Shown at both counters at the same instant: accepted exactly once between them.
        races = [pki.qr(i % 5) for i in range(20)]

        def show(target: str, text: str) -> bool:
            return bool(
                httpx.post(f"{target}/v1/verify/qr", json={"qr": text}, timeout=10).json()["ok"]
            )

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(lambda t: (show(a, t), show(b, t)), races))
        assert all(sum(pair) == 1 for pair in outcomes), outcomes
        health = httpx.get(f"{b}/v1/health").json()
        assert health["replay_store"]["path"] == str(state / "replay.sqlite")
    logs = "".join(process.communicate(timeout=20)[1] for process in (first, second))
    # The real servers' logs (access log included): verdicts, never the NIR or a name.
    assert "verdict qr ok nir=" in logs and "verdict qr refused [presentation.replayed]" in logs
    assert NIR not in logs
    assert not [name for name in NAMES if name in logs]


def test_the_quick_load_test_refuses_every_replay_and_forgery(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.reader_service", "--quick", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    report = json.loads(result.stdout)
    assert report["wrong_count"] == 0, report["wrong"]
    assert set(report["http_statuses"]) == {"200"}
    assert report["sent"]["presentation.replayed"] > 0
    assert report["sent"]["binding.device_signature_invalid"] > 0
