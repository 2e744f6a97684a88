"""Running an audit: the task graph, in this process or on Dask.

Three stages (``spec/evidence.md`` section 7.8):

1. **check**, one task per input partition: every record is checked (A1 - A4); the
   rows go to a work file, and the cross-record entries to one work file per bucket
   (``B`` buckets, by token key for the nonce join, by device key for time lines);
2. **cross**, one task per bucket: it reads bucket ``j`` of every partition, so every
   group of one token key and every device's whole time line, and finds the replays
   and the impossible journeys exactly;
3. **report**, one task per partition: its rows with their cross-record findings
   become a report part, and its counts come back.

The shuffle goes through the work directory (``OUT/.work``, which every worker must
see), not through the scheduler: it carries no record data, only small results.
Every task is a module-level function of picklable arguments. Each worker process
builds one :class:`~vitale_cred.audit._check.Checker` per audit (one verifier with
its caches) the first time a task of that audit runs there. The partitioning, hence
the report, does not depend on the number of workers.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vitale_cred.audit._archive import AuditMaterial, Directory, Professional
from vitale_cred.audit._check import (
    AuditParameters,
    Checker,
    NonceEntry,
    TimelineEntry,
    check_partition,
    cross_check,
)
from vitale_cred.audit._inputs import Part, plan, pyarrow, read_part
from vitale_cred.audit._report import (
    RECORDS_DIR,
    PartSummary,
    merge_summaries,
    read_columns,
    read_entries,
    write_chart,
    write_columns,
    write_entries,
    write_final_part,
    write_summary,
)
from vitale_cred.errors import FileExists, InvalidArgument, UsageError

__all__ = ["DEFAULT_PARTITION_SIZE", "AuditJob", "run_audit"]

#: Records per partition: what one task holds in memory (about 1 KiB each).
DEFAULT_PARTITION_SIZE = 50_000
_WORK_DIR = ".work"
_DASK_HINT = "a Dask audit needs: pip install 'vitale-cred[audit]'"


@dataclass(frozen=True)
class AuditJob:
    """Everything a task needs, picklable: shipped once to every worker."""

    material: AuditMaterial
    professionals: tuple[Professional, ...] | None
    parameters: AuditParameters
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.material.fingerprint.encode("ascii"))
        digest.update(repr(self.parameters).encode("utf-8"))
        for professional in self.professionals or ():
            kind = "" if professional.kind is None else professional.kind.name
            digest.update(
                f"{professional.id}|{kind}|{professional.lat}|{professional.lon}|".encode()
            )
            for key in professional.keys:
                digest.update(hashlib.sha256(key).digest())
        digest.update(b"directory" if self.professionals is not None else b"none")
        object.__setattr__(self, "key", digest.hexdigest())

    def directory(self) -> Directory | None:
        """The directory of professionals, if the audit has one."""
        return None if self.professionals is None else Directory(self.professionals)


# One checker per audit per process: its verifier keeps its caches across the tasks.
_CHECKERS: dict[str, Checker] = {}
_DIRECTORIES: dict[str, Directory | None] = {}
_STATE_LOCK = threading.Lock()


def _checker(job: AuditJob) -> Checker:
    with _STATE_LOCK:
        checker = _CHECKERS.get(job.key)
        if checker is None:
            checker = Checker(job.material, _directory(job), job.parameters)
            _CHECKERS.clear()  # one audit at a time per process: drop an earlier one
            _CHECKERS[job.key] = checker
        return checker


def _directory(job: AuditJob) -> Directory | None:
    if job.key not in _DIRECTORIES:
        _DIRECTORIES.clear()
        _DIRECTORIES[job.key] = job.directory()
    return _DIRECTORIES[job.key]


def _cpu_seconds() -> float:
    """This process's CPU time (a worker's, asked by the client)."""
    return time.process_time()


def _prepare(job: AuditJob) -> int:
    """Build this process's checker ahead of the tasks (run on every Dask worker)."""
    pyarrow()
    _checker(job)
    return os.getpid()


# --- tasks -----------------------------------------------------------------------------


def _entries_path(work: str, bucket: int, part: int) -> Path:
    return Path(work) / f"cross-{bucket:05d}-{part:05d}.arrow"


def _check_task(job: AuditJob, part: Part, buckets: int, work: str) -> int:
    """Stage 1: check a partition; its rows and its cross-record entries go to ``work``
    (one file per non-empty bucket). Returns the number of records."""
    checker = _checker(job)
    columns, nonces, timelines = check_partition(
        checker, part.index, part.source, read_part(part), buckets
    )
    write_columns(columns, Path(work) / f"rows-{part.index:05d}.parquet")
    for bucket in range(buckets):
        if nonces[bucket] or timelines[bucket]:
            write_entries(
                nonces[bucket], timelines[bucket], _entries_path(work, bucket, part.index)
            )
    return len(columns)


def _cross_task(
    job: AuditJob, bucket: int, parts: int, work: str, *checked: int
) -> dict[int, list[tuple[int, str]]]:
    """Stage 2: the cross-record findings of one bucket, from every partition's file of
    it (``checked``: the stage-1 results, only waited for)."""
    with _STATE_LOCK:
        directory = _directory(job)
    nonces: list[NonceEntry] = []
    timelines: list[TimelineEntry] = []
    for part in range(parts):
        path = _entries_path(work, bucket, part)
        if path.exists():
            found = read_entries(path)
            nonces += found[0]
            timelines += found[1]
            path.unlink()
    out: dict[int, list[tuple[int, str]]] = {}
    for part_index, position, code in cross_check(nonces, timelines, directory, job.parameters):
        out.setdefault(part_index, []).append((position, code))
    return out


def _report_task(
    part: Part, work: str, out: str, *crossed: dict[int, list[tuple[int, str]]]
) -> PartSummary:
    rows = Path(work) / f"rows-{part.index:05d}.parquet"
    columns = read_columns(rows)
    flags = [flag for found in crossed for flag in found.get(part.index, ())]
    summary = write_final_part(
        columns, flags, Path(out) / RECORDS_DIR / f"part-{part.index:05d}.parquet"
    )
    rows.unlink()
    return summary


# --- executors -------------------------------------------------------------------------


class _Done:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _InProcess:
    """Runs every task at once, in this process: no Dask needed."""

    workers = 0

    def submit(self, function: Callable[..., Any], *args: Any) -> _Done:
        return _Done(function(*(a.value if isinstance(a, _Done) else a for a in args)))

    def share(self, value: Any) -> Any:
        return value

    def prepare(self, job: AuditJob) -> None:
        _prepare(job)

    def cpu_seconds(self) -> float:
        return _cpu_seconds()

    def gather(self, futures: Sequence[Any]) -> list[Any]:
        return [future.value for future in futures]

    def close(self) -> None:
        pass


class _Dask:
    """A ``dask.distributed`` client: a local cluster, or a scheduler's address."""

    def __init__(self, workers: int | None, scheduler: str | None) -> None:
        try:
            from dask.distributed import Client, LocalCluster  # noqa: PLC0415 - extra
        except ImportError as exc:
            raise UsageError(f"{_DASK_HINT} ({exc.name} is missing)") from exc
        self._cluster = None
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout=30)
            except (OSError, ValueError, TimeoutError) as exc:
                # An address that does not parse, or where nothing answers.
                raise InvalidArgument(f"no Dask scheduler at {scheduler!r}: {exc}") from exc
        else:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self._cluster)
        self.workers = len(self.client.scheduler_info().get("workers", {})) or (workers or 0)

    def submit(self, function: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(function, *args, pure=False)

    def share(self, value: Any) -> Any:
        return self.client.scatter(value, broadcast=True)

    def prepare(self, job: AuditJob) -> None:
        self.client.run(_prepare, job)

    def cpu_seconds(self) -> float:
        return float(sum(self.client.run(_cpu_seconds).values()))

    def gather(self, futures: Sequence[Any]) -> list[Any]:
        return list(self.client.gather(list(futures)))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


# --- the audit -------------------------------------------------------------------------


def run_audit(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    material: AuditMaterial,
    professionals: Sequence[Professional] | None = None,
    parameters: AuditParameters | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    buckets: int | None = None,
    replace: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Audit the evidence records of ``inputs`` (JSON Lines or Parquet files) into the
    report directory ``out``; return the summary.

    ``workers``: None or 0 runs in this process (no Dask); N starts a local Dask
    cluster of N single-threaded worker processes; ``scheduler`` (an address such as
    ``tcp://host:8786``) uses a running Dask cluster instead, whose workers must see
    the input files and ``out`` at the same paths. ``buckets``: partitions of the
    cross-record checks (default: one per ``partition_size`` records).
    """
    pyarrow()  # the report is Parquet: fail before any work without the extra
    say = log or (lambda _message: None)
    parameters = parameters or AuditParameters()
    if workers is not None and (type(workers) is not int or workers < 0):
        raise InvalidArgument("workers must be a non-negative integer")
    target = Path(out)
    records_dir = target / RECORDS_DIR
    if records_dir.exists() and any(records_dir.iterdir()):
        if not replace:
            raise FileExists(f"{target} already holds a report; give --force to replace it")
        shutil.rmtree(records_dir)
    parts = plan(inputs, partition_size)
    total = sum(part.rows for part in parts)
    if buckets is None:
        buckets = max(1, math.ceil(total / partition_size))
    if type(buckets) is not int or buckets < 1:
        raise InvalidArgument("buckets must be a positive integer")
    work = target / _WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    records_dir.mkdir(parents=True, exist_ok=True)
    job = AuditJob(material, None if professionals is None else tuple(professionals), parameters)
    executor: _InProcess | _Dask = (
        _Dask(workers, scheduler) if scheduler is not None or workers else _InProcess()
    )
    say(
        f"auditing {total:,} lines or rows in {len(parts)} partitions, {buckets} buckets, "
        f"{executor.workers or 'no'} Dask workers"
    )
    try:
        started = time.perf_counter()
        shared = executor.share(job)
        executor.prepare(job)  # every worker builds its verifier and archives once
        began = time.perf_counter()
        cpu_before = executor.cpu_seconds()
        checked = [executor.submit(_check_task, shared, part, buckets, str(work)) for part in parts]
        crossed = [
            executor.submit(_cross_task, shared, bucket, len(parts), str(work), *checked)
            for bucket in range(buckets)
        ]
        reported = [
            executor.submit(_report_task, part, str(work), str(target), *crossed) for part in parts
        ]
        summaries = executor.gather(reported)
        seconds = time.perf_counter() - began
        cpu = executor.cpu_seconds() - cpu_before
    finally:
        executor.close()
        shutil.rmtree(work, ignore_errors=True)
    summary = merge_summaries(summaries)
    summary["run"] = {
        "setup_seconds": round(began - started, 3),
        "partitions": len(parts),
        "buckets": buckets,
        "workers": executor.workers,
        "seconds": round(seconds, 3),
        "records_per_second": round(summary["records"] / seconds, 1) if seconds else 0.0,
        # CPU time of the processes that checked (the workers, or this one).
        "worker_cpu_seconds": round(cpu, 3),
        "cpus": os.cpu_count() or 1,
    }
    summary["parameters"] = {
        "skew": parameters.skew,
        "max_token_lifetime": parameters.max_token_lifetime,
        "max_speed_kmh": parameters.max_speed_kmh,
        "distance_slack_km": parameters.distance_slack_km,
        "time_slack_s": parameters.time_slack_s,
        "trust_lists": len(material.trust_lists),
        "status_lists": len(material.status_lists),
        "professionals": None if professionals is None else len(professionals),
    }
    write_summary(summary, target)
    summary["chart"] = write_chart(summary, target / "findings.png")
    say(f"report written to {target}")
    return summary
