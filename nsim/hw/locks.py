"""Named locks as oslo.concurrency's `synchronized` takes and logs them.

A lock is an in-process semaphore per name plus, when external, an flock on
`<lock_dir>/<prefix><name>` (nova: `<instances_path>/locks/nova-<sha1>`), so threads of one
`nsim hw` and separate processes exclude each other. Each use logs Acquiring / acquired ::
waited / "released" :: held. The release is logged just before the lock is let go, so the
next holder's "acquired" always comes after it in the trace (eventlet gives nova the same order).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING

from nsim.events.lock import LockAcquired, LockAcquiring, LockReleased
from nsim.events.writer import RequestContext
from nsim.hw import safefs
from nsim.hw.trace import Trace

if TYPE_CHECKING:
    from nsim.hw.workdir import Workdir

_registry_lock = threading.Lock()
_semaphores: dict[str, threading.Lock] = {}


def _semaphore(key: str) -> threading.Lock:
    with _registry_lock:
        sem = _semaphores.get(key)
        if sem is None:
            sem = _semaphores[key] = threading.Lock()
        return sem


@contextmanager
def synchronized(trace: Trace, name: str, owner: str, context: RequestContext | None,
                 workdir: Workdir | None = None, prefix: str = "nova-") -> Iterator[None]:
    """Hold lock `name` for `owner`, logging as lockutils does; external (a file in the work
    directory's instances/locks, opened without following a symlink) when workdir is set."""
    trace.emit(LockAcquiring(name=name, owner=owner), context=context)
    start = time.monotonic()
    lock_dir = workdir.locks_dir if workdir is not None else None
    key = f"{lock_dir}/{prefix}{name}" if lock_dir is not None else name
    sem = _semaphore(key)
    sem.acquire()
    fd = None
    try:
        if workdir is not None and lock_dir is not None:
            with workdir.dir_fd("instances", "locks") as dir_fd:
                fd = safefs.open_regular(dir_fd, f"{prefix}{name}", lock_dir / f"{prefix}{name}",
                                         os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        acquired = time.monotonic()
        trace.emit(LockAcquired(name=name, owner=owner, waited=acquired - start), context=context)
        try:
            yield
        finally:
            trace.emit(LockReleased(name=name, owner=owner, held=time.monotonic() - acquired),
                       context=context)
    finally:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        sem.release()


def holding(lock: AbstractContextManager[object]) -> ExitStack:
    """`lock` entered, for a step that takes it and a later one that lets it go (`.close()`)."""
    held = ExitStack()
    held.enter_context(lock)
    return held
