"""Records of a large input kept compact: sealed chunks are pickled and compressed.

Per record the store keeps small columns (time, host, owning instance, request id, level,
logger, flags) for filtering and jumping; the full `Record` is rebuilt from its chunk on
demand, with a few recently used chunks kept decoded. Search runs over a compressed text of
each chunk, so it does not rebuild records.
"""

from __future__ import annotations

import bisect
import pickle
import re
import sys
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime

from nsim.logs.attribution import Attribution
from nsim.logs.record import Record

# Records per sealed chunk, and decoded chunks kept in memory.
CHUNK = 1024
_DECODED = 8
# Flag bits per record.
ERROR = 1
VIOLATION = 2
MARK = 4
_NO_TIME = float("nan")
RANKS = {"DEBUG": 1, "INFO": 2, "AUDIT": 2, "WARNING": 3, "ERROR": 4, "TRACE": 4, "CRITICAL": 5}
"""Severity of each level (0: none); a level filter keeps records of at least its rank."""


def epoch(stamp: datetime) -> float:
    """Seconds since the epoch of a record's naive (UTC) stamp."""
    return stamp.replace(tzinfo=UTC).timestamp()


def search_text(rec: Record) -> str:
    """What `/` searches in one record: the columns the log pane shows and the traceback, on
    one line."""
    parts = (rec.host or "", rec.level or "", rec.logger or "", rec.request_id or "",
             rec.instance or "", rec.message, *rec.traceback)
    return " ".join(parts).replace("\n", " ")


class _Chunk:
    """One sealed chunk: the pickled records and their search text, both compressed."""

    __slots__ = ("offsets", "records", "text")

    def __init__(self, records: list[Record]) -> None:
        texts = [search_text(r) for r in records]
        self.offsets = array("l", [0])
        for t in texts[:-1]:
            self.offsets.append(self.offsets[-1] + len(t) + 1)
        self.text = zlib.compress("\n".join(texts).encode("utf-8"), 1)
        self.records = zlib.compress(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL), 1)


class RecordStore:
    """An append-only sequence of records (one writer thread, any number of readers)."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self.chunk = chunk
        self.times = array("d")
        """Seconds since the epoch of each record (naive stamps read as UTC), NaN when unknown."""
        self.hosts: list[str] = []
        self.host_names: set[str] = set()
        self.owners: list[str | None] = []
        """The instance each record belongs to (nsim.logs.attribution)."""
        self.requests: list[str | None] = []
        self.ranks = bytearray()
        """The `RANKS` of each record's level."""
        self.loggers: list[str | None] = []
        self.flags = bytearray()
        self._sealed: list[_Chunk] = []
        self._open: list[Record] = []
        self._decoded: OrderedDict[int, list[Record]] = OrderedDict()
        self._lock = threading.Lock()
        self._attribution = Attribution()

    def __len__(self) -> int:
        return len(self.flags)

    def append(self, rec: Record, host: str) -> int:
        """Add a record; returns its index."""
        named = self._attribution.observe(rec)
        req = sys.intern(rec.request_id) if rec.request_id is not None else None
        with self._lock:
            self.times.append(epoch(rec.timestamp) if rec.timestamp is not None else _NO_TIME)
            self.hosts.append(sys.intern(host))
            self.host_names.add(host)
            self.owners.append(sys.intern(named) if named else None)
            self.requests.append(req)
            self.ranks.append(RANKS.get(rec.level or "", 0))
            self.loggers.append(sys.intern(rec.logger) if rec.logger else None)
            self._open.append(rec)
            self.flags.append(ERROR if rec.level in ("ERROR", "CRITICAL") or rec.traceback else 0)
            if len(self._open) >= self.chunk:
                self._seal()
        return len(self.flags) - 1

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

    def _texts(self, n: int) -> tuple[str, array[int] | list[int]]:
        """Chunk `n`'s search text (records joined by newlines) and where each record starts."""
        with self._lock:
            sealed = self._sealed[n] if n < len(self._sealed) else None
            texts = None if sealed else [search_text(r) for r in self._open]
        if sealed is not None:
            return zlib.decompress(sealed.text).decode("utf-8"), sealed.offsets
        assert texts is not None
        offsets = [0]
        for t in texts[:-1]:
            offsets.append(offsets[-1] + len(t) + 1)
        return "\n".join(texts), offsets

    def search(self, pattern: re.Pattern[str], start: int, forward: bool = True) -> int | None:
        """The first record from `start` (inclusive, in the given direction) that `pattern` matches."""
        size = len(self)
        if not 0 <= start < size:
            return None
        n = start // self.chunk
        step = 1 if forward else -1
        while 0 <= n * self.chunk < size:
            hit = self._search_chunk(n, pattern, start, forward)
            if hit is not None:
                return hit
            n += step
        return None

    def _search_chunk(self, n: int, pattern: re.Pattern[str], start: int,
                      forward: bool) -> int | None:
        base = n * self.chunk
        text, offsets = self._texts(n)
        local = start - base
        if forward:
            match = pattern.search(text, offsets[local] if 0 <= local < len(offsets) else 0)
            pos = None if match is None else match.start()
        else:
            end = offsets[local + 1] - 1 if 0 <= local < len(offsets) - 1 else len(text)
            pos = None
            for match in pattern.finditer(text, 0, end):
                pos = match.start()
        if pos is None:
            return None
        return base + bisect.bisect_right(offsets, pos) - 1

    def matching(self, pattern: re.Pattern[str], start: int, stop: int) -> set[int]:
        """The records in start..stop-1 that `pattern` matches."""
        hits: set[int] = set()
        for n in range(start // self.chunk, (stop - 1) // self.chunk + 1 if stop > start else 0):
            base = n * self.chunk
            text, offsets = self._texts(n)
            for match in pattern.finditer(text):
                index = base + bisect.bisect_right(offsets, match.start()) - 1
                if start <= index < stop:
                    hits.add(index)
        return hits
