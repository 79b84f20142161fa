"""The common shape of the state panes: a bordered, scrollable box with one text body."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from nsim.tui.session import Moment


class Pane(VerticalScroll):
    """A titled pane whose body is re-rendered for each moment; `plain` is its text."""

    TITLE = ""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = self.TITLE
        self.plain = ""
        self._shown: Text | RenderableType | None = None
        self._body = Static("", classes="body")

    def compose(self) -> ComposeResult:
        yield self._body

    def tr(self, text: str) -> str:
        """`text` in the UI's language (the app's translator, nsim.tui.i18n)."""
        return self.app.tr(text)  # type: ignore[attr-defined,no-any-return]

    def set_body(self, body: Text | RenderableType, plain: str | None = None) -> None:
        """Show `body`; the same text again (as a step often makes) is not laid out again."""
        shown = self._shown
        if isinstance(body, Text) and isinstance(shown, Text) and body == shown \
                and body.style == shown.style:
            return
        self._shown = body
        self.plain = body.plain if isinstance(body, Text) else (plain or "")
        self._body.update(body)

    def show(self, moment: Moment) -> None:
        """Render the pane for `moment`."""
        raise NotImplementedError
