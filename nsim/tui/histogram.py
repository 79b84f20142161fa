"""`i`: records and errors over time, one row per time bucket (lnav's histogram); Enter on a
row goes to its first record."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList

from nsim.tui.store import ERROR

# Bucket widths in seconds, the smallest that keeps the rows under MAX_ROWS is used.
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
         7 * 86400, 30 * 86400, 365 * 86400)
MAX_ROWS = 240
BAR = 40


@dataclass(frozen=True)
class Bucket:
    start: float
    """Epoch seconds of the bucket's start (stamps read as UTC, as the store keeps them)."""
    records: int
    errors: int


def buckets(times: array[float], flags: bytearray, max_rows: int = MAX_ROWS
            ) -> tuple[int, list[Bucket]]:
    """The bucket width and every bucket from the first stamped record's to the last's
    (empty ones included, so quiet gaps show); records without a stamp are left out."""
    stamped = [(t, f) for t, f in zip(times, flags, strict=True) if not math.isnan(t)]
    if not stamped:
        return STEPS[0], []
    first, last = min(t for t, _ in stamped), max(t for t, _ in stamped)
    step = next((s for s in STEPS if (last // s - first // s) < max_rows), STEPS[-1])
    base = int(first // step)
    counts = [[0, 0] for _ in range(int(last // step) - base + 1)]
    for t, f in stamped:
        row = counts[int(t // step) - base]
        row[0] += 1
        row[1] += bool(f & ERROR)
    return step, [Bucket(float((base + i) * step), n, e) for i, (n, e) in enumerate(counts)]


def rows(step: int, found: list[Bucket]) -> list[str]:
    """One text row per bucket: its start, a bar, the count and the errors in it."""
    most = max((b.records for b in found), default=0) or 1
    days = found and datetime.fromtimestamp(found[0].start, UTC).date() != \
        datetime.fromtimestamp(found[-1].start, UTC).date()
    stamp = "%Y-%m-%d %H:%M:%S" if days else "%H:%M:%S"
    out = []
    for b in found:
        bar = "█" * math.ceil(BAR * b.records / most) if b.records else ""
        errors = f"  {b.errors} error(s)" if b.errors else ""
        out.append(f"{datetime.fromtimestamp(b.start, UTC).strftime(stamp)}  {bar:<{BAR}} "
                   f"{b.records:>6}{errors}")
    return out


class HistogramScreen(ModalScreen[float | None]):
    """Answers the start of the chosen bucket (epoch seconds), or None."""

    BINDINGS = [Binding("escape,q,i", "dismiss(None)", "close")]
    DEFAULT_CSS = """
    HistogramScreen { align: center middle; }
    HistogramScreen > OptionList { width: 90%; max-width: 100; height: 90%;
                                   border: round $accent; }
    """

    def __init__(self, times: array[float], flags: bytearray, title: str, hint: str) -> None:
        super().__init__()
        self.step, self.found = buckets(times, flags)
        self.title = title
        self.hint = hint

    def compose(self) -> ComposeResult:
        options = OptionList(*rows(self.step, self.found))
        options.border_title = f"{self.title} ({self.step} s)"
        options.border_subtitle = self.hint
        yield options

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[event.option_index].start)
