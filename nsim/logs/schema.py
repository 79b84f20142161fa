"""Names the reader, the writers and the command line share, importable without pydantic or
Lark (so that `nsim --help` starts fast): the input formats and the record columns."""

from __future__ import annotations

from typing import Literal

Format = Literal["journal", "oslo", "json"]
FORMATS: tuple[str, ...] = ("auto", "journal", "oslo", "json")

JSON_COLUMNS: tuple[str, ...] = (
    "source", "line", "lines", "timestamp", "host", "process", "service", "pid", "level", "logger",
    "context", "request_id", "global_request_id", "user", "project", "instance", "message",
    "func", "path", "lineno", "traceback", "event", "fields",
)
"""The columns of `nsim parse --to jsonl|csv|parquet`, in order."""
