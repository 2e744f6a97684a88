"""The replay cache shared over SQLite: semantics, bound, restarts, several processes."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from vitale_cred.errors import InvalidArgument, ReplayCacheFull, ReplayStoreError
from vitale_cred.replay import (
    SHARER_CLOCK_MARGIN,
    InMemoryReplayCache,
    ReplayCache,
    SqliteReplayCache,
)

MARGIN = SHARER_CLOCK_MARGIN

CacheFactory = Callable[..., ReplayCache]


def _key(i: int) -> bytes:
    return i.to_bytes(16, "big")


@pytest.fixture(params=["memory", "sqlite"])
def make_cache(request: pytest.FixtureRequest, tmp_path: Path) -> CacheFactory:
    """Both implementations, so that they are held to one contract."""
    if request.param == "memory":
        return InMemoryReplayCache

    def sqlite(capacity: int = 100_000, *, when_full: str = "evict") -> ReplayCache:
        return SqliteReplayCache(
            tmp_path / "replay.db",
            capacity=capacity,
            when_full=when_full,  # type: ignore[arg-type]
        )

    return sqlite


# --- one contract, two implementations ----------------------------------------------


def test_cache_accepts_a_nonce_once(make_cache: CacheFactory) -> None:
    cache = make_cache()
    assert isinstance(cache, ReplayCache)
    assert cache.check_and_add(b"nonce", expires_at=1_000, now=900)
    assert not cache.check_and_add(b"nonce", expires_at=1_000, now=950)
    assert cache.check_and_add(b"other", expires_at=1_000, now=950)


def test_cache_keeps_an_entry_for_the_clock_margin_past_its_expiry(
    make_cache: CacheFactory,
) -> None:
    cache = make_cache()
    assert cache.check_and_add(b"nonce", expires_at=1_000, now=900)
    # Any call (another nonce, a clock ahead) purges only what is dead for everyone.
    assert cache.check_and_add(b"later", expires_at=5_000, now=1_000 + MARGIN)
    assert not cache.check_and_add(b"nonce", expires_at=1_000, now=1_000 + MARGIN)
    assert cache.check_and_add(b"nonce", expires_at=2_000, now=1_001 + MARGIN)


def test_refusing_cache_keeps_every_live_entry_when_full(make_cache: CacheFactory) -> None:
    cache = make_cache(10, when_full="refuse")
    for i in range(10):
        assert cache.check_and_add(_key(i), expires_at=1_000, now=0)
    with pytest.raises(ReplayCacheFull) as info:
        cache.check_and_add(b"new", expires_at=1_000, now=0)
    assert info.value.code == "presentation.replay_cache_full"
    assert type(info.value) is ReplayCacheFull
    # A replay is still reported as one, and nothing was forgotten.
    assert all(not cache.check_and_add(_key(i), expires_at=1_000, now=1) for i in range(10))
    assert len(cache) == 10  # type: ignore[arg-type]
    # Once the entries are dead for every sharer, new tokens are accepted again.
    assert cache.check_and_add(b"new", expires_at=3_000, now=1_001 + MARGIN)


def test_evicting_cache_drops_the_entries_that_expire_first(make_cache: CacheFactory) -> None:
    cache = make_cache(100)
    for i in range(1_000):
        assert cache.check_and_add(_key(i), expires_at=10_000 + i, now=0)
    assert len(cache) == 100  # type: ignore[arg-type]
    assert cache.check_and_add(_key(0), expires_at=10_000, now=0)
    assert not cache.check_and_add(_key(999), expires_at=10_999, now=0)


def test_cache_is_thread_safe(make_cache: CacheFactory) -> None:
    cache = make_cache()
    accepted: list[bool] = []

    def run() -> None:
        for i in range(500):
            accepted.append(cache.check_and_add(_key(i), 10, 0))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(accepted) == 500


# --- SQLite only ---------------------------------------------------------------------


def test_entries_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    with SqliteReplayCache(path) as before:
        assert before.check_and_add(b"accepted before", expires_at=1_000, now=900)
    after = SqliteReplayCache(path)
    assert not after.check_and_add(b"accepted before", expires_at=1_000, now=990)
    assert len(after) == 1
    after.close()


def test_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    SqliteReplayCache(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_purge_of_dead_rows_is_bounded_per_call(tmp_path: Path) -> None:
    cache = SqliteReplayCache(tmp_path / "replay.db")
    for i in range(100):
        assert cache.check_and_add(_key(i), expires_at=1_000, now=0)
    assert cache.check_and_add(b"after", expires_at=5_000, now=2_000)
    purged = 100 + 1 - len(cache)
    assert 0 < purged < 100


def test_refusing_cache_full_of_dead_rows_accepts_beyond_the_per_call_purge(
    tmp_path: Path,
) -> None:
    cache = SqliteReplayCache(tmp_path / "replay.db", capacity=100, when_full="refuse")
    for i in range(100):
        assert cache.check_and_add(_key(i), expires_at=1_000, now=0)
    for i in range(100, 200):
        assert cache.check_and_add(_key(i), expires_at=5_000, now=2_000)
    assert len(cache) == 100


def test_two_connections_to_one_file_share_the_entries(tmp_path: Path) -> None:
    counter = SqliteReplayCache(tmp_path / "replay.db")
    back_office = SqliteReplayCache(tmp_path / "replay.db")
    assert counter.check_and_add(b"nonce", expires_at=1_000, now=900)
    assert not back_office.check_and_add(b"nonce", expires_at=1_000, now=905)
    counter.close()
    back_office.close()


def test_store_locked_past_the_busy_timeout_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    cache = SqliteReplayCache(path, busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ReplayStoreError) as info:
            cache.check_and_add(b"nonce", expires_at=1_000, now=900)
        assert info.value.code == "replay.store_error"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The failed call recorded nothing; the store works again once released.
    assert cache.check_and_add(b"nonce", expires_at=1_000, now=900)


def test_file_written_with_another_margin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    SqliteReplayCache(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE replay_meta SET value = 60 WHERE name = 'margin'")
    with pytest.raises(ReplayStoreError, match="margin"):
        SqliteReplayCache(path)


def test_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    path.write_bytes(b"not a database, " * 64)
    with pytest.raises(ReplayStoreError):
        SqliteReplayCache(path)


def test_closed_cache_fails_with_a_typed_error(tmp_path: Path) -> None:
    cache = SqliteReplayCache(tmp_path / "replay.db")
    cache.close()
    with pytest.raises(ReplayStoreError):
        cache.check_and_add(b"nonce", expires_at=1_000, now=900)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"capacity": 0}, "replay.db"),
        ({"when_full": "drop"}, "replay.db"),
        ({"busy_timeout": -1}, "replay.db"),
        ({}, ":memory:"),
    ],
)
def test_options_are_checked(tmp_path: Path, kwargs: dict[str, object], path: str) -> None:
    target = path if path == ":memory:" else str(tmp_path / path)
    with pytest.raises(InvalidArgument):
        SqliteReplayCache(target, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nonce", "expires_at", "now"),
    [("text", 1_000, 900), (b"n", 1.5, 900), (b"n", 2**63, 900), (b"n", 1_000, -1)],
)
def test_arguments_are_checked(
    tmp_path: Path, nonce: object, expires_at: object, now: object
) -> None:
    cache = SqliteReplayCache(tmp_path / "replay.db")
    with pytest.raises(InvalidArgument):
        cache.check_and_add(nonce, expires_at, now)  # type: ignore[arg-type]


# --- several processes ---------------------------------------------------------------

SHARED = 200
OWN = 200
PROCESSES = 4

#: What a reader process reports: its index, and the keys it accepted or its error.
Outcome = tuple[int, list[bytes] | str]


def _reader_process(
    path: str, index: int, start: threading.Barrier, results: multiprocessing.Queue[Outcome]
) -> None:
    try:
        cache = SqliteReplayCache(path, busy_timeout=30.0)
        keys = [b"shared" + _key(i) for i in range(SHARED)]
        keys += [b"own" + bytes([index]) + _key(i) for i in range(OWN)]
        random.Random(index).shuffle(keys)  # each reader in its own order
        start.wait(timeout=60)
        accepted = [key for key in keys if cache.check_and_add(key, 10_000, 1_000)]
        cache.close()
        results.put((index, accepted))
    # Any failure must reach the parent, which sees nothing but the queue.
    except Exception as exc:  # noqa: BLE001
        results.put((index, repr(exc)))


def test_processes_sharing_one_file_accept_each_shared_nonce_exactly_once(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "replay.db")
    SqliteReplayCache(path).close()  # created once, as a deployment would
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results: multiprocessing.Queue[Outcome] = context.Queue()
    processes = [
        context.Process(target=_reader_process, args=(path, i, start, results))
        for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    reports = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    errors = {i: r for i, r in reports.items() if isinstance(r, str)}
    assert not errors
    outcomes = {i: r for i, r in reports.items() if not isinstance(r, str)}
    assert len(outcomes) == PROCESSES
    shared = Counter(k for keys in outcomes.values() for k in keys if k.startswith(b"shared"))
    assert len(shared) == SHARED
    assert set(shared.values()) == {1}
    for index, keys in outcomes.items():
        own = [k for k in keys if k.startswith(b"own")]
        assert len(own) == OWN, index
    with SqliteReplayCache(path) as cache:
        assert len(cache) == SHARED + PROCESSES * OWN
