"""The audit's input: evidence records in JSON Lines or Parquet files, in partitions.

A partition is a run of consecutive records of one file (lines of a JSON Lines
file, row groups of a Parquet file), about ``partition_size`` of them: what one task
reads and checks, so that a worker's memory is bounded by the partition size
whatever the size of the input. Partitions are numbered in input order (files in
the order given, records in file order), so ``(partition, position)`` orders
records as ``(file, row)`` does (``spec/evidence.md`` section 7.5).

pyarrow is imported only to read or write Parquet (the ``audit`` extra).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitale_cred.errors import InvalidArgument, UsageError

__all__ = ["EVIDENCE_COLUMN", "Part", "plan", "pyarrow", "read_parquet_rows", "read_part"]

#: The Parquet column (and JSON member) that holds a record.
EVIDENCE_COLUMN = "evidence"
_INSTALL_HINT = "the audit needs pyarrow: pip install 'vitale-cred[audit]'"
_BLOCK = 1 << 20


def pyarrow() -> Any:
    """The ``pyarrow`` and ``pyarrow.parquet`` modules, or a usage error naming the extra."""
    try:
        import pyarrow as pa  # noqa: PLC0415 - optional extra
        import pyarrow.parquet as pq  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(f"{_INSTALL_HINT} ({exc.name} is missing)") from exc
    return pa, pq


@dataclass(frozen=True, slots=True)
class Part:
    """One partition: records ``first_row`` .. ``first_row + rows - 1`` of ``source``.

    JSON Lines: ``start`` .. ``stop`` are byte offsets and rows are lines (empty
    lines included in the count, skipped when read); Parquet: ``start`` .. ``stop``
    are row groups.
    """

    index: int
    source: str
    kind: str
    first_row: int
    rows: int
    start: int
    stop: int


def plan(inputs: Sequence[str | Path], partition_size: int) -> list[Part]:
    """Split the input files into partitions of about ``partition_size`` records."""
    if type(partition_size) is not int or partition_size < 1:
        raise InvalidArgument("partition_size must be a positive integer")
    if not inputs:
        raise InvalidArgument("give at least one input file")
    parts: list[Part] = []
    for item in inputs:
        path = Path(item)
        if not path.is_file():
            raise InvalidArgument(f"{path} is not a file of evidence records")
        if path.suffix == ".parquet":
            parts.extend(_plan_parquet(path, partition_size, len(parts)))
        else:
            parts.extend(_plan_jsonl(path, partition_size, len(parts)))
    return parts


def _plan_jsonl(path: Path, size: int, first_index: int) -> list[Part]:
    """Cut before every ``size``-th line; one pass, counting newlines per block."""
    starts = [0]  # byte offset of the first line of each part
    firsts = [0]  # number of the first line of each part
    lines = 0  # newlines seen so far
    offset = 0  # bytes read so far
    tail = False  # the file ends with a line without its newline
    with path.open("rb") as stream:
        while block := stream.read(_BLOCK):
            count = block.count(b"\n")
            pos = 0
            while lines + count >= firsts[-1] + size:
                needed = firsts[-1] + size - lines
                for _ in range(needed):
                    pos = block.index(b"\n", pos) + 1
                lines += needed
                count -= needed
                starts.append(offset + pos)
                firsts.append(lines)
            lines += count
            offset += len(block)
            tail = not block.endswith(b"\n")
    total = lines + (1 if tail else 0)
    parts: list[Part] = []
    for position, start in enumerate(starts):
        last = position + 1 == len(starts)
        stop = offset if last else starts[position + 1]
        rows = (total if last else firsts[position + 1]) - firsts[position]
        if rows > 0:
            index = first_index + len(parts)
            parts.append(Part(index, str(path), "jsonl", firsts[position], rows, start, stop))
    return parts


def _plan_parquet(path: Path, size: int, first_index: int) -> list[Part]:
    pa, pq = pyarrow()
    try:
        metadata = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InvalidArgument(f"{path} is not a Parquet file: {exc}") from exc
    schema = metadata.schema_arrow
    if EVIDENCE_COLUMN not in schema.names:
        raise InvalidArgument(f"{path} has no column {EVIDENCE_COLUMN!r}")
    column_type = schema.field(EVIDENCE_COLUMN).type
    if not (pa.types.is_binary(column_type) or pa.types.is_large_binary(column_type)):
        raise InvalidArgument(
            f"{path}: column {EVIDENCE_COLUMN!r} must be binary, not {column_type}"
        )
    parts: list[Part] = []
    group_rows = [
        metadata.metadata.row_group(i).num_rows for i in range(metadata.metadata.num_row_groups)
    ]
    first_group = 0
    first_row = 0
    rows = 0
    for group, count in enumerate(group_rows):
        rows += count
        if rows >= size or group == len(group_rows) - 1:
            if rows:
                parts.append(
                    Part(first_index + len(parts), str(path), "parquet", first_row, rows,
                         first_group, group + 1)
                )  # fmt: skip
            first_group, first_row, rows = group + 1, first_row + rows, 0
    return parts


def read_part(part: Part) -> Iterator[tuple[int, bytes | None]]:
    """Each record of ``part``: its row (or line) and its bytes, or None when the row
    holds no record (``audit.record_invalid``). Empty lines are skipped."""
    if part.kind == "parquet":
        yield from _read_parquet(part)
        return
    with Path(part.source).open("rb") as stream:
        stream.seek(part.start)
        data = stream.read(part.stop - part.start)
    for position, line in enumerate(data.split(b"\n")[: part.rows]):
        stripped = line.strip()
        if stripped:
            yield part.first_row + position, _record_of_line(stripped)


def _record_of_line(line: bytes) -> bytes | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    text = value.get(EVIDENCE_COLUMN) if isinstance(value, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _read_parquet(part: Part) -> Iterator[tuple[int, bytes | None]]:
    _, pq = pyarrow()
    table = pq.ParquetFile(part.source).read_row_groups(
        list(range(part.start, part.stop)), columns=[EVIDENCE_COLUMN]
    )
    for position, value in enumerate(table.column(0).to_pylist()):
        yield part.first_row + position, value if isinstance(value, bytes) else None


def read_parquet_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a (small) Parquet file as a dict: the directory of professionals."""
    _, pq = pyarrow()
    rows: list[dict[str, Any]] = pq.read_table(Path(path)).to_pylist()
    return rows
