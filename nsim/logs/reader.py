"""Inputs to records: format detection, grouping physical lines into records, counts."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from nsim.events.catalog import classify
from nsim.logs import journal, oslo
from nsim.logs.clock import YearClock, iso_stamp, oslo_stamp, realtime_stamp
from nsim.logs.context import parse_context
from nsim.logs.envelope import Entry, split_suffix
from nsim.logs.record import Diagnostic, Record
from nsim.logs.source import Source, SourceError, open_source, physical_lines

Format = Literal["journal", "oslo", "json"]
FORMATS: tuple[str, ...] = ("auto", "journal", "oslo", "json")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SNIFF = {
    "journal": re.compile(r"^(?:[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+) "
                          r"\S+ [^\s\[]+\[\d+\]: "),
    "oslo": re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \d+ [A-Z]+ "),
    "json": re.compile(r"^\s*\{\s*\""),
}
_SNIFF_LINES = 200
_JOURNAL_SUFFIX = re.compile(r"\s*(\{\{(?:\(pid=\d+\) )?\S+ \S+:\d+\}\})\s*$")
_OSLO_SUFFIX = re.compile(r" ([\w<>.]+) (/\S+\.py):(\d+)$")
_BACKWARDS = timedelta(seconds=1)


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
    entry: Entry
    message: list[str]
    lines: int = 1
    traceback: list[str] = field(default_factory=list)


def detect_format(sample: list[str]) -> Format | None:
    """The format most of the sampled lines have, or None if none matches."""
    scores = {name: sum(1 for line in sample if rx.match(_ANSI.sub("", line)))
              for name, rx in _SNIFF.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else None  # type: ignore[return-value]


class _FileParser:
    """Groups one file's lines into records (one pending record at a time)."""

    def __init__(self, source: Source, fmt: Format, year: int | None, counts: Counts,
                 report: Callable[[Diagnostic], None]) -> None:
        self.source = source
        self.name = source.name
        self.fmt = fmt
        self.clock = YearClock(source.mtime, year)
        self.counts = counts
        self.report = report
        self.pending: _Pending | None = None
        self.last_time: datetime | None = None

    # -- records -------------------------------------------------------------
    def _flush(self) -> Record | None:
        p = self.pending
        if p is None:
            return None
        self.pending = None
        e = p.entry
        message = "\n".join(p.message)
        func = path = None
        lineno = None
        if e.suffix is not None:
            func, path, lineno = e.suffix
        elif self.fmt == "oslo" and e.level == "DEBUG":
            m = _OSLO_SUFFIX.search(message)
            if m:
                message = message[:m.start()]
                func, path, lineno = m.group(1), m.group(2), int(m.group(3))
        ctx = parse_context(e.context, project_first=self.fmt != "oslo") if e.context else None
        event = classify(message) if e.level is not None else None
        record = Record.model_construct(
            source=p.source, line=p.line, lines=p.lines, timestamp=p.timestamp, host=p.host,
            process=p.process, pid=p.pid, level=e.level, logger=e.logger, context=e.context,
            request_id=ctx.request_id if ctx else None,
            global_request_id=ctx.global_request_id if ctx else None,
            user=ctx.user if ctx else None, project=ctx.project if ctx else None,
            instance=e.instance, message=message, func=func, path=path, lineno=lineno,
            traceback=p.traceback, event=event)
        self.counts.records += 1
        if event is None:
            self.counts.unknown += 1
        else:
            self.counts.events += 1
        if p.timestamp is not None:
            if self.last_time is not None and p.timestamp < self.last_time - _BACKWARDS:
                self.report(Diagnostic(
                    source=self.name, line=p.line,
                    message=f"out of order: {p.timestamp.isoformat()} is before "
                            f"{self.last_time.isoformat()} on an earlier line"))
            else:
                self.last_time = p.timestamp
        return record

    def _bad(self, lineno: int, why: str, text: str) -> None:
        shown = text if len(text) <= 80 else text[:77] + "..."
        self.report(Diagnostic(source=self.name, line=lineno, message=f"{why}: {shown!r}",
                               bad_lines=1))

    def _start(self, lineno: int, stamp: datetime | None, host: str | None,
               process: str | None, pid: int | None, entry: Entry) -> Record | None:
        done = self._flush()
        self.pending = _Pending(self.name, lineno, stamp, host, process, pid, entry,
                                [entry.text] if entry.text else [])
        return done

    def _attach(self, pid: int | None, process: str | None) -> _Pending | None:
        p = self.pending
        if p is not None and p.pid == pid and p.process == process:
            return p
        return None

    # -- one entry of a journal (text or json) ----------------------------------
    def _journal_entry(self, lineno: int, stamp: datetime, host: str | None, ident: str | None,
                       pid: int | None, entry: Entry, parsed: str, body_start: int) -> Record | None:
        """One journal entry; `parsed` is the text the grammar read, the body from `body_start`."""
        raw_body = parsed[body_start:]
        if entry.level is not None and entry.context is None:
            # Exception prefix "ERROR logger [instance: U] ...": a traceback line.
            p = self._attach(pid, ident)
            if p is not None:
                p.traceback.append(parsed[entry.prefix_end + 1:] if entry.prefix_end
                                   is not None else entry.text)
                p.lines += 1
                return None
        if entry.level is not None:
            return self._start(lineno, stamp, host, ident, pid, entry)
        p = self._attach(pid, ident)
        text = raw_body
        if entry.suffix is not None:
            text = text[:text.rfind("{{")].rstrip()
        if p is not None:
            p.message.append(text)
            p.lines += 1
            if entry.suffix is not None:
                p.entry.suffix = entry.suffix
            return None
        done = self._flush()
        orphan = Entry(text=text, suffix=entry.suffix)
        self.pending = _Pending(self.name, lineno, stamp, host, ident, pid, orphan, [text])
        return done

    def _journal_text(self, lineno: int, text: str) -> Record | None:
        if text.startswith("-- ") and text.rstrip().endswith("--"):
            self._bad(lineno, "journalctl marker line, not a log record", text)
            return None
        line = journal.parse_line(text)
        if line is None:
            self._bad(lineno, "not a journald line", text)
            return None
        try:
            stamp = (self.clock.stamp(line.stamp) if line.stamp_kind == "SHORT_STAMP"
                     else iso_stamp(line.stamp))
        except ValueError as exc:
            self._bad(lineno, f"impossible timestamp ({exc})", text)
            return None
        body = line.body_start + (text[line.body_start:line.body_start + 1] == " ")
        return self._journal_entry(lineno, stamp, line.host, line.ident, line.pid, line.entry,
                                   text, body)

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
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            self._bad(lineno, f"not a journal JSON entry ({exc})", text)
            return None
        message = _ANSI.sub("", message) if "\x1b" in message else message
        first, newline, rest = message.partition("\n")
        entry = journal.parse_message(first)
        if entry is None:
            entry = Entry(text=message)
        elif newline:
            # USE_JOURNAL=True: one entry holds the whole multi-line message.
            m = _JOURNAL_SUFFIX.search(rest)
            if m is not None:
                entry.suffix = split_suffix(m.group(1))
                rest = rest[:m.start()]
            entry.text = f"{entry.text}\n{rest}"
        return self._journal_entry(lineno, stamp, obj.get("_HOSTNAME"),
                                   obj.get("SYSLOG_IDENTIFIER"), pid, entry, first, 0)

    def _oslo_text(self, lineno: int, text: str) -> Record | None:
        line = oslo.parse_line(text)
        if line is None:
            if len(text) >= 20 and text[:4].isdigit() and text[4] == "-":
                self._bad(lineno, "stamped line that is not oslo.log's format", text)
                return None
            p = self.pending
            if p is None:
                self._bad(lineno, "unstamped line with no record before it to continue (the "
                                  "file starts mid-message, or it is not an oslo.log file)", text)
                return None
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
                p.traceback.append(text[entry.prefix_end + 1:] if entry.prefix_end else entry.text)
                p.lines += 1
                return None
        try:
            stamp = oslo_stamp(line.stamp)
        except ValueError as exc:
            self._bad(lineno, f"impossible timestamp ({exc})", text)
            return None
        return self._start(lineno, stamp, None, None, line.pid, entry)

    def records(self, lines: Iterable[tuple[int, str | None]]) -> Iterator[Record]:
        handle = {"journal": self._journal_text, "oslo": self._oslo_text,
                  "json": self._json_text}[self.fmt]
        for lineno, text in lines:
            self.counts.physical_lines += 1
            if text is None:  # already reported by the source layer
                continue
            if "\x1b" in text:
                text = _ANSI.sub("", text)
            if not text.strip() and self.fmt != "oslo":
                self._bad(lineno, "empty line", text)
                continue
            done = handle(lineno, text)
            if done is not None:
                yield done
        done = self._flush()
        if done is not None:
            yield done


Numbered = tuple[int, str | None]


def _sniffed(lines: Iterator[Numbered]) -> tuple[list[Numbered], Format | None]:
    head: list[Numbered] = []
    for item in lines:
        head.append(item)
        if len(head) >= _SNIFF_LINES:
            break
    return head, detect_format([t for _, t in head if t and t.strip()])


class ParseRun:
    """Streams the records of several inputs; counts and diagnostics fill in as it goes."""

    def __init__(self, paths: Iterable[str], fmt: str = "auto", year: int | None = None,
                 on_diagnostic: Callable[[Diagnostic], None] | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.paths = list(paths)
        self.fmt = fmt
        self.year = year
        self.counts = Counts()
        self.diagnostics: list[Diagnostic] = []
        self.errors: list[str] = []
        self._on_diagnostic = on_diagnostic

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
        try:
            lines = physical_lines(source, self._report)
            if self.fmt == "auto":
                head, fmt = _sniffed(lines)
                if fmt is None:
                    self._unrecognised(source.name, head, lines)
                    return
                lines = _chain(head, lines)
            else:
                fmt = self.fmt  # type: ignore[assignment]
            yield from _FileParser(source, fmt, self.year, self.counts, self._report).records(lines)
        finally:
            source.close()

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
