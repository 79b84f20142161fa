"""The log pane: one row per record around the cursor, fields coloured, DEBUG suffix dimmed.

Only the visible rows are built, so a pane over a million records costs what one over a
screenful does.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from nsim.logs.record import Record
from nsim.tui.store import ERROR, VIOLATION
from nsim.tui.view import View

LEVEL_STYLE = {"DEBUG": "green", "INFO": "cyan", "WARNING": "yellow", "ERROR": "bold red",
               "CRITICAL": "bold red", "TRACE": "red", "AUDIT": "cyan"}
CURRENT = "on #2a3a5a"
WIDE = 110
"""Pane width from which rows show the logger and the request id too."""
_CONTEXT = 2


def _short_request(req: str) -> str:
    return req.removeprefix("req-")[:8]


def short_logger(name: str) -> str:
    """nova.compute.claims -> n.c.claims: every part but the last cut to its first letter."""
    *parents, last = name.split(".")
    return ".".join([p[:1] for p in parents] + [last])


def log_row(rec: Record, flags: int, anchor: bool = False, show_host: bool = False,
            wide: bool = True) -> Text:
    """One record as one row: gutter, time, [host], level, logger, [request instance], message.

    A narrow row leaves out the logger, and the request when the instance is known.
    """
    row = Text(no_wrap=True, overflow="ellipsis", end="")
    if flags & VIOLATION:
        row.append("!", "bold red")
    elif flags & ERROR:
        row.append("E", "bold red")
    else:
        row.append("◆" if anchor else " ", "bold yellow")
    stamp = rec.timestamp
    row.append(f" {stamp:%H:%M:%S} " if isinstance(stamp, datetime) else " --:--:-- ", "grey62")
    if show_host:
        row.append(f"{rec.host or '-'} ", "magenta")
    row.append(f"{(rec.level or '-'):<5} ", LEVEL_STYLE.get(rec.level or "", "grey62"))
    request = rec.request_id if wide or not rec.instance else None
    if rec.logger and wide:
        row.append(f"{short_logger(rec.logger)} ", "blue")
    if request or rec.instance:
        row.append("[", "grey50")
        if request:
            row.append(_short_request(request), "grey62")
        if rec.instance:
            row.append((" " if request else "") + rec.instance[:8], "yellow")
        row.append("] ", "grey50")
    first, _, rest = rec.message.partition("\n")
    row.append(first)
    if rest:
        row.append(f" ⏎+{rest.count(chr(10)) + 1}", "grey50")
    if rec.level == "DEBUG" and rec.func:
        where = rec.path.rsplit("/", 1)[-1] if rec.path else "?"
        row.append(f" {{{rec.func} {where}:{rec.lineno}}}", "grey42")
    return row


class LogPane(Widget, can_focus=True):
    """The records of a `View`, the cursor's row highlighted and kept in sight."""

    DEFAULT_CSS = "LogPane { height: 1fr; }"

    def __init__(self, view: View, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view
        self.top = 0
        self.anchors: set[int] = set()
        """Records a lesson step points at (marked ◆)."""
        self.border_title = "Log"

    @property
    def rows(self) -> int:
        return max(1, self.content_size.height)

    def _scroll(self) -> None:
        rows, pos = self.rows, self.view.pos
        margin = min(_CONTEXT, rows // 4)
        if pos < self.top + margin:
            self.top = pos - margin
        elif pos >= self.top + rows - margin:
            self.top = pos - rows + margin + 1
        self.top = max(0, min(self.top, len(self.view) - rows))

    def render(self) -> Text:
        self._scroll()
        view, store = self.view, self.view.store
        width = max(1, self.content_size.width)
        lines = []
        show_host = len(store.host_names) > 1
        for pos in range(self.top, min(self.top + self.rows, len(view))):
            index = view.index_at(pos)
            assert index is not None
            row = log_row(store.get(index), store.flags[index], index in self.anchors, show_host,
                          width >= WIDE)
            row.truncate(width, overflow="ellipsis", pad=True)
            if pos == view.pos:
                row.stylize(CURRENT)
            lines.append(row)
        if not lines:
            lines.append(Text("No records yet.", style="dim"))
        return Text("\n", no_wrap=True).join(lines)

    def on_click(self, event: events.Click) -> None:
        pos = self.top + event.y - self.gutter.top
        if 0 <= pos < len(self.view):
            self.view.pos = pos
            self.post_message(self.Moved())

    class Moved(Message):
        """The cursor was moved by the mouse."""
