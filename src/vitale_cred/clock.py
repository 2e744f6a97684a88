"""Time, injected: the only module that reads the system clock.

Verification results depend on "now"; tests and conformance vectors fix it with
:class:`FixedClock`. Times are whole seconds since the Unix epoch (UTC), as in CWT.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Protocol, runtime_checkable

from vitale_cred.errors import InvalidArgument

__all__ = [
    "MAX_CLOCK_SKEW",
    "Clock",
    "FixedClock",
    "SystemClock",
    "clock_at",
    "from_datetime",
    "read_clock",
    "to_datetime",
]

#: Tolerated disagreement between the issuer's, the phone's and the reader's clocks,
#: in seconds. A policy may lower it, never raise it above this bound.
MAX_CLOCK_SKEW = 300


@runtime_checkable
class Clock(Protocol):
    """Tells the current time in seconds since the epoch."""

    def now(self) -> int:
        """Current POSIX time, whole seconds."""
        ...


def read_clock(clock: Clock) -> int:
    """``clock.now()``, once it is POSIX seconds: an int (not a bool), not negative.

    The one way every verification entry point reads its time: a clock object, like
    the :class:`~vitale_cred.verify.Policy` of a verifier.
    """
    now = getattr(clock, "now", None)
    if not callable(now):
        raise InvalidArgument(f"clock must have a now() method, not {type(clock).__name__}")
    value = now()
    if type(value) is not int or value < 0:
        raise InvalidArgument(f"clock.now() must return POSIX seconds (int), not {value!r}")
    return value


class SystemClock:
    """The machine's clock."""

    def now(self) -> int:
        return int(time.time())

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock stopped at one instant (tests, vectors, ``--at``)."""

    __slots__ = ("_t",)

    def __init__(self, t: int | _dt.datetime) -> None:
        self._t = from_datetime(t) if isinstance(t, _dt.datetime) else int(t)

    def now(self) -> int:
        return self._t

    def advance(self, seconds: int) -> None:
        """Move the clock forward (or back, with a negative value)."""
        self._t += seconds

    def __repr__(self) -> str:
        return f"FixedClock({self._t})"


def from_datetime(value: _dt.datetime) -> int:
    """POSIX seconds of an aware datetime (a naive one is refused)."""
    if value.tzinfo is None:
        raise InvalidArgument("naive datetime: give a timezone")
    return int(value.timestamp())


def clock_at(at: str | None) -> Clock:
    """The system clock, or one stopped at an ISO 8601 instant (UTC when no zone is given)."""
    if at is None:
        return SystemClock()
    try:
        moment = _dt.datetime.fromisoformat(at)
    except ValueError as exc:
        raise InvalidArgument(f"{at!r} is not an ISO 8601 date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return FixedClock(from_datetime(moment))


def to_datetime(t: int) -> _dt.datetime:
    """Aware UTC datetime of POSIX seconds."""
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC)
