"""The status line (position, play state, filter, indexing progress), the keys, and `?` help."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

# Every key, in the order `?` lists them; (keys, what they do).
KEYS: tuple[tuple[str, str], ...] = (
    ("j  ↓", "step forward one record"),
    ("k  ↑", "step back one record (the panes show the model exactly at that record)"),
    ("PgDn  PgUp", "page forward / back"),
    ("Home  End", "first / last record"),
    ("space", "play / pause"),
    ("+  -", "play speed: one record per tick, or the log's own time x1 to x100 "
             "(long quiet gaps are cut short)"),
    ("e  E", "next / previous violation or ERROR"),
    ("/", "search; n / N next / previous match"),
    ("f", "filter by instance uuid or request id (prefix; empty clears)"),
    ("i  r", "filter by this record's instance / request (again: clear)"),
    ("Esc", "clear the filter"),
    ("t", "go to a time (HH:MM[:SS] or YYYY-MM-DD HH:MM[:SS])"),
    ("→  ←", "lesson: next / previous step (nsim teach)"),
    ("?", "this help"),
    ("q", "quit"),
)


class StatusBar(Horizontal):
    """One line: where the cursor is and what plays, and the indexing progress."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    StatusBar > #status { width: 1fr; }
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
        self.text.update(text)
        bar = self.bar
        bar.display = not done
        if progress is not None:
            bar.update(total=100, progress=round(100 * progress))


class HelpScreen(ModalScreen[None]):
    """All keys."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; height: auto; max-height: 90%;
                                  border: round $accent; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold yellow", no_wrap=True)
        table.add_column()
        for keys, what in KEYS:
            table.add_row(keys, what)
        with VerticalScroll() as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc closes"
            yield Static(table)
