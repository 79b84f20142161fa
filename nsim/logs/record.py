"""A record: one log message with its envelope, possibly spanning several physical lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from nsim.events.base import Event


class Record(BaseModel):
    """The envelope oslo.log/journald put around a nova-compute message, plus its event."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str
    line: int
    """1-based number of the record's first physical line."""
    lines: int = 1
    """How many physical lines the record spans."""
    timestamp: datetime | None = None
    host: str | None = None
    process: str | None = None
    """The journald identifier (SYSLOG_IDENTIFIER)."""
    service: str | None = None
    """The OpenStack service that wrote the record ("nova-compute", "nova-api",
    "neutron-openvswitch-agent", ...), None when nothing tells."""
    pid: int | None = None
    level: str | None = None
    logger: str | None = None
    context: str | None = None
    request_id: str | None = None
    global_request_id: str | None = None
    user: str | None = None
    project: str | None = None
    instance: str | None = None
    message: str = ""
    func: str | None = None
    path: str | None = None
    lineno: int | None = None
    traceback: list[str] = []
    event: Event | None = None

    @property
    def kind(self) -> str | None:
        """The event kind's name, or None for a message outside the catalog."""
        return self.event.kind if self.event is not None else None

    def json_row(self) -> dict[str, Any]:
        """The flat dict `nsim parse --to jsonl` writes, but for its last column ("fields")."""
        out = dict(self.__dict__)  # the fields in declaration order: JSON_COLUMNS[:-1]
        out["timestamp"] = self.timestamp.isoformat() if self.timestamp else None
        out["event"] = self.kind
        return out

    def to_json(self) -> dict[str, Any]:
        """The flat dict `nsim parse --to jsonl` writes."""
        out = self.json_row()
        out["fields"] = self.event.model_dump(mode="json") if self.event is not None else None
        return out


_ALL_SET = set(Record.model_fields)
"""Every record's set of fields set: all of them, so that pydantic's adding a field to it (on
assignment) changes nothing, and one set serves all."""
_set = object.__setattr__


def unchecked_record(values: dict[str, Any]) -> Record:
    """The Record `Record.model_construct(**values)` makes, for `values` that give every field
    in declaration order, without its per-field work (the reader's hot path; its values
    are typed already)."""
    record = Record.__new__(Record)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", _ALL_SET)
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


class Diagnostic(BaseModel):
    """A problem with the input, named by file and line."""

    source: str
    line: int | None
    message: str
    bad_lines: int = 0
    """Physical lines this problem made unusable."""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"
