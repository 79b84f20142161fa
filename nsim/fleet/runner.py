"""Running fleet tasks on Dask: a local cluster or a scheduler; nothing lost to a dead worker.

A task that raises is rerun by Dask (`retries=`). A task whose worker dies is rescheduled by
Dask until `distributed.scheduler.allowed-failures` workers have died under it; then it
fails with KilledWorker and is resubmitted here. Tasks that ran more than once are named
from the scheduler's `remove-worker` events and from the events tasks log when they raise.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Future, KilledWorker, LocalCluster, as_completed, get_worker

# Reruns Dask makes of a task that raised.
RETRIES = 2
# Resubmissions of a task whose workers kept dying (KilledWorker).
RESUBMITS = 2
CONNECT_TIMEOUT = "20s"


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A client of `scheduler`, else of a LocalCluster on 127.0.0.1.

    The local cluster has `workers` worker processes (default: one per core) of one thread
    each: parsing is pure Python, so processes, not threads, run it in parallel.
    """
    if scheduler:
        with Client(scheduler, timeout=CONNECT_TIMEOUT) as client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                      processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


@dataclass(frozen=True)
class Task:
    """A call to run on a worker; `name` is unique within one `run_tasks`."""

    name: str
    func: Callable[..., Any]
    args: tuple[Any, ...]


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


def run_tasks(client: Client, tasks: Sequence[Task]) -> Outcome:
    """Run `tasks` on the cluster and collect their results as they finish."""
    run = uuid.uuid4().hex[:12]
    topic = f"nsim-fleet-{run}"
    names: dict[str, str] = {}
    resubmitted: Counter[str] = Counter()

    def submit(task: Task) -> Future:
        n = resubmitted[task.name]
        key = f"{task.name}-{run}" + (f"-again{n}" if n else "")
        names[key] = task.name
        return client.submit(_attempt, topic, task.func, *task.args, key=key, retries=RETRIES)

    outcome = Outcome()
    running: dict[Future, Task] = {submit(task): task for task in tasks}
    finished = as_completed(list(running))
    for batch in finished.batches():
        ok = [f for f in batch if f.status == "finished"]
        for future, result in zip(ok, client.gather(ok), strict=True):
            outcome.results[running.pop(future).name] = result
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
                why = "cancelled" if exc is None else f"{type(exc).__name__}: {exc}"
                outcome.failed[task.name] = why
        for future in batch:
            future.release()
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
