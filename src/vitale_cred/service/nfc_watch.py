"""NFC taps: PC/SC readers watched for card insertions, each tap read and published.

A thread waits on ``SCardGetStatusChange`` (pyscard, through ``pcscd``) over the
configured readers. A card arriving on a reader (a phone tapped) runs one reader
session on it (:func:`vitale_cred.adapters.pcsc.read_presentation`); the verdict is
published on the :class:`EventBus`, which the API's ``GET /v1/nfc/last`` and the
server-sent events of ``GET /v1/events`` read. A card staying on the reader is read
once; the next tap is the next insertion.

The bus keeps the last ``keep`` events for at most ``keep_seconds``: verdicts hold
personal data, and the front desk needs them only while the patient is there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import Any

from vitale_cred.adapters.pcsc import load_scard
from vitale_cred.clock import Clock
from vitale_cred.service.config import NfcConfig

__all__ = ["EventBus", "NfcWatcher"]

_log = logging.getLogger("vitale_cred.service.nfc")

#: How long one wait for a reader change lasts (ms); the stop flag is read between.
_WAIT_MS = 500
_SCARD_E_TIMEOUT = 0x8010000A
_SCARD_E_CANCELLED = 0x80100002
_SCARD_E_NO_READERS = 0x8010002E


class EventBus:
    """Recent events for polling, and a live feed for server-sent events (thread-safe)."""

    def __init__(self, *, keep: int, keep_seconds: int, clock: Clock) -> None:
        self._keep_seconds = keep_seconds
        self._clock = clock
        self._events: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._subscribers: list[
            tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]
        ] = []
        self._next_id = 1

    def publish(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record an event and hand it to every subscriber (from any thread)."""
        with self._lock:
            event = {"id": self._next_id, "kind": kind, "at": self._clock.now(), **payload}
            self._next_id += 1
            self._events.append(event)
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, event)
            except RuntimeError:  # the loop closed: the subscriber is gone
                self.unsubscribe(queue)
        return event

    def last(self, count: int) -> list[dict[str, Any]]:
        """The ``count`` most recent events still within ``keep_seconds``, newest first."""
        oldest = self._clock.now() - self._keep_seconds
        with self._lock:
            while self._events and self._events[0]["at"] < oldest:
                self._events.popleft()
            recent = list(self._events)
        return list(reversed(recent))[:count]

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue fed with every event from now on (call from the event loop)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=64)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s[1] is not queue]

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    # A subscriber that does not read loses events rather than growing memory.
    if not queue.full():
        queue.put_nowait(event)


class NfcWatcher:
    """Watches PC/SC readers in a thread and reads a presentation at each tap.

    ``read(reader_name)`` runs one reader session and returns its verdict (it never
    raises a library error: refusals are verdicts).
    """

    def __init__(
        self,
        config: NfcConfig,
        read: Callable[[str], dict[str, Any]],
        bus: EventBus,
    ) -> None:
        self._config = config
        self._read = read
        self._bus = bus
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scard: ModuleType | None = None
        self._context: Any = None
        self.readers: list[str] = []
        self.last_error: str | None = None
        self.taps = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._scard = load_scard()
        self._thread = threading.Thread(target=self._run, name="vitale-nfc-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        scard, context = self._scard, self._context
        if scard is not None and context is not None:
            scard.SCardCancel(context)
        if self._thread is not None:
            self._thread.join(timeout)

    def health(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "running": self.running,
            "readers": list(self.readers),
            "taps": self.taps,
            "last_error": self.last_error,
        }

    def _wanted(self, names: list[str]) -> list[str]:
        wanted = self._config.readers
        if not wanted:
            return names
        return [n for n in names if any(n == w or n.startswith(w) for w in wanted)]

    def _run(self) -> None:
        scard = self._scard
        assert scard is not None
        while not self._stop.is_set():
            code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if code != scard.SCARD_S_SUCCESS:
                self.last_error = f"pcscd does not answer ({code & 0xFFFFFFFF:08X})"
                self._stop.wait(1.0)
                continue
            self._context = context
            try:
                self._watch(scard, context)
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive pcscd hiccups
                self.last_error = f"{type(exc).__name__}: {exc}"
                _log.warning("NFC watcher: %s", self.last_error)
                self._stop.wait(1.0)
            finally:
                self._context = None
                scard.SCardReleaseContext(context)

    def _watch(self, scard: ModuleType, context: Any) -> None:
        states: dict[str, int] = {}
        present: dict[str, bool] = {}
        while not self._stop.is_set():
            code, names = scard.SCardListReaders(context, [])
            if code != scard.SCARD_S_SUCCESS and code & 0xFFFFFFFF != _SCARD_E_NO_READERS:
                raise RuntimeError(f"cannot list readers ({code & 0xFFFFFFFF:08X})")
            readers = self._wanted(list(names) if code == scard.SCARD_S_SUCCESS else [])
            self.readers = readers
            if not readers:
                self._stop.wait(_WAIT_MS / 1000)
                continue
            query = [(name, states.get(name, scard.SCARD_STATE_UNAWARE)) for name in readers]
            code, changes = scard.SCardGetStatusChange(context, _WAIT_MS, query)
            code &= 0xFFFFFFFF
            if code == _SCARD_E_TIMEOUT:
                continue
            if code == _SCARD_E_CANCELLED:
                return
            if code != scard.SCARD_S_SUCCESS:
                # A reader came or went: list them again.
                states.clear()
                self._stop.wait(0.1)
                continue
            self.last_error = None
            for name, event_state, _atr in changes:
                states[name] = event_state & ~scard.SCARD_STATE_CHANGED
                now_present = bool(event_state & scard.SCARD_STATE_PRESENT) and not bool(
                    event_state & scard.SCARD_STATE_MUTE
                )
                if now_present and not present.get(name, False):
                    self._tap(name)
                present[name] = now_present

    def _tap(self, reader: str) -> None:
        self.taps += 1
        started = time.monotonic()
        result = self._read(reader)
        _log.info(
            "NFC tap on %r: %s in %.0f ms",
            reader,
            result.get("code") or "ok",
            (time.monotonic() - started) * 1000,
        )
        self._bus.publish("nfc", {"reader": reader, "verdict": result})
