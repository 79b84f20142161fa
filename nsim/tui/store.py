"""Records of a large input kept compact: sealed chunks are pickled and compressed.

Per record the store keeps small columns (time, host, owning instance, request id, level,
logger, flags) for filtering and jumping, and indexes of them built as records come (the
records of each instance and request, the latest stamp so far, the counts per second), so
that a filter or a jump costs what it finds, not what the log holds; the full `Record` is
rebuilt from its chunk on demand, with a few recently used chunks kept decoded. Search runs
over a compressed text of each chunk, so it does not rebuild records.
"""

from __future__ import annotations

import bisect
import math
import pickle
import re
import sys
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from typing import TypeVar

from nsim.logs.attribution import Attribution
from nsim.logs.record import Record
from nsim.tui.histogram import TimeCounts

# Records per sealed chunk, and decoded chunks kept in memory.
CHUNK = 1024
_DECODED = 8
# Flag bits per record.
ERROR = 1
VIOLATION = 2
MARK = 4
_NO_TIME = float("nan")
OTHER_LOGGER = 255
"""The logger code shared by every logger past the 254th (their names are kept apart)."""
T = TypeVar("T")
RANKS = {"DEBUG": 1, "INFO": 2, "AUDIT": 2, "WARNING": 3, "ERROR": 4, "TRACE": 4, "CRITICAL": 5}
"""Severity of each level (0: none); a level filter keeps records of at least its rank."""


Steps = Generator[float | None, None, T]
"""Work done a part at a time: it yields after each part (the share done, when known), and
returns its answer."""


def finish(steps: Steps[T]) -> T:
    """The answer of `steps`, all done at once."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


_EPOCH = datetime(1970, 1, 1)


def epoch(stamp: datetime) -> float:
    """Seconds since the epoch of a record's naive (UTC) stamp (what its `timestamp()` as UTC
    gives, without making an aware copy first)."""
    return (stamp - _EPOCH).total_seconds()


def search_text(rec: Record) -> str:
    """What `/` searches in one record: the columns the log pane shows and the traceback, on
    one line."""
    parts = (rec.host or "", rec.level or "", rec.logger or "", rec.request_id or "",
             rec.instance or "", rec.message, *rec.traceback)
    return " ".join(parts).replace("\n", " ")


def _joined(texts: list[str]) -> tuple[str, array[int]]:
    """Records' search texts as one text, a line each, and where each record starts."""
    offsets = array("l", [0])
    for t in texts[:-1]:
        offsets.append(offsets[-1] + len(t) + 1)
    return "\n".join(texts), offsets


def _hits(pattern: re.Pattern[str], text: str, offsets: array[int], lo: int,
          hi: int) -> Iterator[int]:
    """The records lo..hi-1 of a chunk's joined search text (records at `offsets`, one per
    line) that `pattern` matches within themselves: a match that runs on into the next record
    does not count for either, its first record is searched alone."""
    end = offsets[hi] - 1 if hi < len(offsets) else len(text)
    while lo < hi:
        match = pattern.search(text, offsets[lo], end)
        if match is None:
            return
        i = bisect.bisect_right(offsets, match.start()) - 1
        stop = offsets[i + 1] - 1 if i + 1 < len(offsets) else len(text)
        if match.end() <= stop or pattern.search(text, offsets[i], stop) is not None:
            yield i
        lo = i + 1


class _Chunk:
    """One sealed chunk: the pickled records and their search text, both compressed."""

    __slots__ = ("offsets", "records", "text")

    def __init__(self, records: list[Record]) -> None:
        text, self.offsets = _joined([search_text(r) for r in records])
        self.text = zlib.compress(text.encode("utf-8"), 1)
        self.records = zlib.compress(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL), 1)


class RecordStore:
    """An append-only sequence of records (one writer thread, any number of readers)."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self.chunk = chunk
        self.times = array("d")
        """Seconds since the epoch of each record (naive stamps read as UTC), NaN when unknown."""
        self.hosts: list[str] = []
        self.host_names: set[str] = set()
        self.latest = array("d")
        """The latest stamp of the records up to each one (-inf before the first stamp)."""
        self.counts = TimeCounts()
        self.owners: list[str | None] = []
        """The instance each record belongs to (nsim.logs.attribution)."""
        self.requests: list[str | None] = []
        self.by_owner: dict[str, array[int]] = {}
        """The records of each instance of `owners`, in order (the instances in the order
        they first own a record)."""
        self.by_request: dict[str, array[int]] = {}
        """The records of each request id, in order."""
        self.ranks = bytearray()
        """The `RANKS` of each record's level."""
        self.logger_codes = bytearray()
        """Each record's logger, as an index in `logger_names` (0: none)."""
        self.logger_names: list[str | None] = [None]
        self._other_loggers: dict[int, str] = {}
        """The logger of each record coded `OTHER_LOGGER`."""
        self.flags = bytearray()
        self._sealed: list[_Chunk] = []
        self._open: list[Record] = []
        self._decoded: OrderedDict[int, list[Record]] = OrderedDict()
        self._lock = threading.Lock()
        self._attribution = Attribution()
        self._logger_codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.flags)

    def append(self, rec: Record, host: str) -> int:
        """Add a record; returns its index."""
        named = self._attribution.observe(rec)
        owner = sys.intern(named) if named else None
        req = sys.intern(rec.request_id) if rec.request_id is not None else None
        stamp = epoch(rec.timestamp) if rec.timestamp is not None else _NO_TIME
        error = rec.level in ("ERROR", "CRITICAL") or bool(rec.traceback)
        index = len(self.flags)
        with self._lock:
            self.times.append(stamp)
            before = self.latest[-1] if self.latest else -math.inf
            self.latest.append(stamp if stamp > before else before)  # NaN: not later
            self.counts.add(stamp, error)
            self.hosts.append(sys.intern(host))
            self.host_names.add(host)
            self.owners.append(owner)
            self.requests.append(req)
            for table, key in ((self.by_owner, owner), (self.by_request, req)):
                if key is not None:
                    rows = table.get(key)
                    if rows is None:
                        rows = table[key] = array("l")
                    rows.append(index)
            self.ranks.append(RANKS.get(rec.level or "", 0))
            self.logger_codes.append(self._logger_code(rec.logger, index))
            self._open.append(rec)
            self.flags.append(ERROR if error else 0)
            if len(self._open) >= self.chunk:
                self._seal()
        return index

    def _logger_code(self, name: str | None, index: int) -> int:
        """The code of logger `name` (a new one for a new name) for record `index`."""
        if not name:
            return 0
        code = self._logger_codes.get(name)
        if code is None:
            if len(self.logger_names) < OTHER_LOGGER:
                code = self._logger_codes[name] = len(self.logger_names)
                self.logger_names.append(sys.intern(name))
            else:
                code = OTHER_LOGGER
        if code == OTHER_LOGGER:
            self._other_loggers[index] = sys.intern(name)
        return code

    def logger_mask(self, keep: Callable[[str], bool], start: int, stop: int) -> bytearray:
        """A byte per record of start..stop-1: 1 when its logger is one `keep` holds for."""
        names = self.logger_names[:OTHER_LOGGER]
        table = bytes(c < len(names) and (name := names[c]) is not None and keep(name)
                      for c in range(256))
        mask = self.logger_codes[start:stop].translate(table)
        for index, name in list(self._other_loggers.items()):
            if start <= index < stop and keep(name):
                mask[index - start] = 1
        return mask

    def _seal(self) -> None:
        self._sealed.append(_Chunk(self._open))
        self._open = []

    def mark(self, index: int, flag: int) -> None:
        self.flags[index] |= flag

    def _chunk_records(self, n: int) -> list[Record]:
        cached = self._decoded.get(n)
        if cached is not None:
            self._decoded.move_to_end(n)
            return cached
        records: list[Record] = pickle.loads(zlib.decompress(self._sealed[n].records))
        self._decoded[n] = records
        if len(self._decoded) > _DECODED:
            self._decoded.popitem(last=False)
        return records

    def get(self, index: int) -> Record:
        n, k = divmod(index, self.chunk)
        with self._lock:
            if n < len(self._sealed):
                return self._chunk_records(n)[k]
            return self._open[k]

    def range(self, start: int, stop: int) -> Iterator[Record]:
        """Records start..stop-1, in order."""
        for i in range(start, stop):
            yield self.get(i)

    def toggle(self, index: int, flag: int) -> None:
        self.flags[index] ^= flag

    def request_owner(self, request: str) -> str | None:
        """The one instance a request's records name, if they name exactly one."""
        return self._attribution.request_instance(request)

    def _texts(self, n: int) -> tuple[str, array[int]]:
        """Chunk `n`'s search text (records joined by newlines) and where each record starts."""
        with self._lock:
            sealed = self._sealed[n] if n < len(self._sealed) else None
            texts = None if sealed else [search_text(r) for r in self._open]
        if sealed is not None:
            return zlib.decompress(sealed.text).decode("utf-8"), sealed.offsets
        assert texts is not None
        return _joined(texts)

    def search(self, pattern: re.Pattern[str], start: int, forward: bool = True,
               until: int | None = None) -> int | None:
        """The first record from `start` (inclusive, in the given direction) that `pattern`
        matches; with `until`, the chunks past the one of record `until` are not searched."""
        return finish(self.searching(pattern, start, forward, until))

    def searching(self, pattern: re.Pattern[str], start: int, forward: bool = True,
                  until: int | None = None) -> Steps[int | None]:
        """`search`, a chunk at a time (it yields after each)."""
        size = len(self)
        if not 0 <= start < size:
            return None
        n = start // self.chunk
        step = 1 if forward else -1
        while 0 <= n * self.chunk < size:
            hit = self._search_chunk(n, pattern, start, forward)
            if hit is not None:
                return hit
            if until is not None and n == until // self.chunk:
                break
            n += step
            yield None
        return None

    def _search_chunk(self, n: int, pattern: re.Pattern[str], start: int,
                      forward: bool) -> int | None:
        base = n * self.chunk
        text, offsets = self._texts(n)
        local = min(max(start - base, 0), len(offsets) - 1)
        if forward:
            hit = next(_hits(pattern, text, offsets, local, len(offsets)), None)
        else:
            hit = next(reversed(list(_hits(pattern, text, offsets, 0, local + 1))), None)
        return None if hit is None else base + hit

    def matching(self, pattern: re.Pattern[str], start: int, stop: int) -> set[int]:
        """The records in start..stop-1 that `pattern` matches."""
        hits: set[int] = set()
        for n in range(start // self.chunk, (stop - 1) // self.chunk + 1 if stop > start else 0):
            base = n * self.chunk
            text, offsets = self._texts(n)
            lo, hi = max(start - base, 0), min(stop - base, len(offsets))
            hits.update(base + i for i in _hits(pattern, text, offsets, lo, hi))
        return hits
