"""The shared SQLite replay store with group commit, for a service under load.

:class:`~vitale_cred.replay.SqliteReplayCache` commits each accepted token on its
own, with ``synchronous=FULL``: one disk flush per token, and the flush is most of
the cost of a verification (2 ms on a virtual disk, more on a spinning one). The
service verifies requests in worker threads, so several may reach the replay check
at once: :class:`GroupCommitReplayCache` records all of them in ONE transaction,
each with exactly the statements, order and rules of ``SqliteReplayCache`` (same
file, schema, margins, bound and flood policy), and flushes once for the group.

Nothing is weakened: a call returns only once the transaction holding its record is
committed (durable), two calls for one nonce in one group are applied in order (the
second sees the first and is refused), and a failed commit fails every call of its
group with ``replay.store_error`` (no token of it is accepted). Other processes
sharing the file (another service, ``vitale-cred verify``) use plain
``SqliteReplayCache`` and see the same rows.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Final

from vitale_cred.errors import InvalidArgument, ReplayCacheFull, ReplayStoreError
from vitale_cred.replay import SHARER_CLOCK_MARGIN, SqliteReplayCache, _immediate

__all__ = ["GroupCommitReplayCache"]

#: Largest time accepted, as in :mod:`vitale_cred.replay`.
_MAX_TIME: Final = 2**62


class _Pending:
    __slots__ = ("done", "error", "keep_until", "nonce", "now", "outcome")

    def __init__(self, nonce: bytes, keep_until: int, now: int) -> None:
        self.nonce = nonce
        self.keep_until = keep_until
        self.now = now
        self.outcome: bool | None = None
        self.error: ReplayStoreError | None = None
        self.done = False


class GroupCommitReplayCache(SqliteReplayCache):
    """A :class:`SqliteReplayCache` whose concurrent calls share one commit.

    The caller that takes the connection's lock records every call waiting at that
    moment (its own included) in one ``BEGIN IMMEDIATE`` transaction; the callers
    queued behind it find their outcome ready when they get the lock.
    """

    __slots__ = ("_queue", "_queue_lock")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        if type(nonce) is not bytes:
            raise InvalidArgument("nonce must be bytes")
        if type(expires_at) is not int or type(now) is not int:
            raise InvalidArgument("expires_at and now must be integers")
        if not (0 <= expires_at < _MAX_TIME and 0 <= now < _MAX_TIME):
            raise InvalidArgument("expires_at and now must be POSIX times")
        mine = _Pending(nonce, expires_at + SHARER_CLOCK_MARGIN, now)
        with self._queue_lock:
            self._queue.append(mine)
        with self._lock:
            if not mine.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._commit(group)
        if mine.error is not None:
            raise mine.error
        if mine.outcome is None:
            raise ReplayCacheFull(
                f"replay cache holds {self._capacity} unexpired tokens; refusing new ones"
            )
        return mine.outcome

    def _commit(self, group: list[_Pending]) -> None:
        """Record ``group`` in order, in one transaction (called with the lock held)."""
        try:
            with _immediate(self._db):
                for pending in group:
                    pending.outcome = self._record(pending.nonce, pending.keep_until, pending.now)
        except sqlite3.Error as exc:
            error = ReplayStoreError(f"replay store {self._path!r}: {exc}")
            for pending in group:
                pending.outcome, pending.error = None, error
        for pending in group:
            pending.done = True
