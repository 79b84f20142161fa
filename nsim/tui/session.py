"""A TUI session: the inputs indexed in a background thread, with what the replay found.

The thread parses (several files merged by time), appends each record to the
`RecordStore`, applies it to live host models and offers them to the `Timeline` for
checkpoints; violations, the model's assumptions and input problems are kept with the
index of the record they belong to. After the first batch of records it waits (briefly)
for the UI to paint its first screen, so opening a large file is as quick as a small one.
"""

from __future__ import annotations

import bisect
import gzip
import itertools
import threading
import time
from collections.abc import Callable, Iterable
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
                 interval: int = DEFAULT_INTERVAL, cost_factor: float = COST_FACTOR) -> None:
        self.paths = list(paths)
        self.year = year
        self.fmt = fmt
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
        self._thread: threading.Thread | None = None
        self._on_progress: Callable[[], None] | None = None

    # -- control ----------------------------------------------------------------------
    def start(self, on_progress: Callable[[], None] | None = None) -> None:
        """Index in a background thread; `on_progress` is called from it now and then."""
        self._on_progress = on_progress
        self._thread = threading.Thread(target=self._index, name="nsim-index", daemon=True)
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

    def _index(self) -> None:
        runs = [ParseRun([p], fmt=self.fmt, year=self.year, on_diagnostic=self._diagnostic)
                for p in self.paths]
        models: Models = {}
        next_report = 0.0
        try:
            for rec in merged(runs):
                if self._stop.is_set():
                    return
                index = self.store.append(rec, host_key(rec))
                self._apply(models, rec, index)
                self.timeline.offer(index + 1, models)
                self.lines_read = sum(r.counts.physical_lines for r in runs)
                if index + 1 == FIRST_BATCH:
                    self._first_screen()
                elif time.perf_counter() >= next_report:
                    next_report = time.perf_counter() + _PROGRESS_EVERY
                    self._progress()
        except Exception as exc:  # shown in the UI instead of a crash
            self._notice(self.paths[0] if len(self.paths) == 1 else "input", None,
                         f"indexing stopped after {len(self.store)} records: internal error "
                         f"{type(exc).__name__}: {exc}")
        finally:
            self.lines_read = sum(r.counts.physical_lines for r in runs)
            self.done.set()
            self.first_batch.set()
            self._progress()

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
