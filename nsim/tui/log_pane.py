"""The log pane: the records around the cursor, fields coloured, DEBUG suffix dimmed.

One row per record, scrolled sideways; or, wrapped, each record whole (every line of its
message) on as many rows as it needs. Search hits are highlighted. Only the visible rows
are built, so a pane over a million records costs what one over a screenful does.
"""

from __future__ import annotations

import re
from datetime import datetime

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from nsim.logs.record import Record
from nsim.tui.store import ERROR, MARK, VIOLATION
from nsim.tui.view import View, short_request

LEVEL_STYLE = {"DEBUG": "green", "INFO": "cyan", "WARNING": "yellow", "ERROR": "bold red",
               "CRITICAL": "bold red", "TRACE": "red", "AUDIT": "cyan"}
CURRENT = "on #2a3a5a"
HIT = "bold black on yellow"
WIDE = 110
"""Pane width from which rows show the logger and the request id too."""
_CONTEXT = 2


def short_logger(name: str) -> str:
    """nova.compute.claims -> n.c.claims: every part but the last cut to its first letter."""
    *parents, last = name.split(".")
    return ".".join([p[:1] for p in parents] + [last])


def log_row(rec: Record, flags: int, anchor: bool = False, show_host: bool = False,
            wide: bool = True, whole: bool = False) -> Text:
    """One record as one row: gutter, time, [host], level, logger, [request instance], message;
    `whole`: with every line of the message (for wrapping).

    A narrow row leaves out the logger, and the request when the instance is known.
    """
    row = Text(no_wrap=True, overflow="ellipsis", end="")
    if flags & MARK:
        row.append("▌", "bold magenta")
    elif flags & VIOLATION:
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
            row.append(short_request(request), "grey62")
        if rec.instance:
            row.append((" " if request else "") + rec.instance[:8], "yellow")
        row.append("] ", "grey50")
    first, _, rest = rec.message.partition("\n")
    if whole:
        row.append(rec.message)
    else:
        row.append(first)
        if rest:
            row.append(f" ⏎+{rest.count(chr(10)) + 1}", "grey50")
    if rec.level == "DEBUG" and rec.func:
        where = rec.path.rsplit("/", 1)[-1] if rec.path else "?"
        row.append(f" {{{rec.func} {where}:{rec.lineno}}}", "grey42")
    return row


class LogPane(Widget, can_focus=True):
    """The records of a `View`, the cursor's record highlighted and kept in sight."""

    DEFAULT_CSS = "LogPane { height: 1fr; }"

    def __init__(self, view: View, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view
        self.top = 0
        self.left = 0
        """Columns scrolled sideways (rows without wrap)."""
        self.wrap = False
        self.pattern: re.Pattern[str] | None = None
        """The search, highlighted in every row."""
        self.anchors: set[int] = set()
        """Records a lesson step points at (marked ◆)."""
        self.shown_rows: list[int] = []
        """The view position shown on each row of the last render."""
        self.border_title = "Log"

    @property
    def rows(self) -> int:
        return max(1, self.content_size.height)

    def pan(self, columns: int) -> None:
        """Scroll sideways (rows without wrap)."""
        self.left = max(0, self.left + columns)
        self.refresh()

    def _row(self, pos: int, show_host: bool, wide: bool) -> Text:
        store = self.view.store
        index = self.view.index_at(pos)
        assert index is not None
        row = log_row(store.get(index), store.flags[index], index in self.anchors, show_host,
                      wide, whole=self.wrap)
        if self.pattern is not None:
            row.highlight_regex(self.pattern, HIT)
        if pos == self.view.pos:
            row.stylize(CURRENT)
        return row

    def _scroll(self) -> None:
        rows, pos = self.rows, self.view.pos
        margin = min(_CONTEXT, rows // 4)
        if pos < self.top + margin:
            self.top = pos - margin
        elif pos >= self.top + rows - margin:
            self.top = pos - rows + margin + 1
        self.top = max(0, min(self.top, len(self.view) - rows))

    def render(self) -> Text:
        width = max(1, self.content_size.width)
        show_host = len(self.view.store.host_names) > 1
        wide = width >= WIDE
        lines: list[Text] = []
        self.shown_rows = []
        if self.wrap:
            cursor = self.view.pos
            shown: list[tuple[int, list[Text]]] = []

            def take(pos: int) -> None:
                wrapped = self._row(pos, show_host, wide).wrap(self.app.console, width,
                                                                overflow="fold", no_wrap=False)
                shown.append((pos, list(wrapped)))

            def height() -> int:
                return sum(len(w) for _, w in shown)

            first = max(min(self.top, cursor), cursor - self.rows + 1)  # a record takes a row or more
            for pos in range(first, cursor + 1 if len(self.view) else 0):
                take(pos)
            while len(shown) > 1 and height() > self.rows:  # the cursor's record in sight
                shown.pop(0)
            while shown and shown[-1][0] + 1 < len(self.view) and height() < self.rows:
                take(shown[-1][0] + 1)
            self.top = shown[0][0] if shown else 0
            for pos, wrapped in shown:
                for line in wrapped:
                    line.end = ""
                    line.pad_right(width - line.cell_len)
                    lines.append(line)
                    self.shown_rows.append(pos)
        else:
            self._scroll()
            for pos in range(self.top, min(self.top + self.rows, len(self.view))):
                row = self._row(pos, show_host, wide)
                if self.left:
                    row = row[:1] + row[1 + self.left:]
                row.truncate(width, overflow="ellipsis", pad=True)
                lines.append(row)
                self.shown_rows.append(pos)
        if not lines:
            lines.append(Text("No records yet.", style="dim"))
        return Text("\n", no_wrap=True).join(lines[:self.rows])

    def on_click(self, event: events.Click) -> None:
        row = event.y - self.gutter.top
        if 0 <= row < len(self.shown_rows):
            self.view.pos = self.shown_rows[row]
            self.post_message(self.Moved())

    class Moved(Message):
        """The cursor was moved by the mouse."""
