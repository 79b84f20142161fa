"""Filters and searches that take longer than a key should: begun at once, and the rest done
between keys (the status shows them going on), their answer given when they are done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from textual.app import App

from nsim.tui.store import Steps
from nsim.tui.view import SLICE_SECONDS

BUDGET = 0.02
"""Seconds a filter or a search works before its key answers."""
PROGRESS_EVERY = 0.1
"""Seconds between two updates of the status while the work goes on."""
BUSY = {"filter": "filtering…", "search": "searching…"}
"""What the status says while each kind of work goes on."""
T = TypeVar("T")


class Background:
    """The filter and the search going on between keys, one of each at most."""

    def __init__(self, app: App[None], progress: Callable[[], None]) -> None:
        self.app = app
        self.progress = progress
        self.busy: dict[str, float | None] = {}
        """The work going on (a key of `BUSY`), and the share of it done when known."""
        self._steps: dict[str, Steps[object]] = {}
        """The latest work of each kind."""

    def status(self, tr: Callable[[str], str]) -> str:
        """What the status line says of the work going on (empty: none)."""
        return "".join(f" · {tr(BUSY[work])}" + ("" if share is None else f" {share:.0%}")
                       for work, share in self.busy.items())

    def drive(self, work: str, steps: Steps[T], done: Callable[[T], None]) -> None:
        """Do `steps` for up to BUDGET now and the rest between keys, then call `done` with
        the answer; it replaces the `work` of its kind going on."""
        self.app.workers.cancel_group(self.app, work)
        self.busy.pop(work, None)
        self._steps[work] = steps
        deadline = time.perf_counter() + BUDGET
        try:
            next(steps)
            while time.perf_counter() < deadline:
                next(steps)
        except StopIteration as stop:
            done(stop.value)
            return
        self.busy[work] = None
        self.progress()
        # Once the screen shows the key's answer: the slices would slow its drawing.
        self.app.call_after_refresh(self._start, work, steps, done)

    def _start(self, work: str, steps: Steps[T], done: Callable[[T], None]) -> None:
        """Go on with `steps` in a worker, unless another `work` of its kind replaced it."""
        if self.busy.get(work, False) is None and self._steps.get(work) is steps:
            self.app.run_worker(self._go_on(work, steps, done), group=work, exclusive=True)

    async def _go_on(self, work: str, steps: Steps[T], done: Callable[[T], None]) -> None:
        """The rest of `drive`'s work, a slice at a time (`SLICE_SECONDS`: a key, and each
        widget it leads to redraw, waits at most that long for the slice under way)."""
        shown = time.perf_counter()
        try:
            while True:
                deadline = time.perf_counter() + SLICE_SECONDS
                self.busy[work] = next(steps)
                while time.perf_counter() < deadline:
                    self.busy[work] = next(steps)
                if time.perf_counter() - shown >= PROGRESS_EVERY:
                    shown = time.perf_counter()
                    self.progress()
                await asyncio.sleep(0)
        except StopIteration as stop:
            self.busy.pop(work, None)
            done(stop.value)
