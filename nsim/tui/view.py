"""What the log pane walks through: the records the filters keep, and a cursor.

Positions are places in the view; indexes are places in the record store. Filters stack as
lnav's do: a record is shown when, for each kind that has "in" filters, one of them keeps it,
and no "out" filter matches it. The view keeps up with records indexed after a filter was set.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from nsim.tui.store import ERROR, MARK, RANKS, VIOLATION, RecordStore, epoch

_ID_PREFIX = re.compile(r"[0-9a-f-]{4,36}")
FilterKind = Literal["text", "level", "logger", "instance", "request"]
KINDS: tuple[FilterKind, ...] = get_args(FilterKind)


class FilterError(ValueError):
    """A filter or search that cannot be used (a bad regex, an unknown level or instance)."""


def compile_pattern(text: str) -> re.Pattern[str]:
    """`text` as a regex, case-insensitive unless it has a capital letter (lnav's smart case)."""
    try:
        return re.compile(text, 0 if any(c.isupper() for c in text) else re.IGNORECASE)
    except re.error as exc:
        raise FilterError(f"not a regular expression: {text!r} ({exc})") from None


@dataclass(frozen=True)
class Filter:
    """Keep (or, `out`, hide) records: `text` a regex over the row, `level` at least that level
    (out: exactly it), `logger` that logger or its children, `instance`/`request` that id."""

    kind: FilterKind
    value: str
    out: bool = False
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        value = {"instance": self.value[:8], "request": short_request(self.value)}.get(
            self.kind, self.value)
        return f"{'-' if self.out else '+'}{self.kind} {value}"


def short_request(request: str) -> str:
    """A request id as rows and filters show it: its first 8 characters after `req-`."""
    return request.removeprefix("req-")[:8]


def parse_filter(text: str, store: RecordStore) -> Filter:
    """A filter from `[!|-]KIND VALUE` (KIND: text, level, logger, instance, request); with no
    kind, `req-…` is a request, the prefix of an indexed instance that instance, else a regex."""
    text = text.strip()
    out = text[:1] in ("!", "-")
    text = text[1:].strip() if out else text.removeprefix("+").strip()
    head, _, rest = text.partition(" ")
    kind: FilterKind
    if head in KINDS and rest.strip():
        kind, value = head, rest.strip()  # type: ignore[assignment]
    elif text.startswith("req-"):
        kind, value = "request", text
    elif _ID_PREFIX.fullmatch(text) and (full := resolve(store, "instance", text)) is not None:
        return Filter("instance", full, out)
    else:
        kind, value = "text", text
    if not value:
        raise FilterError("an empty filter")
    if kind == "text":
        return Filter("text", value, out, compile_pattern(value))
    if kind == "level":
        value = value.upper()
        if value not in RANKS:
            raise FilterError(f"no level {value!r}; levels: {', '.join(RANKS)}")
        return Filter("level", value, out)
    if kind in ("instance", "request"):
        full = resolve(store, kind, value)
        if full is None:
            raise FilterError(f"no {kind} starts with {value!r}")
        return Filter(kind, full, out)
    return Filter(kind, value, out)


def resolve(store: RecordStore, kind: Literal["instance", "request"], prefix: str) -> str | None:
    """The full instance uuid or request id that `prefix` starts, among indexed records."""
    column = store.owners if kind == "instance" else store.requests
    for value in column:
        if value is not None and value.startswith(prefix):
            return value
    return None


def _find_flag(flags: bytearray, mask: int, start: int, stop: int, forward: bool) -> int | None:
    """The first index from `start` (going up, or down when not `forward`) below `stop` whose
    flags have a bit of `mask`."""
    if not 0 <= start < stop:
        return None
    values = [bytes([v]) for v in range((ERROR | VIOLATION | MARK) + 1) if v & mask]
    hits = [flags.find(v, start, stop) if forward else flags.rfind(v, 0, start + 1) for v in values]
    found = [h for h in hits if h >= 0]
    if not found:
        return None
    return min(found) if forward else max(found)


class View:
    """A cursor over the records the stacked filters keep."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.filters: list[Filter] = []
        self._indices: list[int] = []
        self._scanned = 0
        self.pos = 0

    def __len__(self) -> int:
        return len(self._indices) if self.filters else len(self.store)

    def catch_up(self) -> None:
        """Take in records indexed since the last call."""
        if not self.filters:
            return
        end = len(self.store)
        self._indices.extend(self._kept(self._scanned, end))
        self._scanned = end

    def _kept(self, start: int, stop: int) -> list[int]:
        """The records in start..stop-1 the filters keep."""
        store = self.store
        texts = {f: store.matching(f.pattern, start, stop) for f in self.filters
                 if f.pattern is not None}

        def hit(f: Filter, i: int) -> bool:
            if f.kind == "text":
                return i in texts[f]
            if f.kind == "level":
                rank = RANKS[f.value]
                return store.ranks[i] == rank if f.out else store.ranks[i] >= rank
            if f.kind == "logger":
                name = store.loggers[i]
                return name is not None and (name == f.value or name.startswith(f.value + "."))
            if f.kind == "request":
                return store.requests[i] == f.value
            owner = store.owners[i]
            request = store.requests[i]
            return owner == f.value or (owner is None and request is not None
                                        and store.request_owner(request) == f.value)

        ins: dict[FilterKind, list[Filter]] = {}
        for f in self.filters:
            if not f.out:
                ins.setdefault(f.kind, []).append(f)
        outs = [f for f in self.filters if f.out]
        return [i for i in range(start, stop)
                if all(any(hit(f, i) for f in group) for group in ins.values())
                and not any(hit(f, i) for f in outs)]

    def index_at(self, pos: int) -> int | None:
        """The record index at view position `pos`, or None outside the view."""
        if not 0 <= pos < len(self):
            return None
        return self._indices[pos] if self.filters else pos

    @property
    def current(self) -> int | None:
        return self.index_at(self.pos)

    def position_of(self, index: int) -> int:
        """The view position of the first record at or after `index` (the last one if none is)."""
        pos = bisect.bisect_left(self._indices, index) if self.filters else index
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

    def next_flagged(self, forward: bool, mask: int = ERROR | VIOLATION) -> int | None:
        """Move to the next (or previous) record with a flag of `mask`; its index or None."""
        step = 1 if forward else -1
        pos = self.pos + step
        flags = self.store.flags
        if not self.filters:  # positions are indexes: scan the flags in C
            found = _find_flag(flags, mask, pos, len(self), forward)
            if found is not None:
                self.pos = found
            return found
        while 0 <= pos < len(self):
            index = self.index_at(pos)
            assert index is not None
            if flags[index] & mask:
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

    def search(self, pattern: re.Pattern[str], forward: bool) -> tuple[int, bool] | None:
        """Move to the next (or previous) record `pattern` matches, from the other end when
        none is left in that direction; its index and whether the search wrapped, or None."""
        start = self.current
        if start is None:
            return None
        step = 1 if forward else -1
        for probe, wrapped in ((start + step, False), (0 if forward else len(self.store) - 1, True)):
            while (hit := self.store.search(pattern, probe, forward)) is not None:
                if wrapped and (hit > start if forward else hit < start):
                    break
                if self.contains(hit):
                    self.go_to(hit)
                    return hit, wrapped
                probe = hit + step
        return None

    def contains(self, index: int) -> bool:
        """Whether record `index` is in the view."""
        if not self.filters:
            return 0 <= index < len(self.store)
        pos = bisect.bisect_left(self._indices, index)
        return pos < len(self._indices) and self._indices[pos] == index

    # -- filtering ------------------------------------------------------------------------
    def set_filters(self, filters: list[Filter]) -> None:
        """Show only the records `filters` keep (none: all), keeping the cursor near its record."""
        current = self.current
        self.filters = list(filters)
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
