"""Cost of one replay check-and-record: in memory against the shared SQLite file.

Run: ``python -m benchmarks.replay_cache [--calls N] [--fill N] [--rounds N] [--dir DIR]``.

Each cache is first filled with ``--fill`` live entries (a busy practice), then every
round times ``--calls`` calls of ``check_and_add`` with new nonces (each one a
recorded token, the verifier's common case) and reports the median time per call
over the rounds. The SQLite file is created in ``--dir`` (default: a temporary
directory), which must be on the disk the readers would use: on a RAM file system
the synchronous commit costs nothing and the figure means little. The row
``synchronous=NORMAL`` is given for comparison only: the library commits with
``FULL`` so that a power cut cannot forget an accepted token.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from vitale_cred.replay import InMemoryReplayCache, ReplayCache, SqliteReplayCache

NOW = 1_800_000_000
EXPIRES = NOW + 360


def _nonces() -> Iterator[bytes]:
    i = 0
    while True:
        yield i.to_bytes(44, "big")  # 32-byte device key x + 12-byte nonce, as verify.py
        i += 1


def _per_call(cache: ReplayCache, nonces: Iterator[bytes], calls: int, rounds: int) -> float:
    for _ in range(calls):  # warm-up: the file's pages, the statement cache
        cache.check_and_add(next(nonces), EXPIRES, NOW)
    times: list[float] = []
    for _ in range(rounds):
        batch = [next(nonces) for _ in range(calls)]
        start = time.perf_counter()
        for nonce in batch:
            cache.check_and_add(nonce, EXPIRES, NOW)
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--fill", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        made: list[tuple[str, Callable[[], ReplayCache]]] = [
            ("in memory", InMemoryReplayCache),
            ("SQLite WAL, synchronous=FULL", lambda: SqliteReplayCache(Path(directory) / "a.db")),
            ("SQLite WAL, synchronous=NORMAL", lambda: _normal(Path(directory) / "b.db")),
        ]
        print(f"check_and_add, new nonce, {args.fill} live entries, median of {args.rounds}")
        print("| cache | per call |")
        print("|---|---|")
        for name, make in made:
            cache = make()
            nonces = _nonces()
            for _ in range(args.fill):
                cache.check_and_add(next(nonces), EXPIRES, NOW)
            seconds = _per_call(cache, nonces, args.calls, args.rounds)
            print(f"| {name} | {seconds * 1e6:,.1f} µs |")
            if isinstance(cache, SqliteReplayCache):
                cache.close()
    return 0


def _normal(path: Path) -> SqliteReplayCache:
    cache = SqliteReplayCache(path)
    cache._db.execute("PRAGMA synchronous=NORMAL")  # comparison row only
    return cache


if __name__ == "__main__":
    sys.exit(main())
