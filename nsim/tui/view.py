"""What the log pane walks through: the records the filters keep, and a cursor.

Positions are places in the view; indexes are places in the record store. Filters stack as
lnav's do: a record is shown when, for each kind that has "in" filters, one of them keeps it,
and no "out" filter matches it. The view keeps up with records indexed after a filter was set.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

from nsim.tui.store import ERROR, MARK, RANKS, VIOLATION, RecordStore, Steps, epoch, finish

_ID_PREFIX = re.compile(r"[0-9a-f-]{4,36}")
FilterKind = Literal["text", "level", "logger", "instance", "request"]
KINDS: tuple[FilterKind, ...] = get_args(FilterKind)


SLICE = 2048
"""Records a filter looks at first in one go (then more while that is quick, fewer while
it is slow)."""
SLICE_SECONDS = 0.005
"""A slice of filtering or searching should take about this long."""


class FilterError(ValueError):
    """A filter or search that cannot be used (a bad regex, an unknown level or instance)."""


def compile_pattern(text: str) -> re.Pattern[str]:
    """`text` as a regex, case-insensitive unless it has a capital letter (lnav's smart case);
    `^` and `$` anchor at each record's (each line's) start and end."""
    flags = re.MULTILINE | (0 if any(c.isupper() for c in text) else re.IGNORECASE)
    try:
        return re.compile(text, flags)
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
    """The full instance uuid or request id that `prefix` starts, among indexed records (the
    first in the records' order)."""
    table = store.by_owner if kind == "instance" else store.by_request
    return next((value for value in list(table) if value.startswith(prefix)), None)


Hits = set[int] | bytes | bytearray
"""The records of a range a filter hits: their indexes (few), or a byte per record of the
range, 1 for a hit (many)."""


def _rows(rows: array[int] | None, start: int, stop: int) -> array[int]:
    """The part of the sorted `rows` in start..stop-1."""
    if rows is None:
        return array("l")
    return rows[bisect.bisect_left(rows, start):bisect.bisect_left(rows, stop)]


def _instance_rows(store: RecordStore, uuid: str, start: int, stop: int) -> set[int]:
    """The records of start..stop-1 an instance owns, and those without an owner of the
    requests tied to it."""
    found = set(_rows(store.by_owner.get(uuid), start, stop))
    owners = store.owners
    for request in list(store.by_request):
        if store.request_owner(request) == uuid:
            found.update(i for i in _rows(store.by_request[request], start, stop)
                         if owners[i] is None)
    return found


def _hits(store: RecordStore, f: Filter, start: int, stop: int) -> Hits:
    """The records of start..stop-1 that `f` hits (an "out" filter: those it hides)."""
    if f.kind == "instance":
        return _instance_rows(store, f.value, start, stop)
    if f.kind == "request":
        return set(_rows(store.by_request.get(f.value), start, stop))
    if f.kind == "text":
        assert f.pattern is not None
        return store.matching(f.pattern, start, stop)
    if f.kind == "level":
        rank = RANKS[f.value]
        table = bytes(r == rank if f.out else r >= rank for r in range(256))
        return store.ranks[start:stop].translate(table)
    return store.logger_mask(lambda name: name == f.value or name.startswith(f.value + "."),
                             start, stop)


def _bits(hits: Hits, start: int, size: int) -> int:
    """`hits` over start..start+size-1 as an int of one byte (0 or 1) per record."""
    if isinstance(hits, set):
        mask = bytearray(size)
        for i in hits:
            mask[i - start] = 1
        hits = mask
    return int.from_bytes(hits, "big")


def _groups(filters: list[Filter]) -> list[list[Filter]]:
    """The "in" filters, by kind."""
    ins: dict[FilterKind, list[Filter]] = {}
    for f in filters:
        if not f.out:
            ins.setdefault(f.kind, []).append(f)
    return list(ins.values())


def _few(group: list[Filter]) -> bool:
    """Whether a kind of "in" filters keeps few records (instances and requests)."""
    return all(f.kind in ("instance", "request") for f in group)


def kept(store: RecordStore, filters: list[Filter], start: int, stop: int) -> array[int]:
    """The records in start..stop-1 that `filters` keep, in order.

    When a kind of "in" filters holds only instances and requests, their few records are
    the candidates, and the other filters are looked at over the candidates' span only;
    else every filter gives a byte per record, and the bytes are combined as big ints.
    """
    groups = _groups(filters)
    outs = [f for f in filters if f.out]
    if start >= stop:
        return array("l")
    few = [g for g in groups if _few(g)]
    if few:
        unions = [set().union(*(_hits(store, f, start, stop) for f in g)) for g in few]
        smallest = min(range(len(few)), key=lambda n: len(unions[n]))
        candidates = sorted(unions[smallest])
        groups.remove(few[smallest])
        if not candidates:
            return array("l")
        start, stop = candidates[0], candidates[-1] + 1
    else:
        candidates = None
    hits = {f: _hits(store, f, start, stop) for g in groups for f in g}
    hits.update((f, _hits(store, f, start, stop)) for f in outs)
    if candidates is not None:
        def hit(f: Filter, i: int) -> bool:
            found = hits[f]
            return i in found if isinstance(found, set) else bool(found[i - start])

        return array("l", (i for i in candidates
                           if all(any(hit(f, i) for f in g) for g in groups)
                           and not any(hit(f, i) for f in outs)))
    size = stop - start
    every = result = int.from_bytes(b"\x01" * size, "big")
    for g in groups:
        any_of = 0
        for f in g:
            any_of |= _bits(hits[f], start, size)
        result &= any_of
    for f in outs:
        result &= every ^ _bits(hits[f], start, size)
    return array("l", itertools.compress(range(start, stop), result.to_bytes(size, "big")))


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
        self._indices = array("l")
        self._scanned = 0
        self.pos = 0

    def __len__(self) -> int:
        return len(self._indices) if self.filters else len(self.store)

    def catch_up(self) -> None:
        """Take in records indexed since the last call."""
        if not self.filters:
            return
        end = len(self.store)
        self._indices.extend(kept(self.store, self.filters, self._scanned, end))
        self._scanned = end

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
        pos = self.pos + (1 if forward else -1)
        flags = self.store.flags
        if not self.filters:  # positions are indexes: scan the flags in C
            found = _find_flag(flags, mask, pos, len(self), forward)
            if found is not None:
                self.pos = found
            return found
        # The flags of the view's records, a block at a time (twice as long each time).
        block = 256
        while 0 <= pos < len(self):
            lo, hi = (pos, min(len(self), pos + block)) if forward else (max(0, pos - block + 1), pos + 1)
            seen = bytearray(map(flags.__getitem__, self._indices[lo:hi]))
            found = _find_flag(seen, mask, 0 if forward else hi - lo - 1, hi - lo, forward)
            if found is not None:
                self.pos = lo + found
                return self._indices[self.pos]
            pos = hi if forward else lo - 1
            block *= 2
        return None

    def go_to_time(self, when: float) -> int | None:
        """Move to the first record stamped at or after `when` (epoch seconds); its index or None."""
        store = self.store
        # Before it, no record is stamped at or after `when`: the latest stamp so far is earlier.
        first = bisect.bisect_left(store.latest, when, 0, len(store))
        if not self.filters:
            if first >= len(self):
                return None
            self.pos = first
            return first
        times = store.times
        for pos in range(bisect.bisect_left(self._indices, first), len(self)):
            index = self._indices[pos]
            if times[index] >= when:
                self.pos = pos
                return index
        return None

    def search(self, pattern: re.Pattern[str], forward: bool) -> tuple[int, bool] | None:
        """Move to the next (or previous) record `pattern` matches, from the other end when
        none is left in that direction; its index and whether the search wrapped, or None."""
        return finish(self.searching(pattern, forward))

    def searching(self, pattern: re.Pattern[str], forward: bool) -> Steps[tuple[int, bool] | None]:
        """`search`, a chunk of the store at a time (from the cursor where it was asked)."""
        start = self.current
        if start is None:
            return None
        step = 1 if forward else -1
        for probe, wrapped in ((start + step, False), (0 if forward else len(self.store) - 1, True)):
            until = start if wrapped else None  # from the other end: as far as the start
            while (hit := (yield from self.store.searching(pattern, probe, forward, until))) \
                    is not None:
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
        finish(self.filtering(filters))

    def filtering(self, filters: list[Filter]) -> Steps[None]:
        """`set_filters`, a slice of the store at a time (it yields the share done); the view
        stays as it was until the last slice, and the cursor then goes near its record."""
        # Only a text filter over every record takes long: the rest is done in one go.
        slow = any(f.kind == "text" for f in filters) and not any(map(_few, _groups(filters)))
        found, scanned, size = array("l"), 0, SLICE if slow else len(self.store)
        while filters and scanned < len(self.store):
            began = time.perf_counter()
            stop = min(len(self.store), scanned + size)
            found.extend(kept(self.store, filters, scanned, stop))
            scanned = stop
            took = time.perf_counter() - began
            if took < SLICE_SECONDS / 2:  # quick: take more at once
                size *= 2
            elif took > SLICE_SECONDS:
                size = max(self.store.chunk, size // 2)
            yield scanned / len(self.store)
        current = self.current
        self.filters = list(filters)
        self._indices = found
        self._scanned = scanned
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
