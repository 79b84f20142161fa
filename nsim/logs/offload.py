"""A journal's lines read, and their journald envelopes parsed, in a second process.

Parsing a line's envelope (nsim.logs.journal) depends on that line alone, so a forked child
can do it for every line while the parent groups the lines into records, classifies their
messages and runs the model. The child goes on with the parent's own line reader (copied by
the fork, at the line after the format's sniffing) and sends back, in order and in frames of
`BATCH` lines: each line's number, text and envelope, and the diagnostics the reader made on
the way, each before the line it concerns. The pipe between them holds a few frames: memory
stays flat however long the file.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NoReturn

from nsim.logs import journal
from nsim.logs.envelope import Entry, Line
from nsim.logs.record import Diagnostic
from nsim.logs.sniff import ANSI, FileLayout, Numbered
from nsim.logs.source import STDIN, Source
from nsim.report.progress import PROGRESS_THREAD

MIN_BYTES = 2 * 1024 * 1024
"""Smaller inputs are read in one process: a fork costs more than their envelopes."""
BATCH = 512
"""Lines per frame, at most."""
FRAME_CHARS = 4 * 1024 * 1024
"""A frame ends after the line that takes its text past this (memory stays bounded whatever
the lines' length)."""
_LINE, _DIAGNOSTIC, _END, _FAILED = range(4)
_SIZE = 8


class OffloadError(RuntimeError):
    """The child process reading the lines failed (a bug: it runs the reader's own code)."""


class Relay:
    """The `report` a line reader is made with: forwards diagnostics to `target`, which the
    child points at its frames."""

    def __init__(self, target: Callable[[Diagnostic], None]) -> None:
        self.target = target

    def __call__(self, diag: Diagnostic) -> None:
        self.target(diag)


def can_fork() -> bool:
    """Whether a child may be forked here: not where other threads run (a fork copies only
    the calling thread: locks the others hold would stay held in the child), but the progress
    line, which holds no lock the child takes (the child neither draws nor writes to stderr)
    and measures the reading by the input's offset, which parent and child share."""
    current = threading.current_thread()
    return hasattr(os, "fork") and all(
        t is current or t.name == PROGRESS_THREAD for t in threading.enumerate())


def worth_a_child(source: Source, layout: FileLayout, jobs: int, min_bytes: int) -> bool:
    """Whether a child is to read the rest of a journal's lines: `jobs` allows two, the input
    is a regular file of `min_bytes` or more (not stdin: a second `-` would read what the
    parent's buffer held), and its lines are read as they are (not joined from a terminal's
    rows, no file-name prefix)."""
    if jobs < 2 or layout.wrap is not None or layout.prefixed or not source.regular \
            or source.name == STDIN or not can_fork():
        return False
    try:
        return os.fstat(source.stream.fileno()).st_size >= min_bytes
    except (OSError, ValueError, AttributeError):
        return False


def _flat(line: Line | None) -> tuple[Any, ...] | None:
    if line is None:
        return None
    e = line.entry
    return (line.stamp, line.stamp_kind, line.pid, line.host, line.ident, line.body_start,
            e.level, e.logger, e.context, e.instance, e.text, e.prefix_end, e.suffix, e.stamp,
            e.pid)


def _line(flat: tuple[Any, ...] | None) -> Line | None:
    if flat is None:
        return None
    (stamp, stamp_kind, pid, host, ident, body_start, level, logger, context, instance, text,
     prefix_end, suffix, oslo_stamp, oslo_pid) = flat
    return Line(stamp, stamp_kind, pid,
                Entry(level, logger, context, instance, text, prefix_end, suffix, oslo_stamp,
                      oslo_pid), host, ident, body_start)


def _send(out: BinaryIO, frame: list[Any]) -> None:
    data = marshal.dumps(frame)
    out.write(len(data).to_bytes(_SIZE, "little"))
    out.write(data)


def _child(lines: Iterator[Numbered], relay: Relay, out: BinaryIO,
           error: Callable[[], str | None]) -> NoReturn:
    """Read and parse every line, send them, and end the process."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child quietly
    frame: list[Any] = []
    size = 0
    relay.target = lambda d: frame.append((_DIAGNOSTIC, d.line, d.message, d.bad_lines))
    status = 0
    try:
        parse = journal.parse_line
        for lineno, text in lines:
            if text is None:
                frame.append((_LINE, lineno, None, None))
            else:
                clean = ANSI.sub("", text) if "\x1b" in text else text
                frame.append((_LINE, lineno, text, _flat(parse(clean))))
                size += len(text)
            if len(frame) >= BATCH or size >= FRAME_CHARS:
                _send(out, frame)
                frame = []
                size = 0
        frame.append((_END, error()))
        _send(out, frame)
        out.flush()
    except BrokenPipeError:  # the parent stopped reading
        status = 1
    except BaseException as exc:  # told to the parent, which raises it
        status = 1
        with contextlib.suppress(OSError):
            _send(out, [(_FAILED, f"{type(exc).__name__}: {exc}")])
            out.flush()
    os._exit(status)


class Offloaded:
    """The rest of `lines` (a line reader made with `relay` as its report), read in a child.

    Iterating gives the lines as the reader would, after passing each diagnostic to `report`
    in its place; `envelopes` holds the parsed envelope of each line of the frame at hand, by
    line number (None: not journald's shape). `error` (called in the child at the end) is
    why reading stopped early, if it did; `errors` gets it in the parent.
    """

    def __init__(self, lines: Iterator[Numbered], relay: Relay,
                 report: Callable[[Diagnostic], None], source: str,
                 error: Callable[[], str | None], on_error: Callable[[str], None]) -> None:
        self.envelopes: dict[int, Line | None] = {}
        self._report = report
        self._source = source
        self._on_error = on_error
        read, write = os.pipe()
        try:
            self._pid = os.fork()
        except OSError:  # no process to spare: the caller reads the lines itself
            os.close(read)
            os.close(write)
            raise
        if self._pid == 0:
            try:
                os.close(read)
                _child(lines, relay, os.fdopen(write, "wb"), error)
            finally:  # never back into the parent's code with the parent's buffers
                os._exit(1)
        os.close(write)
        self._pipe = os.fdopen(read, "rb")

    def __iter__(self) -> Iterator[Numbered]:
        try:
            while True:
                head = self._pipe.read(_SIZE)
                if len(head) < _SIZE:
                    raise OffloadError(f"{self._source}: the process reading its lines ended "
                                       "without finishing")
                envelopes = self.envelopes
                envelopes.clear()
                size = int.from_bytes(head, "little")
                data = self._pipe.read(size)
                if len(data) < size:
                    raise OffloadError(f"{self._source}: the process reading its lines ended "
                                       "in the middle of a frame")
                frame = marshal.loads(data)
                lines = []
                for item in frame:
                    tag = item[0]
                    if tag == _LINE:
                        envelopes[item[1]] = _line(item[3])
                        lines.append((item[1], item[2]))
                        continue
                    if lines:  # what was reported before this comes first
                        yield from lines
                        lines = []
                    if tag == _DIAGNOSTIC:
                        self._report(Diagnostic(source=self._source, line=item[1],
                                                message=item[2], bad_lines=item[3]))
                    elif tag == _END:
                        if item[1] is not None:
                            self._on_error(item[1])
                        return
                    else:
                        raise OffloadError(f"{self._source}: the process reading its lines "
                                           f"failed: {item[1]}")
                yield from lines
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (if it still runs) and reap it."""
        if self._pid:
            self._pipe.close()
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0
