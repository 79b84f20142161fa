"""`i`: records and errors over time, one row per time bucket (lnav's histogram); Enter on a
row goes to its first record."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from textual.binding import Binding

from nsim.tui.prompt import Answer, Choices

# Bucket widths in seconds, the smallest that keeps the rows under MAX_ROWS is used.
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
         7 * 86400, 30 * 86400, 365 * 86400)
MAX_ROWS = 240
BAR = 40


FINE_SPAN = 31 * MAX_ROWS
"""Seconds of log past which no bucket under a minute is ever used (the counts per second
are then let go)."""


@dataclass(frozen=True)
class Bucket:
    start: float
    """Epoch seconds of the bucket's start (stamps read as UTC, as the store keeps them)."""
    records: int
    errors: int


class TimeCounts:
    """Records and errors per second and per minute of their stamps, counted as records are
    indexed, so that the histogram costs what its rows do, not what the log holds. The
    counts per second go once the log spans more than `fine_span` seconds."""

    def __init__(self, fine_span: int = FINE_SPAN) -> None:
        self.fine_span = fine_span
        self.first: int | None = None
        self.last: int | None = None
        self.seconds: tuple[dict[int, int], dict[int, int]] | None = ({}, {})
        """Records, and errors, per second (None once let go)."""
        self.minutes: tuple[dict[int, int], dict[int, int]] = ({}, {})

    def add(self, stamp: float, error: bool) -> None:
        """Count a record stamped `stamp` (epoch seconds; NaN: unstamped, not counted)."""
        if math.isnan(stamp):
            return
        second = math.floor(stamp)
        if self.first is None or self.last is None:
            self.first = self.last = second
        else:
            self.first, self.last = min(self.first, second), max(self.last, second)
        if self.seconds is not None and self.last - self.first > self.fine_span:
            self.seconds = None
        for key, tables in ((second, self.seconds), (second // 60, self.minutes)):
            if tables is None:
                continue
            records, errors = tables
            records[key] = records.get(key, 0) + 1
            if error:
                errors[key] = errors.get(key, 0) + 1


def buckets(counts: TimeCounts, max_rows: int = MAX_ROWS) -> tuple[int, list[Bucket]]:
    """The bucket width and every bucket from the first stamped record's to the last's
    (empty ones included, so quiet gaps show); records without a stamp are left out."""
    first, last = counts.first, counts.last
    if first is None or last is None:
        return STEPS[0], []
    step = next((s for s in STEPS if (last // s - first // s) < max_rows), STEPS[-1])
    base = first // step
    found = [[0, 0] for _ in range(last // step - base + 1)]
    # Every step of a minute or more is whole minutes; every shorter one divides a minute.
    unit, tables = (60, counts.minutes) if step % 60 == 0 else (1, counts.seconds)
    assert tables is not None, "a bucket under a minute over a log that spans hours"
    for column, table in enumerate(tables):
        for key, n in list(table.items()):
            found[key // (step // unit) - base][column] += n
    return step, [Bucket(float((base + i) * step), n, e) for i, (n, e) in enumerate(found)]


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


class Histogram(Choices):
    """`i`: the buckets; Enter answers the start of the highlighted one (epoch seconds)."""

    BINDINGS = [Binding("escape,q,i", "close", "close")]
    DEFAULT_CSS = "Histogram { width: 90%; max-width: 100; height: 90%; }"

    def __init__(self) -> None:
        super().__init__(id="histogram")

    def show(self, counts: TimeCounts, title: str, hint: str, answer: Answer) -> None:
        """Count the buckets of `counts` and offer them."""
        step, found = buckets(counts)
        self.offer(rows(step, found), [b.start for b in found], f"{title} ({step} s)", hint,
                   answer)
