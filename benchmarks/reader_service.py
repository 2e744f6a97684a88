"""Load test of the reader service on loopback: correctness under load, latency, throughput.

Run: ``python -m benchmarks.reader_service [--quick] [--clients N] [--seconds S]
[--rate R] [--out DIR]`` (or ``python benchmarks/reader_service.py``).

The service runs as its own process (``python -m vitale_cred reader serve``,
uvicorn on 127.0.0.1, the persistent SQLite replay store and trust state in a
temporary directory) and this process drives it with N keep-alive HTTP/1.1 clients
written on raw asyncio streams (an HTTP client library would cost more CPU than the
server on this 2-core machine). Every request is a distinct fresh presentation
(``--holders`` holders of the family5 card, so most credentials are not in the
verifier's issuer cache: every patient is new), a replay of a presentation already
accepted by any client (about 1 in 10), or a forgery (1 in 20, one bit of the device
signature flipped). Each answer is checked: a fresh one must verify, a replay must be
refused with ``presentation.replayed``, a forgery with
``binding.device_signature_invalid``, and nothing may answer other than 200.

Phases:

1. **paced**: each client sends ``--rate`` requests per second for ``--seconds``
   (latency is measured from the scheduled send time, so a stalled server shows);
2. **saturation**: each client sends its next request as soon as the previous one is
   answered, for ``--seconds / 2``: the throughput;
3. **camera**: ``--frames`` 640x480 JPEG frames, each holding a fresh version 17-19
   presentation QR code, sent one at a time to ``POST /v1/verify/image``: frame to
   verdict.

Memory: the service's resident set size after warm-up and at the end. The in-process
cold-verify rate (one core, issuer cache off, distinct presentations) is measured in
this process for the throughput ratio. Results: ``benchmarks/results/reader_service.json``
and ``.md`` (not written with ``--quick``, which is the CI smoke run: it asserts
correctness only, never time).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from vitale_cred.clock import SystemClock
from vitale_cred.credential import Issuer
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.hazmat.qrtext import encode_qr_text
from vitale_cred.model import Card
from vitale_cred.pki import IssuerMaterial
from vitale_cred.presentation import present, present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.replay import InMemoryReplayCache
from vitale_cred.trust import TrustStore
from vitale_cred.verify import Policy, Verifier

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CARD = json.loads((ROOT / "spec/examples/family5.json").read_text("utf-8"))
TARGETS = {
    "p50_ms": 2.0,
    "p99_ms": 10.0,
    "throughput_ratio": 0.5,
    "frame_p50_ms": 150.0,
}
OK, REPLAYED, FORGED = "ok", "presentation.replayed", "binding.device_signature_invalid"


@dataclass
class World:
    material: IssuerMaterial
    holders: list[tuple[SoftwareDeviceKey, tuple[bytes, ...]]]
    trust_pem: bytes

    def credentials(self) -> Iterator[tuple[SoftwareDeviceKey, bytes]]:
        """Every credential of every holder, round robin, for ever."""
        while True:
            for index in range(5):
                for device, credentials in self.holders:
                    yield device, credentials[index]


def make_world(holders: int) -> World:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    material = IssuerMaterial.generate(CoseAlg.ES256, start)
    issuer = Issuer(
        material.signer(),
        kid=material.kid,
        clock=SystemClock(),
        x5chain=[material.issuer_certificate],
    )
    card = Card.from_json(CARD)
    made = []
    for _ in range(holders):
        device = SoftwareDeviceKey.generate()
        bundle = issuer.issue(
            card, ProvenDeviceKey.unsafe_without_proof(device.cose_key()), valid_days=30
        )
        made.append((device, bundle.credentials))
    pem = serialization.Encoding.PEM
    trust = material.root_certificate.public_bytes(pem) + material.issuer_certificate.public_bytes(
        pem
    )
    return World(material, made, trust)


# --- the requests ------------------------------------------------------------------------


@dataclass
class Item:
    body: bytes
    expect: str
    qr: str = ""


@dataclass
class Plan:
    """What every client sends, built before the clock starts."""

    fresh: Iterator[tuple[SoftwareDeviceKey, bytes]]
    accepted: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def make(self, count: int) -> list[Item]:
        clock = SystemClock()
        items: list[Item] = []
        for n in range(count):
            device, credential = next(self.fresh)
            if n % 20 == 19:
                token = bytearray(present(credential, device, clock=clock, ttl=300))
                token[-1] ^= 0x01
                items.append(Item(_body(encode_qr_text(bytes(token))), FORGED))
            elif n % 10 == 9 and items:
                # A replay of a presentation sent earlier (by this client or another).
                earlier = self.rng.choice([i for i in items if i.expect == OK])
                items.append(Item(earlier.body, REPLAYED, earlier.qr))
            else:
                qr = present_qr(credential, device, clock=clock, ttl=300)
                items.append(Item(_body(qr), OK, qr))
        return items


def _body(qr: str) -> bytes:
    return json.dumps({"qr": qr}).encode("ascii")


def _request(body: bytes, port: int) -> bytes:
    return (
        f"POST /v1/verify/qr HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def record(self, item: Item, status: int, body: bytes, latency: float) -> None:
        self.latencies.append(latency)
        self.sent[item.expect] = self.sent.get(item.expect, 0) + 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != 200:
            self.wrong.append(f"HTTP {status} for {item.expect}")
            return
        answer = json.loads(body)
        got = OK if answer["ok"] else answer["code"]
        if got != item.expect:
            self.wrong.append(f"expected {item.expect}, got {got}")


async def _client(
    port: int, items: list[Item], tally: Tally, *, interval: float | None, start: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n, item in enumerate(items):
            scheduled = start + n * interval if interval else time.perf_counter()
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(_request(item.body, port))
            status, body = await _read_response(reader)
            tally.record(item, status, body, time.perf_counter() - scheduled)
    finally:
        writer.close()


async def _phase(
    port: int, plans: list[list[Item]], *, interval: float | None
) -> tuple[Tally, float]:
    tally = Tally()
    start = time.perf_counter() + 0.05
    rng = random.Random(3)
    tasks = [
        _client(
            port,
            items,
            tally,
            interval=interval,
            start=start + (rng.uniform(0, interval) if interval else 0),
        )
        for items in plans
    ]
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - start


def _merged(*counts: dict[int, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            out[str(key)] = out.get(str(key), 0) + value
    return dict(sorted(out.items()))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the service process -------------------------------------------------------------------


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _start_service(directory: Path, world: World, port: int) -> subprocess.Popen[bytes]:
    (directory / "trust.pem").write_bytes(world.trust_pem)
    config = directory / "reader.toml"
    config.write_text(
        f"[server]\nport = {port}\nrate_limit = 1000000\nrate_burst = 1000000\n"
        'access_log = false\nlog_level = "warning"\n\n'
        f'[state]\ndir = "{directory / "state"}"\n\n'
        f'[trust]\ncertificates = "{directory / "trust.pem"}"\n',
        "utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "vitale_cred", "reader", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    import socket

    while True:
        if process.poll() is not None:
            raise SystemExit(
                f"the service exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("the service did not start") from None
            time.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- camera frames ---------------------------------------------------------------------------


def _frame(qr: str) -> bytes:
    """A 640x480 JPEG: a phone (dark body, white screen) showing the QR code."""
    import segno
    from PIL import Image, ImageDraw

    code = segno.make_qr(qr, error="Q", mode="alphanumeric", boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=3, border=3)
    out.seek(0)
    qr_image = Image.open(out).convert("L")
    frame = Image.new("L", (640, 480), 90)
    draw = ImageDraw.Draw(frame)
    side = qr_image.width
    left, top = (640 - side) // 2, (480 - side) // 2
    draw.rounded_rectangle(
        (left - 30, top - 50, left + side + 30, top + side + 60), radius=28, fill=20
    )
    draw.rectangle((left - 12, top - 20, left + side + 12, top + side + 24), fill=250)
    frame.paste(qr_image, (left, top))
    buffer = io.BytesIO()
    frame.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def _frames(port: int, frames: list[tuple[bytes, int]]) -> tuple[list[float], list[str]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    wrong: list[str] = []
    try:
        for jpeg, version in frames:
            head = (
                f"POST /v1/verify/image HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            ).encode("ascii")
            start = time.perf_counter()
            writer.write(head + jpeg)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200 or not json.loads(body)["ok"]:
                wrong.append(f"frame (QR version {version}): HTTP {status} {body[:120]!r}")
    finally:
        writer.close()
    return latencies, wrong


# --- in-process reference ---------------------------------------------------------------------


def _cold_rate(world: World, count: int) -> float:
    """Cold verifies per second on one core: issuer cache off, distinct presentations."""
    trust = TrustStore.from_pem(world.trust_pem)
    fresh = world.credentials()
    clock = SystemClock()
    texts = []
    for _ in range(count):
        device, credential = next(fresh)
        texts.append(present_qr(credential, device, clock=clock, ttl=300))
    verifier = Verifier(
        Policy(trust=trust, clock=clock, issuer_cache_size=0, replay_cache=InMemoryReplayCache())
    )
    for text in texts[:20]:
        verifier.verify_qr(text)
    start = time.perf_counter()
    for text in texts[20:]:
        verifier.verify_qr(text)
    return (count - 20) / (time.perf_counter() - start)


# --- main ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    print(f"making {args.holders} holders ...", file=sys.stderr, flush=True)
    world = make_world(args.holders)
    cold = _cold_rate(world, 400 if args.quick else 2000)
    plan = Plan(world.credentials())
    paced_each = max(1, int(args.rate * args.seconds))
    saturation_each = max(1, int(args.saturation_rate * args.seconds / 2))
    print(
        f"signing {args.clients * (paced_each + saturation_each)} presentations ...",
        file=sys.stderr,
        flush=True,
    )
    paced = [plan.make(paced_each) for _ in range(args.clients)]
    saturation = [plan.make(saturation_each) for _ in range(args.clients)]
    warm = [plan.make(20)]
    # Frames hold presentations of the longest beneficiaries: QR versions 17-18 at level Q.
    from vitale_cred.adapters.qrimage import qr_version

    frames: list[tuple[bytes, int]] = []
    fresh = world.credentials()
    while len(frames) < args.frames:
        device, credential = next(fresh)
        qr = present_qr(credential, device, clock=SystemClock(), ttl=300)
        version = qr_version(qr)
        if 17 <= version <= 19:
            frames.append((_frame(qr), version))
    with tempfile.TemporaryDirectory(prefix="vitale-reader-bench-", dir=args.dir) as tmp:
        port = _free_port()
        service = _start_service(Path(tmp), world, port)
        try:
            asyncio.run(_phase(port, warm, interval=None))
            rss_before = _rss(service.pid)
            print("paced phase ...", file=sys.stderr, flush=True)
            paced_tally, paced_seconds = asyncio.run(_phase(port, paced, interval=1.0 / args.rate))
            print("saturation phase ...", file=sys.stderr, flush=True)
            saturated, saturated_seconds = asyncio.run(_phase(port, saturation, interval=None))
            print("camera frames ...", file=sys.stderr, flush=True)
            frame_latencies, frame_wrong = asyncio.run(_frames(port, frames))
            rss_after = _rss(service.pid)
        finally:
            service.terminate()
            try:
                service.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.kill()
    throughput = len(saturated.latencies) / saturated_seconds
    wrong = paced_tally.wrong + saturated.wrong + frame_wrong
    sent: dict[str, int] = {}
    for tally in (paced_tally, saturated):
        for key, value in tally.sent.items():
            sent[key] = sent.get(key, 0) + value
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"Python {platform.python_version()} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs",
        "quick": args.quick,
        "clients": args.clients,
        "holders": args.holders,
        "paced": {
            "rate_per_client": args.rate,
            "seconds": round(paced_seconds, 2),
            "requests": len(paced_tally.latencies),
            "offered_per_second": round(args.clients * args.rate, 1),
            "p50_ms": round(_percentile(paced_tally.latencies, 0.50) * 1000, 3),
            "p90_ms": round(_percentile(paced_tally.latencies, 0.90) * 1000, 3),
            "p99_ms": round(_percentile(paced_tally.latencies, 0.99) * 1000, 3),
            "max_ms": round(max(paced_tally.latencies) * 1000, 3),
        },
        "saturation": {
            "seconds": round(saturated_seconds, 2),
            "requests": len(saturated.latencies),
            "throughput_per_second": round(throughput, 1),
            "p50_ms": round(_percentile(saturated.latencies, 0.50) * 1000, 3),
            "p99_ms": round(_percentile(saturated.latencies, 0.99) * 1000, 3),
        },
        "camera": {
            "frames": len(frame_latencies),
            "qr_versions": sorted({v for _, v in frames}),
            "p50_ms": round(statistics.median(frame_latencies) * 1000, 2),
            "p99_ms": round(_percentile(frame_latencies, 0.99) * 1000, 2),
        },
        "in_process_cold_verify_per_second": round(cold, 1),
        "throughput_ratio": round(throughput / cold, 3),
        "sent": sent,
        "wrong": wrong[:50],
        "wrong_count": len(wrong),
        "http_statuses": _merged(paced_tally.statuses, saturated.statuses),
        "memory": {
            "rss_after_warmup_mib": round(rss_before / 2**20, 1),
            "rss_at_end_mib": round(rss_after / 2**20, 1),
            "growth_mib": round((rss_after - rss_before) / 2**20, 1),
        },
    }
    result["targets"] = {
        "p50_ms": [result["paced"]["p50_ms"], TARGETS["p50_ms"]],
        "p99_ms": [result["paced"]["p99_ms"], TARGETS["p99_ms"]],
        "throughput_ratio": [result["throughput_ratio"], TARGETS["throughput_ratio"]],
        "frame_p50_ms": [result["camera"]["p50_ms"], TARGETS["frame_p50_ms"]],
    }
    return result


def _markdown(result: dict[str, Any]) -> str:
    paced, sat, cam, mem = result["paced"], result["saturation"], result["camera"], result["memory"]

    def verdict(measured: float, limit: float, *, higher: bool = False) -> str:
        good = measured >= limit if higher else measured <= limit
        return "pass" if good else "FAIL"

    rows = [
        (
            "p50 per verification over HTTP, paced load",
            f"{paced['p50_ms']} ms",
            "<= 2 ms",
            verdict(paced["p50_ms"], 2.0),
        ),
        (
            "p99 per verification over HTTP, paced load",
            f"{paced['p99_ms']} ms",
            "<= 10 ms",
            verdict(paced["p99_ms"], 10.0),
        ),
        (
            "throughput / in-process cold-verify rate per core",
            f"{result['throughput_ratio']:.2f}",
            ">= 0.50",
            verdict(result["throughput_ratio"], 0.5, higher=True),
        ),
        (
            f"camera frame to verdict, p50 (640x480, QR v{'-'.join(map(str, cam['qr_versions']))})",
            f"{cam['p50_ms']} ms",
            "<= 150 ms",
            verdict(cam["p50_ms"], 150.0),
        ),
    ]
    lines = [
        "# Reader service load test",
        "",
        f"{result['when']}; {result['machine']}. "
        "Produced by `python -m benchmarks.reader_service`.",
        "",
        f"{result['clients']} concurrent keep-alive clients on loopback, the service in its own "
        "process (uvicorn, SQLite replay store with synchronous=FULL, guarded clock), "
        f"presentations of {result['holders']} holders (5 credentials each, more than the "
        "verifier's issuer cache holds: every verification is cold); 1 request in 10 replays "
        "an accepted presentation, 1 in 20 is a forgery.",
        "",
        "## Targets",
        "",
        "| target | measured | threshold | result |",
        "|---|---:|---:|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "## Correctness",
        "",
        f"Sent: {result['sent']}. Wrong answers: {result['wrong_count']} "
        f"(every replay and forgery refused with its exact code, every fresh presentation "
        f"verified). HTTP statuses: {result['http_statuses']}.",
        "",
        "## Phases",
        "",
        "| phase | requests | offered/s | achieved/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| paced ({paced['rate_per_client']}/s per client) | {paced['requests']} | "
        f"{paced['offered_per_second']} | {paced['requests'] / paced['seconds']:.0f} | "
        f"{paced['p50_ms']} | {paced['p99_ms']} |",
        f"| saturation (closed loop) | {sat['requests']} | - | {sat['throughput_per_second']} | "
        f"{sat['p50_ms']} | {sat['p99_ms']} |",
        f"| camera frames (one at a time) | {cam['frames']} | - | - | {cam['p50_ms']} | "
        f"{cam['p99_ms']} |",
        "",
        f"In-process cold verify on one core: {result['in_process_cold_verify_per_second']}/s. "
        f"Service memory (RSS): {mem['rss_after_warmup_mib']} MiB after warm-up, "
        f"{mem['rss_at_end_mib']} MiB at the end ({mem['growth_mib']:+} MiB).",
        "",
        "Latency in the paced phase is measured from each request's scheduled send time "
        "(a stalled server cannot hide behind a client that waits). In the saturation "
        "phase every client sends as soon as it has its answer, so its latency is the "
        "queue: by Little's law, clients / throughput.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: small, no result files")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s per client, paced")
    parser.add_argument(
        "--saturation-rate",
        type=float,
        default=40.0,
        help="presentations prepared per client and second of saturation",
    )
    parser.add_argument("--holders", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="where the state files go")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.clients = args.clients or (10 if args.quick else 50)
    args.seconds = args.seconds or (3.0 if args.quick else 20.0)
    args.holders = args.holders or (20 if args.quick else 240)
    args.frames = args.frames or (5 if args.quick else 60)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "reader_service.json").write_text(text + "\n", "utf-8")
        (args.out / "reader_service.md").write_text(_markdown(result), "utf-8")
    return 1 if result["wrong_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
