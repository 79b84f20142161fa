"""`x`: the stacked filters, one per line; Enter or Delete removes the highlighted one."""

from __future__ import annotations

from textual.binding import Binding

from nsim.tui.prompt import Answer, Choices
from nsim.tui.view import Filter


class FiltersList(Choices):
    """Answers the filter to remove, or None."""

    BINDINGS = [Binding("escape,q,x", "close", "close"),
                Binding("delete,d", "remove", "remove")]
    DEFAULT_CSS = "FiltersList { width: 80%; max-width: 90; height: auto; max-height: 80%; }"

    def __init__(self) -> None:
        super().__init__(id="filters")

    def show(self, filters: list[Filter], title: str, hint: str, answer: Answer) -> None:
        """Offer `filters`, numbered."""
        self.offer([f"{n}  {f}" for n, f in enumerate(filters, 1)], filters, title, hint, answer)

    def action_remove(self) -> None:
        if self.highlighted is not None:
            self._close(self.values[self.highlighted])
