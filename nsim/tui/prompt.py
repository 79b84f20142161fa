"""A one-line question at the bottom of the screen (search, filter, go to time)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class Prompt(ModalScreen[str | None]):
    """Asks for one line; Enter answers it, Esc dismisses with None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    Prompt { align: center bottom; background: $background 0%; }
    Prompt > Horizontal { height: 3; dock: bottom; background: $panel; padding: 0 1; }
    Prompt Label { padding: 1 1 0 0; }
    Prompt Input { width: 1fr; }
    """

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.question)
            yield Input(value=self.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
