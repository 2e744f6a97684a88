"""Status lists at national scale: one list for every card, 1 % revoked.

Run: ``python benchmarks/status_scale.py [--entries N] [--rate R] [--bits 1 2]``.

For each ``bits``: build the list (``rate`` of the entries set INVALID at indices
drawn from a seeded RNG), compress it, sign it as a Status List Token, then load
and verify it as a reader would, and time single lookups. Public API only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from vitale_cred.clock import FixedClock
from vitale_cred.pki import IssuerMaterial
from vitale_cred.registry import CoseAlg
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusValue,
    issue_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustStore

URI = "https://status.ameli.example/lists/all"
LIST = 1
NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOW = int(NOT_BEFORE.timestamp()) + 86_400
T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _median_call_ns(call: Callable[[int], object], indices: list[int], batch: int = 1_000) -> float:
    """Median cost of one call, from batches of ``batch`` calls (loop overhead included)."""
    per_call = []
    for start in range(0, len(indices) - batch + 1, batch):
        chunk = indices[start : start + batch]
        t0 = time.perf_counter_ns()
        for idx in chunk:
            call(idx)
        per_call.append((time.perf_counter_ns() - t0) / batch)
    return statistics.median(per_call)


def run(entries: int, rate: float, bits: int, seed: int) -> dict[str, float]:
    """Measure one list; returns the figures (seconds, bytes, nanoseconds)."""
    rng = random.Random(seed)
    revoked = rng.sample(range(entries), int(entries * rate))

    def build() -> StatusList:
        lst = StatusList(bits, entries)
        for idx in revoked:
            lst.set(idx, StatusValue.INVALID)
        return lst

    build_s, built = _timed(build)
    compress_s, compressed = _timed(built.compressed)

    material = IssuerMaterial.generate(CoseAlg.ES256, NOT_BEFORE)
    trust = TrustStore(
        roots=[material.root_certificate], certificates=[material.issuer_certificate]
    )
    issue_s, token = _timed(
        lambda: issue_status_list(
            material.signer(),
            kid=material.kid,
            uri=URI,
            list_id=LIST,
            status_list=built,
            iat=NOW,
            exp=NOW + 86_400,
            ttl=3_600,
        )
    )

    load_s, loaded = _timed(lambda: StatusList.from_compressed(compressed, bits))
    verify_s, verified_list = _timed(
        lambda: verify_status_list(
            token,
            trust,
            clock=FixedClock(NOW),
            expected_uri=URI,
            expected_kid=material.kid,
            expected_list=LIST,
        )
    )
    if any(verified_list.status(idx) != StatusValue.INVALID for idx in revoked):
        raise SystemExit("a revoked entry did not read back as INVALID")

    probes = [rng.randrange(entries) for _ in range(200_000)]
    provider = InMemoryStatusProvider([token])
    checker = StatusChecker(provider, trust, policy=StatusPolicy(on_undetermined="accept"))
    valid = [idx for idx in probes if loaded.get(idx) == StatusValue.VALID]
    refs = [StatusReference(LIST, idx) for idx in valid[:100_000]]
    checker.check(refs[0], NOW, issuer_kid=material.kid)  # fetch, verify and cache once

    def check_ref(position: int) -> object:
        return checker.check(refs[position], NOW, issuer_kid=material.kid)

    return {
        "bits": bits,
        "entries": entries,
        "revoked": len(revoked),
        "build_s": build_s,
        "compress_s": compress_s,
        "compressed_bytes": len(compressed),
        "token_bytes": len(token),
        "issue_s": issue_s,
        "load_s": load_s,
        "verify_s": verify_s,
        "get_ns": _median_call_ns(loaded.get, probes),
        "status_ns": _median_call_ns(verified_list.status, probes),
        "check_ns": _median_call_ns(check_ref, list(range(len(refs)))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=60_000_000)
    parser.add_argument("--rate", type=float, default=0.01, help="share of entries revoked")
    parser.add_argument("--bits", type=int, nargs="+", default=[1, 2], choices=[1, 2, 4, 8])
    parser.add_argument("--seed", type=int, default=20_250_101)
    args = parser.parse_args()
    print(f"{args.entries:,} entries, {args.rate:.2%} revoked, seed {args.seed}")
    for bits in args.bits:
        r = run(args.entries, args.rate, bits, args.seed)
        print(
            f"\nbits={bits}  ({r['entries'] * bits / 8 / 1e6:.2f} MB uncompressed, "
            f"{r['revoked']:,} revoked)\n"
            f"  build (allocate + set)      {r['build_s']:8.3f} s\n"
            f"  compress (zlib level 9)     {r['compress_s']:8.3f} s\n"
            f"  compressed lst              {r['compressed_bytes'] / 1e6:8.3f} MB "
            f"({r['compressed_bytes']:,} bytes)\n"
            f"  signed token                {r['token_bytes']:,} bytes, "
            f"issued in {r['issue_s']:.3f} s\n"
            f"  decompress + load           {r['load_s']:8.3f} s\n"
            f"  verify_status_list (total)  {r['verify_s']:8.3f} s\n"
            f"  lookup median: StatusList.get {r['get_ns'] / 1000:.3f} us, "
            f"VerifiedStatusList.status {r['status_ns'] / 1000:.3f} us, "
            f"StatusChecker.check (cached) {r['check_ns'] / 1000:.3f} us"
        )


if __name__ == "__main__":
    main()
