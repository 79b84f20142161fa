"""Records as hive-partitioned Parquet: DIR/host=H/day=YYYY-MM-DD/part-N.parquet.

The columns are `nsim parse --to parquet`'s, less `host`, which the partition carries
(readers put it back as a column): the record's host, or for formats that name none
the node the log names, as `nsim replay` keys hosts (`nsim.replay.run.host_key`). A
record without a stamp takes the day of the stamped records before it in its file (or
after it, at the head of a file); a file with no stamp at all goes to `day=unknown`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from nsim.fleet.inputs import one_line
from nsim.logs.reader import Counts, ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.replay.run import host_key
from nsim.report.records import parquet_row, parquet_schema

NO_DAY = "unknown"
ROWS_PER_GROUP = 20_000


def partition_schema() -> pa.Schema:
    """The record schema without `host`, which is a partition key."""
    schema = parquet_schema()
    return schema.remove(schema.get_field_index("host"))


def partition_dir(root: Path, host: str, day: str) -> Path:
    """`root/host=H/day=D`, the host URI-escaped as Arrow's hive partitioning expects."""
    return root / f"host={quote(host, safe='')}" / f"day={day}"


class PartitionWriter:
    """One Parquet file per (host, day) this writer sees, named `part-<part>.parquet`.

    Files are written under a dot-name (which readers skip) and renamed when complete, so a
    task that dies leaves no half-written part; its retry writes the same names again.
    """

    def __init__(self, root: Path, part: str) -> None:
        self.root = root
        self.name = f"part-{part}.parquet"
        self.schema = partition_schema()
        self._open: dict[tuple[str, str], tuple[pq.ParquetWriter, Path]] = {}
        self._rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: list[str] = []

    def add(self, rec: Record, day: str) -> None:
        key = (host_key(rec), day)
        rows = self._rows.setdefault(key, [])
        rows.append(parquet_row(rec))
        if len(rows) >= ROWS_PER_GROUP:
            self._flush(key)

    def _flush(self, key: tuple[str, str]) -> None:
        rows = self._rows.pop(key, [])
        if key not in self._open:
            folder = partition_dir(self.root, *key)
            folder.mkdir(parents=True, exist_ok=True)
            temp = folder / f".{self.name}.tmp"
            self._open[key] = (pq.ParquetWriter(temp, self.schema), temp)
        self._open[key][0].write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        """Write what is buffered and move every file to its final name."""
        for key in list(self._rows):
            self._flush(key)
        for writer, temp in self._open.values():
            writer.close()
            final = temp.with_name(self.name)
            os.replace(temp, final)
            self.files.append(str(final.relative_to(self.root)))
        self._open.clear()

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
            return
        for writer, temp in self._open.values():
            writer.close()
            temp.unlink(missing_ok=True)


@dataclass
class Written:
    """What one parse task did: its counts, problems, and the part files it wrote."""

    counts: Counts = field(default_factory=Counts)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def write_partitions(paths: list[str], root: str, part: str, fmt: str = "auto",
                     year: int | None = None) -> Written:
    """Parse `paths` and write their records under `root` (a task run on a worker).

    A file whose reading raises is an error of that file alone: the records read before are
    kept, the other files are read.
    """
    done = Written()
    with PartitionWriter(Path(root), part) as writer:
        for path in paths:
            run = ParseRun([path], fmt=fmt, year=year)
            try:
                _write_file(run, writer)
            except Exception as exc:  # one file's failure is that file's error alone
                why = f"stopped after {run.counts.records} record(s): {one_line(exc)}"
                done.errors.append(f"{path}: {why}")
                done.diagnostics.append(Diagnostic(source=path, line=None, message=why))
            done.counts.add(run.counts)
            done.diagnostics.extend(run.diagnostics)
            done.errors.extend(run.errors)
    done.files = writer.files
    return done


def _write_file(run: ParseRun, writer: PartitionWriter) -> None:
    day: str | None = None
    waiting: list[Record] = []
    for rec in run:
        if rec.timestamp is not None:
            day = rec.timestamp.date().isoformat()
        if day is None:
            waiting.append(rec)
            continue
        for early in waiting:
            writer.add(early, day)
        waiting.clear()
        writer.add(rec, day)
    for early in waiting:
        writer.add(early, NO_DAY)
