"""The status line (position, play state, filters, indexing progress), and `?` help."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, ProgressBar, Static


class StatusBar(Horizontal):
    """One line: where the cursor is and what plays, and the indexing progress."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    StatusBar > #status { width: 1fr; height: 1; }
    StatusBar > ProgressBar { width: 40; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.text = Static("", id="status")
        self.bar = ProgressBar(total=None, show_eta=False, id="indexing")

    def compose(self) -> ComposeResult:
        yield self.text
        yield self.bar

    def show(self, text: Text, progress: float | None, done: bool) -> None:
        self.text.update(text, layout=False)  # a row whatever it says: nothing moves
        bar = self.bar
        bar.display = not done
        if progress is not None:
            bar.update(total=100, progress=round(100 * progress))


class KeysFooter(Footer):
    """Textual's footer, rebuilt only when the keys it shows change: Textual rebuilds it (a
    widget per key, 20-40 ms) each time its screen's bindings may have changed, as when the
    focus moves. A question over the panes (nsim.tui.prompt, modal) leaves the app's keys
    shown beneath it, as they were under a screen pushed over the panes."""

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[str, str, str, bool, str]] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            focused = screen.focused
            if focused is not None and any(node.is_modal for node in focused.ancestors_with_self):
                return
            keys = [(b.key, b.action, b.description, enabled, tooltip)
                    for _, b, enabled, tooltip in screen.active_bindings.values() if b.show]
            if keys == self._keys:
                return
            self._keys = keys
        super().bindings_changed(screen)


def key_names(binding: Binding) -> str:
    """The keys of a binding as the help lists them: its display, else its keys."""
    if binding.key_display:
        return binding.key_display
    return "  ".join(_KEY_NAMES.get(k, k) for k in binding.key.split(","))


_KEY_NAMES = {"down": "↓", "up": "↑", "left": "←", "right": "→", "pagedown": "PgDn",
              "pageup": "PgUp", "home": "Home", "end": "End", "space": "space",
              "slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter",
              "plus": "+", "equals_sign": "=", "minus": "-", "less_than_sign": "<",
              "greater_than_sign": ">", "ctrl+w": "^W", "tab": "Tab"}


class HelpScreen(ModalScreen[None]):
    """Every key of the app, read from its bindings: the keys, and what they do."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, bindings: list[Binding], title: str = "Keys",
                 hint: str = "Esc closes") -> None:
        super().__init__()
        self.bindings = bindings
        self.title = title
        self.hint = hint

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold yellow", no_wrap=True)
        table.add_column()
        for binding in self.bindings:
            table.add_row(key_names(binding), binding.tooltip or binding.description)
        with VerticalScroll() as box:
            box.border_title = self.title
            box.border_subtitle = self.hint
            yield Static(table)
