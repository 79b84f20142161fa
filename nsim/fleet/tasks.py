"""Running fleet tasks on Dask: a local cluster or a scheduler; nothing lost to a dead worker.

A task that raises is rerun by Dask (`retries=`). A task whose worker dies is rescheduled by
Dask until `distributed.scheduler.allowed-failures` workers have died under it; then it
fails with KilledWorker and is resubmitted here. Tasks that ran more than once are named
from the scheduler's `remove-worker` events and from the events tasks log when they raise.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Future, KilledWorker, as_completed, get_worker

from nsim.fleet.cluster import local_cluster, quiet
from nsim.fleet.inputs import one_line

# Reruns Dask makes of a task that raised.
RETRIES = 2
# Resubmissions of a task whose workers kept dying (KilledWorker).
RESUBMITS = 2
CONNECT_TIMEOUT = "20s"
# Seconds between two progress lines while tasks are still running.
PROGRESS_EVERY = 30.0
# Seconds a run waits with no worker at all (every one died, none came back) before it gives
# up on the tasks left instead of waiting forever.
NO_WORKER_GRACE = 120.0
NO_WORKER = "no worker left: every worker process died and none came back"


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A client of `scheduler`, else of a private local cluster (see `nsim.fleet.cluster`).

    The local cluster has `workers` worker processes (default: one per core) of one thread
    each: parsing is pure Python, so processes, not threads, run it in parallel. A scheduler
    named by address is reached with the TLS settings of the Dask configuration
    (`distributed.comm.tls.*`). Dask logs nothing below CRITICAL meanwhile.
    """
    with quiet():
        if scheduler:
            with Client(scheduler, timeout=CONNECT_TIMEOUT) as client:
                yield client
            return
        with local_cluster(workers or os.cpu_count() or 1) as cluster, \
                Client(cluster, security=cluster.security) as client:
            yield client


@dataclass(frozen=True)
class Task:
    """A call to run on a worker; `name` is unique within one `run_tasks`."""

    name: str
    func: Callable[..., Any]
    args: tuple[Any, ...]
    about: str = ""
    """What the task reads, for progress lines."""


@dataclass
class Outcome:
    """Results by task name, the tasks that ran more than once, and those that never finished."""

    results: dict[str, Any] = field(default_factory=dict)
    retried: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


def _attempt(topic: str, func: Callable[..., Any], *args: Any) -> Any:
    """Run `func`; if it raises, log an event naming the task before Dask retries it."""
    try:
        return func(*args)
    except Exception as exc:
        worker = get_worker()
        worker.log_event(topic, {"key": worker.get_current_task(),
                                 "error": f"{type(exc).__name__}: {exc}"})
        raise


class _Progress:
    """Calls `say` every PROGRESS_EVERY seconds, until stopped, with how many tasks are done and
    which are still running, so that a long or endless input is never silent."""

    def __init__(self, tasks: Sequence[Task], say: Callable[[str], None] | None) -> None:
        self.total = len(tasks)
        self.running = {t.name: t.about or t.name for t in tasks}
        self.say = say
        self.start = time.monotonic()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        if say is not None:
            self.thread.start()

    def done(self, name: str) -> None:
        with self.lock:
            self.running.pop(name, None)

    def _loop(self) -> None:
        assert self.say is not None
        while not self.stopped.wait(PROGRESS_EVERY):
            with self.lock:
                left = sorted(self.running.values())
            shown = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
            self.say(f"fleet: {self.total - len(left)} of {self.total} task(s) done after "
                     f"{time.monotonic() - self.start:.0f} s; still reading {shown}")

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()


class _Orphaned:
    """Cancels the run's futures once the cluster has had no worker for NO_WORKER_GRACE
    seconds, so that a run whose workers all died ends, with NO_WORKER as its tasks' cause."""

    def __init__(self, client: Client, grace: float) -> None:
        self.client = client
        self.grace = grace
        self.futures: list[Future] = []
        self.fired = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _workers(self) -> int:
        try:
            return len(self.client.scheduler_info()["workers"])
        except Exception:  # the scheduler is gone too: nothing will ever run
            return 0

    def _loop(self) -> None:
        since: float | None = None
        while not self.stopped.wait(min(1.0, self.grace / 4)):
            if self._workers():
                since = None
                continue
            since = since if since is not None else time.monotonic()
            if time.monotonic() - since >= self.grace:
                self.fired.set()
                self.client.cancel(list(self.futures))
                return

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def _why(exc: BaseException | None) -> str:
    """A failed task's cause in one line."""
    if exc is None:
        return "cancelled"
    if isinstance(exc, KilledWorker):
        return "KilledWorker: the worker process running it died each time it was run"
    return one_line(exc)


def run_tasks(client: Client, tasks: Sequence[Task],
              progress: Callable[[str], None] | None = None,
              no_worker_grace: float = NO_WORKER_GRACE) -> Outcome:
    """Run `tasks` on the cluster and collect their results as they finish; `progress` is told
    every PROGRESS_EVERY seconds how far the run is; after `no_worker_grace` seconds without
    any worker the tasks left fail with NO_WORKER."""
    run = uuid.uuid4().hex[:12]
    topic = f"nsim-fleet-{run}"
    names: dict[str, str] = {}
    resubmitted: Counter[str] = Counter()

    def submit(task: Task) -> Future:
        n = resubmitted[task.name]
        key = f"{task.name}-{run}" + (f"-again{n}" if n else "")
        names[key] = task.name
        future = client.submit(_attempt, topic, task.func, *task.args, key=key, retries=RETRIES)
        orphaned.futures.append(future)
        return future

    outcome = Outcome()
    watch = _Progress(tasks, progress)
    orphaned = _Orphaned(client, no_worker_grace)
    try:
        running: dict[Future, Task] = {submit(task): task for task in tasks}
        finished = as_completed(list(running))
        for batch in finished.batches():
            ok = [f for f in batch if f.status == "finished"]
            for future, result in zip(ok, client.gather(ok), strict=True):
                task = running.pop(future)
                outcome.results[task.name] = result
                watch.done(task.name)
            for future in batch:
                if future not in running:
                    continue
                task = running.pop(future)
                exc = None if future.cancelled() else future.exception()
                if isinstance(exc, KilledWorker) and resubmitted[task.name] < RESUBMITS:
                    resubmitted[task.name] += 1
                    outcome.retried.add(task.name)
                    again = submit(task)
                    running[again] = task
                    finished.add(again)
                else:
                    outcome.failed[task.name] = NO_WORKER if orphaned.fired.is_set() \
                        else _why(exc)
                    watch.done(task.name)
            for future in batch:
                future.release()
    finally:
        orphaned.stop()
        watch.stop()
    outcome.retried |= _rerun(client, topic, names)
    return outcome


def _rerun(client: Client, topic: str, names: dict[str, str]) -> set[str]:
    """Tasks that were running on a worker that died (or whose result died with it before it was
    fetched), or that raised and were retried."""
    rerun = set()
    for _, msg in client.get_events("all"):
        if isinstance(msg, dict) and msg.get("action") == "remove-worker" \
                and not msg.get("expected"):
            lost = [*msg.get("processing-tasks", ()), *msg.get("lost-computed-tasks", ())]
            rerun.update(names[k] for k in lost if k in names)
    for _, msg in client.get_events(topic):
        if msg.get("key") in names:
            rerun.add(names[msg["key"]])
    return rerun
