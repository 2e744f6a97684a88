"""The service's replay store: recorded at once for every sharer, flushed in groups, and an
accepted verdict never answered before its token is on disk (``power_cut``); the direct
``POST /v1/verify/qr`` path of the guard answers what the Starlette route answers."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from service._world import Pki, make_pki, serving
from vitale_cred.errors import InvalidArgument, ReplayCacheFull, ReplayStoreError
from vitale_cred.replay import SqliteReplayCache
from vitale_cred.service import replay_group
from vitale_cred.service.app import ReaderService, _stdlib_dumps, create_app, dumps
from vitale_cred.service.config import load_config
from vitale_cred.service.replay_group import GroupCommitReplayCache

NOW = 1_000_000


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _service(directory: Path, pki: Pki, durability: str = "power_cut") -> ReaderService:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "reader.toml"
    path.write_text(
        f'[state]\ndir = "{directory / "state"}"\nreplay_durability = "{durability}"\n'
        f'[trust]\ncertificates = "{pki.trust_pem}"\n',
        "utf-8",
    )
    return ReaderService(load_config(path), token=None)


# --- the store ------------------------------------------------------------------------------


def test_a_record_is_seen_by_every_sharer_before_it_is_flushed(tmp_path: Path) -> None:
    path = tmp_path / "replay.sqlite"
    cache = GroupCommitReplayCache(path)
    other = SqliteReplayCache(path)
    try:
        assert cache.check_and_add(b"nonce", NOW + 60, NOW)
        assert (cache.recorded, cache.synced) == (1, 0)
        # Another process's reader, a file shared: refused before any flush.
        assert not other.check_and_add(b"nonce", NOW + 60, NOW)
        assert not cache.check_and_add(b"nonce", NOW + 60, NOW)
        assert other.check_and_add(b"theirs", NOW + 60, NOW)
        assert not cache.check_and_add(b"theirs", NOW + 60, NOW)
        assert cache.recorded == 1  # a refusal records nothing
        cache.sync()
        assert cache.synced == 1
    finally:
        cache.close()
        other.close()
    reopened = SqliteReplayCache(path)
    try:
        assert not reopened.check_and_add(b"nonce", NOW + 60, NOW)
    finally:
        reopened.close()


def test_the_store_keeps_the_rules_of_the_sqlite_cache(tmp_path: Path) -> None:
    cache = GroupCommitReplayCache(tmp_path / "replay.sqlite", capacity=2, when_full="refuse")
    try:
        assert cache.check_and_add(b"a", NOW + 60, NOW)
        assert cache.check_and_add(b"b", NOW + 60, NOW)
        with pytest.raises(ReplayCacheFull):
            cache.check_and_add(b"c", NOW + 60, NOW)
        with pytest.raises(InvalidArgument):
            cache.check_and_add("d", NOW + 60, NOW)  # type: ignore[arg-type]
        assert len(cache) == 2 and cache.recorded == 2
    finally:
        cache.close()


def test_one_flush_covers_every_record_made_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[int] = []
    real = replay_group._flush
    monkeypatch.setattr(replay_group, "_flush", lambda fd: (flushed.append(fd), real(fd)))
    cache = GroupCommitReplayCache(tmp_path / "replay.sqlite")
    try:
        for n in range(5):
            assert cache.check_and_add(n.to_bytes(4, "big"), NOW + 60, NOW)
        cache.sync()
        cache.sync()  # nothing new: no flush
        assert len(flushed) == 1 and cache.synced == 5
    finally:
        cache.close()


def test_a_failed_flush_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = GroupCommitReplayCache(tmp_path / "replay.sqlite")

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    try:
        assert cache.check_and_add(b"nonce", NOW + 60, NOW)
        monkeypatch.setattr(replay_group, "_flush", broken)
        with pytest.raises(ReplayStoreError) as info:
            cache.sync()
        assert info.value.code == "replay.store_error"
        assert cache.synced == 0
    finally:
        cache.close()


def test_checkpoints_run_aside_and_let_the_log_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay_group, "_CHECKPOINT_BYTES", 64 * 1024)
    cache = GroupCommitReplayCache(tmp_path / "replay.sqlite")
    log = Path(cache.path + "-wal")
    try:
        assert not cache.checkpoint()  # a small log is left alone
        for n in range(60):
            cache.check_and_add(n.to_bytes(4, "big"), NOW + 60, NOW)
        assert log.stat().st_size > 64 * 1024
        assert cache.checkpoint()
        size = log.stat().st_size
        # Checkpointed, the log is written again from its start: it no longer grows.
        for n in range(60, 70):
            cache.check_and_add(n.to_bytes(4, "big"), NOW + 60, NOW)
        cache.sync()
        assert log.stat().st_size <= size
        assert len(cache) == 70
    finally:
        cache.close()


# --- verdicts wait for the flush ----------------------------------------------------------------


def test_an_accepted_verdict_waits_for_its_flush_and_a_refusal_does_not(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(tmp_path, pki)
    events: list[str] = []
    real = replay_group._flush

    def flush(fd: int) -> None:
        events.append("flush")
        real(fd)

    monkeypatch.setattr(replay_group, "_flush", flush)

    async def scans() -> list[dict[str, Any]]:
        qr = [pki.qr(0), pki.qr(1)]
        out = await asyncio.gather(*(service.verify_text_async(text) for text in qr))
        events.append("answered")
        out.append(await service.verify_text_async(qr[0]))
        out.append(await service.verify_text_async(pki.forged()))
        return list(out)

    try:
        first, second, replay, forged = asyncio.run(scans())
    finally:
        service.replay.close()
        service.state.close()
    assert first["ok"] and second["ok"]
    # Two verdicts of one turn of the loop share one flush, made before either is answered.
    assert events == ["flush", "answered"]
    assert replay["code"] == "presentation.replayed"
    assert forged["code"] == "binding.device_signature_invalid"
    assert service.replay.synced == service.replay.recorded == 2


def test_a_failed_flush_refuses_the_verdict_over_http(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(tmp_path, pki)

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    qr = pki.qr(3)
    with serving(service) as url:
        monkeypatch.setattr(replay_group, "_flush", broken)
        refused = httpx.post(f"{url}/v1/verify/qr", json={"qr": qr}, timeout=10).json()
        monkeypatch.undo()
        # Recorded but never answered as accepted: shown again, it stays refused.
        again = httpx.post(f"{url}/v1/verify/qr", json={"qr": qr}, timeout=10).json()
        assert service.replay.synced < service.replay.recorded
        assert service.verify_text(pki.qr(3))["ok"]  # the blocking twin flushes as well
        assert service.replay.synced == service.replay.recorded
    assert (refused["ok"], refused["code"], refused["presentation"]) == (
        False,
        "replay.store_error",
        None,
    )
    assert again["code"] == "presentation.replayed"


def test_process_crash_durability_answers_at_once_and_flushes_behind(
    tmp_path: Path, pki: Pki
) -> None:
    service = _service(tmp_path, pki, "process_crash")
    with serving(service) as url:
        verdict = httpx.post(f"{url}/v1/verify/qr", json={"qr": pki.qr(2)}, timeout=10).json()
        assert verdict["ok"] is True
        deadline = time.monotonic() + 5
        while service.replay.synced < service.replay.recorded and time.monotonic() < deadline:
            time.sleep(0.01)
        assert service.replay.synced == service.replay.recorded == 1
    other = SqliteReplayCache(service.replay.path)
    try:
        assert len(other) == 1
    finally:
        other.close()


def test_the_durability_setting_is_read_strictly(tmp_path: Path, pki: Pki) -> None:
    for durability in ("power_cut", "process_crash"):
        service = _service(tmp_path / durability, pki, durability)
        service.replay.close()
        service.state.close()
        assert service.config.state.replay_durability == durability
    with pytest.raises(InvalidArgument, match=r"state\.replay_durability"):
        _service(tmp_path / "never", pki, "never")


# --- the guard's direct path ----------------------------------------------------------------------


def _asgi(app: Any, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One POST /v1/verify/qr through ``app``, in chunks of 7 bytes."""
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)] or [b""]
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/verify/qr",
        "raw_path": b"/v1/verify/qr",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8765"), *raw_headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start, *rest = messages
    answer = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], answer, b"".join(m.get("body", b"") for m in rest)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"qr": "x"}', {"Content-Type": "text/plain"}),
        (b"{not json", {"Content-Type": "application/json"}),
        (b'{"qr": 1}', {"Content-Type": "application/json"}),
        (b'{"qr": "x", "more": 1}', {"Content-Type": "application/json; charset=utf-8"}),
        (b'["VC1:"]', {"Content-Type": "application/json"}),
        (b'{"qr": "' + b"A" * 20_000 + b'"}', {"Content-Type": "application/json"}),
        (b'{"qr": "A"}', {"Content-Type": "application/json", "Content-Length": "99999"}),
        (b'{"qr": "A"}', {"Content-Type": "application/json", "Content-Length": "x"}),
        (b'{"qr": "hello"}', {"Content-Type": "application/json"}),
        (b'{"qr": "VC1:NOTBASE45"}', {"Content-Type": "application/json"}),
    ],
)
def test_the_direct_path_answers_what_the_route_answers(
    tmp_path: Path, pki: Pki, body: bytes, headers: dict[str, str]
) -> None:
    service = _service(tmp_path, pki)
    guard = create_app(service)
    try:
        direct = _asgi(guard, body, headers)
        # The Starlette application behind the guard, its route for this path.
        routed = _asgi(guard.app, body, headers)
    finally:
        service.replay.close()
        service.state.close()
    assert direct[0] == routed[0] and direct[2] == routed[2]
    for name in ("content-type", "content-length"):
        assert direct[1][name] == routed[1][name]
    assert direct[1]["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert direct[1]["cache-control"] == "no-store"


def test_the_direct_path_verifies_like_the_route(tmp_path: Path, pki: Pki) -> None:
    service = _service(tmp_path, pki)
    guard = create_app(service)
    headers = {"Content-Type": "application/json"}
    try:
        direct = _asgi(guard, json.dumps({"qr": pki.qr(1)}).encode(), headers)
        routed = _asgi(guard.app, json.dumps({"qr": pki.qr(1)}).encode(), headers)
        replayed = _asgi(guard, json.dumps({"qr": pki.qr(1)}).encode(), headers)
    finally:
        service.replay.close()
        service.state.close()
    first, second = json.loads(direct[2]), json.loads(routed[2])
    assert first["ok"] and second["ok"]
    assert first["presentation"]["beneficiary"] == second["presentation"]["beneficiary"]
    assert set(first["presentation"]) == set(second["presentation"])
    assert direct[1]["content-type"] == routed[1]["content-type"] == "application/json"
    assert json.loads(replayed[2])["ok"]  # another fresh presentation
    assert service.replay.synced == service.replay.recorded == 3


def test_dumps_gives_the_bytes_of_the_standard_library(tmp_path: Path, pki: Pki) -> None:
    service = _service(tmp_path, pki)
    try:
        samples: list[Any] = [
            service.verify_text(pki.qr(i)) for i in range(len(pki.bundle.credentials))
        ]
        samples += [
            service.verify_text(pki.forged()),
            {"error": {"code": "api.bad_request", "message": 'the body must be {"qr": "…"}'}},
            {"text": 'ligne\u2028séparée \x00\x1f "guillemets" \\ é 😀', "n": [0, -1, 2**62]},
        ]
    finally:
        service.replay.close()
        service.state.close()
    for sample in samples:
        expected = json.dumps(sample, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        assert dumps(sample) == _stdlib_dumps(sample) == expected


def test_the_log_descriptor_follows_a_recreated_log(tmp_path: Path) -> None:
    cache = GroupCommitReplayCache(tmp_path / "replay.sqlite")
    try:
        cache.check_and_add(b"a", NOW + 60, NOW)
        cache.sync()
        first = cache._wal_fd
        assert first is not None and os.fstat(first).st_size > 0
        # The same file: the same descriptor, kept open.
        cache.check_and_add(b"b", NOW + 60, NOW)
        cache.sync()
        assert cache._wal_fd == first
    finally:
        cache.close()
    assert cache._wal_fd is None
