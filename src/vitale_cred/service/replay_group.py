"""The shared SQLite replay store with group commit, for a service under load.

:class:`~vitale_cred.replay.SqliteReplayCache` commits each accepted token with
``synchronous=FULL``: the commit returns once the write-ahead log is flushed to the
disk. A service answering many scans a second pays that flush for every token, and
while it waits it holds the file's write lock. :class:`GroupCommitReplayCache`
splits the two steps of a durable commit:

1. **record**: :meth:`~GroupCommitReplayCache.check_and_add` runs exactly the
   transaction of ``SqliteReplayCache`` (same file, schema, statements, margins,
   bound and flood policy, ``BEGIN IMMEDIATE``), committed with ``synchronous=NORMAL``:
   on return the token is checked and recorded, and every process sharing the file
   sees it (a replay shown to another service or to ``vitale-cred verify`` an instant
   later is refused), but its log frames may still sit in the operating system's
   cache;
2. **flush**: :meth:`~GroupCommitReplayCache.sync` flushes the write-ahead log to the
   disk (``fdatasync``), once for every token recorded before it started: the tokens
   of concurrent requests share one flush (group commit).

With ``[state] replay_durability = "power_cut"`` (the default) the service answers an
accepted verdict only after a flush covering its record has completed
(``ReaderService.verify_text`` and its asynchronous twin), so what the client sees has
the durability of ``synchronous=FULL``: an accepted token is remembered across
restarts, crashes and power cuts. A token recorded but not yet flushed when the power
goes was never answered as accepted; it may be accepted once after the restart, never
twice. A failed flush fails the verdicts waiting on it with ``replay.store_error``
(fail closed). With ``"process_crash"`` the service answers once the token is
recorded and a thread of the service flushes every 50 ms (``docs/reader-service.md``
section 5).

Checkpoints (copying the log into the database file) are not left to the commit that
crosses SQLite's threshold, which would stall that request for several flushes:
:meth:`~GroupCommitReplayCache.checkpoint` runs them from a connection of its own, and
its owner calls it periodically (the service, from its background thread); until
then the log grows.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from vitale_cred.errors import ReplayStoreError
from vitale_cred.replay import SqliteReplayCache

__all__ = ["GroupCommitReplayCache"]

#: The flush of the log: its data and what is needed to read it back (its size), as
#: SQLite's own ``synchronous=FULL`` does on Linux; ``fsync`` where there is no more.
_flush = getattr(os, "fdatasync", os.fsync)
#: Log size (bytes) above which :meth:`GroupCommitReplayCache.checkpoint` copies it back
#: (SQLite's own threshold is 1000 pages, 4 MiB with its default page size).
_CHECKPOINT_BYTES = 4 << 20


class GroupCommitReplayCache(SqliteReplayCache):
    """A :class:`SqliteReplayCache` whose records are flushed to disk in groups.

    :meth:`check_and_add` records (committed, visible to every sharer) but does not
    flush; :meth:`sync` flushes every record made before it started. A caller that
    reports an accepted token must call :meth:`sync` first (or wait for one that
    started after its record): :attr:`recorded` and :attr:`synced` count records.
    Thread-safe; concurrent :meth:`sync` calls share one flush.
    """

    __slots__ = (
        "_checkpoint_db",
        "_checkpoint_lock",
        "_recorded",
        "_sync_lock",
        "_synced",
        "_wal",
        "_wal_fd",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._wal = self._path + "-wal"
        self._wal_fd: int | None = None
        self._sync_lock = threading.Lock()
        self._recorded = 0
        self._synced = 0
        self._checkpoint_db: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        try:
            # Flushed by sync(); checkpoints by checkpoint(), never inside a commit.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint=0")
        except sqlite3.Error as exc:
            self._db.close()
            raise ReplayStoreError(f"replay store {self._path!r}: {exc}") from exc

    @property
    def recorded(self) -> int:
        """Tokens recorded (accepted) by this instance so far."""
        return self._recorded

    @property
    def synced(self) -> int:
        """Of :attr:`recorded`, how many are known to be on disk."""
        return self._synced

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        """As :meth:`SqliteReplayCache.check_and_add`; an accepted token is durable only
        once :meth:`sync` has run after this call returned."""
        outcome = super().check_and_add(nonce, expires_at, now)
        if outcome:
            # Counted once committed, so every counted record's frames are in the log
            # when sync() reads the count.
            with self._lock:
                self._recorded += 1
        return outcome

    def sync(self) -> None:
        """Flush to disk every token recorded before this call (one ``fsync`` of the log,
        shared with concurrent callers). Raises ``replay.store_error`` if it fails."""
        target = self._recorded
        if self._synced >= target:
            return
        with self._sync_lock:
            if self._synced >= target:
                return
            # Every record counted here has its frames written to the log already.
            covered = self._recorded
            try:
                _flush(self._log_descriptor())
            except OSError as exc:
                raise ReplayStoreError(
                    f"replay store {self._path!r}: cannot flush the log ({exc})"
                ) from exc
            self._synced = max(self._synced, covered)

    def _log_descriptor(self) -> int:
        """A descriptor of the write-ahead log file as it is now (called with the sync lock).

        The log lives as long as a connection is open (ours is), so it is opened once;
        its identity is still checked at every flush, so that a log recreated behind
        our back is never mistaken for the one holding the records.
        """
        current = os.stat(self._wal)
        fd = self._wal_fd
        if fd is not None:
            held = os.fstat(fd)
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                return fd
            self._wal_fd = None
            os.close(fd)
        # Never written through: SQLite takes no lock on the log file itself, so this
        # descriptor cannot interfere with its locking. Read-write: Windows flushes
        # only a file opened for writing.
        fd = os.open(self._wal, os.O_RDWR | getattr(os, "O_BINARY", 0))
        self._wal_fd = fd
        return fd

    def checkpoint(self) -> bool:
        """Copy the log back into the database file when it has grown (passive: never
        waits for, nor blocks, the writers). True when a checkpoint ran."""
        try:
            if os.stat(self._wal).st_size < _CHECKPOINT_BYTES:
                return False
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ReplayStoreError(f"replay store {self._path!r}: {exc}") from exc
        with self._checkpoint_lock:
            try:
                if self._checkpoint_db is None:
                    self._checkpoint_db = sqlite3.connect(
                        self._path, timeout=0, isolation_level=None, check_same_thread=False
                    )
                    self._checkpoint_db.execute("PRAGMA synchronous=NORMAL")
                # Another process checkpointing at the same time is not an error: the
                # pragma then reports busy and this one is skipped. Read to the end, so
                # that no statement stays open and pins the log (it could not restart).
                self._checkpoint_db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                raise ReplayStoreError(f"replay store {self._path!r}: checkpoint: {exc}") from exc
        return True

    def close(self) -> None:
        with self._checkpoint_lock:
            if self._checkpoint_db is not None:
                self._checkpoint_db.close()
                self._checkpoint_db = None
        with self._sync_lock:
            if self._wal_fd is not None:
                os.close(self._wal_fd)
                self._wal_fd = None
        super().close()
