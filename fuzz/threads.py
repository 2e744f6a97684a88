"""One verifier shared by two threads: same results as one thread, and the time taken.

Usage::

    python fuzz/threads.py [--per-thread 100000] [--json]

Builds ``2 x per-thread`` presentations of the five family5 beneficiaries (one in
eight a replay of an earlier token of the same chunk, one in sixteen with a
flipped signature bit, and 64 tokens present in both chunks), verifies them on
one thread with a fresh verifier, then on two threads sharing another fresh
verifier, and compares every outcome (the beneficiary index or the error code).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from vitale_cred.errors import VitaleCredError
from vitale_cred.presentation import present
from vitale_cred.verify import Verifier

import _world

SHARED = 64


def make_chunks(world: _world.FuzzWorld, per_thread: int) -> tuple[list[bytes], list[bytes]]:
    credentials = world.bundle.credentials[:3]  # 3 and 4 are revoked/suspended in this world
    counter = 0

    def fresh(index: int) -> bytes:
        nonlocal counter
        counter += 1
        return present(
            credentials[index % len(credentials)],
            world.device,
            clock=world.clock,
            rng=lambda n, c=counter: c.to_bytes(n, "big"),
        )

    shared = [fresh(i) for i in range(SHARED)]
    chunks: list[list[bytes]] = []
    for _ in range(2):
        chunk: list[bytes] = []
        for i in range(per_thread - SHARED):
            if i % 8 == 7:
                chunk.append(chunk[i - 5])  # a replay within the chunk
            elif i % 16 == 3:
                forged = bytearray(fresh(i))
                forged[-1] ^= 1
                chunk.append(bytes(forged))
            else:
                chunk.append(fresh(i))
        chunks.append(chunk + shared)
    return chunks[0], chunks[1]


def outcome(verifier: Verifier, token: bytes) -> str:
    try:
        return f"ok:{verifier.verify_presentation(token).beneficiary_index}"
    except VitaleCredError as exc:
        return exc.code


def run(world: _world.FuzzWorld, first: list[bytes], second: list[bytes]) -> dict[str, object]:
    single_verifier = world.verifier(status=None)
    started = time.perf_counter()
    single = [[outcome(single_verifier, t) for t in chunk] for chunk in (first, second)]
    single_seconds = time.perf_counter() - started

    shared_verifier = world.verifier(status=None)
    threaded: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def work(slot: int, chunk: list[bytes]) -> None:
        try:
            threaded[slot] = [outcome(shared_verifier, t) for t in chunk]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate((first, second))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    threaded_seconds = time.perf_counter() - started

    own = len(first) - SHARED
    same_private = single[0][:own] == threaded[0][:own] and single[1][:own] == threaded[1][:own]
    # A token in both chunks is accepted by exactly one of the two threads.
    shared_once = all(
        sorted((threaded[0][own + i], threaded[1][own + i]))
        == sorted((single[0][own + i], single[1][own + i]))
        for i in range(SHARED)
    )
    return {
        "threads": 2,
        "per_thread": len(first),
        "verifications": len(first) + len(second),
        "single_thread_seconds": round(single_seconds, 2),
        "two_threads_seconds": round(threaded_seconds, 2),
        "identical_outcomes": same_private and shared_once,
        "accepted": sum(o.startswith("ok") for chunk in threaded for o in chunk),
        "unexpected_exceptions": [repr(e) for e in errors],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-thread", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv[1:])
    world = _world.build()
    started = time.perf_counter()
    first, second = make_chunks(world, args.per_thread)
    report = {"token_generation_seconds": round(time.perf_counter() - started, 2)}
    report.update(run(world, first, second))
    print(
        json.dumps(report) if args.json else "\n".join(f"{k:>24}: {v}" for k, v in report.items())
    )
    return 0 if report["identical_outcomes"] and not report["unexpected_exceptions"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
