"""Peak memory of the replay cache under a flood of distinct QR tokens.

Usage::

    python fuzz/flood.py [--tokens 1000000] [--capacity 100000] [--via cache|verifier] [--json]

``--via cache`` feeds the cache the keys the verifier stores (32-byte device key x
plus 12-byte nonce), as fast as it takes them; ``--via verifier`` signs and verifies
every token end to end (about 4 ms per 20 tokens: minutes for a million). Each run
is its own process, so ``resource.getrusage`` peak RSS is this flood's alone: the
report gives the peak before the flood (imports, keys) and after it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from vitale_cred.credential import strip_x5chain
from vitale_cred.presentation import NONCE_LENGTH, present
from vitale_cred.replay import DEFAULT_CAPACITY, InMemoryReplayCache

import _world


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def flood(tokens: int, capacity: int, via: str) -> dict[str, object]:
    cache = InMemoryReplayCache(capacity)
    world = _world.build()
    holder = world.device.cose_key().x
    expires = _world.NOW + 300
    if via == "verifier":
        verifier = world.verifier(status=None, replay_cache=cache)
        credential = strip_x5chain(world.bundle.credentials[0])
        verifier.verify_credential(credential)  # warm the issuer cache before measuring
    before = _peak_kib()
    started = time.perf_counter()
    if via == "cache":
        for i in range(tokens):
            if not cache.check_and_add(
                holder + i.to_bytes(NONCE_LENGTH, "big"), expires, _world.NOW
            ):
                raise AssertionError(f"distinct key {i} reported as a replay")
    else:
        for i in range(tokens):
            token = present(
                credential,
                world.device,
                clock=world.clock,
                ttl=300,
                rng=lambda n, i=i: i.to_bytes(n, "big"),
            )
            verifier.verify_presentation(token)
    seconds = time.perf_counter() - started
    after = _peak_kib()
    return {
        "via": via,
        "tokens": tokens,
        "capacity": capacity,
        "entries": len(cache),
        "peak_rss_before_kib": before,
        "peak_rss_after_kib": after,
        "growth_kib": after - before,
        "bytes_per_entry": round((after - before) * 1024 / max(len(cache), 1)),
        "seconds": round(seconds, 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--capacity", type=int, default=DEFAULT_CAPACITY)
    parser.add_argument("--via", choices=("cache", "verifier"), default="cache")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv[1:])
    report = flood(args.tokens, args.capacity, args.via)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
