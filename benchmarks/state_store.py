"""Cost of the persistent trust state: SQLite vs in memory vs none.

Run: ``python benchmarks/state_store.py [--rounds N] [--dir DIR]``.

Times, as medians over ``rounds`` calls, with no state, an ``InMemoryTrustState`` and
a ``SqliteTrustState`` in ``DIR`` (default: a temporary directory; put it on the
disk the reader will use, since a raised mark is synced to it):

* a status check that fetches and verifies its list (a list without ``ttl`` or
  ``exp`` is fetched again at every check, so every check raises the ``iat`` mark);
* a status check served from the cache (the state is not consulted);
* a trust-list update (verification, both marks compared and raised, keys replaced);
* a reading of a ``GuardedClock`` between recordings, and one that records.

Public API only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vitale_cred.clock import FixedClock, SystemClock
from vitale_cred.hazmat import cose
from vitale_cred.pki import generate_private_key
from vitale_cred.registry import CoseAlg
from vitale_cred.state import GuardedClock, InMemoryTrustState, SqliteTrustState, TrustState
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    issue_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import TrustList, TrustListEntry, TrustListReader, sign_trust_list

NOW = 1_800_000_000
URI = "https://status.vitale.example/lists/1"
REF = StatusReference(1, 3)


def _median_us(action: Callable[[], object], rounds: int) -> float:
    action()  # warm: first fetch, first connection
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        action()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1_000


def _status_setup(state: TrustState | None, *, cached: bool) -> Callable[[], object]:
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()),
                b"issuer",
                usages=[Usage.STATUS_LIST],
            )
        ]
    )
    token = issue_status_list(
        signer,
        kid=b"issuer",
        uri=URI,
        list_id=1,
        status_list=StatusList(2, 1024),
        iat=NOW - 60,
        ttl=3_600 if cached else None,
    )
    checker = StatusChecker(
        InMemoryStatusProvider([token]), trust, policy=StatusPolicy(), state=state
    )
    return lambda: checker.check(REF, NOW, issuer_kid=b"issuer")


def _trust_list_setup(state: TrustState | None) -> Callable[[], object]:
    root = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    authority = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(root.public_key()),
                b"root",
                usages=[Usage.TRUST_LIST],
            )
        ]
    )
    entries = tuple(
        TrustListEntry(
            kid=f"issuer-{i}".encode(),
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
            key=cose.CoseKey.from_public_key(generate_private_key(CoseAlg.ES256).public_key()),
        )
        for i in range(8)
    )
    data = sign_trust_list(TrustList(1, NOW - 60, NOW + 86_400, entries), root, kid=b"root")
    reader = TrustListReader(authority, state=state)
    return lambda: reader.update(data, clock=FixedClock(NOW))


def _stores(directory: Path) -> dict[str, Callable[[str], TrustState | None]]:
    return {
        "none": lambda _: None,
        "memory": lambda _: InMemoryTrustState(),
        "sqlite": lambda name: SqliteTrustState(directory / f"{name}.db"),
    }


def run(rounds: int, directory: Path) -> dict[str, dict[str, float]]:
    """Medians in microseconds: {measurement: {store: µs}}."""
    out: dict[str, dict[str, float]] = {}
    stores = _stores(directory)
    rows: dict[str, Callable[[TrustState | None], Callable[[], object]]] = {
        "status check, list fetched and verified": lambda s: _status_setup(s, cached=False),
        "status check, list cached": lambda s: _status_setup(s, cached=True),
        "trust-list update (8 entries)": _trust_list_setup,
    }
    for label, setup in rows.items():
        out[label] = {}
        for name, make in stores.items():
            state = make(label.split(",")[0].replace(" ", "_") + name)
            out[label][name] = _median_us(setup(state), rounds)
            if isinstance(state, SqliteTrustState):
                state.close()
    clock_rows: dict[str, dict[str, float]] = {
        "clock reading": {},
        "clock reading that records": {},
    }
    clock_rows["clock reading"]["none"] = _median_us(SystemClock().now, rounds)
    for name in ("memory", "sqlite"):
        state = stores[name](f"clock_{name}")
        assert state is not None
        guarded = GuardedClock(SystemClock(), state)
        clock_rows["clock reading"][name] = _median_us(guarded.now, rounds)
        ticking = FixedClock(NOW)
        recording = GuardedClock(ticking, state, record_interval=0)

        def tick(clock: FixedClock = ticking, guard: GuardedClock = recording) -> object:
            clock.advance(1)
            return guard.now()

        clock_rows["clock reading that records"][name] = _median_us(tick, rounds)
        if isinstance(state, SqliteTrustState):
            state.close()
    out.update(clock_rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2_000)
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        results = run(args.rounds, directory)
    print(f"medians over {args.rounds} calls, microseconds")
    print(f"{'':42} {'none':>9} {'memory':>9} {'sqlite':>9}")
    for label, row in results.items():
        cells = " ".join(
            f"{row[k]:9.1f}" if k in row else f"{'-':>9}" for k in ("none", "memory", "sqlite")
        )
        print(f"{label:42} {cells}")


if __name__ == "__main__":
    main()
