"""What the log pane walks through: all records or those of one instance or request, and a cursor.

Positions are places in the view; indexes are places in the record store. The view keeps
up with records indexed after a filter was set.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from nsim.tui.store import ERROR, VIOLATION, RecordStore, epoch

FilterKind = Literal["instance", "request"]


@dataclass(frozen=True)
class Filter:
    kind: FilterKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class View:
    """A cursor over the records, optionally restricted to one instance or request."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.filter: Filter | None = None
        self._indices: list[int] = []
        self._scanned = 0
        self.pos = 0

    def __len__(self) -> int:
        return len(self.store) if self.filter is None else len(self._indices)

    def catch_up(self) -> None:
        """Take in records indexed since the last call."""
        if self.filter is None:
            return
        column = self.store.owners if self.filter.kind == "instance" else self.store.requests
        value, end = self.filter.value, len(self.store)
        self._indices.extend(i for i in range(self._scanned, end) if column[i] == value)
        self._scanned = end

    def index_at(self, pos: int) -> int | None:
        """The record index at view position `pos`, or None outside the view."""
        if not 0 <= pos < len(self):
            return None
        return pos if self.filter is None else self._indices[pos]

    @property
    def current(self) -> int | None:
        return self.index_at(self.pos)

    def position_of(self, index: int) -> int:
        """The view position of the first record at or after `index` (the last one if none is)."""
        pos = index if self.filter is None else bisect.bisect_left(self._indices, index)
        return max(0, min(pos, len(self) - 1))

    # -- moving ---------------------------------------------------------------------------
    def move(self, delta: int) -> None:
        self.pos = max(0, min(self.pos + delta, len(self) - 1))

    def home(self) -> None:
        self.pos = 0

    def end(self) -> None:
        self.pos = max(0, len(self) - 1)

    def go_to(self, index: int) -> None:
        self.pos = self.position_of(index)

    def next_flagged(self, forward: bool) -> int | None:
        """Move to the next (or previous) record with a violation or an ERROR; its index or None."""
        step = 1 if forward else -1
        pos = self.pos + step
        flags = self.store.flags
        while 0 <= pos < len(self):
            index = self.index_at(pos)
            assert index is not None
            if flags[index] & (ERROR | VIOLATION):
                self.pos = pos
                return index
            pos += step
        return None

    def go_to_time(self, when: float) -> int | None:
        """Move to the first record stamped at or after `when` (epoch seconds); its index or None."""
        times = self.store.times
        for pos in range(len(self)):
            index = self.index_at(pos)
            assert index is not None
            if not math.isnan(times[index]) and times[index] >= when:
                self.pos = pos
                return index
        return None

    def search(self, term: str, forward: bool) -> int | None:
        """Move to the next (or previous) record containing `term`; its index or None."""
        start = self.current
        if start is None:
            return None
        probe = start + (1 if forward else -1)
        while (hit := self.store.search(term, probe, forward)) is not None:
            if self.contains(hit):
                self.go_to(hit)
                return hit
            probe = hit + (1 if forward else -1)
        return None

    def contains(self, index: int) -> bool:
        """Whether record `index` is in the view."""
        if self.filter is None:
            return 0 <= index < len(self.store)
        pos = bisect.bisect_left(self._indices, index)
        return pos < len(self._indices) and self._indices[pos] == index

    # -- filtering ------------------------------------------------------------------------
    def resolve(self, kind: FilterKind, prefix: str) -> str | None:
        """The full instance uuid or request id that `prefix` starts, among indexed records."""
        column = self.store.owners if kind == "instance" else self.store.requests
        for value in column:
            if value is not None and value.startswith(prefix):
                return value
        return None

    def set_filter(self, new: Filter | None) -> None:
        """Show only the records of `new` (None: all), keeping the cursor near its record."""
        current = self.current
        self.filter = new
        self._indices = []
        self._scanned = 0
        self.catch_up()
        self.pos = 0 if current is None else self.position_of(current)


_TIME_FORMATS = ("%H:%M:%S.%f", "%H:%M:%S", "%H:%M")


def parse_when(text: str, reference: datetime | None) -> float | None:
    """Epoch seconds of "YYYY-MM-DD HH:MM[:SS[.f]]" or, on `reference`'s day, "HH:MM[:SS[.f]]"."""
    text = text.strip()
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _TIME_FORMATS:
            try:
                clock = datetime.strptime(text, fmt).time()
            except ValueError:
                continue
            day = (reference or datetime(1970, 1, 1)).date()
            stamp = datetime.combine(day, clock)
            break
        else:
            return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return epoch(stamp)
