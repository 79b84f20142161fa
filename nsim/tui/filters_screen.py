"""`x`: the stacked filters, one per line; Enter or Delete removes the highlighted one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList

from nsim.tui.view import Filter


class FiltersScreen(ModalScreen[Filter | None]):
    """Answers the filter to remove, or None."""

    BINDINGS = [Binding("escape,q,x", "dismiss(None)", "close"),
                Binding("delete,d", "remove", "remove")]
    DEFAULT_CSS = """
    FiltersScreen { align: center middle; }
    FiltersScreen > OptionList { width: 80%; max-width: 90; height: auto; max-height: 80%;
                                 border: round $accent; }
    """

    def __init__(self, filters: list[Filter], title: str = "Filters",
                 hint: str = "Enter/Del removes · Esc closes") -> None:
        super().__init__()
        self.filters = list(filters)
        self.title = title
        self.hint = hint

    def compose(self) -> ComposeResult:
        options = OptionList(*(f"{n}  {f}" for n, f in enumerate(self.filters, 1)))
        options.border_title = self.title
        options.border_subtitle = self.hint
        yield options

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.filters[event.option_index])

    def action_remove(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None:
            self.dismiss(self.filters[highlighted])
