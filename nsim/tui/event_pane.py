"""The event pane: the selected record's typed event fields and its envelope."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from nsim.tui.pane import Pane
from nsim.tui.session import Moment

_LONG = 600


def _fields(body: Text, values: dict[str, Any], indent: int) -> None:
    width = max((len(k) for k in values), default=0)
    for key, value in values.items():
        if value in (None, [], {}, ""):
            continue
        body.append(" " * indent + f"{key:<{width}}  ", "cyan")
        if isinstance(value, dict):
            body.append("\n")
            _fields(body, value, indent + 2)
            continue
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            body.append(f"{len(value)}\n")
            for item in value:
                _fields(body, item if isinstance(item, dict) else {"-": item}, indent + 2)
            continue
        text = " ".join(value) if isinstance(value, list) else str(value)
        if len(text) > _LONG:
            text = text[:_LONG] + f"… ({len(text)} characters)"
        body.append(text + "\n")


class EventPane(Pane):
    TITLE = "Event"

    def show(self, moment: Moment) -> None:
        rec = moment.record
        if rec is None:
            self.border_subtitle = ""
            self.set_body(Text(self.tr("No record."), style="dim"))
            return
        body = Text()
        if rec.event is not None:
            self.border_subtitle = rec.event.kind
            body.append(f"{rec.event.kind}", "bold yellow")
            body.append(f"  {type(rec.event).__module__.rsplit('.', 1)[-1]}.{type(rec.event).__name__}\n",
                        "dim")
            _fields(body, rec.event.model_dump(), 2)
        else:
            self.border_subtitle = self.tr("not in the catalog")
            body.append(self.tr("no event kind for this message") + "\n", "dim")
        envelope = {
            "source": f"{rec.source}:{rec.line}" + (f" (+{rec.lines - 1} lines)" if rec.lines > 1 else ""),
            "time": rec.timestamp.isoformat(sep=" ") if rec.timestamp else None,
            "host": rec.host, "level": rec.level, "logger": rec.logger,
            "request": rec.request_id, "global": rec.global_request_id,
            "instance": rec.instance,
            "code": f"{rec.func} {rec.path}:{rec.lineno}" if rec.func else None,
        }
        _fields(body, envelope, 0)
        for line in rec.traceback:
            body.append(line + "\n", "red")
        for assumption in moment.assumptions:
            body.append(f"model assumes: {assumption.message}\n", "italic grey62")
        body.rstrip()
        self.set_body(body)
