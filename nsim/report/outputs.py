"""Writing outputs safely: never over an input, always through a temporary file and a rename."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from nsim.errors import NsimError


class OutputError(NsimError, ValueError):
    """An output path that must not be written (it is one of the command's inputs)."""


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of what `path` names after links, or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _stdin_identity() -> tuple[int, int] | None:
    """(device, inode) of stdin when it is a regular file, else None."""
    try:
        st = os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or replaced by a non-file
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def refuse_input_as_output(outputs: Iterable[tuple[str, str | None]],
                           inputs: Iterable[str | None]) -> None:
    """OutputError when an output (option, path) is, or resolves to, one of `inputs`.

    The same file is found by path after symlinks and by device and inode, so a hard link
    or another spelling of an input is refused too; '-' as an input is stdin, checked when it
    is redirected from a file. An output '-' is stdout.
    """
    inputs = list(inputs)
    named = [p for p in inputs if p and p != "-"]
    ids = {i: p for p in named if (i := _identity(p)) is not None}
    if "-" in inputs and (stdin := _stdin_identity()) is not None:
        ids[stdin] = "<stdin>"
    real = {os.path.realpath(p): p for p in named}
    for option, out in outputs:
        if not out or out == "-":
            continue
        same = ids.get(_identity(out)) or real.get(os.path.realpath(out))  # type: ignore[arg-type]
        if same is not None:
            raise OutputError(f"{option} {out}: is the input {same}; refusing to overwrite it "
                              "(write elsewhere)")


def _named(exc: OSError, target: Path, written: str) -> OSError:
    """A failed write names the output the user gave, not the file written to."""
    if exc.filename not in (None, written):
        return exc
    return OSError(exc.errno, exc.strerror, str(target))


@contextlib.contextmanager
def replacing_path(path: str | Path) -> Iterator[str]:
    """A temporary file's name beside `path`, renamed over it when the block succeeds.

    When the block raises, the temporary file is removed and `path` keeps its old content
    (a symlink at `path` is replaced, not written through). A `path` that is not a regular
    file (a device such as /dev/null, a FIFO) is written in place. The new file gets the old file's
    permissions, or those a plain `open` would give it.
    """
    target = Path(path)
    try:
        special = not stat.S_ISREG(os.stat(target).st_mode)
    except OSError:
        special = False
    if special:
        # /dev/null, a FIFO, a terminal: written in place, never replaced by a file.
        try:
            yield str(target)
        except OSError as exc:
            raise _named(exc, target, str(target)) from None
        return
    # The suffix keeps the target's extension, which some writers read (matplotlib's format).
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                                   dir=target.parent)
    except OSError as exc:  # name the output, not the temporary file
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    try:
        os.fchmod(fd, _mode_for(target))
        os.close(fd)
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _named(exc, target, tmp) from None
        raise


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[IO[str]]:
    """A text file (UTF-8) open on a temporary name beside `path`; see `replacing_path`."""
    with replacing_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        yield out


def date_trace(target: str | int, last: datetime) -> None:
    """Give a written trace (a path, or a descriptor open on it) the modification time of its
    last line, `last`: journald stamps carry no year, and readers take it from the mtime."""
    when = last.timestamp()
    os.utime(target, (when, when))
