"""Inputs to records: format detection, grouping physical lines into records, counts."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nsim.events.catalog import classify
from nsim.logs import journal, oslo
from nsim.logs.clock import YearClock, iso_stamp, oslo_stamp, realtime_stamp
from nsim.logs.context import NO_CONTEXT, parse_context
from nsim.logs.envelope import Entry, Line, split_suffix
from nsim.logs.offload import MIN_BYTES, Offloaded, Relay, worth_a_child
from nsim.logs.record import Diagnostic, Record, unchecked_record
from nsim.logs.schema import FORMATS, Format
from nsim.logs.service import ServiceGuess, service_of_name
from nsim.logs.sniff import (
    ANSI,
    PREFIX,
    FileLayout,
    Numbered,
    read_head,
    record_start,
    sniff,
)
from nsim.logs.source import MAX_LINE_BYTES, STDIN, Source, SourceError, open_source, physical_lines
from nsim.logs.wrap import unwrapped

_OSLO_SUFFIX = re.compile(r" ([\w<>.]+) (/\S+\.py):(\d{1,9})$")
_BACKWARDS = timedelta(seconds=1)
MAX_RECORD_CHARS = MAX_LINE_BYTES
"""A record stops growing at this size (like a line): later continuation and traceback lines
are counted as bad lines, named in one diagnostic when the record ends."""
_UNPARSED: Any = object()
MAX_PID = 2**31 - 1
"""The largest pid a JSON entry may give (Linux's pid_max is at most 2**22)."""


@dataclass
class Counts:
    """Tallies of one parse; records' lines plus bad lines make up all physical lines."""

    records: int = 0
    events: int = 0
    unknown: int = 0
    bad_lines: int = 0
    physical_lines: int = 0

    def add(self, more: Counts) -> None:
        """Add `more`'s tallies into these."""
        for name in vars(more):
            setattr(self, name, getattr(self, name) + getattr(more, name))

    def summary(self) -> str:
        return (f"{self.records} records, {self.events} events, {self.unknown} unknown, "
                f"{self.bad_lines} bad lines")


@dataclass(slots=True)
class _Pending:
    source: str
    line: int
    timestamp: datetime | None
    host: str | None
    process: str | None
    pid: int | None
    """The pid continuation and traceback lines must share (journald's, oslo.log's)."""
    service: str | None
    entry: Entry
    message: list[str]
    lines: int = 1
    traceback: list[str] = field(default_factory=list)
    size: int = 0
    """Characters of message and traceback so far."""
    dropped: int = 0
    """Physical lines left out once the record reached MAX_RECORD_CHARS."""
    dropped_chars: int = 0


class _FileParser:
    """Groups one file's lines into records (one pending record at a time)."""

    def __init__(self, source: Source, fmt: Format, year: int | None, counts: Counts,
                 report: Callable[[Diagnostic], None], layout: FileLayout,
                 inferred_years: dict[str, tuple[int, int]]) -> None:
        self.source = source
        self.name = source.name
        self.fmt = fmt
        self.clock = YearClock(source.mtime, year)
        self.counts = counts
        self.report = report
        self.layout = layout
        self.inferred_years = inferred_years
        """The run's map of inputs whose year came from the mtime; this file adds itself."""
        self.pending: _Pending | None = None
        self.last_time: dict[str, datetime] = {}
        self.services = ServiceGuess(source.name)
        self.current = self.name
        """The source of the line being read: the file, or the file name prefixing the line."""
        self._span = 1
        """Physical lines the line being read was joined from (terminal wraps)."""
        self._bad_line = 0
        self.envelopes: dict[int, Line | None] = {}
        """Journal lines' envelopes parsed ahead (nsim.logs.offload), by line number."""

    # -- records -------------------------------------------------------------
    def _flush(self) -> Record | None:
        p = self.pending
        if p is None:
            return None
        self.pending = None
        if p.dropped:
            self.report(Diagnostic(
                source=self.name, line=p.line, bad_lines=p.dropped,
                message=f"record longer than {MAX_RECORD_CHARS // (1024 * 1024)} MiB: its "
                        f"last {p.dropped} line{'s' if p.dropped > 1 else ''} "
                        f"({p.dropped_chars} characters) left out"))
        e = p.entry
        message = "\n".join(p.message)
        func = path = None
        lineno = None
        if e.suffix is not None:
            func, path, lineno = e.suffix
        elif e.level == "DEBUG" and (self.fmt == "oslo" or e.stamp is not None):
            m = _OSLO_SUFFIX.search(message)
            if m:
                message = message[:m.start()]
                func, path, lineno = m.group(1), m.group(2), int(m.group(3))
        request_id, global_request_id, user, project = (
            parse_context(e.context, project_first=self.fmt != "oslo" and e.stamp is None)
            if e.context else NO_CONTEXT)
        event = classify(message) if e.level is not None else None
        record = unchecked_record({
            "source": p.source, "line": p.line, "lines": p.lines, "timestamp": p.timestamp,
            "host": p.host, "process": p.process, "service": p.service,
            "pid": e.pid if e.pid is not None else p.pid, "level": e.level, "logger": e.logger,
            "context": e.context, "request_id": request_id,
            "global_request_id": global_request_id, "user": user, "project": project,
            "instance": e.instance, "message": message, "func": func, "path": path,
            "lineno": lineno, "traceback": p.traceback, "event": event})
        counts = self.counts
        counts.records += 1
        if event is None:
            counts.unknown += 1
        else:
            counts.events += 1
        if p.timestamp is not None:
            last = self.last_time.get(p.source)
            if last is not None and p.timestamp < last - _BACKWARDS:
                self.report(Diagnostic(
                    source=self.name, line=p.line,
                    message=f"out of order: {p.timestamp.isoformat()} is before "
                            f"{last.isoformat()} on an earlier line"))
            else:
                self.last_time[p.source] = p.timestamp
        return record

    def _bad(self, lineno: int, why: str, text: str) -> None:
        shown = text if len(text) <= 80 else text[:77] + "..."
        self._bad_line = lineno
        self.report(Diagnostic(source=self.name, line=lineno, message=f"{why}: {shown!r}",
                               bad_lines=self._span))

    def _start(self, lineno: int, stamp: datetime | None, host: str | None,
               process: str | None, pid: int | None, entry: Entry,
               name: str | None = None) -> Record | None:
        """Open a record; `name` is what names its service (journald identifier, prefix)."""
        done = self._flush()
        service = self.services.of(self.current, name, pid, entry.logger)
        self.pending = _Pending(self.current, lineno, stamp, host, process, pid, service, entry,
                                [entry.text] if entry.text else [], size=len(entry.text))
        return done

    def _fits(self, p: _Pending, lineno: int, text: str) -> bool:
        """Whether `text` may join `p`; if not it is counted among the record's left-out lines."""
        p.size += len(text)
        if p.size <= MAX_RECORD_CHARS:
            return True
        p.dropped += self._span
        p.dropped_chars += len(text)
        self._bad_line = lineno  # its span is counted above, not as lines of the record
        return False

    def _attach(self, pid: int | None, process: str | None) -> _Pending | None:
        p = self.pending
        if p is not None and p.pid == pid and p.process == process and p.source == self.current:
            return p
        return None

    def _year_stamp(self, lineno: int, text: str) -> datetime:
        """A year-less journald stamp; the first year taken from the file's mtime is reported."""
        stamp = self.clock.stamp(text)
        if self.clock.inferred is not None and self.name not in self.inferred_years:
            year = self.clock.inferred
            self.inferred_years[self.name] = (year, lineno)
            origin = ("the current date" if self.name == STDIN
                      else f"the file's modification time, {self.source.mtime:%Y-%m-%d}")
            self.report(Diagnostic(
                source=self.name, line=lineno,
                message=f"journald stamps carry no year: assumed {year} (from {origin}); "
                        "--year sets it"))
        return stamp

    # -- one entry of a journal (text or json) ----------------------------------
    def _journal_entry(self, lineno: int, stamp: datetime | None, host: str | None,
                       ident: str | None, pid: int | None, entry: Entry, parsed: str,
                       body_start: int, name: str | None) -> Record | None:
        """One journal entry; `parsed` is the text the grammar read, the body from `body_start`.

        `stamp` may be None only for a line that continues the pending record."""
        if entry.level is not None and entry.context is None:
            # Exception prefix "ERROR logger [instance: U] ...": a traceback line.
            p = self._attach(pid, ident)
            if p is not None:
                line = (parsed[entry.prefix_end + 1:] if entry.prefix_end is not None
                        else entry.text)
                if self._fits(p, lineno, line):
                    p.traceback.append(line)
                    p.lines += 1
                return None
        if entry.level is not None:
            return self._start(lineno, stamp, host, ident, pid, entry, name)
        p = self._attach(pid, ident)
        text = parsed[body_start:]
        if entry.suffix is not None:
            text = text[:text.rfind("{{")].rstrip()
        if p is not None:
            if self._fits(p, lineno, text):
                p.message.append(text)
                p.lines += 1
                if entry.suffix is not None:
                    p.entry.suffix = entry.suffix
            return None
        orphan = Entry(text=text, suffix=entry.suffix)
        return self._start(lineno, stamp, host, ident, pid, orphan, name)

    def _journal_text(self, lineno: int, text: str) -> Record | None:
        if text.startswith("-- ") and text.rstrip().endswith("--"):
            self._bad(lineno, "journalctl marker line, not a log record", text)
            return None
        line = self.envelopes.get(lineno, _UNPARSED)
        if line is _UNPARSED:
            line = journal.parse_line(text)
        if line is None:
            self._bad(lineno, "not a journald line", text)
            return None
        entry = line.entry
        try:
            if entry.stamp is not None:  # a whole oslo.log line: its stamp has the year
                stamp: datetime | None = oslo_stamp(entry.stamp)
                self.clock.anchor(stamp)
            elif line.stamp_kind != "SHORT_STAMP":
                stamp = iso_stamp(line.stamp)
            elif entry.level is None and self._attach(line.pid, line.ident) is not None:
                stamp = None  # a continuation: its stamp is not used
            else:
                stamp = self._year_stamp(lineno, line.stamp)
        except ValueError as exc:
            self._bad(lineno, f"impossible timestamp ({exc})", text)
            return None
        body = line.body_start + (text[line.body_start:line.body_start + 1] == " ")
        return self._journal_entry(lineno, stamp, line.host, line.ident, line.pid, entry,
                                   text, body, line.ident)

    def _json_text(self, lineno: int, text: str) -> Record | None:
        if not text.strip():
            self._bad(lineno, "empty line", text)
            return None
        try:
            obj = json.loads(text)
            message = obj.get("MESSAGE")
            if isinstance(message, list):  # journald exports non-UTF-8 messages as bytes
                message = bytes(message).decode("utf-8", errors="replace")
            if not isinstance(message, str):
                raise ValueError("no MESSAGE")
            stamp = realtime_stamp(obj["__REALTIME_TIMESTAMP"])
            pid = int(obj["_PID"]) if obj.get("_PID") else None
            if pid is not None and not 0 <= pid <= MAX_PID:
                raise ValueError(f"_PID {pid} out of range")
            for key in ("_HOSTNAME", "SYSLOG_IDENTIFIER"):
                if not isinstance(obj.get(key), str | None):
                    raise ValueError(f"{key} is not a string")
        except RecursionError:
            self._bad(lineno, "not a journal JSON entry (nested too deeply)", text)
            return None
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            self._bad(lineno, f"not a journal JSON entry ({exc})", text)
            return None
        message = ANSI.sub("", message) if "\x1b" in message else message
        first, newline, rest = message.partition("\n")
        entry = journal.parse_message(first)
        if entry is None:
            entry = Entry(text=message)
        elif newline:
            # USE_JOURNAL=True: one entry holds the whole multi-line message.
            m = journal.suffix_at_end().search(rest)
            if m is not None:
                entry.suffix = split_suffix(m.group(1))
                rest = rest[:m.start()]
            entry.text = f"{entry.text}\n{rest}"
        if entry.stamp is not None:
            try:
                stamp = oslo_stamp(entry.stamp)
            except ValueError as exc:
                self._bad(lineno, f"impossible timestamp ({exc})", text)
                return None
        ident = obj.get("SYSLOG_IDENTIFIER")
        name = next((n for n in (ident, obj.get("CONTAINER_NAME"), obj.get("_SYSTEMD_UNIT"))
                     if isinstance(n, str) and service_of_name(n) is not None), ident)
        return self._journal_entry(lineno, stamp, obj.get("_HOSTNAME"), ident, pid, entry,
                                   first, 0, name)

    def _oslo_text(self, lineno: int, text: str) -> Record | None:
        line = oslo.parse_line(text)
        if line is None:
            if len(text) >= 20 and text[:4].isdigit() and text[4] == "-":
                self._bad(lineno, "stamped line that is not oslo.log's format", text)
                return None
            p = self.pending
            if p is None or p.source != self.current:
                self._bad(lineno, "unstamped line with no record before it to continue (the "
                                  "file starts mid-message, or it is not an oslo.log file)", text)
                return None
            if self._fits(p, lineno, text):
                p.message.append(text)
                p.lines += 1
            return None
        entry = line.entry
        if entry.suffix is not None and entry.level != "DEBUG":
            entry.text = f"{entry.text} {entry.suffix[0]} {entry.suffix[1]}:{entry.suffix[2]}"
            entry.suffix = None
        if entry.context is None and (entry.level == "TRACE" or self._attach(line.pid, None)):
            p = self._attach(line.pid, None)
            if p is not None:
                trace = text[entry.prefix_end + 1:] if entry.prefix_end else entry.text
                if self._fits(p, lineno, trace):
                    p.traceback.append(trace)
                    p.lines += 1
                return None
        try:
            stamp = oslo_stamp(line.stamp)
        except ValueError as exc:
            self._bad(lineno, f"impossible timestamp ({exc})", text)
            return None
        name = self.current if self.layout.prefixed else None
        return self._start(lineno, stamp, None, None, line.pid, entry, name)

    # -- layouts ------------------------------------------------------------------
    def _joined(self, lines: Iterable[Numbered], width: int) -> Iterator[Numbered]:
        """`lines` with the rows a terminal wrapped at `width` joined; one diagnostic says so."""
        joined = 0
        first = 0
        starts = record_start(self.fmt, self.layout.prefixed)
        for lineno, text, span in unwrapped(lines, width, starts):
            self._span = span
            if span > 1:
                self.counts.physical_lines += span - 1
                joined += span - 1
                first = first or lineno
            yield lineno, text
        self._span = 1
        if joined:
            self.report(Diagnostic(
                source=self.name, line=first,
                message=f"joined {joined} line{'s' if joined > 1 else ''} a terminal wrapped at "
                        f"{width} columns (the rows of a log pasted from a terminal)"))

    def _unprefixed(self, lines: Iterable[Numbered]) -> Iterator[Numbered]:
        """`lines` without their file-name prefix, which becomes the current source."""
        match = PREFIX.match
        for lineno, text in lines:
            if text is not None:
                m = match(text)
                if m is not None:
                    self.current = m.group(1)
                    text = text[m.end():]
            yield lineno, text

    def records(self, lines: Iterable[Numbered]) -> Iterator[Record]:
        handle = {"journal": self._journal_text, "oslo": self._oslo_text,
                  "json": self._json_text}[self.fmt]
        if self.layout.wrap is not None and self.fmt != "json":
            lines = self._joined(lines, self.layout.wrap)
        if self.layout.prefixed:
            lines = self._unprefixed(lines)
        for lineno, text in lines:
            self.counts.physical_lines += 1
            if text is None:  # already reported by the source layer
                continue
            if "\x1b" in text:
                text = ANSI.sub("", text)
            if (not text or text.isspace()) and self.fmt != "oslo":
                self._bad(lineno, "empty line", text)
                continue
            done = handle(lineno, text)
            if self._span > 1 and self._bad_line != lineno and self.pending is not None:
                self.pending.lines += self._span - 1
            if done is not None:
                yield done
        done = self._flush()
        if done is not None:
            yield done


class ParseRun:
    """Streams the records of several inputs; counts and diagnostics fill in as it goes.

    `inferred_years` maps each input whose journald stamps carry no year, and got it from the
    file's mtime (no `year` given), to that year and the line of the first such stamp.
    """

    def __init__(self, paths: Iterable[str], fmt: str = "auto", year: int | None = None,
                 on_diagnostic: Callable[[Diagnostic], None] | None = None, jobs: int = 1,
                 min_bytes: int = MIN_BYTES) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.paths = list(paths)
        self.fmt = fmt
        self.year = year
        self.counts = Counts()
        self.diagnostics: list[Diagnostic] = []
        self.errors: list[str] = []
        self.inferred_years: dict[str, tuple[int, int]] = {}
        self._on_diagnostic = on_diagnostic
        self.jobs = jobs
        """Processes that may read one input: 2 or more lets a second one read a large
        journal's lines and parse their envelopes (nsim.logs.offload) from `min_bytes`."""
        self.min_bytes = min_bytes

    def _report(self, diag: Diagnostic) -> None:
        if len(self.diagnostics) < 10_000:
            self.diagnostics.append(diag)
        self.counts.bad_lines += diag.bad_lines
        if self._on_diagnostic is not None:
            self._on_diagnostic(diag)

    def _file(self, path: str) -> Iterator[Record]:
        try:
            source = open_source(path)
        except SourceError as exc:
            self.errors.append(str(exc))
            self._report(Diagnostic(source=path, line=None, message=str(exc).split(": ", 1)[-1]))
            return
        offloaded = None
        try:
            relay = Relay(self._report)
            lines = physical_lines(source, relay)
            head = read_head(lines)
            fmt, layout = sniff([t for _, t in head], self.fmt)
            if fmt is None:
                # A pipe may never end: past its head, an unknown input is not read further.
                self._unrecognised(source.name, head, lines if source.regular else iter(()))
                return
            parser = _FileParser(source, fmt, self.year, self.counts, self._report, layout,
                                 self.inferred_years)
            if fmt == "journal" and worth_a_child(source, layout, self.jobs, self.min_bytes):
                try:
                    offloaded = Offloaded(lines, relay, self._report, source.name,
                                          lambda: source.error,
                                          lambda e: setattr(source, "error", e))
                except OSError:  # no process to spare (EAGAIN, ENOMEM): one reads them all
                    offloaded = None
                else:
                    parser.envelopes = offloaded.envelopes
                    lines = iter(offloaded)
            yield from parser.records(_chain(head, lines))
        finally:
            if offloaded is not None:
                offloaded.close()
            source.close()
            if source.error is not None:
                self.errors.append(source.error)

    def _unrecognised(self, path: str, head: list[Numbered], rest: Iterator[Numbered]) -> None:
        total = unreported = 0
        for _, text in itertools.chain(head, rest):
            total += 1
            unreported += text is not None  # None: already reported by the source layer
        self.counts.physical_lines += total
        if total == 0:
            self._report(Diagnostic(source=path, line=None, message="empty file"))
            return
        msg = "not a nova-compute log (no line looks like journald, oslo.log or journalctl JSON)"
        self.errors.append(f"{path}: {msg}")
        self._report(Diagnostic(source=path, line=None, message=msg, bad_lines=unreported))

    def __iter__(self) -> Iterator[Record]:
        for path in self.paths:
            yield from self._file(path)


def _chain(head: list[Numbered], rest: Iterator[Numbered]) -> Iterator[Numbered]:
    yield from head
    yield from rest
