"""The trace a hardware boot writes: nova-compute's log lines, stamped when things happen.

Several threads (one per instance, the libvirt event dispatcher) emit into one Trace; each
record is stamped and written under one lock, so stamps never go backwards in the file, and
appended with flock so two `nsim hw` processes can share one trace file.
"""

from __future__ import annotations

import fcntl
import io
import os
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nsim.events.base import Event
from nsim.events.writer import RequestContext, TraceFormat, TraceWriter
from nsim.hw import safefs
from nsim.report.outputs import date_trace

if TYPE_CHECKING:
    from nsim.hw.workdir import Workdir

RELEASE = "2025.2"


def node_name() -> str:
    """nova's hypervisor_hostname for libvirt: the host name (first label kept as is)."""
    return socket.gethostname() or "localhost"


class Trace:
    """Appends nova-compute records to a file; closed, the file's mtime is its last line's time
    (as `nsim simulate` dates its traces), so the year of journald stamps reads back."""

    def __init__(self, path: Path, fmt: TraceFormat = "journal", release: str = RELEASE,
                 host: str | None = None, fd: int | None = None) -> None:
        self.path = path
        self.fmt = fmt
        self.release = release
        self.host = host or node_name()
        self._buf = io.StringIO()
        self._writer = TraceWriter(self._buf, fmt=fmt, release=release, host=self.host,
                                   pid=os.getpid())
        self._lock = threading.Lock()
        self._fd: int | None = fd
        self.last: datetime | None = None
        """The stamp of the last record written."""
        if fd is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @classmethod
    def in_workdir(cls, workdir: Workdir, path: Path, fmt: TraceFormat = "journal",
                   release: str = RELEASE, host: str | None = None) -> Trace:
        """A trace file; inside the work directory it is opened without following a symlink
        (outside it, it is the path the user gave with -o)."""
        try:
            rel = path.relative_to(workdir.root)
        except ValueError:
            return cls(path, fmt, release, host)
        with workdir.dir_fd(*rel.parts[:-1], create=True) as dfd:
            fd = safefs.open_regular(dfd, rel.parts[-1], path,
                                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return cls(path, fmt, release, host, fd=fd)

    def emit(self, event: Event, *, instance: str | None = None,
             context: RequestContext | None = None, traceback: list[str] | None = None) -> datetime:
        """Write `event` now; returns the stamp it got."""
        with self._lock:
            when = datetime.now()
            self._writer.emit(when, event, instance=instance, context=context, traceback=traceback)
            self.last = when
            text = self._buf.getvalue()
            self._buf.seek(0)
            self._buf.truncate()
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    data = text.encode()
                    while data:
                        n = os.write(self._fd, data)
                        data = data[n:]
                finally:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            return when

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                if self.last is not None:
                    date_trace(self._fd, self.last)
                os.close(self._fd)
                self._fd = None
