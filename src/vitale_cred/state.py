"""Trust state that survives restarts: high-water marks and the reader's clock guard.

A reader's protections against rollback (trust-list ``seq``), replayed status lists
(``iat``) and a clock set back in time all compare against something the reader
already accepted. Kept only in memory, that "something" is forgotten at every
restart, and a restarted reader accepts what it refused a minute earlier. This
module keeps it in a :class:`TrustState`: named integer marks that only go up.

* :class:`InMemoryTrustState` -- one process, lost at exit (tests, short-lived tools);
* :class:`SqliteTrustState` -- one SQLite file in WAL mode, shared by the processes of
  one machine. Every update is one transaction that writes only if no mark would go
  down (compare-and-raise), so two processes can never lower a mark;
* :class:`GuardedClock` -- a :class:`~vitale_cred.clock.Clock` that refuses to read
  earlier than the last trusted reading minus the skew (``validity.clock_rollback``)
  until an operator acknowledges the clock (:meth:`TrustState.acknowledge_clock`).

Mark names are built by :func:`trust_list_seq_mark`, :func:`trust_list_issued_at_mark`
and :func:`status_list_iat_mark`, plus :data:`CLOCK_MARK`; a deployment seeds marks
from its configuration with the ``seed`` argument (``spec/security.md`` section 8).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from os import PathLike
from typing import Protocol, runtime_checkable

from vitale_cred.clock import MAX_CLOCK_SKEW, Clock
from vitale_cred.errors import ClockRollback, InvalidArgument, StateStoreError

__all__ = [
    "CLOCK_ALARM_MARK",
    "CLOCK_MARK",
    "DEFAULT_CLOCK_RECORD_INTERVAL",
    "MAX_MARK",
    "GuardedClock",
    "InMemoryTrustState",
    "SqliteTrustState",
    "TrustState",
    "status_list_iat_mark",
    "trust_list_issued_at_mark",
    "trust_list_seq_mark",
]

#: The last trusted reading of the reader's clock (POSIX seconds).
CLOCK_MARK = "clock.last"
#: Set (to the mark the clock fell behind) when a rollback is detected; only
#: :meth:`TrustState.acknowledge_clock` clears it, so the refusal survives restarts.
CLOCK_ALARM_MARK = "clock.alarm"
#: Marks are SQLite INTEGERs: signed 64-bit, and never negative here.
MAX_MARK = 2**63 - 1
#: How often (seconds of clock time) a :class:`GuardedClock` records its reading: a
#: write per verification would cost a disk sync each; a rollback is still caught
#: within ``max_skew + DEFAULT_CLOCK_RECORD_INTERVAL`` of the true last reading.
DEFAULT_CLOCK_RECORD_INTERVAL = 60
_MAX_NAME = 200
_MAX_AUTHORITY = 64


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME or not name.isprintable():
        raise InvalidArgument(f"a mark name is 1..{_MAX_NAME} printable characters")
    return name


def _check_value(value: object, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_MARK:
        raise InvalidArgument(f"{what} must be an integer 0..2^63-1, not {value!r}")
    return value


def _check_marks(marks: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(marks, Mapping):
        raise InvalidArgument("marks must be a mapping of names to integers")
    return {_check_name(name): _check_value(value, name) for name, value in marks.items()}


def trust_list_seq_mark(authority: str) -> str:
    """Mark name of the last accepted trust-list ``seq`` under ``authority``."""
    return f"trust_list.seq:{_check_authority(authority)}"


def trust_list_issued_at_mark(authority: str) -> str:
    """Mark name of the last accepted trust-list ``issued_at`` under ``authority``."""
    return f"trust_list.issued_at:{_check_authority(authority)}"


def status_list_iat_mark(kid: bytes, list_id: int) -> str:
    """Mark name of the last accepted ``iat`` of list ``list_id`` of issuer key ``kid``."""
    if not isinstance(kid, bytes) or not 0 < len(kid) <= 32:
        raise InvalidArgument("kid must be 1..32 bytes")
    if type(list_id) is not int or not 0 <= list_id < 2**32:
        raise InvalidArgument("list_id must be an integer below 2^32")
    return f"status_list.iat:{kid.hex()}:{list_id}"


def _check_authority(authority: object) -> str:
    # The authority name is the reader's own label for its trust-list authority; it
    # is not read from the list, because an authority that rotates its signing key
    # must keep one sequence (a per-kid mark would let an old key's list roll back).
    if (
        not isinstance(authority, str)
        or not 0 < len(authority) <= _MAX_AUTHORITY
        or not authority.isprintable()
    ):
        raise InvalidArgument(f"authority must be 1..{_MAX_AUTHORITY} printable characters")
    return authority


@runtime_checkable
class TrustState(Protocol):
    """Named integer high-water marks that only go up (except the clock, on acknowledgement)."""

    def get(self, name: str) -> int | None:
        """The mark ``name``, or None if it was never set."""
        ...

    def raise_marks(self, marks: Mapping[str, int]) -> dict[str, int | None]:
        """Atomically raise every mark of ``marks`` to its value, or none of them.

        Writes only if no mark already held is above its proposed value (a raise
        never lowers anything); returns the marks held *before* the call (None when
        absent), so the caller sees whether it was refused (some previous > proposed).
        """
        ...

    def acknowledge_clock(self, now: int) -> None:
        """An operator's statement that ``now`` is the right time: the clock mark
        becomes ``now`` (even lower) and the clock alarm is cleared."""
        ...


class InMemoryTrustState:
    """Marks held in memory: thread-safe, lost at exit. For tests and one-shot tools."""

    __slots__ = ("_lock", "_marks")

    def __init__(self, seed: Mapping[str, int] | None = None) -> None:
        self._marks: dict[str, int] = {}
        self._lock = threading.Lock()
        if seed:
            self.raise_marks(seed)

    def get(self, name: str) -> int | None:
        return self._marks.get(_check_name(name))

    def raise_marks(self, marks: Mapping[str, int]) -> dict[str, int | None]:
        proposed = _check_marks(marks)
        with self._lock:
            before = {name: self._marks.get(name) for name in proposed}
            if all(old is None or old <= proposed[name] for name, old in before.items()):
                self._marks.update(proposed)
            return before

    def acknowledge_clock(self, now: int) -> None:
        _check_value(now, "now")
        with self._lock:
            self._marks[CLOCK_MARK] = now
            self._marks.pop(CLOCK_ALARM_MARK, None)

    def __repr__(self) -> str:
        return f"InMemoryTrustState({len(self._marks)} marks)"


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS marks ("
    "name TEXT PRIMARY KEY NOT NULL, "
    "value INTEGER NOT NULL CHECK (value >= 0)"
    ") WITHOUT ROWID"
)
# max() in the upsert as well: even a caller bypassing the comparison cannot lower a mark.
_RAISE = (
    "INSERT INTO marks (name, value) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)"
)


class SqliteTrustState:
    """Marks in one SQLite file (WAL mode), shared by the processes of one machine.

    Each :meth:`raise_marks` is one ``BEGIN IMMEDIATE`` transaction (the write lock
    is taken before the marks are read, so the compare and the raise are atomic
    across processes). ``synchronous=FULL``: a mark reported as raised is on disk,
    since a mark lost in a power cut would reopen the rollback it closed. A
    connection is never carried across ``fork``: a child reopens the file.
    Not for network file systems (SQLite's locking is not reliable there).
    """

    __slots__ = ("_conn", "_lock", "_path", "_pid", "_timeout")

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        seed: Mapping[str, int] | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidArgument("timeout must be a positive number of seconds")
        self._path = os.fspath(path)
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        with self._lock:
            self._connection()
        if seed:
            self.raise_marks(seed)

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def _connection(self) -> sqlite3.Connection:
        # Called with the lock held. SQLite forbids using a connection in a forked
        # child; a new process id gets its own connection.
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                conn.close()
                raise StateStoreError(f"{self._path}: WAL mode refused ({mode!r})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateStoreError(f"{self._path}: cannot open the trust state ({exc})") from exc
        self._conn, self._pid = conn, os.getpid()
        return conn

    def get(self, name: str) -> int | None:
        _check_name(name)
        with self._lock:
            try:
                row = (
                    self._connection()
                    .execute("SELECT value FROM marks WHERE name = ?", (name,))
                    .fetchone()
                )
            except sqlite3.Error as exc:
                raise StateStoreError(f"{self._path}: cannot read {name} ({exc})") from exc
        return None if row is None else _stored(row[0], name)

    def raise_marks(self, marks: Mapping[str, int]) -> dict[str, int | None]:
        proposed = _check_marks(marks)
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    before: dict[str, int | None] = {}
                    for name in proposed:
                        row = conn.execute(
                            "SELECT value FROM marks WHERE name = ?", (name,)
                        ).fetchone()
                        before[name] = None if row is None else _stored(row[0], name)
                    # Nothing is written when a mark would go down, nor when every mark
                    # already holds its value (the same list fetched again): no disk sync.
                    if all(old is None or old <= proposed[n] for n, old in before.items()) and any(
                        old != proposed[n] for n, old in before.items()
                    ):
                        conn.executemany(_RAISE, proposed.items())
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StateStoreError(f"{self._path}: cannot raise marks ({exc})") from exc
        return before

    def acknowledge_clock(self, now: int) -> None:
        _check_value(now, "now")
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(
                        "INSERT OR REPLACE INTO marks (name, value) VALUES (?, ?)",
                        (CLOCK_MARK, now),
                    )
                    conn.execute("DELETE FROM marks WHERE name = ?", (CLOCK_ALARM_MARK,))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StateStoreError(
                    f"{self._path}: cannot acknowledge the clock ({exc})"
                ) from exc

    def close(self) -> None:
        """Close this process's connection (the file and its marks stay)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> SqliteTrustState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteTrustState({self._path!r})"


def _stored(value: object, name: str) -> int:
    # The file may have been edited by hand: a mark that is not a non-negative
    # integer is a broken store, never a value to compare against.
    if type(value) is not int or value < 0:
        raise StateStoreError(f"mark {name} holds {value!r}, not a non-negative integer")
    return value


class GuardedClock:
    """A clock that refuses to go back in time beyond ``max_skew`` (``validity.clock_rollback``).

    Each reading is compared with the last trusted one, kept in ``state`` under
    :data:`CLOCK_MARK` (so the comparison survives restarts and is shared by the
    processes of the machine). A reading more than ``max_skew`` seconds earlier
    raises :class:`~vitale_cred.errors.ClockRollback` and sets the alarm mark; every
    reading is then refused, even once the clock has caught up, until
    :meth:`acknowledge` (or :meth:`TrustState.acknowledge_clock`). Readings are
    recorded at most every ``record_interval`` seconds of clock time.

    Give it to a verifier as ``Policy(clock=GuardedClock(SystemClock(), state))``.
    """

    __slots__ = ("_clock", "_every", "_last", "_lock", "_max_skew", "_recorded", "_state")

    def __init__(
        self,
        clock: Clock,
        state: TrustState,
        *,
        max_skew: int = MAX_CLOCK_SKEW,
        record_interval: int = DEFAULT_CLOCK_RECORD_INTERVAL,
    ) -> None:
        if not isinstance(clock, Clock):
            raise InvalidArgument("clock must be a Clock")
        if not isinstance(state, TrustState):
            raise InvalidArgument("state must be a TrustState")
        if type(max_skew) is not int or not 0 <= max_skew <= MAX_CLOCK_SKEW:
            raise InvalidArgument(f"max_skew must be 0..{MAX_CLOCK_SKEW} seconds")
        if type(record_interval) is not int or record_interval < 0:
            raise InvalidArgument("record_interval must be a non-negative integer of seconds")
        self._clock = clock
        self._state = state
        self._max_skew = max_skew
        self._every = record_interval
        self._lock = threading.Lock()
        # None until the state was read: the first reading always consults it.
        self._last: int | None = None
        self._recorded: int | None = None

    def now(self) -> int:
        t = self._clock.now()
        if type(t) is not int:
            raise InvalidArgument("the wrapped clock must return POSIX seconds (int)")
        with self._lock:
            if self._last is None or t < self._last - self._max_skew:
                # Slow path (first reading, or behind): the state is authoritative, so an
                # acknowledgement made by another process is seen here.
                self._check(t)
            if self._recorded is None or t >= self._recorded + self._every:
                self._record(t)
        return t

    def _check(self, t: int) -> None:
        # Until a reading passes, every reading consults the state (the alarm latches).
        self._last = None
        last = self._state.get(CLOCK_MARK)
        alarm = self._state.get(CLOCK_ALARM_MARK)
        if alarm:
            raise ClockRollback(
                f"clock rollback recorded (the clock fell behind {alarm}); reading {t} "
                "refused until an operator acknowledges the clock"
            )
        if last is not None and t < last - self._max_skew:
            self._state.raise_marks({CLOCK_ALARM_MARK: last})
            raise ClockRollback(
                f"the clock reads {t}, {last - t} s before the last trusted reading {last} "
                f"(more than the {self._max_skew} s skew): refused until acknowledged"
            )
        self._last = t if last is None else max(last, t)

    def _record(self, t: int) -> None:
        before = self._state.raise_marks({CLOCK_MARK: t})
        held = before[CLOCK_MARK]
        # Another process may hold a later reading: keep the higher one as reference.
        self._last = t if held is None else max(held, t)
        self._recorded = t
        if self._state.get(CLOCK_ALARM_MARK):
            # Another process saw the clock go back: the alarm holds for every reader.
            self._last = None
            self._check(t)

    def acknowledge(self, now: int) -> None:
        """An operator confirms that ``now`` is the right time (clears the alarm)."""
        with self._lock:
            self._state.acknowledge_clock(now)
            self._last = None
            self._recorded = None

    def __repr__(self) -> str:
        return f"GuardedClock({self._clock!r}, {self._state!r}, max_skew={self._max_skew})"
