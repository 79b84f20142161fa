"""Enter: the record under the cursor whole (envelope, every line of the message, the whole
traceback, the typed event), wrapped or not, scrollable, and selectable for copying."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import TextArea

from nsim.logs.record import Record


def record_text(rec: Record) -> str:
    """The record as text: where it is, its envelope, its message, traceback and event."""
    lines = [f"{rec.source}:{rec.line}" + (f"-{rec.line + rec.lines - 1}" if rec.lines > 1 else "")]
    envelope = {"time": rec.timestamp.isoformat(sep=" ") if rec.timestamp else None,
                "host": rec.host, "service": rec.service, "pid": rec.pid, "level": rec.level,
                "logger": rec.logger, "context": rec.context, "request": rec.request_id,
                "global request": rec.global_request_id, "instance": rec.instance,
                "code": f"{rec.func} {rec.path}:{rec.lineno}" if rec.func else None}
    lines += [f"{key + ':':<16}{value}" for key, value in envelope.items() if value is not None]
    lines += ["", *rec.message.splitlines()]
    if rec.traceback:
        lines += ["", *rec.traceback]
    if rec.event is not None:
        lines += ["", f"event {rec.event.kind}:",
                  json.dumps(rec.event.model_dump(mode="json"), indent=2, ensure_ascii=False)]
    return "\n".join(lines)


class RecordScreen(ModalScreen[None]):
    """One record whole, in a read-only text area."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "close", priority=True),
                Binding("ctrl+w", "wrap", "wrap", priority=True),
                Binding("g,ctrl+home", "edge(False)", "top", priority=True),
                Binding("G,ctrl+end", "edge(True)", "bottom", priority=True)]
    DEFAULT_CSS = """
    RecordScreen { align: center middle; }
    RecordScreen > TextArea { width: 100%; height: 100%; border: round $accent; }
    """

    def __init__(self, rec: Record, title: str = "Record", close: str = "Esc closes") -> None:
        super().__init__()
        self.text = record_text(rec)
        self.title = title
        self.close_hint = close

    def compose(self) -> ComposeResult:
        area = TextArea(self.text, read_only=True, soft_wrap=True, show_line_numbers=False,
                        id="record")
        area.border_title = self.title
        area.border_subtitle = self.close_hint
        yield area

    def action_wrap(self) -> None:
        area = self.query_one(TextArea)
        area.soft_wrap = not area.soft_wrap

    def action_edge(self, end: bool) -> None:
        area = self.query_one(TextArea)
        area.move_cursor(area.document.end if end else (0, 0))
