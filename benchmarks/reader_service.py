"""Load test of the reader service on loopback: correctness under load, latency, throughput.

Run: ``python -m benchmarks.reader_service [--quick] [--repeat N] [--clients N]
[--seconds S] [--rate R] [--durability MODES] [--pin] [--out DIR]`` (or ``python
benchmarks/reader_service.py``).

The service runs as its own process (``python -m vitale_cred reader serve``,
uvicorn on 127.0.0.1, the persistent SQLite replay store and trust state in a
temporary directory) and this process drives it with N keep-alive HTTP/1.1
connections written directly on asyncio protocols (uvloop when installed): an HTTP
client library would cost more CPU than the server on a 2-core machine, and the
client shares the machine's CPUs with the service. Every request is a distinct fresh
presentation (``--holders`` holders of the family5 card, more credentials than the
verifier's issuer cache holds: every verification is cold), a replay of a
presentation already accepted by any client (1 in 10), or a forgery (1 in 20, one
bit of the device signature flipped). Each answer is checked once the phase is over:
a fresh one must verify, a replay must be refused with ``presentation.replayed``, a
forgery with ``binding.device_signature_invalid``, and nothing may answer other than
200.

One service process per ``[state] replay_durability`` mode (``--durability``: both in
the full run, ``power_cut``, the default and the headline, then ``process_crash``;
``power_cut`` alone with ``--quick``) serves every phase; ``--repeat`` times (3 in the
full run):

1. **references**: the in-process cold-verify rate on one core (issuer cache off,
   distinct presentations, garbage collector paused as in ``benchmarks/suite.py``),
   measured in this process while the services are idle, and the time of one disk
   flush in the state directory (what a ``power_cut`` verdict waits for);
2. then against each service in turn (the first one changes every round), **paced**:
   each client sends ``--rate`` requests per second for ``--seconds``. A
   request's latency runs from its scheduled send time when the connection was still
   waiting for the previous answer at that time (a stalled server cannot hide behind
   a client that waits), else from the moment it was written (the client's own timer
   lateness, up to a millisecond with asyncio's timers, is not the server's);
3. **saturation**: each client sends its next request as soon as it has the previous
   answer, ``--saturation-requests`` of them: the throughput.

Then once, **camera**: ``--frames`` 640x480 JPEG frames, each holding a fresh version
17-19 presentation QR code, sent one at a time to ``POST /v1/verify/image``.

CPU: the service's and this client's CPU time per request in each phase, and the
CPUs used by the rest of the machine meanwhile (``/proc/stat``: busy time minus the
two, and the time stolen by the hypervisor). ``--pin`` pins the services to the last
CPU and the client to the others. Memory: each service's resident set size sampled
every second over the whole run. Results: ``benchmarks/results/reader_service.json``
and ``.md``, with the median of the repeats (not written with ``--quick``, which is
the CI smoke run: it asserts correctness only, never time).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import io
import json
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

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
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def make(self, count: int) -> list[Item]:
        clock = SystemClock()
        items: list[Item] = []
        accepted: list[Item] = []
        for n in range(count):
            device, credential = next(self.fresh)
            if n % 20 == 19:
                token = bytearray(present(credential, device, clock=clock, ttl=300))
                token[-1] ^= 0x01
                items.append(Item(_body(encode_qr_text(bytes(token))), FORGED))
            elif n % 10 == 9 and accepted:
                # A replay of a presentation sent earlier by this client.
                earlier = self.rng.choice(accepted)
                items.append(Item(earlier.body, REPLAYED, earlier.qr))
            else:
                qr = present_qr(credential, device, clock=clock, ttl=300)
                items.append(Item(_body(qr), OK, qr))
                accepted.append(items[-1])
        return items


def _body(qr: str) -> bytes:
    return json.dumps({"qr": qr}).encode("ascii")


def _request(body: bytes, port: int) -> bytes:
    return (
        f"POST /v1/verify/qr HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


# --- a client that costs little -----------------------------------------------------------


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time.

    The answer is complete when its headers and ``Content-Length`` bytes of body are
    in; its arrival time is taken as soon as the bytes are read, before any parsing
    of the body (checked after the phase).
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[float, bytes]] | None = None
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio and uvloop both set TCP_NODELAY on their TCP transports.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        at = self.buffer.find(b"content-length:", 0, end)
        if at < 0:
            at = self.buffer.lower().find(b"content-length:", 0, end)
        length = 0
        if at >= 0:
            line_end = self.buffer.find(b"\r\n", at)
            length = int(self.buffer[at + 15 : line_end])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        arrived = time.perf_counter()
        answer = bytes(self.buffer[:total])
        del self.buffer[:total]
        self.waiter = None
        waiter.set_result((arrived, answer))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("the service closed the connection")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.lost)

    def ask(self, request: bytes) -> asyncio.Future[tuple[float, bytes]]:
        if self.lost is not None or self.transport is None:
            raise ConnectionResetError("connection lost")
        waiter: asyncio.Future[tuple[float, bytes]] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self.transport.write(request)
        return waiter


async def _connect(port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, "127.0.0.1", port)
    return protocol


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head[9:12]), body


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    #: How late the client wrote each request after its scheduled time (paced only).
    lags: list[float] = field(default_factory=list)
    answers: list[tuple[str, bytes]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def check(self) -> None:
        """Every answer against what was expected (after the phase, off the clock)."""
        for expect, answer in self.answers:
            self.sent[expect] = self.sent.get(expect, 0) + 1
            status, body = _status_and_body(answer)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status != 200:
                self.wrong.append(f"HTTP {status} for {expect}")
                continue
            verdict = json.loads(body)
            got = OK if verdict["ok"] else verdict["code"]
            if got != expect:
                self.wrong.append(f"expected {expect}, got {got}")
        self.answers.clear()


async def _client(
    port: int,
    items: list[Item],
    tally: Tally,
    *,
    interval: float | None,
    start: float,
) -> None:
    connection = await _connect(port)
    requests = [_request(item.body, port) for item in items]
    previous = start
    perf_counter = time.perf_counter
    try:
        for n, (item, request) in enumerate(zip(items, requests, strict=True)):
            if interval is None:
                sent = perf_counter()
                origin = sent
            else:
                scheduled = start + n * interval
                delay = scheduled - perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = perf_counter()
                tally.lags.append(sent - scheduled)
                # Waiting for the previous answer at the scheduled time: the server's delay.
                origin = scheduled if previous > scheduled else sent
            arrived, answer = await connection.ask(request)
            previous = arrived
            tally.latencies.append(arrived - origin)
            tally.answers.append((item.expect, answer))
    finally:
        if connection.transport is not None:
            connection.transport.close()


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
    # The client's own collector paused: its pauses would count as the server's latency.
    gc.collect()
    gc.disable()
    try:
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    tally.check()
    return tally, seconds


def _merged(*counts: dict[int, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            out[str(key)] = out.get(str(key), 0) + value
    return dict(sorted(out.items()))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(value: float) -> float:
    return round(value * 1000, 3)


# --- CPU and memory ------------------------------------------------------------------------------


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_cpu() -> tuple[float, float]:
    """Busy and stolen CPU seconds of the whole machine (every CPU), from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = values[:7]
    steal = values[7] if len(values) > 7 else 0
    return (user + nice + system + irq + softirq) / _TICK, steal / _TICK


@dataclass
class CpuMeter:
    """CPU used by the service, by this client and by everything else during a phase."""

    pid: int
    marks: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def start(self) -> None:
        busy, steal = _machine_cpu()
        self.marks = (time.perf_counter(), _process_cpu(self.pid), _own_cpu(), busy, steal)

    def stop(self, requests: int) -> dict[str, float]:
        busy, steal = _machine_cpu()
        wall0, server0, client0, busy0, steal0 = self.marks
        wall = time.perf_counter() - wall0
        server = _process_cpu(self.pid) - server0
        client = _own_cpu() - client0
        return {
            "server_us_per_request": round(server / requests * 1e6, 1),
            "client_us_per_request": round(client / requests * 1e6, 1),
            "server_cpus": round(server / wall, 2),
            "client_cpus": round(client / wall, 2),
            "other_cpus": round(max(0.0, busy - busy0 - server - client) / wall, 2),
            "stolen_cpus": round((steal - steal0) / wall, 2),
        }


class RssSampler:
    """The service's resident set size every ``period`` seconds, from a thread."""

    def __init__(self, pid: int, period: float = 1.0) -> None:
        self.pid = pid
        self.period = period
        self.samples: list[tuple[float, float]] = []
        self.marks: dict[str, float] = {}
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, name: str) -> float:
        """Record the RSS now under ``name`` (MiB)."""
        value = round(_rss(self.pid) / 2**20, 1)
        self.marks[name] = value
        return value

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                value = _rss(self.pid) / 2**20
            except OSError:
                return
            self.samples.append((round(time.monotonic() - self._start, 1), round(value, 1)))
            self._stop.wait(self.period)


# --- the service process -------------------------------------------------------------------


def _start_service(
    directory: Path, world: World, port: int, durability: str = "power_cut"
) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "trust.pem").write_bytes(world.trust_pem)
    config = directory / "reader.toml"
    config.write_text(
        f"[server]\nport = {port}\nrate_limit = 1000000\nrate_burst = 1000000\n"
        'access_log = false\nlog_level = "warning"\n\n'
        f'[state]\ndir = "{directory / "state"}"\nreplay_durability = "{durability}"\n\n'
        f'[trust]\ncertificates = "{directory / "trust.pem"}"\n',
        "utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "vitale_cred", "reader", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
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


class FlushProbe:
    """Times a disk flush in ``directory`` every ``period`` seconds, from a thread, while
    a phase runs: what each group of ``power_cut`` verdicts waits for at that moment
    (the flush time of this machine's virtual disk varies with the other work's I/O)."""

    def __init__(self, directory: Path, period: float = 0.1) -> None:
        self.path = directory / "flush-probe"
        self.period = period
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.times = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float | None]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self.times:
            return {"p50_ms": None, "p99_ms": None, "max_ms": None}
        return {
            "p50_ms": _ms(_percentile(self.times, 0.5)),
            "p99_ms": _ms(_percentile(self.times, 0.99)),
            "max_ms": _ms(max(self.times)),
        }

    def _run(self) -> None:
        flush = getattr(os, "fdatasync", os.fsync)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096 * 8)
            flush(fd)
            n = 0
            while not self._stop.wait(self.period):
                os.pwrite(fd, n.to_bytes(4, "big") * 1024, (n % 8) * 4096)
                start = time.perf_counter()
                flush(fd)
                self.times.append(time.perf_counter() - start)
                n += 1
        finally:
            os.close(fd)
            self.path.unlink()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pin(service_pids: list[int]) -> dict[str, list[int]] | None:
    """The services on the last CPU, this client on the others (None: not possible)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    for pid in service_pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), {cpus[-1]})
    os.sched_setaffinity(0, set(cpus[:-1]))
    return {"service": [cpus[-1]], "client": cpus[:-1]}


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
    connection = await _connect(port)
    latencies: list[float] = []
    wrong: list[str] = []
    try:
        for jpeg, version in frames:
            head = (
                f"POST /v1/verify/image HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            ).encode("ascii")
            start = time.perf_counter()
            arrived, answer = await connection.ask(head + jpeg)
            latencies.append(arrived - start)
            status, body = _status_and_body(answer)
            if status != 200 or not json.loads(body)["ok"]:
                wrong.append(f"frame (QR version {version}): HTTP {status} {body[:120]!r}")
    finally:
        if connection.transport is not None:
            connection.transport.close()
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
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for text in texts[20:]:
            verifier.verify_qr(text)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return (count - 20) / elapsed


# --- main ---------------------------------------------------------------------------------------


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _phase_result(
    tally: Tally, seconds: float, cpu: dict[str, float], *, offered: float | None
) -> dict[str, Any]:
    lat = tally.latencies
    out: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "requests": len(lat),
        "achieved_per_second": round(len(lat) / seconds, 1),
        "p50_ms": _ms(_percentile(lat, 0.50)),
        "p90_ms": _ms(_percentile(lat, 0.90)),
        "p99_ms": _ms(_percentile(lat, 0.99)),
        "p999_ms": _ms(_percentile(lat, 0.999)),
        "max_ms": _ms(max(lat)),
        "cpu": cpu,
    }
    if offered is not None:
        out["offered_per_second"] = offered
        out["send_lag_p50_ms"] = _ms(_percentile(tally.lags, 0.50))
        out["send_lag_p99_ms"] = _ms(_percentile(tally.lags, 0.99))
    return out


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(float(run[key]) for run in runs), 3)


#: ``[state] replay_durability`` values; the first is the service's default.
DURABILITY = ("power_cut", "process_crash")


@dataclass
class Service:
    """One service process under test (one durability mode) and what it measured."""

    durability: str
    port: int
    process: subprocess.Popen[bytes]
    rss: RssSampler
    paced: list[dict[str, Any]] = field(default_factory=list)
    saturation: list[dict[str, Any]] = field(default_factory=list)
    tallies: list[Tally] = field(default_factory=list)

    @property
    def meter(self) -> CpuMeter:
        return CpuMeter(self.process.pid)

    def stop(self) -> None:
        self.rss.__exit__()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def result(self, cold: list[float], args: argparse.Namespace) -> dict[str, Any]:
        rss, samples = self.rss, self.rss.samples
        ratio = round(statistics.median(r["throughput_ratio"] for r in self.saturation), 3)
        out: dict[str, Any] = {
            "paced": {
                "rate_per_client": args.rate,
                "seconds": args.seconds,
                "offered_per_second": round(args.clients * args.rate, 1),
                **{
                    key: _median(self.paced, key)
                    for key in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")
                },
                "runs": self.paced,
            },
            "saturation": {
                "requests_per_client": args.saturation_requests,
                "throughput_per_second": round(
                    statistics.median(r["achieved_per_second"] for r in self.saturation), 1
                ),
                "p50_ms": _median(self.saturation, "p50_ms"),
                "p99_ms": _median(self.saturation, "p99_ms"),
                "runs": self.saturation,
            },
            "throughput_ratio": ratio,
            "memory": {
                "marks_mib": rss.marks,
                "rss_after_warmup_mib": rss.marks["after warm-up"],
                "rss_max_mib": max(v for _, v in samples) if samples else None,
                "rss_at_end_mib": rss.marks["end"],
                "growth_after_first_round_mib": round(
                    rss.marks[f"after round {args.repeat}"] - rss.marks["after round 1"], 1
                ),
                "seconds": samples[-1][0] if samples else 0,
                "samples": samples,
            },
        }
        out["targets"] = {
            "p50_ms": [out["paced"]["p50_ms"], TARGETS["p50_ms"]],
            "p99_ms": [out["paced"]["p99_ms"], TARGETS["p99_ms"]],
            "throughput_ratio": [ratio, TARGETS["throughput_ratio"]],
        }
        return out


def _round(
    runner: asyncio.Runner,
    service: Service,
    paced: list[list[Item]],
    saturation: list[list[Item]],
    cold: float,
    probe: FlushProbe,
    args: argparse.Namespace,
) -> None:
    """One paced and one saturation phase against ``service``."""
    print(f"  {service.durability}: paced ...", file=sys.stderr, flush=True)
    meter = service.meter
    meter.start()
    probe.start()
    tally, seconds = runner.run(_phase(service.port, paced, interval=1.0 / args.rate))
    cpu = meter.stop(len(tally.latencies))
    paced_result = _phase_result(tally, seconds, cpu, offered=round(args.clients * args.rate, 1))
    paced_result["disk_flush"] = probe.stop()
    service.paced.append(paced_result)
    service.tallies.append(tally)
    print(f"  {service.durability}: saturation ...", file=sys.stderr, flush=True)
    meter.start()
    probe.start()
    tally, seconds = runner.run(_phase(service.port, saturation, interval=None))
    cpu = meter.stop(len(tally.latencies))
    saturated = _phase_result(tally, seconds, cpu, offered=None)
    saturated["disk_flush"] = probe.stop()
    saturated["throughput_ratio"] = round(saturated["achieved_per_second"] / cold, 3)
    service.saturation.append(saturated)
    service.tallies.append(tally)


def run(args: argparse.Namespace) -> dict[str, Any]:
    print(f"making {args.holders} holders ...", file=sys.stderr, flush=True)
    world = make_world(args.holders)
    plan = Plan(world.credentials())
    paced_each = max(1, int(args.rate * args.seconds))
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
    factory = _loop_factory()
    runner = asyncio.Runner(loop_factory=factory)
    cold: list[float] = []
    pinned: dict[str, list[int]] | None = None
    services: list[Service] = []
    with tempfile.TemporaryDirectory(prefix="vitale-reader-bench-", dir=args.dir) as tmp:
        try:
            for durability in args.durability:
                port = _free_port()
                process = _start_service(Path(tmp) / durability, world, port, durability)
                services.append(Service(durability, port, process, RssSampler(process.pid)))
                services[-1].rss.__enter__()
                services[-1].rss.mark("start")
            if args.pin:
                pinned = _pin([service.process.pid for service in services])
            probe = FlushProbe(Path(tmp))
            with runner:
                # Warm-up: the first requests of every connection, the issuer cache filled.
                warm_each = max(1, args.warmup // args.clients)
                for service in services:
                    warm = [plan.make(warm_each) for _ in range(args.clients)]
                    runner.run(_phase(service.port, warm, interval=None))
                    service.rss.mark("after warm-up")
                for round_ in range(1, args.repeat + 1):
                    print(f"round {round_}/{args.repeat}: signing ...", file=sys.stderr, flush=True)
                    work = [
                        (
                            [plan.make(paced_each) for _ in range(args.clients)],
                            [plan.make(args.saturation_requests) for _ in range(args.clients)],
                        )
                        for _ in services
                    ]
                    cold.append(_cold_rate(world, 400 if args.quick else 2000))
                    gc.collect()
                    print(f"round {round_}:", file=sys.stderr, flush=True)
                    # The modes take turns going first, so that drifts of the machine
                    # spread over them evenly.
                    order = list(zip(services, work, strict=True))
                    shift = (round_ - 1) % len(order)
                    for service, (paced, saturation) in order[shift:] + order[:shift]:
                        _round(runner, service, paced, saturation, cold[-1], probe, args)
                        service.rss.mark(f"after round {round_}")
                print("camera frames ...", file=sys.stderr, flush=True)
                frame_latencies, frame_wrong = runner.run(_frames(services[0].port, frames))
                for service in services:
                    service.rss.mark("end")
        finally:
            for service in services:
                service.stop()
    tallies = [tally for service in services for tally in service.tallies]
    wrong = [w for tally in tallies for w in tally.wrong] + frame_wrong
    sent: dict[str, int] = {}
    for tally in tallies:
        for key, value in tally.sent.items():
            sent[key] = sent.get(key, 0) + value
    modes = {service.durability: service.result(cold, args) for service in services}
    default = modes[args.durability[0]]
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"Python {platform.python_version()} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs",
        "quick": args.quick,
        "clients": args.clients,
        "holders": args.holders,
        "repeat": args.repeat,
        "client_loop": "uvloop" if factory is not None else "asyncio",
        "pinned": pinned,
        "durability": args.durability[0],
        "paced": default["paced"],
        "saturation": default["saturation"],
        "camera": {
            "frames": len(frame_latencies),
            "qr_versions": sorted({v for _, v in frames}),
            "p50_ms": round(statistics.median(frame_latencies) * 1000, 2),
            "p99_ms": round(_percentile(frame_latencies, 0.99) * 1000, 2),
        },
        "in_process_cold_verify_per_second": round(statistics.median(cold), 1),
        "in_process_cold_verify_runs": [round(c, 1) for c in cold],
        "throughput_ratio": default["throughput_ratio"],
        "sent": sent,
        "wrong": wrong[:50],
        "wrong_count": len(wrong),
        "http_statuses": _merged(*(tally.statuses for tally in tallies)),
        "memory": default["memory"],
        "modes": modes,
    }
    result["targets"] = {
        **default["targets"],
        "frame_p50_ms": [result["camera"]["p50_ms"], TARGETS["frame_p50_ms"]],
    }
    return result


def _markdown(result: dict[str, Any]) -> str:
    cam, modes, repeat = result["camera"], result["modes"], result["repeat"]
    names = list(modes)

    def verdict(measured: float, limit: float, *, higher: bool = False) -> str:
        good = measured >= limit if higher else measured <= limit
        return "pass" if good else "FAIL"

    def cells(key: str, unit: str, limit: float, *, higher: bool = False) -> str:
        out = []
        for name in names:
            value = modes[name]["targets"][key][0]
            shown = f"{value:.2f}" if key == "throughput_ratio" else f"{value} {unit}"
            out.append(f"{shown} ({verdict(value, limit, higher=higher)})")
        return " | ".join(out)

    heads = " | ".join(
        f"`{name}`{' (default)' if name == result['durability'] else ''}" for name in names
    )
    pinned = result["pinned"]
    placement = (
        f"each service pinned to CPU {pinned['service']} and the client to CPU {pinned['client']}"
        if pinned
        else "none pinned: the kernel places the processes on the machine's CPUs"
    )
    lines = [
        "# Reader service load test",
        "",
        f"{result['when']}; {result['machine']}. "
        "Produced by `python -m benchmarks.reader_service`.",
        "",
        f"{result['clients']} concurrent keep-alive clients on loopback against a service in "
        "its own process (uvicorn with httptools and uvloop, one event loop verifying every "
        "QR text, the persistent SQLite replay store in WAL mode, guarded clock, access log "
        "off, log level warning); presentations of "
        f"{result['holders']} holders (5 credentials each, more than the verifier's issuer "
        "cache holds: every verification is cold); 1 request in 10 replays an accepted "
        "presentation, 1 in 20 is a forgery. The client is one Python process "
        f"({result['client_loop']} event loop, raw HTTP/1.1 on asyncio protocols) on the "
        f"same machine: {placement}.",
        "",
        "One service process per `[state] replay_durability` mode: `power_cut` (the default) "
        "answers an accepted verdict once its token is on disk (one disk flush shared by the "
        "verdicts of a group); `process_crash` answers once the token is recorded (committed, "
        "seen at once by every process sharing the store) and flushes it to disk within 50 "
        "ms. Every figure is the median of "
        f"{repeat} rounds; each round measures the in-process cold-verify reference, then "
        "runs a paced and a saturation phase against each service in turn. During each "
        "phase a thread of the client times a 4 KiB disk flush in the state directory "
        "every 0.1 s: what a group of `power_cut` verdicts waits for at that moment (a "
        "virtual disk's flush time varies with the I/O of the other work of its host).",
        "",
        "## Targets",
        "",
        f"| target | threshold | {heads} |",
        "|---|---:|" + "---:|" * len(names),
        f"| p50 per verification over HTTP, paced load | <= 2 ms | {cells('p50_ms', 'ms', 2.0)} |",
        f"| p99 per verification over HTTP, paced load | <= 10 ms | "
        f"{cells('p99_ms', 'ms', 10.0)} |",
        "| throughput / in-process cold-verify rate per core | >= 0.50 | "
        f"{cells('throughput_ratio', '', 0.5, higher=True)} |",
        f"| camera frame to verdict, p50 (640x480, QR v"
        f"{'-'.join(map(str, cam['qr_versions']))}) | <= 150 ms | {cam['p50_ms']} ms "
        f"({verdict(cam['p50_ms'], 150.0)}) |" + " |" * (len(names) - 1),
        "",
        f"In-process cold verify on one core: {result['in_process_cold_verify_per_second']}/s "
        "(median of " + ", ".join(f"{c}/s" for c in result["in_process_cold_verify_runs"]) + ").",
        "",
        "## Correctness",
        "",
        f"Sent: {result['sent']}. Wrong answers: {result['wrong_count']} "
        f"(every replay and forgery refused with its exact code, every fresh presentation "
        f"verified). HTTP statuses: {result['http_statuses']}. Camera frames, one at a time: "
        f"{cam['frames']}, p50 {cam['p50_ms']} ms, p99 {cam['p99_ms']} ms.",
        "",
        "## Rounds",
        "",
        "| round | durability | phase | requests | achieved/s | p50 ms | p90 ms | p99 ms | "
        "p99.9 ms | max ms | service CPU µs/req | client CPU µs/req | client lag p99 ms | "
        "other CPUs busy | disk flush p50 / p99 / max ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rate = result["paced"]["rate_per_client"]
    for n in range(repeat):
        for name in names:
            mode = modes[name]
            for phase, run_ in (
                (f"paced ({rate}/s per client)", mode["paced"]["runs"][n]),
                ("saturation", mode["saturation"]["runs"][n]),
            ):
                cpu = run_["cpu"]
                lines.append(
                    f"| {n + 1} | `{name}` | {phase} | {run_['requests']} | "
                    f"{run_['achieved_per_second']} | {run_['p50_ms']} | {run_['p90_ms']} | "
                    f"{run_['p99_ms']} | {run_['p999_ms']} | {run_['max_ms']} | "
                    f"{cpu['server_us_per_request']} | {cpu['client_us_per_request']} | "
                    f"{run_.get('send_lag_p99_ms', '-')} | "
                    f"{cpu['other_cpus']} | {run_['disk_flush']['p50_ms']} / "
                    f"{run_['disk_flush']['p99_ms']} / {run_['disk_flush']['max_ms']} |"
                )
    lag = modes[names[0]]["paced"]["runs"][0].get("send_lag_p50_ms")
    lines += [
        "",
        "*Service CPU* and *client CPU*: CPU time of each process per request. *Client lag*: "
        "how late the client wrote its paced requests after their scheduled time (p99); "
        "large, it means the client itself was starved of CPU, and its late reading of "
        "answers inflates the latencies of that phase. *Other CPUs busy*: the rest of the "
        "machine's busy time during the phase (other work sharing these 2 CPUs), in CPUs. "
        "*Disk flush*: the client's flush probe (see above). The service verifies on one "
        "core (one event loop); the client takes a fraction of the other.",
        "",
        "Latency in the paced phase runs from each request's scheduled send time when the "
        "client was still waiting for its previous answer at that time (so a stalled server "
        "shows), else from the moment the request was written (the client's timer "
        f"lateness, median {lag} ms, is the client's, not the server's). In the saturation "
        "phase every client sends as soon as it has its answer, so its latency is the "
        "queue: by Little's law, clients / throughput.",
        "",
        "## Memory",
        "",
    ]
    for name in names:
        mem = modes[name]["memory"]
        lines.append(
            f"`{name}` service, resident set size over {mem['seconds']} s: "
            + ", ".join(f"{k} {v} MiB" for k, v in mem["marks_mib"].items())
            + f"; largest sample {mem['rss_max_mib']} MiB; from the end of round 1 to the end "
            f"of round {repeat}: {mem['growth_after_first_round_mib']:+} MiB."
        )
        lines.append("")
    mem = modes[names[0]]["memory"]
    lines += [
        f"The camera frames go to the `{names[0]}` service after the last round: its `end` "
        "includes Pillow and zxing-cpp, loaded by the first frame.",
        "",
        f"`{names[0]}`, sampled every second:",
        "",
        "| seconds | RSS MiB |",
        "|---:|---:|",
    ]
    step = max(1, len(mem["samples"]) // 24)
    shown = mem["samples"][::step]
    if mem["samples"] and shown[-1] != mem["samples"][-1]:
        shown.append(mem["samples"][-1])
    lines += [f"| {t} | {v} |" for t, v in shown]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: small, no result files")
    parser.add_argument("--repeat", type=int, default=None, help="rounds (3; 1 with --quick)")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="of each paced phase")
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s per client, paced")
    parser.add_argument(
        "--saturation-requests",
        type=int,
        default=None,
        help="requests per client in each saturation phase (300; 40 with --quick)",
    )
    parser.add_argument("--warmup", type=int, default=None, help="requests before round 1")
    parser.add_argument("--holders", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument(
        "--pin", action="store_true", help="pin the service to one CPU, the client to the others"
    )
    parser.add_argument(
        "--durability",
        default=None,
        help="replay_durability modes to measure, comma-separated, the headline first "
        f"({','.join(DURABILITY)}; {DURABILITY[0]} alone with --quick)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the state files go")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.clients = args.clients or (10 if args.quick else 50)
    args.seconds = args.seconds or (3.0 if args.quick else 20.0)
    args.saturation_requests = args.saturation_requests or (40 if args.quick else 300)
    args.warmup = args.warmup or (200 if args.quick else 2000)
    args.holders = args.holders or (20 if args.quick else 240)
    args.frames = args.frames or (5 if args.quick else 60)
    args.durability = (
        args.durability.split(",")
        if args.durability
        else [DURABILITY[0]]
        if args.quick
        else list(DURABILITY)
    )
    if not args.durability or not set(args.durability) <= set(DURABILITY):
        parser.error(f"--durability takes {', '.join(DURABILITY)}")
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
