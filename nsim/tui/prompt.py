"""The questions the app asks over its panes: a line at the bottom (search, filter, go to
time) and lists to choose from (the histogram, the filters in force).

They are widgets of the app's own screen, hidden until asked, not screens pushed over it:
a screen pushed and popped had Textual draw the whole screen behind it at each (with the
tint of a modal's background) and lay out its widgets anew, 30-160 ms of the key that
closed it on a 120x36 terminal; a widget shown and hidden redraws its own region only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList

Answer = Callable[[Any], None]
"""Called with what the question got: the text, the chosen row's value, or None (Esc)."""

# Textual reads a widget's CSS, component classes and bindings down its first base only:
# the mixin comes first (its `is_modal` wins), a widget class after it.
_Mixin = Widget if TYPE_CHECKING else object


class Asking(_Mixin):
    """A question over the panes (mixed into a widget): shown with the focus until answered,
    then hidden and the focus back where it was. While it asks, the app's keys wait (it is
    modal, as a screen pushed over the panes was); the focus going elsewhere (a click on the
    log) is an Esc."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._answer: Answer | None = None
        self._back: Widget | None = None

    @property
    def is_modal(self) -> bool:
        """Bindings are looked up from the focus up to here only (Textual's modal chain)."""
        return True

    @property
    def asking(self) -> bool:
        return self._answer is not None

    def _open(self, answer: Answer, focus: Widget) -> None:
        """Show the question, `focus` taking the keys; `answer` gets what it is answered."""
        self._back = self.screen.focused
        self._answer = answer
        self.display = True
        self.screen.set_focus(focus)

    def _close(self, value: object) -> None:
        """Hide the question, give the focus back, answer `value`."""
        answer, self._answer = self._answer, None
        if answer is None:
            return
        self.screen.set_focus(self._back)
        self.display = False
        answer(value)

    def _focus_left(self) -> None:
        focused = self.screen.focused
        if self.asking and focused is not None and self not in focused.ancestors_with_self:
            self._close(None)


class Prompt(Asking, Horizontal):
    """One line at the bottom; Enter answers it, Esc answers None."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    Prompt { layer: ask; dock: bottom; height: 3; background: $panel; padding: 0 1;
             display: none; }
    Prompt Label { padding: 1 1 0 0; }
    Prompt Input { width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="prompt")
        self.question = Label("")
        self.field = Input()

    def compose(self) -> ComposeResult:
        yield self.question
        yield self.field

    def ask(self, question: str, answer: Callable[[str | None], None], value: str = "") -> None:
        """Ask `question`, `value` offered (the cursor after it)."""
        self.question.update(question)
        self.field.value = value
        self.field.cursor_position = len(value)
        self._open(answer, self.field)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close(event.value)

    def action_cancel(self) -> None:
        self._close(None)

    def on_descendant_blur(self, _: events.DescendantBlur) -> None:
        self._focus_left()


class Choices(Asking, OptionList):
    """Rows to choose from, centred over the panes; Enter answers the highlighted row's
    value, the closing keys (a subclass's bindings to `close`) answer None."""

    DEFAULT_CSS = "Choices { layer: ask; display: none; border: round $accent; }"

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values: list[Any] = []

    def offer(self, rows: Sequence[str], values: Sequence[Any], title: str, hint: str,
              answer: Answer) -> None:
        """Show `rows`, the first highlighted; choosing one answers its item of `values`."""
        self.set_options(rows)
        self.values = list(values)
        self.border_title, self.border_subtitle = title, hint
        self.highlighted = 0 if rows else None
        self.scroll_home(animate=False)
        self._open(answer, self)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._close(self.values[event.option_index])

    def action_close(self) -> None:
        self._close(None)

    def on_blur(self, _: events.Blur) -> None:
        self._focus_left()
