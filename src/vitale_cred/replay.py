"""Replay detection for QR presentations.

A QR token may be photographed and shown again within its lifetime; the reader
remembers each nonce until the token expires. The in-memory cache is bounded: when
full, it drops the entries that expire first (they are the closest to harmless),
so memory stays bounded under any flood. Several readers of one practice share
protection only if they share a cache: implement :class:`ReplayCache` over a shared
store for that.
"""

from __future__ import annotations

import heapq
import threading
from typing import Literal, Protocol, runtime_checkable

from .errors import InvalidArgument, ReplayCacheFull

__all__ = ["DEFAULT_CAPACITY", "InMemoryReplayCache", "ReplayCache"]

#: Entries kept by default: a busy pharmacy sees far fewer tokens per token lifetime.
DEFAULT_CAPACITY = 100_000


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers nonces until they expire."""

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        """Record ``nonce``; return False if it was already recorded and unexpired.

        May raise ``presentation.replay_cache_full`` when the cache cannot record it.
        """
        ...


class InMemoryReplayCache:
    """A thread-safe, bounded replay cache (dict + expiry heap).

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
        with self._lock:
            seen = self._seen
            heap = self._heap
            # Expired entries go first; a heap makes that O(log n) per entry.
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
            seen[nonce] = expires_at
            heapq.heappush(heap, (expires_at, nonce))
            return True
