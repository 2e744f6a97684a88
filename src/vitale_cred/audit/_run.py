"""Running an audit: the task graph, in this process or on Dask.

Four stages (``spec/evidence.md`` section 7.8):

1. **route**, one task per input partition: it reads its records and sends each one
   to the check partition of the device key its presentation claims (read from the
   bytes, nothing verified: :mod:`vitale_cred.audit._route`);
2. **check**, one task per check partition (``B`` of them): every record of its
   devices is checked (A1 - A4), so each credential is verified cold once whatever
   the number of workers, and each phone's time line is in one partition; the rows
   go back towards their input partition, and the cross-record entries to ``B``
   buckets, by token key for the nonce join and by device key for time lines;
3. **cross**, one task per bucket: it reads bucket ``j`` of every check task, so
   every group of one token key and every device's whole time line, and finds the
   replays and the impossible journeys exactly. A record's time-line bucket is the
   check partition it was routed to, since the verified device key is the claimed
   one; the nonce join crosses partitions;
4. **report**, one task per input partition: its rows, back in input order, with
   their cross-record findings become a report part, and its counts come back.

The shuffles go through the work directory (``OUT/.work``, which every worker must
see): each task writes one Arrow IPC file whose record batches are numbered by the
tasks of the next stage, and reads only its own batch of each file. The scheduler
carries no record data, only small results; two gate tasks stand for the stages
that must be complete (``P + B`` dependencies instead of ``P × B``). Every task is a
module-level function of picklable arguments. Each worker process builds one
:class:`~vitale_cred.audit._check.Checker` per audit (one verifier with its caches)
before the tasks run. The report does not depend on the partitioning, nor on the
number of workers.
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
    bucket_of,
    check_partition,
    cross_check,
)
from vitale_cred.audit._inputs import Part, plan, pyarrow, read_part
from vitale_cred.audit._report import (
    RECORDS_DIR,
    BatchFile,
    PartSummary,
    columns_in_order,
    entries_batch,
    entries_of,
    entries_schema,
    merge_summaries,
    read_batch,
    route_schema,
    rows_batch,
    rows_schema,
    write_chart,
    write_final_part,
    write_summary,
)
from vitale_cred.audit._route import claimed_device
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


def _route_path(work: str, part: int) -> Path:
    return Path(work) / f"route-{part:05d}.arrow"


def _rows_path(work: str, bucket: int) -> Path:
    return Path(work) / f"rows-{bucket:05d}.arrow"


def _cross_path(work: str, bucket: int) -> Path:
    return Path(work) / f"cross-{bucket:05d}.arrow"


def _route_task(part: Part, buckets: int, work: str) -> int:
    """Stage 1: read a partition, send each record to the check partition of its
    claimed device (one batch per check partition). Returns the number of records."""
    positions: list[list[int]] = [[] for _ in range(buckets)]
    rows: list[list[int]] = [[] for _ in range(buckets)]
    records: list[list[bytes | None]] = [[] for _ in range(buckets)]
    count = 0
    for position, (row, data) in enumerate(read_part(part)):
        device = None if data is None else claimed_device(data)
        # No device: spread by position (such a record cannot be authentic).
        bucket = (part.index + position) % buckets if device is None else bucket_of(device, buckets)
        positions[bucket].append(position)
        rows[bucket].append(row)
        records[bucket].append(data)
        count += 1
    with BatchFile(_route_path(work, part.index), route_schema(), {"source": part.source}) as out:
        for bucket in range(buckets):
            out.write(
                {"position": positions[bucket], "row": rows[bucket], "evidence": records[bucket]}
            )
    return count


def _check_task(
    job: AuditJob, bucket: int, parts: int, buckets: int, work: str, _after: int
) -> int:
    """Stage 2: check the records routed to ``bucket`` by every partition, one input
    partition at a time (memory: one batch of records); rows go to one batch per input
    partition, cross-record entries to one batch per bucket. Returns the number of
    records."""
    checker = _checker(job)
    nonces: list[list[NonceEntry]] = [[] for _ in range(buckets)]
    timelines: list[list[TimelineEntry]] = [[] for _ in range(buckets)]
    count = 0
    with BatchFile(_rows_path(work, bucket), rows_schema()) as rows:
        for part in range(parts):
            batch, metadata = read_batch(_route_path(work, part), bucket)
            records = zip(
                batch.column(0).to_pylist(),
                batch.column(1).to_pylist(),
                batch.column(2).to_pylist(),
                strict=True,
            )
            source = metadata[b"source"].decode("utf-8")
            columns, found_nonces, found_lines = check_partition(
                checker, part, source, records, buckets
            )
            rows.write(rows_batch(columns))
            for other in range(buckets):
                nonces[other] += found_nonces[other]
                timelines[other] += found_lines[other]
            count += len(columns)
    with BatchFile(_cross_path(work, bucket), entries_schema()) as cross:
        for other in range(buckets):
            cross.write(entries_batch(nonces[other], timelines[other]))
    return count


def _gate(*counts: int) -> int:
    """Done when every task of a stage is: the next stage waits for this one task."""
    return sum(counts)


def _cross_task(
    job: AuditJob, bucket: int, buckets: int, work: str, _after: int
) -> dict[int, list[tuple[int, str]]]:
    """Stage 3: the cross-record findings of one bucket, from every check task's batch
    of it."""
    with _STATE_LOCK:
        directory = _directory(job)
    nonces: list[NonceEntry] = []
    timelines: list[TimelineEntry] = []
    for producer in range(buckets):
        found = entries_of(read_batch(_cross_path(work, producer), bucket)[0])
        nonces += found[0]
        timelines += found[1]
    out: dict[int, list[tuple[int, str]]] = {}
    for part_index, position, code in cross_check(nonces, timelines, directory, job.parameters):
        out.setdefault(part_index, []).append((position, code))
    return out


def _merge_flags(*crossed: dict[int, list[tuple[int, str]]]) -> dict[int, list[tuple[int, str]]]:
    """Every bucket's findings by input partition: one result for the report stage."""
    out: dict[int, list[tuple[int, str]]] = {}
    for found in crossed:
        for part, flags in found.items():
            out.setdefault(part, []).extend(flags)
    return out


def _report_task(
    part: Part, buckets: int, work: str, out: str, flags: dict[int, list[tuple[int, str]]]
) -> PartSummary:
    """Stage 4: a partition's rows from every check task, in input order, with their
    cross-record findings: its report part."""
    batches = [read_batch(_rows_path(work, bucket), part.index)[0] for bucket in range(buckets)]
    summary = write_final_part(
        columns_in_order(batches),
        flags.get(part.index, ()),
        Path(out) / RECORDS_DIR / f"part-{part.index:05d}.parquet",
    )
    _route_path(work, part.index).unlink()
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
            import dask  # noqa: PLC0415 - extra

            settings = {
                # The workers run pure Python that holds the GIL: the statistical
                # profiler would interrupt it every 10 ms for a dashboard not served.
                "distributed.worker.profile.enabled": False,
                # One task per worker at a time: the last tasks of a stage go to the
                # first worker free, not to a queue behind a task still running.
                "distributed.scheduler.worker-saturation": 1.0,
            }
            with dask.config.set(settings):
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


def default_buckets(records: int, partition_size: int, workers: int) -> int:
    """Check partitions of about ``partition_size`` records, as many as a whole number
    of rounds of the workers: routed by device, they are of nearly equal size, and no
    worker waits for another's last task."""
    buckets = max(1, math.ceil(records / partition_size))
    if workers > 1:
        buckets = math.ceil(buckets / workers) * workers
    return buckets


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
    the input files and ``out`` at the same paths. ``buckets``: the check partitions
    (records by device) and the buckets of the cross-record checks (default:
    :func:`default_buckets`).
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
    if buckets is not None and (type(buckets) is not int or buckets < 1):
        raise InvalidArgument("buckets must be a positive integer")
    job = AuditJob(material, None if professionals is None else tuple(professionals), parameters)
    work = target / _WORK_DIR
    executor: _InProcess | _Dask = (
        _Dask(workers, scheduler) if scheduler is not None or workers else _InProcess()
    )
    try:
        if buckets is None:
            buckets = default_buckets(total, partition_size, executor.workers)
        work.mkdir(parents=True, exist_ok=True)
        records_dir.mkdir(parents=True, exist_ok=True)
        say(
            f"auditing {total:,} lines or rows in {len(parts)} partitions, {buckets} check "
            f"partitions, {executor.workers or 'no'} Dask workers"
        )
        started = time.perf_counter()
        shared = executor.share(job)
        executor.prepare(job)  # every worker builds its verifier and archives once
        began = time.perf_counter()
        cpu_before = executor.cpu_seconds()
        folder = str(work)
        routed = [executor.submit(_route_task, part, buckets, folder) for part in parts]
        gate = executor.submit(_gate, *routed)
        checked = [
            executor.submit(_check_task, shared, bucket, len(parts), buckets, folder, gate)
            for bucket in range(buckets)
        ]
        gate = executor.submit(_gate, *checked)
        crossed = [
            executor.submit(_cross_task, shared, bucket, buckets, folder, gate)
            for bucket in range(buckets)
        ]
        flags = executor.submit(_merge_flags, *crossed)
        reported = [
            executor.submit(_report_task, part, buckets, folder, str(target), flags)
            for part in parts
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
