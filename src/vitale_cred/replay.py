"""Replay detection for QR presentations.

A QR token may be photographed and shown again within its lifetime; the reader
remembers each nonce until no reader could accept the token any more. The in-memory
cache is bounded: when full, it drops the entries that expire first (they are the
closest to harmless), so memory stays bounded under any flood. Several readers of one
practice share protection only if they share a cache: :class:`SqliteReplayCache`
shares one over a file between the processes of one host, and :class:`ReplayCache`
can be implemented over any other shared store.

Two margins keep a shared cache sound when its readers differ
(``spec/verification.md`` section 5):

* the **skew margin** belongs to the caller: the verifier records a token until
  ``exp + MAX_CLOCK_SKEW``, the latest instant at which any reader, whatever the
  skew of its own policy, may still accept it; every sharer thus records the same
  value for one token;
* the **clock margin** belongs to the cache: an entry stays live until
  ``expires_at + SHARER_CLOCK_MARGIN`` on the clock of whoever looks at it, so a
  reader whose clock runs ahead of another's (by at most that margin) never purges
  an entry the other still needs.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Literal, Protocol, runtime_checkable

from vitale_cred.clock import MAX_CLOCK_SKEW
from vitale_cred.errors import InvalidArgument, ReplayCacheFull, ReplayStoreError


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once so that check-and-add is atomic across
    processes; rolled back on any error (SQLite has already rolled back after some,
    such as I/O errors or a full disk)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


__all__ = [
    "DEFAULT_CAPACITY",
    "SHARER_CLOCK_MARGIN",
    "InMemoryReplayCache",
    "ReplayCache",
    "SqliteReplayCache",
]

#: Entries kept by default: a busy pharmacy sees far fewer tokens per token lifetime.
DEFAULT_CAPACITY = 100_000

#: How far the clocks of readers sharing one cache may disagree, in seconds. A cache
#: keeps an entry this long past the ``expires_at`` it was given, so that the reader
#: with the fastest clock never purges what the slowest still accepts.
SHARER_CLOCK_MARGIN: Final = MAX_CLOCK_SKEW


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers nonces until no sharer of the cache could accept them again.

    The margins are split between the two sides:

    * the caller passes as ``expires_at`` the latest instant, on its own clock, at
      which ANY sharer may accept the token: the verifier passes the token's
      ``exp + MAX_CLOCK_SKEW`` whatever its own policy skew (the skew margin);
    * the cache treats an entry as live, refuses its nonce and keeps it, while
      ``now <= expires_at + SHARER_CLOCK_MARGIN``, and purges it only after (the
      clock margin): ``now`` comes from whichever sharer calls, and sharers' clocks
      may disagree by up to that margin.
    """

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        """Record ``nonce``; return False if it was already recorded and still live.

        May raise ``presentation.replay_cache_full`` when the cache cannot record it.
        """
        ...


class InMemoryReplayCache:
    """A thread-safe, bounded replay cache (dict + expiry heap) for one process.

    Entries live until ``expires_at + SHARER_CLOCK_MARGIN``, like every cache of
    this module, so one instance may serve verifiers of different skews or clocks.

    When full of unexpired entries, ``when_full="evict"`` (the default) drops those
    that expire first, so a flood of valid tokens could make it forget a nonce;
    ``when_full="refuse"`` keeps every entry and refuses new tokens instead
    (``presentation.replay_cache_full``): a flood then denies service but can never
    let a replay through.
    """

    __slots__ = ("_capacity", "_heap", "_lock", "_refuse", "_seen")

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, *, when_full: Literal["evict", "refuse"] = "evict"
    ) -> None:
        if type(capacity) is not int or capacity < 1:
            raise InvalidArgument("capacity must be an integer >= 1")
        if when_full not in ("evict", "refuse"):
            raise InvalidArgument('when_full must be "evict" or "refuse"')
        self._refuse = when_full == "refuse"
        self._capacity = capacity
        self._seen: dict[bytes, int] = {}
        self._heap: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        # Stored and compared as keep-until times: the clock margin is added once
        # here, so that purge and replay check apply the same rule.
        keep_until = expires_at + SHARER_CLOCK_MARGIN
        with self._lock:
            seen = self._seen
            heap = self._heap
            # Dead entries go first; a heap makes that O(log n) per entry.
            while heap and heap[0][0] < now:
                expiry, old = heapq.heappop(heap)
                if seen.get(old) == expiry:
                    del seen[old]
            previous = seen.get(nonce)
            if previous is not None and previous >= now:
                return False
            if self._refuse and len(seen) >= self._capacity:
                raise ReplayCacheFull(
                    f"replay cache holds {len(seen)} unexpired tokens; refusing new ones"
                )
            while len(seen) >= self._capacity and heap:
                expiry, old = heapq.heappop(heap)
                if seen.get(old) == expiry:
                    del seen[old]
            seen[nonce] = keep_until
            heapq.heappush(heap, (keep_until, nonce))
            return True


# --- shared over SQLite --------------------------------------------------------------

#: Version of the file layout below; a file of another version is refused, not migrated.
_SCHEMA_VERSION: Final = 1
#: Dead rows deleted per call at most, so that one call never pays for a backlog.
_PURGE_PER_CALL: Final = 32
#: Largest time accepted: SQLite integers are signed 64-bit, and the margin is added.
_MAX_TIME: Final = 2**62

_SCHEMA: Final = (
    # WITHOUT ROWID: the replay key is the primary key, stored once, in one B-tree.
    "CREATE TABLE IF NOT EXISTS replay ("
    " key BLOB PRIMARY KEY NOT NULL, keep_until INTEGER NOT NULL) WITHOUT ROWID",
    # Purge and eviction both take the rows with the smallest keep_until first.
    "CREATE INDEX IF NOT EXISTS replay_by_keep_until ON replay (keep_until)",
    "CREATE TABLE IF NOT EXISTS replay_meta ("
    " name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID",
    # COUNT(*) scans the table; a counter kept by triggers in the same transaction
    # costs one row update per change and is exact for every process.
    "CREATE TRIGGER IF NOT EXISTS replay_count_insert AFTER INSERT ON replay BEGIN"
    " UPDATE replay_meta SET value = value + 1 WHERE name = 'count'; END",
    "CREATE TRIGGER IF NOT EXISTS replay_count_delete AFTER DELETE ON replay BEGIN"
    " UPDATE replay_meta SET value = value - 1 WHERE name = 'count'; END",
)

_PURGE: Final = (
    "DELETE FROM replay WHERE key IN"
    " (SELECT key FROM replay WHERE keep_until < ? ORDER BY keep_until LIMIT ?)"
)
# The check and the record are one statement: a live row makes it change nothing (a
# replay); a dead row not purged yet is overwritten. Under BEGIN IMMEDIATE no other
# process writes between it and the capacity check that follows.
_RECORD: Final = (
    "INSERT INTO replay (key, keep_until) VALUES (?1, ?2)"
    " ON CONFLICT (key) DO UPDATE SET keep_until = excluded.keep_until"
    " WHERE replay.keep_until < ?3"
)
_EVICT: Final = (
    "DELETE FROM replay WHERE key IN"
    " (SELECT key FROM replay WHERE key <> ? ORDER BY keep_until LIMIT ?)"
)
_COUNT: Final = "SELECT value FROM replay_meta WHERE name = 'count'"


class SqliteReplayCache:
    """A replay cache in one SQLite file, shared by the processes of one host.

    Every reader opens the same ``path``; check-and-record is one ``INSERT`` inside
    a ``BEGIN IMMEDIATE`` transaction, so two processes shown the same token at
    the same instant accept it once between them. The file is in WAL mode (readers
    of the file never block its writer) and survives restarts: a token accepted
    before a restart is still refused after it. Commits are synchronous
    (``synchronous=FULL``) so that a power cut cannot forget an accepted token.

    The bound and the flood policy are those of :class:`InMemoryReplayCache`,
    counted over the whole file; at most 32 dead rows are purged per call (more
    only when they stand between a full refusing cache and a new token).
    ``busy_timeout`` (seconds) is how long a call waits for another process's
    transaction before failing with :class:`~vitale_cred.errors.ReplayStoreError`,
    as does any other failure of the store: the token is then not accepted.

    Thread-safe (one connection per instance behind a lock). Open one instance per
    process, after any ``fork``; WAL needs shared memory, so the file must be on a
    local file system, never a network share.
    """

    __slots__ = ("_capacity", "_db", "_lock", "_path", "_refuse")

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        capacity: int = DEFAULT_CAPACITY,
        when_full: Literal["evict", "refuse"] = "evict",
        busy_timeout: float = 5.0,
    ) -> None:
        if type(capacity) is not int or capacity < 1:
            raise InvalidArgument("capacity must be an integer >= 1")
        if when_full not in ("evict", "refuse"):
            raise InvalidArgument('when_full must be "evict" or "refuse"')
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
            raise InvalidArgument("busy_timeout must be a number of seconds")
        if not 0 <= busy_timeout <= 3600:
            raise InvalidArgument("busy_timeout must be 0..3600 seconds")
        self._path = os.fspath(path)
        if not isinstance(self._path, str) or self._path in ("", ":memory:"):
            raise InvalidArgument("a shared replay cache needs the path of a file")
        self._capacity = capacity
        self._refuse = when_full == "refuse"
        self._lock = threading.Lock()
        try:
            # isolation_level=None: the module opens no transaction behind our back;
            # every write below runs in the BEGIN IMMEDIATE we issue ourselves.
            db = sqlite3.connect(
                self._path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise ReplayStoreError(f"cannot open replay store {self._path!r}: {exc}") from exc
        self._db = db
        try:
            self._setup(busy_timeout)
        except BaseException:
            db.close()
            raise

    def _setup(self, busy_timeout: float) -> None:
        db = self._db
        deadline = time.monotonic() + busy_timeout
        while True:
            # Switching to WAL takes a lock that the busy handler does not wait
            # for when several processes create the file at once: retry until the
            # busy timeout, as any other statement would.
            try:
                mode = db.execute("PRAGMA journal_mode=WAL").fetchone()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise ReplayStoreError(f"cannot set WAL on {self._path!r}: {exc}") from exc
                time.sleep(0.01)
            except sqlite3.Error as exc:
                raise ReplayStoreError(f"{self._path!r} is not a replay store: {exc}") from exc
        if mode is None or str(mode[0]).lower() != "wal":
            raise ReplayStoreError(f"{self._path!r} cannot be shared in WAL mode")
        try:
            db.execute("PRAGMA synchronous=FULL")
            with _immediate(db):
                for statement in _SCHEMA:
                    db.execute(statement)
                db.executemany(
                    "INSERT OR IGNORE INTO replay_meta (name, value) VALUES (?, ?)",
                    [("schema", _SCHEMA_VERSION), ("margin", SHARER_CLOCK_MARGIN), ("count", 0)],
                )
                meta = dict(db.execute("SELECT name, value FROM replay_meta").fetchall())
        except sqlite3.Error as exc:
            raise ReplayStoreError(f"{self._path!r} is not a usable replay store: {exc}") from exc
        # Sharers must agree on the margin: a file kept with another margin would
        # purge, for some of them, entries they still accept.
        if meta.get("schema") != _SCHEMA_VERSION or meta.get("margin") != SHARER_CLOCK_MARGIN:
            raise ReplayStoreError(
                f"{self._path!r} is a replay store of schema {meta.get('schema')} with a "
                f"margin of {meta.get('margin')} s; this reader needs schema "
                f"{_SCHEMA_VERSION} with {SHARER_CLOCK_MARGIN} s"
            )

    @property
    def path(self) -> str:
        """The file shared by the readers."""
        return self._path

    def __len__(self) -> int:
        """Rows in the file, dead rows not purged yet included."""
        with self._lock:
            try:
                row = self._db.execute(_COUNT).fetchone()
            except sqlite3.Error as exc:
                raise ReplayStoreError(f"replay store {self._path!r}: {exc}") from exc
        return int(row[0]) if row is not None else 0

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        if type(nonce) is not bytes:
            raise InvalidArgument("nonce must be bytes")
        if type(expires_at) is not int or type(now) is not int:
            raise InvalidArgument("expires_at and now must be integers")
        if not (0 <= expires_at < _MAX_TIME and 0 <= now < _MAX_TIME):
            raise InvalidArgument("expires_at and now must be POSIX times")
        keep_until = expires_at + SHARER_CLOCK_MARGIN
        with self._lock:
            try:
                with _immediate(self._db):
                    outcome = self._record(nonce, keep_until, now)
            except sqlite3.Error as exc:
                raise ReplayStoreError(f"replay store {self._path!r}: {exc}") from exc
        if outcome is None:
            raise ReplayCacheFull(
                f"replay cache holds {self._capacity} unexpired tokens; refusing new ones"
            )
        return outcome

    def _record(self, nonce: bytes, keep_until: int, now: int) -> bool | None:
        """Inside the transaction: True if recorded, False if live, None if full."""
        db = self._db
        db.execute(_PURGE, (now, _PURGE_PER_CALL))
        if db.execute(_RECORD, (nonce, keep_until, now)).rowcount != 1:
            return False
        row = db.execute(_COUNT).fetchone()
        excess = (int(row[0]) if row is not None else 0) - self._capacity
        if excess <= 0:
            return True
        if not self._refuse:
            # Smallest keep_until first: dead rows, then those closest to expiry.
            db.execute(_EVICT, (nonce, excess))
            return True
        # Dead rows beyond the per-call purge must not make a refusing cache refuse.
        excess -= db.execute(_PURGE, (now, excess)).rowcount
        if excess <= 0:
            return True
        # Full of live rows: undo this record (the purges stay) and refuse.
        db.execute("DELETE FROM replay WHERE key = ?", (nonce,))
        return None

    def close(self) -> None:
        """Close the connection; the file and its entries stay for the other readers."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteReplayCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        policy = "refuse" if self._refuse else "evict"
        return f"SqliteReplayCache({self._path!r}, capacity={self._capacity}, when_full={policy!r})"
