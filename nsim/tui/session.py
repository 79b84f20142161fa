"""A TUI session: the inputs indexed in a background thread, with what the replay found.

The thread parses (several files merged by time), appends each record to the
`RecordStore`, applies it to live host models and offers them to the `Timeline` for
checkpoints; violations, the model's assumptions and input problems are kept with the
index of the record they belong to. After the first batch of records it waits (briefly)
for the UI to paint its first screen, so opening a large file is as quick as a small one.
"""

from __future__ import annotations

import bisect
import gc
import gzip
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

from nsim.logs.reader import ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.model.config import HostConfig
from nsim.model.host import Host
from nsim.model.instance import Instance
from nsim.replay.findings import Assumption, Violation
from nsim.replay.run import apply_record, host_key, merged
from nsim.tui.store import CHUNK, VIOLATION, RecordStore
from nsim.tui.timeline import COST_FACTOR, DEFAULT_INTERVAL, Models, Timeline

FIRST_BATCH = 200
"""Records parsed before the first screen is shown (more than any screen holds)."""
_PROGRESS_EVERY = 0.2
_FIRST_PAINT_WAIT = 2.0
_MAX_NOTICES = 10_000
_GC_YOUNG = 10_000
"""The cyclic collector's young-generation threshold while indexing (Python's default: 700)."""
FOLLOW_POLL = 0.5
"""Seconds between two looks at the followed files' sizes."""


@dataclass(frozen=True)
class Finding:
    """A violation, at the record that shows it."""

    index: int
    violation: Violation


@dataclass(frozen=True)
class Moment:
    """Everything the panes show for one record: it, its host's model after it, its instance."""

    index: int | None
    record: Record | None
    host: Host | None
    instance: Instance | None
    findings: list[Finding]
    """Violations up to and including this record."""
    assumptions: list[Assumption]
    """What the model assumed at this record."""


@dataclass
class _Tail:
    """How far a followed file is read (bytes), the physical lines indexed, the year of its
    stamps, and the lines of its last record, held back until the next look (more lines of
    that record may be on their way)."""

    path: str
    offset: int
    lines: int
    year: int | None
    pending: bytes = b""


def _line_offset(path: str, lines: int) -> int | None:
    """The byte offset after the first `lines` physical lines of a plain file (None for gzip)."""
    with open(path, "rb") as raw:
        if raw.peek(2)[:2] == b"\x1f\x8b":
            return None
        offset = 0
        while lines > 0 and (block := raw.read(1 << 20)):
            count = block.count(b"\n")
            if count < lines:
                lines -= count
                offset += len(block)
                continue
            return offset + _line_offset_in(block, lines)
        return offset


def _line_offset_in(data: bytes, lines: int) -> int:
    """The offset in `data` after its first `lines` lines."""
    cut = 0
    for _ in range(lines):
        cut = data.index(b"\n", cut) + 1
    return cut


def count_lines(path: str) -> int | None:
    """Physical lines of a regular file (gzip read through), or None for stdin and the unreadable."""
    if path == "-":
        return None
    try:
        with open(path, "rb") as raw:
            stream = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == b"\x1f\x8b" else raw
            lines = 0
            last = b"\n"
            while block := stream.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
            return lines + (last != b"\n")
    except (OSError, EOFError, gzip.BadGzipFile):
        return None


class Session:
    """Inputs being indexed: the record store, the timeline of models and the findings."""

    def __init__(self, paths: Iterable[str], year: int | None = None, fmt: str = "auto",
                 config: HostConfig | None = None, chunk: int = CHUNK,
                 interval: int = DEFAULT_INTERVAL, cost_factor: float = COST_FACTOR,
                 follow: bool = False, jobs: int = 1) -> None:
        self.paths = list(paths)
        self.year = year
        self.fmt = fmt
        self.jobs = jobs
        """As ParseRun's: 2 or more lets a second process read each large journal's lines (it
        is forked only by `open()` called before other threads start, as the app's)."""
        self._runs: list[ParseRun] = []
        self._records: Iterator[Record] | None = None
        self._merged: Generator[Record, None, None] | None = None
        self.config = config or HostConfig()
        self.store = RecordStore(chunk)
        self.timeline = Timeline(self.store, self.config, interval, cost_factor=cost_factor)
        self.findings: list[Finding] = []
        self.assumptions: list[tuple[int, Assumption]] = []
        self.notices: list[Diagnostic] = []
        self.notice_count = 0
        self.lines_read = 0
        self.total_lines: int | None = None
        self.first_batch = threading.Event()
        self.done = threading.Event()
        self._resume = threading.Event()
        self._stop = threading.Event()
        self.following = threading.Event()
        """Set while appended lines are read (`follow`); the UI toggles it."""
        if follow:
            self.following.set()
        self._thread: threading.Thread | None = None
        self._on_progress: Callable[[], None] | None = None

    # -- control ----------------------------------------------------------------------
    def open(self) -> list[str]:
        """Open the inputs and read up to their first record (where a second process to read
        each large journal is forked, while no other thread runs); what makes an input
        unreadable (missing, not a nova-compute log), as `nsim parse` says it."""
        self._runs = [ParseRun([p], fmt=self.fmt, year=self.year, on_diagnostic=self._diagnostic,
                               jobs=self.jobs) for p in self.paths]
        self._merged = merged(self._runs)
        first = next(self._merged, None)
        self._records = (self._merged if first is None
                         else itertools.chain([first], self._merged))
        return [error for run in self._runs for error in run.errors]

    def start(self, on_progress: Callable[[], None] | None = None) -> None:
        """Index in a background thread; `on_progress` is called from it now and then."""
        self._on_progress = on_progress
        self._thread = threading.Thread(target=self._work, name="nsim-index", daemon=True)
        self._thread.start()

    def run(self) -> Session:
        """Index everything in the calling thread."""
        self._resume.set()
        self._index()
        return self

    def resume(self) -> None:
        """The first screen is painted: index the rest."""
        self._resume.set()

    def stop(self) -> None:
        """End the indexing (what is indexed stays)."""
        self._stop.set()
        self._resume.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def progress(self) -> float | None:
        """Share of physical lines read (1.0 when done), or None when the total is unknown."""
        if self.done.is_set():
            return 1.0
        if not self.total_lines:
            return None
        return min(1.0, self.lines_read / self.total_lines)

    # -- reading ----------------------------------------------------------------------
    def moment(self, index: int | None, instance_hint: str | None = None) -> Moment:
        """The model after record `index`; the instance is the record's, else `instance_hint`'s,
        else the host's newest."""
        if index is None or not 0 <= index < len(self.store):
            return Moment(None, None, None, None, [], [])
        rec = self.store.get(index)
        obs = self.timeline.at(index).get(self.store.hosts[index])
        host = obs.host if obs is not None else None
        inst = None
        if host is not None:
            for uuid in itertools.chain((self.store.owners[index], instance_hint),
                                        reversed(host.instances)):
                if uuid is not None and (inst := host.instances.get(uuid)) is not None:
                    break
        upto = bisect.bisect_right(self.findings, index, key=lambda f: f.index)
        lo = bisect.bisect_left(self.assumptions, index, key=lambda a: a[0])
        hi = bisect.bisect_right(self.assumptions, index, key=lambda a: a[0])
        return Moment(index, rec, host, inst, self.findings[:upto],
                      [a for _, a in self.assumptions[lo:hi]])

    # -- the thread -------------------------------------------------------------------
    def _notice(self, source: str, line: int | None, message: str) -> None:
        self._diagnostic(Diagnostic(source=source, line=line, message=message))

    def _diagnostic(self, diag: Diagnostic) -> None:
        """An input problem (unreadable file, unparseable line) or an internal error, shown."""
        self.notice_count += 1
        if len(self.notices) < _MAX_NOTICES:
            self.notices.append(diag)

    def _progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress()

    def _work(self) -> None:
        """The thread: index the inputs, then follow them."""
        indexed = self._index()
        if indexed is not None:
            self._follow(*indexed)

    def _index(self) -> tuple[Models, list[ParseRun]] | None:
        """Index every record of the inputs; the models and runs at their end, None when stopped."""
        if self._records is None:
            self.open()
        runs, records = self._runs, self._records
        assert records is not None
        models: Models = {}
        next_report = 0.0
        threshold = gc.get_threshold()
        # The index grows by millions of objects that live as long as the session: the
        # cyclic collector's young-generation walks, every 700 allocations by default, cost
        # more than they find.
        gc.set_threshold(max(threshold[0], _GC_YOUNG), *threshold[1:])
        try:
            for rec in records:
                if self._stop.is_set():
                    self._close_inputs()
                    return None
                self._add(models, rec)
                if len(self.store) == FIRST_BATCH:
                    self.lines_read = sum(r.counts.physical_lines for r in runs)
                    self._first_screen()
                elif time.perf_counter() >= next_report:
                    next_report = time.perf_counter() + _PROGRESS_EVERY
                    self.lines_read = sum(r.counts.physical_lines for r in runs)
                    self._progress()
            self.timeline.offer(len(self.store), models, now=True)
            # The index lives as long as the session: out of the cyclic collector's walks,
            # whose pauses (keys waiting on them) would otherwise grow with the file.
            gc.freeze()
        except Exception as exc:  # shown in the UI instead of a crash
            self._internal_error(exc)
            self._close_inputs()
            return None
        finally:
            gc.set_threshold(*threshold)
            self.lines_read = sum(r.counts.physical_lines for r in runs)
            self.done.set()
            self.first_batch.set()
            self._progress()
        return models, runs

    def _close_inputs(self) -> None:
        """Stop reading the inputs (their line readers' processes end with them)."""
        if self._merged is not None:
            self._merged.close()

    def _internal_error(self, exc: Exception) -> None:
        self._notice(self.paths[0] if len(self.paths) == 1 else "input", None,
                     f"indexing stopped after {len(self.store)} records: internal error "
                     f"{type(exc).__name__}: {exc}")

    def _add(self, models: Models, rec: Record) -> None:
        index = self.store.append(rec, host_key(rec))
        self._apply(models, rec, index)
        self.timeline.offer(index + 1, models)

    # -- following --------------------------------------------------------------------
    def _follow(self, models: Models, runs: list[ParseRun]) -> None:
        """Until stopped, read the lines appended to each plain file (while `following`)."""
        tails: list[_Tail] = []
        while not self._stop.wait(FOLLOW_POLL):
            if not self.following.is_set():
                continue
            if not tails:
                for path, run in zip(self.paths, runs, strict=True):
                    lines = run.counts.physical_lines
                    offset = None if run.errors else _line_offset(path, lines)
                    if offset is not None:
                        year = self.year or run.inferred_years.get(path, (None, 0))[0]
                        tails.append(_Tail(path, offset, lines, year))
            try:
                if any([self._read_tail(models, tail) for tail in tails]):
                    self.timeline.offer(len(self.store), models, now=True)
                    self._progress()
            except Exception as exc:  # shown in the UI instead of a crash
                self._internal_error(exc)
                return

    def _read_tail(self, models: Models, tail: _Tail) -> bool:
        """Index the whole lines appended to `tail`'s file since the last look; whether any were."""
        try:
            with open(tail.path, "rb") as raw:
                size = os.fstat(raw.fileno()).st_size
                if size < tail.offset:  # truncated or replaced: read it again from its start
                    self._notice(tail.path, None, "the file shrank: following it from its start")
                    tail.offset = tail.lines = 0
                    tail.pending = b""
                raw.seek(tail.offset)
                new = raw.read(size - tail.offset)
        except OSError as exc:
            self._notice(tail.path, None, f"cannot follow: {exc.strerror or exc}")
            return False
        new = new[:new.rfind(b"\n") + 1]
        if not new and not tail.pending:
            return False
        tail.offset += len(new)
        chunk, before = tail.pending + new, tail.lines
        records = self._parse_part(chunk, tail)
        if new and records:  # the last record may go on: keep its lines for the next look
            last = records.pop()
            cut = _line_offset_in(chunk, last.line - before - 1)
            tail.pending = chunk[cut:]
            chunk = chunk[:cut]
        else:
            tail.pending = b""
        for rec in records:
            self._add(models, rec)
        tail.lines += chunk.count(b"\n")
        self.lines_read += chunk.count(b"\n")
        return bool(records)

    def _parse_part(self, chunk: bytes, tail: _Tail) -> list[Record]:
        """The records of lines of `tail`'s file, numbered and named as in the file."""
        before = tail.lines

        def diagnostic(diag: Diagnostic) -> None:
            line = None if diag.line is None else diag.line + before
            self._diagnostic(diag.model_copy(update={"source": tail.path, "line": line}))

        with tempfile.NamedTemporaryFile(suffix=".log") as part:
            part.write(chunk)
            part.flush()
            run = ParseRun([part.name], fmt=self.fmt, year=tail.year, on_diagnostic=diagnostic)
            return [rec.model_copy(update={"source": tail.path, "line": rec.line + before})
                    for rec in run]

    def _first_screen(self) -> None:
        self.first_batch.set()
        self._progress()
        self._resume.wait(timeout=_FIRST_PAINT_WAIT)
        totals = [count_lines(p) for p in self.paths]
        self.total_lines = None if None in totals else sum(t for t in totals if t is not None)

    def _apply(self, models: Models, rec: Record, index: int) -> None:
        try:
            obs = apply_record(models, rec, self.config)
        except Exception as exc:  # a model bug must not end the session
            self._notice(rec.source, rec.line, f"the model could not apply this record: "
                                               f"{type(exc).__name__}: {exc}")
            return
        if obs is None:
            return
        if obs.violations:
            self.findings.extend(Finding(index, v) for v in obs.violations)
            self.store.mark(index, VIOLATION)
            obs.violations.clear()
        if obs.assumptions:
            self.assumptions.extend((index, a) for a in obs.assumptions)
            obs.assumptions.clear()
