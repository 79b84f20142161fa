"""The Textual app of `nsim tui` and `nsim teach`: the log beside the host model at each record."""

from __future__ import annotations

import asyncio
import math
import re
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer

from nsim.errors import NsimError
from nsim.tui.background import Background
from nsim.tui.cache_pane import CachePane
from nsim.tui.event_pane import EventPane
from nsim.tui.filters_screen import FiltersList
from nsim.tui.footer import HelpScreen, KeysFooter, StatusBar
from nsim.tui.histogram import Histogram
from nsim.tui.host_pane import HostPane
from nsim.tui.i18n import translator
from nsim.tui.instance_pane import InstancePane
from nsim.tui.keys import KEYS
from nsim.tui.lesson_pane import LessonPane
from nsim.tui.log_pane import LogPane
from nsim.tui.pane import Pane
from nsim.tui.prompt import Prompt
from nsim.tui.record_screen import RecordScreen
from nsim.tui.session import Moment, Session
from nsim.tui.store import MARK
from nsim.tui.tour import Tour
from nsim.tui.view import (
    Filter,
    FilterError,
    View,
    compile_pattern,
    parse_filter,
    parse_when,
)
from nsim.tui.violations_pane import ViolationsPane

SPEEDS: tuple[float | None, ...] = (None, 1, 2, 5, 10, 20, 50, 100)
"""Play speeds: None is one record per tick, a number scales the log's own time."""
TICK = 0.3
_MIN_DELAY = 0.02
NARROW = (110, 32)
"""Below this width or height the side panes collapse into panels `p` cycles through."""
PANELS = ("", "panel-model", "panel-event")
MAX_GAP = 5.0
"""Longest wait between two records while playing in real time (longer gaps are cut short)."""


class Indexed(Message):
    """The background indexing made progress (posted from its thread)."""


class NsimApp(App[None]):
    """Walk a replay record by record; with a `Tour`, a guided lesson over it."""

    CSS_PATH = "app.tcss"
    TITLE = "nsim"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = KEYS

    def __init__(self, session: Session, tour: Tour | None = None, lang: str = "en") -> None:
        super().__init__()
        self.session = session
        self.tour = tour
        self.lang = tour.lesson.lang if tour is not None else lang
        self.tr = translator(self.lang)
        # The footer and `?` read the bindings' texts: these, in the UI's language.
        self.keys = [replace(b, description=self.tr(b.description), tooltip=self.tr(b.tooltip))
                     for b in KEYS if isinstance(b, Binding)]
        texts = {b.action: (b.description, b.tooltip) for b in self.keys}
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [
                replace(b, description=texts[b.action][0], tooltip=texts[b.action][1])
                if b.action in texts else b for b in bindings]
        self.view = View(session.store)
        self.playing = False
        self.speed = 0
        self.search_term = ""
        self.pattern: re.Pattern[str] | None = None
        self.step = 0
        self.first_screen = asyncio.Event()
        self.first_screen_at: float | None = None
        self._instance: str | None = None
        self._timer: Timer | None = None
        self._shown_notices = 0
        self._first_pending = False
        self._moment: Moment | None = None
        self._known = 0
        self.panel = 0
        """Which of `PANELS` a narrow layout shows."""
        self.wanted: list[Filter] = []  # the filters last asked for (in force, or being applied)
        self.background = Background(self, self._status)

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """The panes; kept as attributes, since a prompt or the help may be the screen on top."""
        self.log_pane = LogPane(self.view, id="log")
        self.log_pane.border_subtitle = ", ".join(Path(p).name for p in self.session.paths)
        event = EventPane(id="event")
        self.panes: list[Pane] = [event, InstancePane(id="instance"), HostPane(id="host"),
                                  CachePane(id="cache")]
        self.lesson_pane = LessonPane(self.tour, id="lesson") if self.tour is not None else None
        self.violations_pane = ViolationsPane(self.session, id="violations")
        self.status_bar = StatusBar()
        self.log_pane.border_title = self.tr("Log")
        for pane in self.panes:
            pane.border_title = self.tr(pane.TITLE)
        self.violations_pane.border_title = self.tr(ViolationsPane.TITLE)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.log_pane
                if self.lesson_pane is not None:
                    yield self.lesson_pane
                else:
                    yield event
                    yield self.violations_pane
            with Vertical(id="right"):
                yield from self.panes[1:4]
                if self.lesson_pane is not None:  # teach: the event and violations beside
                    yield event
                    yield self.violations_pane
        self.panes.append(self.violations_pane)
        yield self.status_bar
        yield KeysFooter()
        self.prompt, self.histogram, self.filters = Prompt(), Histogram(), FiltersList()
        yield from (self.prompt, self.histogram, self.filters)  # hidden until asked

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Refuse to start without a terminal (unless headless, as tests run it): the screen
        would go into a pipe and no key would ever come."""
        if not kwargs.get("headless") and not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise NsimError("nsim tui and nsim teach need a terminal on standard input and "
                            "output; in a pipe, use nsim parse or nsim replay")
        return super().run(*args, **kwargs)

    def on_mount(self) -> None:
        for pane in self.panes:
            pane.can_focus = False
        if self.lesson_pane is not None:
            self.lesson_pane.can_focus = False
        self.log_pane.focus()
        self._layout()
        self.session.start(on_progress=lambda: self.post_message(Indexed()))

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        main = self.query_one("#main")
        narrow = self.size.width < NARROW[0] or self.size.height < NARROW[1]
        main.set_class(narrow, "narrow")
        for n, name in enumerate(PANELS[1:], 1):
            main.set_class(narrow and self.panel == n, name)

    def action_panel(self) -> None:
        self.panel = (self.panel + 1) % len(PANELS)
        self._layout()
        self._status()

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.workers.cancel_all()
        self.session.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "follow":
            return self.tour is None
        return True

    # -- indexing -----------------------------------------------------------------------
    def on_indexed(self, _: Indexed) -> None:
        session = self.session
        at_end = self.view.pos + 1 >= self._known  # at the last record the UI knew of
        self.view.catch_up()
        self._known = len(self.view)
        for notice in session.notices[self._shown_notices:]:
            if notice.line is None:
                self.notify(str(notice), title=self.tr("cannot read"), severity="error", timeout=10)
        self._shown_notices = len(session.notices)
        if session.done.is_set() and self.tour is not None:
            self.log_pane.anchors = {
                a for a in (self.tour.anchor(n) for n in range(len(self.tour))) if a is not None}
        if not self._first_pending:
            if not session.first_batch.is_set():
                return
            self._first_pending = True
            if self.tour is not None:
                self._go_to_step(0)
            self.call_after_refresh(self._first_painted)
            self._show()
            return
        if session.done.is_set() and session.following.is_set() and at_end:
            self.view.end()  # following at the last record: stay at the last
            self._show()
            return
        # The record under the cursor and the model after it are as they were: only the
        # number of records, the counts and the progress move on.
        self.log_pane.refresh()
        if self._moment is not None:
            self.violations_pane.show(self._moment)
        self._status()

    def _first_painted(self) -> None:
        self.first_screen_at = time.perf_counter()
        self.first_screen.set()
        self.session.resume()

    # -- rendering ----------------------------------------------------------------------
    def _show(self) -> None:
        """Render every pane for the record under the cursor."""
        hint = self.tour.instance if self.tour is not None and self.tour.instance else self._instance
        moment = self._moment = self.session.moment(self.view.current, hint)
        if moment.instance is not None:
            self._instance = moment.instance.uuid
        for pane in self.panes:
            pane.show(moment)
        self.log_pane.refresh()
        self._status()

    def _status(self) -> None:
        view, session = self.view, self.session
        text = Text()
        count = len(view)
        text.append(" " + self.tr("record {pos}/{count}").format(
            pos=view.pos + 1 if count else 0, count=count), "bold")
        if view.filters:
            text.append(" " + self.tr("of {total}").format(total=len(session.store)), "yellow")
        index = view.current
        if index is not None and not math.isnan(session.store.times[index]):
            rec = session.store.get(index)
            if rec.timestamp is not None:
                text.append(f" · {rec.timestamp:%Y-%m-%d %H:%M:%S}")
        narrow = self.query_one("#main").has_class("narrow")
        inst = self._moment.instance if self._moment is not None else None
        if narrow and self.panel != 1 and inst is not None:  # the instance pane is hidden
            states = (inst.vm_state, inst.task_state, inst.power_state)
            text.append(f" · {inst.uuid[:8]} " + "/".join(
                s.value if s is not None else "-" for s in states), "magenta")
        speed = SPEEDS[self.speed]
        label = self.tr("1 record/tick") if speed is None else f"{speed:g}x"
        if self.playing or not narrow:
            text.append(f" · {self.tr('▶ playing' if self.playing else 'paused')} {label}",
                        "green" if self.playing else "")
        if self.search_term:
            text.append(f" · /{self.search_term}", "cyan")
        text.append(self.background.status(self.tr), "bold yellow")
        if session.following.is_set():
            text.append(" · " + self.tr("following"), "green")
        if not session.done.is_set():
            text.append(" · " + self.tr("reading… {count} records").format(count=len(session.store)),
                        "grey62")
        self.status_bar.show(text, session.progress, session.done.is_set())

    def on_log_pane_moved(self, _: LogPane.Moved) -> None:
        self._show()

    # -- moving -------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        self.view.move(delta)
        self._show()

    def action_page(self, direction: int) -> None:
        self.view.move(direction * max(1, self.log_pane.rows - 1))
        self._show()

    def action_home(self) -> None:
        self.view.home()
        self._show()

    def action_end(self) -> None:
        self.view.end()
        self._show()

    def action_problem(self, forward: bool) -> None:
        if self.view.next_flagged(forward) is None:
            self.notify(self.tr("No further violation or error in this direction."), timeout=3)
        self._show()

    # -- playing ------------------------------------------------------------------------
    def action_play(self) -> None:
        self.playing = not self.playing
        if self.playing:
            self._schedule()
        elif self._timer is not None:
            self._timer.stop()
        self._status()

    def action_speed(self, delta: int) -> None:
        self.speed = max(0, min(self.speed + delta, len(SPEEDS) - 1))
        self._status()

    def _delay(self) -> float:
        speed = SPEEDS[self.speed]
        now, then = self.view.current, self.view.index_at(self.view.pos + 1)
        if speed is None or now is None or then is None:
            return TICK
        gap = self.session.store.times[then] - self.session.store.times[now]
        if math.isnan(gap):
            return _MIN_DELAY
        return min(MAX_GAP, max(_MIN_DELAY, gap / speed))

    def _schedule(self) -> None:
        self._timer = self.set_timer(self._delay(), self._tick)

    def _tick(self) -> None:
        if not self.playing:
            return
        if self.view.pos + 1 < len(self.view):
            self.view.move(1)
            self._show()
        if self.view.pos + 1 >= len(self.view) and self.session.done.is_set():
            self.playing = False
            self._status()
            return
        self._schedule()

    # -- the log ----------------------------------------------------------------------
    def action_open_record(self) -> None:
        index = self.view.current
        if index is not None:
            self.push_screen(RecordScreen(self.session.store.get(index), self.tr("Record"),
                                          self.tr("Esc closes")))

    def action_wrap(self) -> None:
        self.log_pane.wrap = not self.log_pane.wrap
        self.log_pane.refresh()

    def action_arrow(self, direction: int) -> None:
        if self.tour is not None:
            self.action_lesson(direction)
        else:
            self.action_pan(direction)

    def action_pan(self, direction: int) -> None:
        self.log_pane.pan(direction * max(8, self.log_pane.content_size.width // 4))

    def action_mark(self) -> None:
        index = self.view.current
        if index is not None:
            self.session.store.toggle(index, MARK)
            self.log_pane.refresh()

    def action_next_mark(self, forward: bool) -> None:
        if self.view.next_flagged(forward, MARK) is None:
            self.notify(self.tr("No further mark in this direction."), timeout=3)
        self._show()

    def action_follow(self) -> None:
        following = self.session.following
        if following.is_set():
            following.clear()
        else:
            following.set()
            self.view.end()
            self._show()
        self._status()

    # -- asking -------------------------------------------------------------------------
    def action_search(self) -> None:
        self.prompt.ask(self.tr("search /"), self._searched, self.search_term)

    def _searched(self, term: str | None) -> None:
        if not term:
            return
        try:
            self.pattern = compile_pattern(term)
        except FilterError as exc:
            self.notify(str(exc), severity="error", timeout=5)
            return
        self.search_term = term
        self.log_pane.pattern = self.pattern
        self.action_search_again(True)

    def action_search_again(self, forward: bool) -> None:
        if self.pattern is None:
            self.action_search()
            return
        self.background.drive("search", self.view.searching(self.pattern, forward),
                              lambda found: self._found(found, forward))

    def _found(self, found: tuple[int, bool] | None, forward: bool) -> None:
        if found is None:
            self.notify(self.tr("{term!r} not found.").format(term=self.search_term),
                        severity="warning", timeout=3)
        elif found[1]:
            self.notify(self.tr("search wrapped: continuing from the "
                                + ("top" if forward else "bottom")), timeout=2)
        self._show()

    def action_filter(self) -> None:
        self.prompt.ask(self.tr("filter [!]text|level|logger|instance|request VALUE"), self._filtered)

    def _filtered(self, text: str | None) -> None:
        if not text or not text.strip():
            return
        try:
            new = parse_filter(text, self.session.store)
        except FilterError as exc:
            self.notify(str(exc), severity="warning", timeout=5)
            return
        self._set_filters([*self.wanted, new])

    def _set_filters(self, filters: list[Filter]) -> None:
        self.wanted = list(filters)
        self.background.drive("filter", self.view.filtering(filters),
                              lambda _: self._filters_set(filters))

    def _filters_set(self, filters: list[Filter]) -> None:
        self.log_pane.border_title = " ".join([self.tr("Log"), *map(str, filters)])
        if filters and not len(self.view):
            self.notify(self.tr("No record passes these filters."), severity="warning", timeout=4)
        self._show()

    def action_filters(self) -> None:
        if not self.wanted:
            self.notify(self.tr("No filter in force (f adds one)."), timeout=3)
            return
        self.filters.show(self.wanted, self.tr("Filters"), self.tr("Enter/Del removes · Esc closes"),
                          self._removed)

    def _removed(self, old: Filter | None) -> None:
        if old is not None:
            self._set_filters([f for f in self.wanted if f != old])

    def action_filter_here(self, kind: Literal["instance", "request"]) -> None:
        index = self.view.current
        if index is None:
            return
        store = self.session.store
        value = store.owners[index] if kind == "instance" else store.requests[index]
        if value is None:
            self.notify(self.tr("This record names no {kind}.").format(kind=kind), timeout=3)
            return
        here, filters = Filter(kind, value), self.wanted
        self._set_filters([f for f in filters if f != here] if here in filters else [*filters, here])

    def action_clear_filters(self) -> None:
        if self.wanted:
            self._set_filters([])

    def action_histogram(self) -> None:
        self.histogram.show(self.session.store.counts, self.tr("Records over time"),
                            self.tr("Enter goes there · Esc closes"), self._dated)

    def _dated(self, start: float | None) -> None:
        if start is not None and self.view.go_to_time(start) is not None:
            self._show()

    def action_go_to_time(self) -> None:
        self.prompt.ask(self.tr("go to time (HH:MM[:SS] or YYYY-MM-DD HH:MM[:SS])"), self._timed)

    def _timed(self, text: str | None) -> None:
        if not text:
            return
        index = self.view.current
        when = parse_when(text, self.session.store.get(index).timestamp if index is not None else None)
        if when is None:
            self.notify(self.tr("Not a time: {text!r}.").format(text=text), severity="warning",
                        timeout=4)
        elif self.view.go_to_time(when) is None:
            self.notify(self.tr("No record at or after {text}.").format(text=text),
                        severity="warning", timeout=4)
        self._show()

    def action_help(self) -> None:
        shown = [b for b in self.keys if self.check_action(b.action.split("(")[0], ())]
        self.push_screen(HelpScreen(shown, self.tr("Keys"), self.tr("Esc closes")))

    # -- the lesson ---------------------------------------------------------------------
    def action_lesson(self, delta: int) -> None:
        assert self.tour is not None
        self._go_to_step(max(0, min(self.step + delta, len(self.tour) - 1)))
        self._show()

    def _go_to_step(self, step: int) -> None:
        assert self.tour is not None
        self.step = step
        anchor = self.tour.anchor(step)
        if anchor is not None:
            if not self.view.contains(anchor):
                self._set_filters([])
            self.view.go_to(anchor)
        focus = self.tour.lesson.steps[step].pane
        for widget in (self.log_pane, *self.panes):
            widget.set_class(widget.id == focus, "lesson-focus")
        assert self.lesson_pane is not None
        self.lesson_pane.show(step)
