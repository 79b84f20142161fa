"""The common shape of the state panes: a bordered, scrollable box with one text body."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widgets import Static

from nsim.tui.session import Moment


class _Body(Static):
    """A pane's text: its new height needs no second layout (see `Pane._size_updated`)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class Pane(VerticalScroll):
    """A titled pane whose body is re-rendered for each moment; `plain` is its text."""

    TITLE = ""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = self.TITLE
        self.plain = ""
        self._shown: Text | RenderableType | None = None
        self._body = _Body("", classes="body")

    def compose(self) -> ComposeResult:
        yield self._body

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        """Textual lays the screen out again, a frame later, when a layout changed a widget's
        virtual size; the layout that changed it has placed all already (a scroll bar shown
        or hidden lays out on its own), so a pane whose text grew or shrank spares it."""
        return super()._size_updated(size, virtual_size, container_size, layout=False)

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
