"""Opening inputs (files, .gz, stdin) and cutting them into decoded physical lines."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from nsim.errors import NsimError
from nsim.logs.record import Diagnostic

# A physical line longer than this is reported and skipped rather than held in memory.
MAX_LINE_BYTES = 8 * 1024 * 1024
# Bytes without a line end after which an input is no text log: the rest is not read
# (what stdin fed from /dev/zero would otherwise do forever).
MAX_UNENDED_BYTES = 64 * MAX_LINE_BYTES
# Control characters that never appear in a nova log line (tab and ESC excepted).
_GARBAGE = bytes(c for c in range(32) if c not in (9, 27)) + b"\x7f"
_GARBAGE_TABLE = bytes.maketrans(b"", b"")


STDIN = "<stdin>"
"""The name of standard input as an input ('-')."""


class SourceError(NsimError):
    """An input that cannot be read at all (missing, a directory, unreadable)."""


class Source:
    """One input: a name for messages, a binary stream, and the time it was last written."""

    def __init__(self, name: str, stream: BinaryIO, mtime: datetime, regular: bool = True) -> None:
        self.name = name
        self.stream = stream
        self.mtime = mtime
        self.regular = regular
        """A regular file (its size bounds it); stdin may be a pipe that never ends."""
        self.error: str | None = None
        """Why reading stopped before the end of the input (the input is then an error)."""

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()


def open_source(path: str) -> Source:
    """Open `path` ('-' = stdin); gzip is recognised by its magic bytes, on stdin too."""
    if path == "-":
        return Source(STDIN, _gunzipped(sys.stdin.buffer, STDIN), datetime.now(),
                      regular=_is_regular(sys.stdin.buffer))
    p = Path(path)
    try:
        mode = p.stat().st_mode
        if stat.S_ISDIR(mode):
            raise SourceError(f"{path}: is a directory, not a log file")
        if not stat.S_ISREG(mode):
            kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "a device")
            raise SourceError(f"{path}: not a regular file ({kind}, which may never end); "
                              "to read it anyway, pipe it in: cat FILE | nsim ... -")
        raw = open(p, "rb")  # noqa: SIM115 - closed by Source.close
        mtime = datetime.fromtimestamp(os.fstat(raw.fileno()).st_mtime)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except PermissionError:
        raise SourceError(f"{path}: permission denied") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        return Source(path, _gunzipped(raw, path), mtime)
    except SourceError:
        raw.close()
        raise


def _is_regular(stream: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):  # no file descriptor (a test's stream)
        return False


def _gunzipped(raw: BinaryIO, name: str) -> BinaryIO:
    """`raw`, or a decompressing reader over it when it starts with gzip's magic bytes."""
    if raw.peek(2)[:2] != b"\x1f\x8b":  # type: ignore[attr-defined]
        return raw
    stream = gzip.GzipFile(fileobj=raw)
    try:
        stream.peek(1)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{name}: not a readable gzip file ({exc})") from None
    return stream  # type: ignore[return-value]


def _bom_decoder(head: bytes) -> tuple[str, int]:
    """The encoding a byte-order mark announces, and the mark's length."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0
    return "utf-8", 0


def physical_lines(source: Source,
                   report: Callable[[Diagnostic], None]) -> Iterator[tuple[int, str | None]]:
    """Yield (1-based line number, text) for each line; problems go to `report`.

    Undecodable bytes are replaced (and reported); NUL-filled or control-garbage
    lines and lines over MAX_LINE_BYTES are reported as bad and yielded as None.
    """
    stream = source.stream
    try:
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
    except (OSError, EOFError, zlib.error) as exc:
        report(Diagnostic(source=source.name, line=1, message=f"cannot read: {exc}"))
        return
    encoding, skip = _bom_decoder(head)
    if encoding == "utf-16":
        yield from _utf16_lines(source, report)
        return
    if skip:
        stream.read(skip)
    lineno = 0
    while True:
        try:
            raw = stream.readline(MAX_LINE_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            report(Diagnostic(source=source.name, line=lineno + 1,
                              message=f"input ends abruptly ({exc}); records before it are kept"))
            return
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            extra = _skip_rest_of_line(stream)
            if extra is None:
                source.error = (f"{source.name}: no line end in "
                                f"{MAX_UNENDED_BYTES // (1024 * 1024)} MiB from line {lineno}: "
                                "not a text log, the rest is not read")
                report(Diagnostic(source=source.name, line=lineno, bad_lines=1,
                                  message=source.error.split(": ", 1)[1]))
                yield lineno, None
                return
            report(Diagnostic(source=source.name, line=lineno, bad_lines=1,
                              message=f"line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB "
                                      f"({len(raw) + extra} bytes), skipped"))
            yield lineno, None
            continue
        raw = raw.rstrip(b"\r\n")
        if b"\0" in raw or raw.translate(_GARBAGE_TABLE, _GARBAGE) != raw:
            cleaned = raw.replace(b"\0", b"")
            if not cleaned.strip() or cleaned.translate(_GARBAGE_TABLE, _GARBAGE) != cleaned:
                report(Diagnostic(source=source.name, line=lineno, bad_lines=1,
                                  message="garbled line (NUL or control bytes), skipped"))
                yield lineno, None
                continue
            report(Diagnostic(source=source.name, line=lineno,
                              message="NUL bytes removed from line"))
            raw = cleaned
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", errors="replace")
            report(Diagnostic(source=source.name, line=lineno,
                              message=f"not valid UTF-8 at byte {exc.start}; "
                                      "undecodable bytes shown as U+FFFD"))
        yield lineno, text


def _skip_rest_of_line(stream: BinaryIO) -> int | None:
    """Bytes read up to the next line end, or None past MAX_UNENDED_BYTES without one."""
    skipped = 0
    while skipped <= MAX_UNENDED_BYTES:
        chunk = stream.readline(MAX_LINE_BYTES)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped
    return None


def _utf16_lines(source: Source,
                 report: Callable[[Diagnostic], None]) -> Iterator[tuple[int, str | None]]:
    report(Diagnostic(source=source.name, line=1, message="file is UTF-16 encoded; decoded as such"))
    text = io.TextIOWrapper(source.stream, encoding="utf-16", errors="replace", newline=None)
    for lineno, line in enumerate(text, 1):
        yield lineno, line.rstrip("\r\n")
