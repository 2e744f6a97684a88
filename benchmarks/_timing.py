"""The timing core of the benchmarks, standard library only.

Imported by the suite (``benchmarks/suite.py``) and by the peer script
(``benchmarks/peers.py``), which runs in another interpreter (cbor2 5.x, pycose,
python-cwt) where this repository's code may not be importable.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

Maker = Callable[[int], Callable[[], object]]


def interleave(
    makers: dict[str, Maker], rounds: int, batch_seconds: float, warmup: int
) -> dict[str, dict[str, Any]]:
    """Seconds per call of every row: calibrated batches, timed in rotating rounds.

    The garbage collector is disabled during each timed batch (and restored after).
    """
    names = list(makers)
    numbers: dict[str, int] = {}
    for name in names:
        n = 1
        while True:
            batch = makers[name](n)
            start = time.perf_counter()
            batch()
            elapsed = time.perf_counter() - start
            if elapsed >= batch_seconds / 4 or n >= 1 << 20:
                break
            n *= 2 if elapsed > batch_seconds / 40 else 8
        numbers[name] = max(1, round(n * batch_seconds / max(elapsed, 1e-9)))
    for _ in range(warmup):
        for name in names:
            makers[name](numbers[name])()
    samples: dict[str, list[float]] = {name: [] for name in names}
    enabled = gc.isenabled()
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            n = numbers[name]
            batch = makers[name](n)
            gc.disable()
            try:
                start = time.perf_counter()
                batch()
                elapsed = time.perf_counter() - start
            finally:
                if enabled:
                    gc.enable()
            samples[name].append(elapsed / n)
    out: dict[str, dict[str, Any]] = {}
    for name, values in samples.items():
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        out[name] = {
            "median_s": statistics.median(values),
            "p25_s": quartiles[0],
            "p75_s": quartiles[2],
            "number": numbers[name],
            "rounds": len(values),
            # Per round, in round order: two rows' samples of one round were timed
            # within the same rotation, which a paired ratio uses.
            "samples_s": values,
        }
    return out
