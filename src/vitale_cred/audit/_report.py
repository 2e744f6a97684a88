"""The audit's report: Parquet parts, the summary as a table and as a chart.

A report directory holds ``records/part-NNNNN.parquet`` (one row per record, the
columns of ``spec/evidence.md`` section 7.7, one part per input partition, in input
order), ``summary.json``, ``summary.md`` (the table printed by ``vitale-cred
audit``) and ``findings.png`` (the chart, when matplotlib is installed).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vitale_cred.audit._check import COLUMNS, FINDING_ORDER, Columns, NonceEntry, TimelineEntry
from vitale_cred.audit._inputs import pyarrow

__all__ = [
    "RECORDS_DIR",
    "BatchFile",
    "PartSummary",
    "columns_in_order",
    "entries_batch",
    "entries_of",
    "entries_schema",
    "format_summary",
    "merge_summaries",
    "read_batch",
    "read_report",
    "route_schema",
    "rows_batch",
    "rows_schema",
    "write_chart",
    "write_columns",
    "write_final_part",
]

RECORDS_DIR = "records"
PartSummary = dict[str, Any]
_ORDER = {code: position for position, code in enumerate(FINDING_ORDER)}


def _schema() -> Any:
    pa, _ = pyarrow()
    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def write_columns(columns: Columns, path: Path) -> None:
    """Write one partition's columns as a report part."""
    pa, pq = pyarrow()
    table = pa.Table.from_pydict(columns.values, schema=_schema())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


# --- work files --------------------------------------------------------------------------
#
# The shuffles go through the work directory, not through the scheduler: each task
# writes one Arrow IPC file of numbered record batches, one per partition of the next
# stage, and each task of that stage reads its own batch of every file.


def route_schema() -> Any:
    """A routed record: its position in its input partition, its row, its bytes."""
    pa, _ = pyarrow()
    return pa.schema([("position", pa.int64()), ("row", pa.int64()), ("evidence", pa.binary())])


def rows_schema() -> Any:
    """Checked rows: their positions in their input partition, the report's columns."""
    pa, _ = pyarrow()
    return pa.schema([("position", pa.int64()), *_schema()])


def entries_schema() -> Any:
    """Cross-record entries of the nonce join (``kind`` 0) and of time lines (1)."""
    pa, _ = pyarrow()
    return pa.schema(
        [
            ("kind", pa.int8()),
            ("key", pa.binary()),
            ("read_at", pa.int64()),
            ("part", pa.int32()),
            ("position", pa.int64()),
            ("professional", pa.string()),
        ]
    )


class BatchFile:
    """An Arrow IPC file written one record batch at a time (batch ``i`` is for task
    ``i`` of the next stage; an empty batch keeps the numbering)."""

    def __init__(self, path: Path, schema: Any, metadata: Mapping[str, str] | None = None) -> None:
        pa, _ = pyarrow()
        self._schema = schema.with_metadata(dict(metadata)) if metadata else schema
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_file(self._sink, self._schema)

    def write(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append one batch of these columns (Python sequences or Arrow arrays)."""
        pa, _ = pyarrow()
        arrays = [pa.array(columns[f.name], f.type) for f in self._schema]
        self._writer.write_batch(pa.record_batch(arrays, schema=self._schema))

    def close(self) -> None:
        """Write the footer and close the file."""
        self._writer.close()
        self._sink.close()

    def __enter__(self) -> BatchFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_batch(path: Path, index: int) -> tuple[Any, dict[bytes, bytes]]:
    """Batch ``index`` of a :class:`BatchFile` (read alone), and the file's metadata."""
    pa, _ = pyarrow()
    with pa.OSFile(str(path), "rb") as source:
        reader = pa.ipc.open_file(source)
        return reader.get_batch(index), dict(reader.schema.metadata or {})


def rows_batch(columns: Columns) -> dict[str, list[Any]]:
    """The columns of a work file of rows: the positions, then the report's columns."""
    return {"position": columns.positions, **columns.values}


def columns_in_order(batches: Sequence[Any]) -> Columns:
    """The rows of one input partition from the batches of every check task, back in
    input order."""
    pa, _ = pyarrow()
    table = pa.Table.from_batches(batches, schema=rows_schema()).sort_by("position")
    return Columns(
        {name: table.column(name).to_pylist() for name, _ in COLUMNS},
        table.column("position").to_pylist(),
    )


_NONCE, _LINE = 0, 1


def entries_batch(
    nonces: Sequence[NonceEntry], timelines: Sequence[TimelineEntry]
) -> dict[str, list[Any]]:
    """One bucket's cross-record entries as the columns of a work file."""
    return {
        "kind": [_NONCE] * len(nonces) + [_LINE] * len(timelines),
        "key": [e.token_key for e in nonces] + [e.device for e in timelines],
        "read_at": [0] * len(nonces) + [e.read_at for e in timelines],
        "part": [e.part for e in nonces] + [e.part for e in timelines],
        "position": [e.position for e in nonces] + [e.position for e in timelines],
        "professional": [e.professional for e in nonces] + [e.professional for e in timelines],
    }


def entries_of(batch: Any) -> tuple[list[NonceEntry], list[TimelineEntry]]:
    """What :func:`entries_batch` wrote."""
    columns = batch.to_pydict()
    nonces: list[NonceEntry] = []
    timelines: list[TimelineEntry] = []
    for kind, key, read_at, part, position, professional in zip(
        columns["kind"],
        columns["key"],
        columns["read_at"],
        columns["part"],
        columns["position"],
        columns["professional"],
        strict=True,
    ):
        if kind == _NONCE:
            nonces.append(NonceEntry(key, professional, part, position))
        else:
            timelines.append(TimelineEntry(key, read_at, part, position, professional))
    return nonces, timelines


def write_final_part(columns: Columns, flags: Sequence[tuple[int, str]], path: Path) -> PartSummary:
    """Add the cross-record findings to a partition's rows, write its report part,
    and count what it holds."""
    codes_column: list[list[str]] = columns.values["codes"]
    for position, code in sorted(flags, key=lambda item: (item[0], _ORDER.get(item[1], 99))):
        codes_column[position] = [*codes_column[position], code]
    columns.values["code"] = [codes[0] if codes else None for codes in codes_column]
    write_columns(columns, path)
    findings: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for codes in codes_column:
        findings.update(set(codes))
        if codes:
            first[codes[0]] += 1
    values = columns.values
    return {
        "records": len(columns),
        "clean": sum(1 for codes in codes_column if not codes),
        "authentic": sum(1 for item in values["authentic"] if item),
        "signed": sum(1 for item in values["signed"] if item),
        "bound": sum(1 for item in values["bound"] if item),
        "channels": dict(Counter(c for c in values["channel"] if c is not None)),
        "findings": dict(findings),
        "first_findings": dict(first),
    }


def merge_summaries(parts: Sequence[PartSummary]) -> dict[str, Any]:
    """The counts of a whole report."""
    out: dict[str, Any] = {
        "records": 0,
        "clean": 0,
        "authentic": 0,
        "signed": 0,
        "bound": 0,
        "channels": Counter(),
        "findings": Counter(),
        "first_findings": Counter(),
    }
    for part in parts:
        for name in ("records", "clean", "authentic", "signed", "bound"):
            out[name] += part[name]
        for name in ("channels", "findings", "first_findings"):
            out[name].update(part[name])
    for name in ("channels", "findings", "first_findings"):
        out[name] = dict(sorted(out[name].items()))
    out["flagged"] = out["records"] - out["clean"]
    return out


def read_report(directory: Path) -> Any:
    """The report's rows as one Arrow table, in input order."""
    pa, pq = pyarrow()
    parts = sorted((directory / RECORDS_DIR).glob("part-*.parquet"))
    if not parts:
        return pa.Table.from_pylist([], schema=_schema())
    return pa.concat_tables([pq.read_table(p, schema=_schema()) for p in parts])


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.2f} %" if total else "-"


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as a Markdown table (what ``vitale-cred audit`` prints)."""
    total = int(summary["records"])
    run = summary.get("run", {})
    lines = [
        f"audit of {total:,} records: {summary['clean']:,} clean, "
        f"{summary['flagged']:,} with findings"
        + (
            f" ({run['partitions']} partitions, {run['workers']} workers, "
            f"{run['seconds']:.1f} s, {run['records_per_second']:,.0f} records/s)"
            if run
            else ""
        ),
        "",
        "| finding | records | share | first finding of |",
        "|---|---:|---:|---:|",
    ]
    findings: Mapping[str, int] = summary["findings"]
    first: Mapping[str, int] = summary["first_findings"]
    for code, count in sorted(findings.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| `{code}` | {count:,} | {_share(count, total)} | {first.get(code, 0):,} |")
    if not findings:
        lines.append("| (none) | 0 | - | 0 |")
    return "\n".join(lines)


def write_chart(summary: Mapping[str, Any], path: Path) -> bool:
    """A bar chart of the findings; False when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: PLC0415 - optional extra

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    findings: Mapping[str, int] = summary["findings"]
    items = sorted(findings.items(), key=lambda item: (item[1], item[0]))
    figure, axes = plt.subplots(figsize=(8, 0.45 * max(len(items), 2) + 1.2))
    labels = [code for code, _ in items] or ["(none)"]
    values = [count for _, count in items] or [0]
    bars = axes.barh(labels, values, color="#b03a2e")
    axes.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
    axes.set_xlabel("records")
    axes.set_title(
        f"Findings over {summary['records']:,} records ({summary['flagged']:,} flagged)",
        fontsize=10,
    )
    axes.tick_params(axis="y", labelsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_summary(summary: Mapping[str, Any], directory: Path) -> None:
    """``summary.json`` and ``summary.md`` of a report directory."""
    (directory / "summary.json").write_text(
        json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (directory / "summary.md").write_text(format_summary(summary) + "\n", encoding="utf-8")
