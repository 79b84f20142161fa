"""The lesson pane: the current step's text (Markdown) of `nsim teach`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from nsim.tui.tour import Tour


class LessonPane(VerticalScroll):
    """Shows one step of a `Tour`; `plain` is the Markdown shown."""

    def __init__(self, tour: Tour, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tour = tour
        self.step = 0
        self.plain = ""
        self.border_title = tour.lesson.title
        self.border_subtitle = tour.lesson.keys

    def compose(self) -> ComposeResult:
        yield Markdown("")

    def show(self, step: int) -> None:
        self.step = step
        self.plain = self.tour.text(step)
        self.query_one(Markdown).update(self.plain)
        self.scroll_home(animate=False)
