"""Writing parsed records: a readable table, JSON lines, CSV or Parquet (streamed)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

from nsim.logs.schema import JSON_COLUMNS
from nsim.report.numbers import stamp, with_resolution
from nsim.report.term import Painter, width

if TYPE_CHECKING:
    import pyarrow as pa

    from nsim.events.base import Event
    from nsim.logs.record import Record

OUTPUTS = ("table", "jsonl", "csv", "parquet")
_PARQUET_BATCH = 20_000
_REMEMBERED_EVENTS = 4096


def write_table(records: Iterable[Record], out: IO[str]) -> None:
    """A header, then one line per record: time (at the log's resolution), host, level,
    event kind, instance, the message's first line. On a terminal levels are coloured and the
    message is cut at the terminal's width; a pipe or a file gets whole lines. The time and
    host columns widen to the widest value seen so far."""
    paint = Painter(out)
    columns = width(out)
    widths = [0, len("HOST")]
    header = True
    for rec, whole in with_resolution(records):
        when, host = stamp(rec.timestamp, whole), rec.host or "-"
        widths = [max(widths[0], len(when)), max(widths[1], len(host))]
        if header:
            out.write(paint(f"{'TIME':{widths[0]}}  {'HOST':{widths[1]}}  {'LEVEL':7} "
                            f"{'EVENT':24} {'INSTANCE':8}  MESSAGE", "header") + "\n")
            header = False
        level = rec.level or "-"
        head = f"{when:{widths[0]}}  {host:{widths[1]}}  "
        tail = f" {rec.kind or '?':24} {rec.instance[:8] if rec.instance else '-':8}  "
        message = rec.message.split("\n", 1)[0]
        room = None if columns is None else columns - len(head) - 7 - len(tail)
        if room is not None and len(message) > room:
            message = message[:max(room - 1, 0)] + "…"
        out.write(head + paint(f"{level:7}", level) + tail + message + "\n")


def write_jsonl(records: Iterable[Record], out: IO[str]) -> None:
    """One `Record.to_json()` a line, as `json.dumps(..., ensure_ascii=False)` writes it. Records
    with equal messages share their event: its "fields" are encoded once while remembered."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    fields: dict[int, tuple[Event, str]] = {}  # by id(event); the event is kept alive with it
    for rec in records:
        line = encode(rec.json_row())
        event = rec.event
        if event is None:
            encoded = "null"
        else:
            known = fields.get(id(event))
            if known is None:
                if len(fields) >= _REMEMBERED_EVENTS:
                    fields.clear()
                known = fields[id(event)] = (event, encode(event.model_dump(mode="json")))
            encoded = known[1]
        out.write(f'{line[:-1]}, "fields": {encoded}}}\n')


def _flat(rec: Record) -> dict[str, Any]:
    row = rec.to_json()
    row["traceback"] = "\n".join(rec.traceback)
    row["fields"] = "" if row["fields"] is None else json.dumps(row["fields"], ensure_ascii=False)
    return row


def write_csv(records: Iterable[Record], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=list(JSON_COLUMNS))
    writer.writeheader()
    for rec in records:
        writer.writerow(_flat(rec))


def parquet_schema() -> pa.Schema:
    """The Arrow schema of a record row: the jsonl columns, `fields` as a JSON string."""
    import pyarrow as pa

    return pa.schema([
        ("source", pa.string()), ("line", pa.int64()), ("lines", pa.int64()),
        ("timestamp", pa.timestamp("us")), ("host", pa.string()), ("process", pa.string()),
        ("service", pa.string()), ("pid", pa.int64()), ("level", pa.string()), ("logger", pa.string()),
        ("context", pa.string()), ("request_id", pa.string()),
        ("global_request_id", pa.string()), ("user", pa.string()), ("project", pa.string()),
        ("instance", pa.string()), ("message", pa.string()), ("func", pa.string()),
        ("path", pa.string()), ("lineno", pa.int64()), ("traceback", pa.string()),
        ("event", pa.string()), ("fields", pa.string()),
    ])


def parquet_row(rec: Record) -> dict[str, Any]:
    """One record as a row of `parquet_schema()`."""
    row = _flat(rec)
    row["timestamp"] = rec.timestamp
    return row


def write_parquet(records: Iterable[Record], path: str) -> None:
    """Parquet in row groups of _PARQUET_BATCH records; `fields` is a JSON string column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for rec in records:
            batch.append(parquet_row(rec))
            if len(batch) >= _PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
