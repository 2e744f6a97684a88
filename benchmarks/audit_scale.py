"""How fast the fund's audit runs, and what national traffic would need.

``python -m benchmarks.audit_scale`` generates a seeded synthetic day of evidence
(``benchmarks/evidence_gen.py``: honest traffic and frauds of every kind), then:

* times the ES256 verification of this machine: the **floor** of a record is one
  verification (the device signature) when its credential was seen before, two when
  not (the issuer signature too), plus one when the professional signed the record;
* audits the day in this process (records per second on one core, ratio to the
  floor), and once more with every credential already in the verifier's cache
  (the one-verification floor);
* audits it on a local Dask cluster of one worker, then two (the ratio of the two
  rates; target: two workers at least 1.8 times one), checking that both reports
  are the same and that every finding matches the ground truth;
* projects the cores needed for one day of national traffic (3.5 million
  invoices) and for a year (1.3 billion), and for the peak rate.

Results go to ``benchmarks/results/audit_scale.{json,md}``. ``--quick`` runs a small
data set in this process only, for correctness (``tests/test_audit.py``): its
timings mean nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks.evidence_gen import Synthetic, generate
from vitale_cred.audit import AuditParameters, Checker, Directory, _run, read_report, run_audit
from vitale_cred.audit._check import check_partition
from vitale_cred.evidence import decode_evidence
from vitale_cred.hazmat import cose
from vitale_cred.presentation import decode_presentation_payload

RESULTS = Path(__file__).resolve().parent / "results"
#: One day of national traffic, and a year (about 1.3 billion invoices).
DAY_RECORDS = 3_500_000
YEAR_RECORDS = 1_300_000_000
#: The average rate (40 a second) and a peak ten times higher.
PEAK_PER_SECOND = 400


def es256_verify_us(rounds: int = 7, batch: int = 400) -> float:
    """Median time of one ES256 verification of a 300-byte message, microseconds."""
    key = ec.derive_private_key(7, ec.SECP256R1())
    message = bytes(300)
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    algorithm = ec.ECDSA(hashes.SHA256())
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(batch):
            public.verify(signature, message, algorithm)
        times.append((time.perf_counter() - began) / batch * 1e6)
    return statistics.median(times)


def floor_verifications(data: Synthetic) -> dict[str, int]:
    """The ES256 verifications no audit can skip: one per token, one per credential
    first seen, one per record its professional signed."""
    tokens = credentials = signed = 0
    seen: set[bytes] = set()
    for record in data.records:
        if record is None:
            continue
        try:
            decoded = decode_evidence(record)
            payload = decode_presentation_payload(
                cose.decode_sign1(decoded.evidence.presentation).payload
            )
        except Exception:  # noqa: BLE001 - a bad record costs no verification
            continue
        tokens += 1
        signed += decoded.signed
        if payload.credential not in seen:
            seen.add(payload.credential)
            credentials += 1
    return {"tokens": tokens, "credentials": credentials, "signed": signed}


def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return None


def _audit(
    data: Synthetic, inputs: Path, out: Path, *, workers: int, partition_size: int
) -> tuple[dict[str, Any], float]:
    """One audit: its summary and its CPU time in this process."""
    _run._CHECKERS.clear()  # every run starts cold, as a new process would
    gc.collect()
    cpu = time.process_time()
    summary = run_audit(
        [inputs],
        out,
        material=data.material(),
        professionals=data.professionals,
        workers=workers,
        partition_size=partition_size,
        replace=True,
    )
    return summary, time.process_time() - cpu


def _warm_rate(data: Synthetic) -> float:
    """Records per second of one core once every credential is in the cache."""
    checker = Checker(data.material(), Directory(data.professionals), AuditParameters())
    records = list(enumerate(data.records))
    check_partition(checker, 0, "warm", records, 8)  # fills the issuer cache
    gc.collect()
    began = time.perf_counter()
    check_partition(checker, 0, "warm", records, 8)
    return len(records) / (time.perf_counter() - began)


def _projection(rate_per_core: float, efficiency: float, cold_rate: float) -> dict[str, Any]:
    """Cores for national traffic at ``rate_per_core`` records/s, each added core
    worth ``efficiency`` of one (the measured scaling); ``cold_rate`` is the rate when
    every record brings a card not seen before (the worst case)."""
    effective = rate_per_core * max(min(efficiency, 1.0), 0.1)

    def cores(records: float, seconds: float) -> int:
        return max(1, math.ceil(records / effective / seconds))

    return {
        "rate_per_core": round(rate_per_core, 1),
        "scaling_efficiency": round(efficiency, 3),
        "day_core_hours": round(DAY_RECORDS / rate_per_core / 3600, 2),
        "day_cores_for_1_hour": cores(DAY_RECORDS, 3600),
        "day_cores_for_15_minutes": cores(DAY_RECORDS, 900),
        "day_hours_on_16_cores": round(DAY_RECORDS / (effective * 16) / 3600, 2),
        "year_core_hours": round(YEAR_RECORDS / rate_per_core / 3600),
        "year_cores_for_24_hours": cores(YEAR_RECORDS, 86_400),
        "year_days_on_64_cores": round(YEAR_RECORDS / (effective * 64) / 86_400, 1),
        "peak_cores": cores(PEAK_PER_SECOND, 1),
        "cold_rate_per_core": round(cold_rate, 1),
        "cold_day_core_hours": round(DAY_RECORDS / cold_rate / 3600, 2),
        "cold_year_core_hours": round(YEAR_RECORDS / cold_rate / 3600),
    }


def run(
    *,
    honest: int,
    frauds: int,
    quick: bool,
    partition_size: int,
    rounds: int = 3,
    log: Any = print,
) -> dict[str, Any]:
    """Generate, audit, time; the results as one JSON-ready dict."""
    began = time.perf_counter()
    data = generate(honest, seed=2026, frauds=frauds)
    generated = time.perf_counter() - began
    log(f"generated {len(data.records):,} records in {generated:.1f} s")
    expected = dict(sorted(data.expected_counts().items()))
    results: dict[str, Any] = {
        "quick": quick,
        "records": len(data.records),
        "honest": data.honest(),
        "expected_findings": expected,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": _load(),
        },
    }
    with tempfile.TemporaryDirectory(prefix="audit-scale-") as tmp:
        work = Path(tmp)
        inputs = work / "evidence.parquet"
        data.write_parquet(inputs, row_group_size=max(1, partition_size // 4))
        local_runs = []
        for _ in range(rounds):
            summary, cpu = _audit(
                data, inputs, work / "local", workers=0, partition_size=partition_size
            )
            local_runs.append(summary["records"] / summary["run"]["seconds"])
            log(f"in process: {local_runs[-1]:,.0f} records/s")
        correct = summary["findings"] == expected and summary["clean"] == data.honest()
        local_rate = max(local_runs)
        results["in_process"] = {
            "records_per_second": round(local_rate, 1),
            "runs": [round(r, 1) for r in local_runs],
            "cpu_seconds_last": round(cpu, 3),
        }
        if not quick:
            es256 = es256_verify_us()
            verifications = floor_verifications(data)
            total = sum(verifications.values())
            floor_us = es256 * total / summary["records"]
            warm = _warm_rate(data)
            warm_floor_us = es256 * (verifications["tokens"] + verifications["signed"])
            warm_floor_us /= summary["records"]
            results["floor"] = {
                "es256_verify_us": round(es256, 1),
                "verifications": verifications,
                "verifications_per_record": round(total / summary["records"], 3),
                "floor_us_per_record": round(floor_us, 1),
                "measured_us_per_record": round(1e6 / local_rate, 1),
                "ratio_to_floor": round(1e6 / local_rate / floor_us, 2),
                "warm_records_per_second": round(warm, 1),
                "warm_us_per_record": round(1e6 / warm, 1),
                "warm_floor_us_per_record": round(warm_floor_us, 1),
                "warm_ratio_to_floor": round(1e6 / warm / warm_floor_us, 2),
            }
            log(f"floor {floor_us:.0f} us/record, measured {1e6 / local_rate:.0f}")
            runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
            reports = {}
            for _ in range(rounds):  # interleaved: a drift of the machine hits both alike
                for workers in (1, 2):
                    summary, _ = _audit(
                        data,
                        inputs,
                        work / f"dask{workers}",
                        workers=workers,
                        partition_size=partition_size,
                    )
                    run_info = summary["run"]
                    runs[workers].append(
                        {
                            "seconds": run_info["seconds"],
                            "records_per_second": round(
                                summary["records"] / run_info["seconds"], 1
                            ),
                            "worker_cpu_seconds": run_info["worker_cpu_seconds"],
                            "partitions": run_info["partitions"],
                        }
                    )
                    correct = correct and summary["findings"] == expected
                    reports[workers] = read_report(work / f"dask{workers}")
                    log(
                        f"dask, {workers} worker(s): {runs[workers][-1]['records_per_second']:,.0f}"
                    )
            correct = correct and reports[1].equals(reports[2])
            for workers, found in runs.items():
                best = max(found, key=lambda run: float(run["records_per_second"]))
                results[f"dask_{workers}"] = {
                    **best,
                    "setup_seconds": summary["run"]["setup_seconds"],
                    # Share of the workers' wall time they spent computing.
                    "utilisation": round(
                        float(best["worker_cpu_seconds"]) / float(best["seconds"]) / workers, 3
                    ),
                    "runs": [run["records_per_second"] for run in found],
                }
            speedup = (
                results["dask_2"]["records_per_second"] / results["dask_1"]["records_per_second"]
            )
            results["speedup_2_workers"] = round(speedup, 2)
            results["target_speedup_met"] = speedup >= 1.8
            per_core = max(local_rate, results["dask_1"]["records_per_second"])
            # Every record a new card: the warm cost plus the cost of a first sight,
            # measured as the difference between the day as it comes and warm.
            cold_share = verifications["credentials"] / max(verifications["tokens"], 1)
            first_sight_us = (1e6 / local_rate - 1e6 / warm) / max(cold_share, 0.01)
            cold_rate = 1e6 / (1e6 / warm + first_sight_us)
            results["floor"]["first_sight_us"] = round(first_sight_us, 1)
            results["projection"] = _projection(per_core, speedup / 2, cold_rate)
    results["correct"] = correct
    results["machine"]["load_after"] = _load()
    results["seconds"] = round(time.perf_counter() - began, 1)
    return results


def markdown(results: dict[str, Any]) -> str:
    """The results as the Markdown of ``benchmarks/results/audit_scale.md``."""
    machine = results["machine"]
    lines = [
        "# Audit of evidence at scale",
        "",
        f"`python -m benchmarks.audit_scale` on {machine['cpus']} CPUs, Python "
        f"{machine['python']} ({machine['platform']}); load average before "
        f"{machine['load_before']}, after {machine['load_after']}.",
        "",
        f"Synthetic day: {results['records']:,} records, {results['honest']:,} honest, the rest "
        "frauds of every kind (`benchmarks/evidence_gen.py`, seed 2026). Every finding "
        "matched the ground truth"
        + ("" if results["quick"] else " and the reports of 1 and 2 workers are identical")
        + f": **{'yes' if results['correct'] else 'NO'}**.",
        "",
    ]
    if results["quick"]:
        lines.append("Quick run: correctness only, the timings mean nothing.")
        return "\n".join(lines) + "\n"
    floor = results["floor"]
    v = floor["verifications"]
    lines += [
        "## Per core",
        "",
        "| | µs per record | records/s per core | floor (µs) | ratio to floor |",
        "|---|---:|---:|---:|---:|",
        f"| the day as it comes (in this process, best of "
        f"{len(results['in_process']['runs'])}) | {floor['measured_us_per_record']} | "
        f"{results['in_process']['records_per_second']:,.0f} | {floor['floor_us_per_record']} | "
        f"{floor['ratio_to_floor']} |",
        f"| every credential seen before (warm cache) | {floor['warm_us_per_record']} | "
        f"{floor['warm_records_per_second']:,.0f} | {floor['warm_floor_us_per_record']} | "
        f"{floor['warm_ratio_to_floor']} |",
        "",
        f"ES256 verification on this machine: {floor['es256_verify_us']} µs. The floor counts "
        f"the verifications no audit can skip: {v['tokens']:,} device signatures, "
        f"{v['credentials']:,} issuer signatures (credentials first seen) and {v['signed']:,} "
        f"professional signatures, {floor['verifications_per_record']} per record; warm, the "
        "issuer signatures drop out.",
        "",
        "## Workers (local Dask cluster, one thread each)",
        "",
        "| workers | partitions | seconds (best) | records/s (best) | every run | worker CPU "
        "seconds | utilisation |",
        "|---:|---:|---:|---:|---|---:|---:|",
        *(
            f"| {n} | {results[f'dask_{n}']['partitions']} | {results[f'dask_{n}']['seconds']} | "
            f"{results[f'dask_{n}']['records_per_second']:,.0f} | "
            f"{', '.join(f'{r:,.0f}' for r in results[f'dask_{n}']['runs'])} | "
            f"{results[f'dask_{n}']['worker_cpu_seconds']} | "
            f"{results[f'dask_{n}']['utilisation']} |"
            for n in (1, 2)
        ),
        "",
        f"2 workers / 1 worker: **{results['speedup_2_workers']}×** (target 1.8×: "
        f"{'met' if results['target_speedup_met'] else 'not met'}). On this 2-CPU machine the "
        "Dask scheduler and the client share the two CPUs with both workers, and each worker "
        "keeps its own issuer cache: a card read in the partitions of both workers is "
        "verified cold by both, which the worker CPU seconds show.",
        "",
    ]
    p = results["projection"]
    lines += [
        "## Projection for national traffic",
        "",
        f"At {p['rate_per_core']:,.0f} records/s per core, each added core worth "
        f"{p['scaling_efficiency']} of one (the measured 2-worker scaling):",
        "",
        "| traffic | core-hours | cores |",
        "|---|---:|---|",
        f"| one day, 3.5 million invoices | {p['day_core_hours']} | "
        f"{p['day_cores_for_1_hour']} to finish in an hour, {p['day_cores_for_15_minutes']} in "
        f"15 minutes; {p['day_hours_on_16_cores']} h on 16 cores |",
        f"| one year, 1.3 billion invoices | {p['year_core_hours']:,} | "
        f"{p['year_cores_for_24_hours']:,} to audit a year in 24 hours; "
        f"{p['year_days_on_64_cores']} days on 64 cores (365 daily runs need the day's cores) |",
        f"| the peak, {PEAK_PER_SECOND} invoices a second | - | {p['peak_cores']} to keep up "
        "as they arrive |",
        "",
        f"The synthetic day brings a card not seen before in {v['credentials']:,} of its "
        f"{v['tokens']:,} presentations; a first sight costs {floor['first_sight_us']} µs more "
        "than a card seen before (decoding the credential, loading its device key, the issuer "
        f"signature). If every record brought a new card: {p['cold_rate_per_core']:,.0f} "
        f"records/s per core, {p['cold_day_core_hours']} core-hours a day, "
        f"{p['cold_year_core_hours']:,} a year.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit_scale",
        description="Time the audit of evidence: per core, against the ES256 floor, 1 vs 2 "
        "Dask workers, and project national traffic.",
        epilog="example: python -m benchmarks.audit_scale --records 40000",
    )
    parser.add_argument("--records", type=int, default=40_000, help="honest records to generate")
    parser.add_argument("--frauds", type=int, default=10, help="records of each fraud kind")
    parser.add_argument(
        "--partition-size",
        type=int,
        default=2_500,
        help="records per task (small enough for the work to spread evenly over the workers)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration")
    parser.add_argument("--quick", action="store_true", help="small, in process, correctness only")
    parser.add_argument("--out", help="directory for audit_scale.{json,md} (default: results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.records, args.frauds, args.partition_size, args.rounds = 150, 1, 40, 1
    out = Path(args.out) if args.out else RESULTS
    results = run(
        honest=args.records,
        frauds=args.frauds,
        quick=args.quick,
        partition_size=args.partition_size,
        rounds=args.rounds,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit_scale.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "audit_scale.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0 if results["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
