"""Prometheus metrics of the reader service, in the text exposition format 0.0.4.

Standard library only; every update takes one lock. Metrics are per process: a
deployment running several service processes scrapes each one.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Callable, Iterable

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Metrics", "resident_memory_bytes"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Upper bounds of the latency histogram, in seconds.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


def resident_memory_bytes() -> int | None:
    """This process's resident set size (Linux ``/proc``), or None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Histogram:
    __slots__ = ("counts", "sum", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.sum = 0.0
        self.total = 0


class Metrics:
    """Counters and histograms of one service process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verifications: dict[tuple[str, str], int] = {}
        self._latency: dict[str, _Histogram] = {}
        self._requests: dict[tuple[str, str, int], int] = {}
        self._rate_limited = 0
        self._frames: dict[str, int] = {}

    def verification(self, channel: str, code: str | None, seconds: float) -> None:
        """One verdict: ``code`` None for a verified presentation."""
        result = code or "ok"
        with self._lock:
            key = (channel, result)
            self._verifications[key] = self._verifications.get(key, 0) + 1
            histogram = self._latency.get(channel)
            if histogram is None:
                histogram = self._latency[channel] = _Histogram()
            histogram.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            histogram.sum += seconds
            histogram.total += 1

    def request(self, route: str, method: str, status: int) -> None:
        with self._lock:
            key = (route, method, status)
            self._requests[key] = self._requests.get(key, 0) + 1

    def rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1

    def frame(self, outcome: str) -> None:
        """A camera frame: ``found``, ``none`` (no code), ``same`` (the code just seen)."""
        with self._lock:
            self._frames[outcome] = self._frames.get(outcome, 0) + 1

    def verifications_total(self) -> int:
        with self._lock:
            return sum(self._verifications.values())

    def render(self, gauges: Iterable[tuple[str, str, dict[str, str], float]] = ()) -> str:
        """The exposition text; ``gauges`` are (name, help, labels, value) read now."""
        lines: list[str] = []
        with self._lock:
            verifications = sorted(self._verifications.items())
            latency = sorted(self._latency.items())
            requests = sorted(self._requests.items())
            rate_limited = self._rate_limited
            frames = sorted(self._frames.items())

        def head(name: str, kind: str, text: str) -> None:
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")

        head(
            "vitale_reader_verifications_total",
            "counter",
            "Verdicts by channel (qr, image, nfc) and result code (ok for a verified one).",
        )
        for (channel, code), count in verifications:
            lines.append(
                f'vitale_reader_verifications_total{{channel="{_label(channel)}",'
                f'code="{_label(code)}"}} {count}'
            )
        head(
            "vitale_reader_verification_seconds",
            "histogram",
            "Time to a verdict inside the service, by channel.",
        )
        for channel, histogram in latency:
            running = 0
            label = _label(channel)
            for bound, count in zip(LATENCY_BUCKETS, histogram.counts, strict=False):
                running += count
                lines.append(
                    f'vitale_reader_verification_seconds_bucket{{channel="{label}",'
                    f'le="{bound:g}"}} {running}'
                )
            lines.append(
                f'vitale_reader_verification_seconds_bucket{{channel="{label}",le="+Inf"}} '
                f"{histogram.total}"
            )
            lines.append(
                f'vitale_reader_verification_seconds_sum{{channel="{label}"}} {histogram.sum:.6f}'
            )
            lines.append(
                f'vitale_reader_verification_seconds_count{{channel="{label}"}} {histogram.total}'
            )
        head("vitale_reader_http_requests_total", "counter", "HTTP requests by route and status.")
        for (route, method, status), count in requests:
            lines.append(
                f'vitale_reader_http_requests_total{{route="{_label(route)}",'
                f'method="{method}",status="{status}"}} {count}'
            )
        head(
            "vitale_reader_rate_limited_total",
            "counter",
            "Requests refused by the per-client rate limit.",
        )
        lines.append(f"vitale_reader_rate_limited_total {rate_limited}")
        head(
            "vitale_reader_camera_frames_total",
            "counter",
            "Camera frames by outcome (found, none, same).",
        )
        for outcome, count in frames:
            lines.append(f'vitale_reader_camera_frames_total{{outcome="{outcome}"}} {count}')
        seen: set[str] = set()
        for name, text, labels, value in gauges:
            if name not in seen:
                head(name, "gauge", text)
                seen.add(name)
            rendered = ",".join(f'{k}="{_label(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


#: A gauge source: called at each scrape.
GaugeSource = Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]
