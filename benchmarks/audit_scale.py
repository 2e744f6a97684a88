"""How fast the fund's audit runs, and what national traffic would need.

``python -m benchmarks.audit_scale`` generates a seeded synthetic day of evidence
(``benchmarks/evidence_gen.py``: honest traffic and frauds of every kind), then:

* times the ES256 verification of this machine: the **floor** of a record is one
  verification (the device signature) when its credential was seen before, two when
  not (the issuer signature too), plus one when the professional signed the record;
* audits the day in this process (records per second on one core, ratio to the
  floor), and once more with every credential already in the verifier's cache
  (the one-verification floor);
* audits it on a local Dask cluster of one worker, then two, in alternate rounds
  with the same partitioning (the ratio of the two rates in each round, their median
  and spread; target: two workers at least 1.8 times one), checking that every report
  is the same and that every finding matches the ground truth; the CPUs that other
  processes kept busy meanwhile are recorded with each run, and what the machine
  gives two CPU-bound processes against one is measured at the start of each round
  (a shared machine: the ceiling of the speed-up at that moment);
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
import multiprocessing
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
from vitale_cred.audit._run import default_buckets
from vitale_cred.evidence import decode_evidence
from vitale_cred.hazmat import cose
from vitale_cred.presentation import decode_presentation_payload

RESULTS = Path(__file__).resolve().parent / "results"
#: One day of national traffic, and a year (about 1.3 billion invoices).
DAY_RECORDS = 3_500_000
YEAR_RECORDS = 1_300_000_000
#: The average rate (40 a second) and a peak ten times higher.
PEAK_PER_SECOND = 400
#: A round is quiet when other processes kept at most this many CPUs busy on average
#: during both of its runs.
QUIET_CPUS = 0.25


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


def _probe_work(seconds: float, barrier: Any, out: Any) -> None:
    """ES256 verifications and a little Python, for ``seconds``; puts the number of
    loops done (in a spawned process)."""
    key = ec.derive_private_key(7, ec.SECP256R1())
    message = bytes(300)
    algorithm = ec.ECDSA(hashes.SHA256())
    signature = key.sign(message, algorithm)
    public = key.public_key()
    barrier.wait()
    loops = 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        public.verify(signature, message, algorithm)
        total = 0
        for number in range(300):
            total += number
        loops += 1
    out.put(loops)


def machine_scaling(seconds: float = 1.5) -> float:
    """What this machine gives two CPU-bound processes at once, against one: the
    throughput of two processes over that of one (2.0 on two free CPUs). The ceiling
    of any 2-worker speed-up measured at the same moment."""
    context = multiprocessing.get_context("spawn")

    def loops(processes: int) -> int:
        barrier = context.Barrier(processes)
        out = context.Queue()
        started = [
            context.Process(target=_probe_work, args=(seconds, barrier, out))
            for _ in range(processes)
        ]
        for process in started:
            process.start()
        done = sum(out.get(timeout=60 + seconds) for _ in started)
        for process in started:
            process.join()
        return int(done)

    one = loops(1)
    return loops(2) / max(one, 1)


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


def _host_cpu() -> float | None:
    """CPU seconds this machine has spent busy since boot, all CPUs (Linux)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:  # pragma: no cover - not on Linux
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit: float, *, window: float = 5.0, cpus: float | None = None) -> float:
    """Wait, at most ``limit`` seconds, until the other processes of the machine keep at
    most ``cpus`` CPUs (default :data:`QUIET_CPUS`) busy over ``window`` seconds; the
    seconds waited. This process is idle meanwhile."""
    threshold = QUIET_CPUS if cpus is None else cpus
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        before = _host_cpu()
        if before is None:  # pragma: no cover - not on Linux
            break
        time.sleep(window)
        after = _host_cpu()
        if after is not None and (after - before) / window <= threshold:
            break
    return time.perf_counter() - began


def _tree_cpu() -> float:
    """CPU seconds of this process and of its children once they have ended (the Dask
    workers and their nannies, started and stopped by each run)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _audit(
    data: Synthetic,
    inputs: Path,
    out: Path,
    *,
    workers: int,
    partition_size: int,
    buckets: int | None = None,
) -> tuple[dict[str, Any], float, float | None]:
    """One audit: its summary, its CPU time in this process, and the CPUs that other
    processes of the machine kept busy on average meanwhile (None: unknown)."""
    _run._CHECKERS.clear()  # every run starts cold, as a new process would
    gc.collect()
    cpu = time.process_time()
    host, tree, began = _host_cpu(), _tree_cpu(), time.perf_counter()
    summary = run_audit(
        [inputs],
        out,
        material=data.material(),
        professionals=data.professionals,
        workers=workers,
        partition_size=partition_size,
        buckets=buckets,
        replace=True,
    )
    wall = time.perf_counter() - began
    after = _host_cpu()
    others = None
    if host is not None and after is not None:
        others = max(0.0, (after - host) - (_tree_cpu() - tree)) / wall
    return summary, time.process_time() - cpu, others


def _warm_rate(data: Synthetic) -> float:
    """Records per second of one core once every credential is in the cache."""
    checker = Checker(data.material(), Directory(data.professionals), AuditParameters())
    records = [(i, i, record) for i, record in enumerate(data.records)]
    check_partition(checker, 0, "warm", records, 8)  # fills the issuer cache
    gc.collect()
    began = time.perf_counter()
    check_partition(checker, 0, "warm", records, 8)
    return len(records) / (time.perf_counter() - began)


def _spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, lowest and highest of repeated measurements, and every one."""
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "runs": [round(v, 2) for v in values],
    }


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
    quiet_wait: float = 0.0,
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
        "settings": {
            "records": honest,
            "frauds": frauds,
            "partition_size": partition_size,
            "rounds": rounds,
            "quiet_wait": quiet_wait,
        },
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
        # One partitioning for every run: 1 and 2 workers do the same tasks.
        buckets = default_buckets(len(data.records), partition_size, 2)
        local_runs: list[float] = []
        es256_runs: list[float] = []
        for _ in range(rounds):
            if quiet_wait and not quick:
                wait_for_quiet(quiet_wait)
            if not quick:
                es256_runs.append(es256_verify_us())
            summary, cpu, _ = _audit(
                data,
                inputs,
                work / "local",
                workers=0,
                partition_size=partition_size,
                buckets=buckets,
            )
            local_runs.append(summary["records"] / summary["run"]["seconds"])
            log(f"in process: {local_runs[-1]:,.0f} records/s")
        correct = summary["findings"] == expected and summary["clean"] == data.honest()
        local_rate = statistics.median(local_runs)
        results["in_process"] = {
            "records_per_second": round(local_rate, 1),
            "best": round(max(local_runs), 1),
            "runs": [round(r, 1) for r in local_runs],
            "cpu_seconds_last": round(cpu, 3),
            "partitions": summary["run"]["partitions"],
            "check_partitions": summary["run"]["buckets"],
        }
        if not quick:
            es256 = statistics.median(es256_runs)
            verifications = floor_verifications(data)
            total = sum(verifications.values())
            records = summary["records"]
            floor_us = es256 * total / records
            # Each round against the ES256 time measured just before it.
            ratios = [
                1e6 / rate / (e * total / records)
                for rate, e in zip(local_runs, es256_runs, strict=True)
            ]
            warm = _warm_rate(data)
            warm_es256 = es256_verify_us()
            warm_floor_us = warm_es256 * (verifications["tokens"] + verifications["signed"])
            warm_floor_us /= records
            results["floor"] = {
                "es256_verify_us": round(es256, 1),
                "es256_runs": [round(e, 1) for e in es256_runs],
                "verifications": verifications,
                "verifications_per_record": round(total / records, 3),
                "floor_us_per_record": round(floor_us, 1),
                "measured_us_per_record": round(1e6 / local_rate, 1),
                "ratio_to_floor": round(statistics.median(ratios), 2),
                "ratio_to_floor_runs": [round(r, 2) for r in ratios],
                "warm_records_per_second": round(warm, 1),
                "warm_us_per_record": round(1e6 / warm, 1),
                "warm_es256_verify_us": round(warm_es256, 1),
                "warm_floor_us_per_record": round(warm_floor_us, 1),
                "warm_ratio_to_floor": round(1e6 / warm / warm_floor_us, 2),
            }
            log(f"floor {floor_us:.0f} us/record, measured {1e6 / local_rate:.0f}")
            runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
            reports: dict[int, Any] = {}
            ceilings: list[float] = []
            waited: list[float] = []
            for number in range(rounds):
                if quiet_wait:
                    waited.append(round(wait_for_quiet(quiet_wait), 1))
                    log(f"waited {waited[-1]} s for the machine to be quiet")
                ceilings.append(machine_scaling())
                log(f"this machine gives 2 processes {ceilings[-1]:.2f} times one")
                # Interleaved, 1 then 2 workers and 2 then 1 in turn: a drift of the
                # machine's speed hits both alike.
                for workers in (1, 2) if number % 2 == 0 else (2, 1):
                    summary, _, others = _audit(
                        data,
                        inputs,
                        work / f"dask{workers}",
                        workers=workers,
                        partition_size=partition_size,
                        buckets=buckets,
                    )
                    run_info = summary["run"]
                    runs[workers].append(
                        {
                            "seconds": run_info["seconds"],
                            "records_per_second": round(
                                summary["records"] / run_info["seconds"], 1
                            ),
                            "worker_cpu_seconds": run_info["worker_cpu_seconds"],
                            "setup_seconds": run_info["setup_seconds"],
                            "other_cpus": None if others is None else round(others, 2),
                        }
                    )
                    correct = correct and summary["findings"] == expected
                    report = read_report(work / f"dask{workers}")
                    correct = correct and all(report.equals(r) for r in reports.values())
                    reports[workers] = report
                    log(
                        f"dask, {workers} worker(s): "
                        f"{runs[workers][-1]['records_per_second']:,.0f} records/s, other "
                        f"processes busy on {runs[workers][-1]['other_cpus']} CPUs"
                    )
            for workers, found in runs.items():
                rates = [float(run["records_per_second"]) for run in found]
                cpu_seconds = [float(run["worker_cpu_seconds"]) for run in found]
                seconds = [float(run["seconds"]) for run in found]
                results[f"dask_{workers}"] = {
                    "records_per_second": round(statistics.median(rates), 1),
                    "best": round(max(rates), 1),
                    "seconds": round(statistics.median(seconds), 3),
                    "worker_cpu_seconds": round(statistics.median(cpu_seconds), 3),
                    "partitions": summary["run"]["partitions"],
                    "check_partitions": summary["run"]["buckets"],
                    "setup_seconds": round(
                        statistics.median(float(run["setup_seconds"]) for run in found), 3
                    ),
                    # Share of the workers' wall time they spent computing.
                    "utilisation": round(
                        statistics.median(
                            c / s / workers for c, s in zip(cpu_seconds, seconds, strict=True)
                        ),
                        3,
                    ),
                    "runs": rates,
                    "worker_cpu_runs": cpu_seconds,
                    "other_cpus_runs": [run["other_cpus"] for run in found],
                }
            # The ratio within a round is what a drift of this shared machine disturbs least.
            pairs = [
                float(two["records_per_second"]) / float(one["records_per_second"])
                for one, two in zip(runs[1], runs[2], strict=True)
            ]
            speedup = _spread(pairs)
            speedup["best_of_each"] = round(
                results["dask_2"]["best"] / results["dask_1"]["best"], 2
            )
            # Rounds in which other processes left the two CPUs to the audit (both runs).
            quiet = [
                ratio
                for ratio, one, two in zip(pairs, runs[1], runs[2], strict=True)
                if max(one["other_cpus"] or 0.0, two["other_cpus"] or 0.0) <= QUIET_CPUS
                and one["other_cpus"] is not None
                and two["other_cpus"] is not None
            ]
            speedup["quiet_rounds"] = _spread(quiet) if quiet else None
            results["quiet_wait"] = {"limit_seconds": quiet_wait, "waited_seconds": waited}
            # Against what the machine gave two processes at the start of each round.
            speedup["machine"] = _spread(ceilings)
            speedup["of_machine"] = _spread(
                [ratio / ceiling for ratio, ceiling in zip(pairs, ceilings, strict=True)]
            )
            results["speedup"] = speedup
            results["speedup_2_workers"] = speedup["median"]
            results["target_speedup_met"] = speedup["median"] >= 1.8
            # The work of 2 workers against 1: worker CPU seconds, round by round.
            results["work_2_vs_1"] = _spread(
                [
                    float(two["worker_cpu_seconds"]) / float(one["worker_cpu_seconds"])
                    for one, two in zip(runs[1], runs[2], strict=True)
                ]
            )
            # Every record a new card: the warm cost plus the cost of a first sight,
            # measured as the difference between the day as it comes and warm.
            cold_share = verifications["credentials"] / max(verifications["tokens"], 1)
            first_sight_us = (1e6 / local_rate - 1e6 / warm) / max(cold_share, 0.01)
            cold_rate = 1e6 / (1e6 / warm + first_sight_us)
            results["floor"]["first_sight_us"] = round(first_sight_us, 1)
            results["projection"] = _projection(local_rate, speedup["median"] / 2, cold_rate)
    results["correct"] = correct
    results["machine"]["load_after"] = _load()
    results["seconds"] = round(time.perf_counter() - began, 1)
    return results


#: The command line's defaults: options left at them are not written.
_DEFAULTS = {
    "records": 40_000,
    "frauds": 10,
    "partition_size": 2_500,
    "rounds": 5,
    "quiet_wait": 0.0,
}


def _command(settings: dict[str, Any] | None) -> str:
    words = ["python -m benchmarks.audit_scale"]
    for name, value in (settings or {}).items():
        if name in _DEFAULTS and value != _DEFAULTS[name]:
            number = int(value) if float(value).is_integer() else value
            words.append(f"--{name.replace('_', '-')} {number}")
    return " ".join(words)


def _waited(wait: dict[str, Any] | None) -> str:
    if not wait or not wait["limit_seconds"]:
        return "."
    seconds = ", ".join(f"{w:.0f}" for w in wait["waited_seconds"])
    return (
        f". Each round, and each run in this process, began once the other processes had "
        f"left the CPUs (busy on at most {QUIET_CPUS} CPU over 5 s; waiting "
        f"{wait['limit_seconds']:.0f} s at most; the rounds waited {seconds} s); they may "
        "come back during the runs."
    )


def _rounds(count: int) -> str:
    return "round" if count == 1 else f"{count} rounds"


def _listed(values: Sequence[float | None], form: str) -> str:
    return ", ".join("-" if v is None else form.format(v) for v in values)


def markdown(results: dict[str, Any]) -> str:
    """The results as the Markdown of ``benchmarks/results/audit_scale.md``."""
    machine = results["machine"]
    lines = [
        "# Audit of evidence at scale",
        "",
        f"`{_command(results.get('settings'))}` on {machine['cpus']} CPUs, Python "
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
    local = results["in_process"]
    lines += [
        "## Per core",
        "",
        "| | µs per record | records/s per core | floor (µs) | ratio to floor |",
        "|---|---:|---:|---:|---:|",
        f"| the day as it comes (in this process, median of {len(local['runs'])}) | "
        f"{floor['measured_us_per_record']} | {local['records_per_second']:,.0f} | "
        f"{floor['floor_us_per_record']} | {floor['ratio_to_floor']} |",
        f"| every credential seen before (warm cache) | {floor['warm_us_per_record']} | "
        f"{floor['warm_records_per_second']:,.0f} | {floor['warm_floor_us_per_record']} | "
        f"{floor['warm_ratio_to_floor']} |",
        "",
        f"Every run in this process: {', '.join(f'{r:,.0f}' for r in local['runs'])} records/s "
        f"(best {local['best']:,.0f}); ratio to the floor measured just before each: "
        f"{', '.join(str(r) for r in floor['ratio_to_floor_runs'])}.",
        "",
        f"ES256 verification on this machine: {floor['es256_verify_us']} µs (median; "
        f"{', '.join(str(e) for e in floor['es256_runs'])}). The floor counts the "
        f"verifications no audit can skip: {v['tokens']:,} device signatures, "
        f"{v['credentials']:,} issuer signatures (credentials first seen) and {v['signed']:,} "
        f"professional signatures, {floor['verifications_per_record']} per record; warm, the "
        "issuer signatures drop out.",
        "",
        "## Workers (local Dask cluster, one thread each)",
        "",
        f"Every run: {local['partitions']} input partitions, {local['check_partitions']} check "
        "partitions (records routed by device), the same tasks for 1 and 2 workers. Each round "
        "runs both, 1 worker first in odd rounds and 2 workers first in even ones"
        + _waited(results.get("quiet_wait")),
        "",
        "| workers | seconds (median) | records/s (median) | every run | worker CPU seconds "
        "(every run) | utilisation | CPUs busy with other processes (every run) |",
        "|---:|---:|---:|---|---|---:|---|",
        *(
            f"| {n} | {results[f'dask_{n}']['seconds']} | "
            f"{results[f'dask_{n}']['records_per_second']:,.0f} | "
            f"{', '.join(f'{r:,.0f}' for r in results[f'dask_{n}']['runs'])} | "
            f"{', '.join(f'{c:.1f}' for c in results[f'dask_{n}']['worker_cpu_runs'])} | "
            f"{results[f'dask_{n}']['utilisation']} | "
            f"{_listed(results[f'dask_{n}']['other_cpus_runs'], '{:.2f}')} |"
            for n in (1, 2)
        ),
        "",
    ]
    speedup = results["speedup"]
    work = results["work_2_vs_1"]
    lines += [
        f"2 workers / 1 worker, round by round: "
        f"{', '.join(f'{r}×' for r in speedup['runs'])}: median **{speedup['median']}×**, from "
        f"{speedup['min']}× to {speedup['max']}× (best run of each: "
        f"{speedup['best_of_each']}×). Target 1.8× (median): "
        f"{'met' if results['target_speedup_met'] else 'not met'}.",
        "",
    ]
    quiet = speedup.get("quiet_rounds")
    machine = speedup["machine"]
    of_machine = speedup["of_machine"]
    lines += [
        "What this machine gave two CPU-bound processes against one (ES256 and a little "
        "Python, measured at the start of each round): "
        f"{', '.join(f'{r}×' for r in machine['runs'])}, median {machine['median']}×. The "
        "audit's speed-up as a share of it, round by round: "
        f"{', '.join(str(r) for r in of_machine['runs'])}, median {of_machine['median']}.",
        "",
        (
            f"In the {_rounds(len(quiet['runs']))} whose two runs had the machine to themselves "
            f"(other processes busy on at most {QUIET_CPUS} CPU on average): "
            f"{', '.join(f'{r}×' for r in quiet['runs'])}, median {quiet['median']}×."
            if quiet
            else f"No round had the machine to itself (other processes busy on more than "
            f"{QUIET_CPUS} CPU on average during one of its runs at least)."
        ),
        "",
        f"Work of 2 workers against 1 (worker CPU seconds, round by round): "
        f"{', '.join(f'{r}' for r in work['runs'])} (median {work['median']}). Routed by "
        "device, each credential is verified cold once whatever the number of workers; what "
        "remains is the machine: the scheduler and the client share the two CPUs with the "
        "workers, and so do the other processes of this shared machine (last column).",
        "",
    ]
    p = results["projection"]
    lines += [
        "## Projection for national traffic",
        "",
        f"At {p['rate_per_core']:,.0f} records/s per core (the median in this process), each "
        f"added core worth {p['scaling_efficiency']} of one (the median 2-worker scaling):",
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
    parser.add_argument(
        "--records", type=int, default=_DEFAULTS["records"], help="honest records to generate"
    )
    parser.add_argument(
        "--frauds", type=int, default=_DEFAULTS["frauds"], help="records of each fraud kind"
    )
    parser.add_argument(
        "--partition-size",
        type=int,
        default=_DEFAULTS["partition_size"],
        help="records per task (small enough for the work to spread evenly over the workers)",
    )
    parser.add_argument(
        "--rounds", type=int, default=_DEFAULTS["rounds"], help="runs of each configuration"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=_DEFAULTS["quiet_wait"],
        metavar="SECONDS",
        help="before each round, wait up to SECONDS for other processes to leave the CPUs "
        "(a shared machine)",
    )
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
        quiet_wait=args.quiet_wait,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit_scale.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "audit_scale.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0 if results["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
