"""Progress of long jobs on stderr: a rich progress line when stderr is a terminal, nothing
otherwise (a pipe or a file stays clean).

A job shows its line only once it has run DELAY seconds, so quick runs print nothing, and the
line is erased when the job ends. Reading inputs is measured from the outside: the offsets of
the process's open descriptors on the input files (Linux's /proc/self/fdinfo), against the
files' sizes, so the parsers need no hook; where that cannot be read the line counts time only.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from nsim.report.term import is_terminal

if TYPE_CHECKING:
    from rich.progress import Progress

PROGRESS_THREAD = "nsim-progress"
"""The progress line's thread (nsim.logs.offload forks beside it)."""
# Seconds a job runs before its progress line appears (NSIM_PROGRESS_DELAY overrides).
DELAY = 1.5
# Seconds between two looks at the descriptors' offsets.
POLL = 0.2


class Job:
    """What a running job shows: `done` of `total` (None: unknown), and a note; `shown` tells
    whether a progress line is drawn at all (stderr is a terminal)."""

    def __init__(self, shown: bool) -> None:
        self.shown = shown
        self.done = 0.0
        self.total: float | None = None
        self.note = ""

    def say(self, note: str) -> None:
        self.note = note


def _bar(measured: bool) -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    if measured:
        columns += [BarColumn(), DownloadColumn(), TimeRemainingColumn()]
    columns += [TimeElapsedColumn(), TextColumn("{task.fields[note]}")]
    return Progress(*columns, console=Console(file=sys.stderr), transient=True,
                    redirect_stdout=False)  # stderr's lines print above the bar


@contextmanager
def showing(label: str, measure: Callable[[Job], None] | None = None,
            enabled: bool | None = None) -> Iterator[Job]:
    """Show `label`'s progress on stderr while the block runs (see the module docstring).
    `measure(job)` is called every POLL seconds to update `job.done` / `job.total`; the block
    may call `job.say(note)`. `enabled` defaults to: stderr is a terminal."""
    job = Job(is_terminal(sys.stderr) if enabled is None else enabled)
    if not job.shown:
        yield job
        return
    stop = threading.Event()

    delay = float(os.environ.get("NSIM_PROGRESS_DELAY") or DELAY)

    def loop() -> None:
        if stop.wait(delay):
            return
        with _bar(measure is not None) as bar:
            task = bar.add_task(label, total=None, note="")
            while True:
                if measure is not None:
                    measure(job)
                bar.update(task, completed=job.done, total=job.total, note=job.note)
                if stop.wait(POLL):
                    return

    thread = threading.Thread(target=loop, daemon=True, name=PROGRESS_THREAD)
    thread.start()
    try:
        yield job
    finally:
        stop.set()
        thread.join()


class InputOffsets:
    """How far this process has read `paths`: the offsets of its descriptors on them (a file
    seen open and then closed counts whole); stdin and non-regular files are not counted."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.sizes: dict[str, int] = {}
        for path in paths:
            try:
                real = os.path.realpath(path)
                if path != "-" and Path(real).is_file():
                    self.sizes[real] = os.path.getsize(real)
            except OSError:
                continue
        self.read: dict[str, int] = {}
        self.usable = Path("/proc/self/fdinfo").is_dir()

    def _open(self) -> dict[str, int]:
        offsets: dict[str, int] = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target in self.sizes:
                    with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                        pos = int(info.readline().split()[1])  # "pos:\t<offset>"
                    offsets[target] = max(offsets.get(target, 0), pos)
            except (OSError, ValueError, IndexError):
                continue
        return offsets

    def __call__(self, job: Job) -> None:
        job.total = float(sum(self.sizes.values())) or None
        if not self.usable or job.total is None:
            return
        now = self._open()
        for path in self.read:
            if path not in now:  # closed: read to its end
                self.read[path] = self.sizes[path]
        for path, pos in now.items():
            self.read[path] = max(self.read.get(path, 0), min(pos, self.sizes[path]))
        job.done = float(sum(self.read.values()))


@contextmanager
def reading(label: str, paths: Iterable[str], enabled: bool | None = None) -> Iterator[Job]:
    """`showing` a job that reads `paths`: a bar of the bytes read of their total."""
    offsets = InputOffsets(paths)
    with showing(label, offsets if offsets.usable and offsets.sizes else None, enabled) as job:
        yield job

