"""The local cluster nsim starts: mutual TLS with credentials made for this run, no HTTP server, quiet.

The scheduler, the nannies and the workers listen on 127.0.0.1 and speak only TLS, and each
requires its peer's certificate to be signed by a CA created in memory for this run
(`Security.temporary()`); only this process and the worker processes it spawns hold it, so
another local user cannot connect and have a function run. Distributed always starts an HTTP
server (dashboard, metrics, an API that retires workers) beside the scheduler and each worker,
with no authentication; these classes start none. Worker processes are used, not threads,
because parsing is pure Python.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distributed import Nanny, Scheduler, SpecCluster, Worker
from distributed.security import Security
from distributed.worker_memory import parse_memory_limit

HOST = "127.0.0.1"
# Loggers whose messages (connection errors at shutdown, retries, tracebacks) are Dask's
# business, not the user's: only CRITICAL ones pass while a fleet command runs.
QUIET_LOGGERS = ("distributed", "tornado", "asyncio", "bokeh")


class _NoHTTP:
    """A Dask server node that serves no HTTP at all."""

    def start_http_server(self, routes: Any, dashboard_address: Any, default_port: int = 0,
                          ssl_options: Any = None) -> None:
        """Start nothing: nsim has no use for the dashboard, metrics or HTTP API."""


class PrivateScheduler(_NoHTTP, Scheduler):
    """A scheduler without an HTTP server."""


class PrivateWorker(_NoHTTP, Worker):
    """A worker without an HTTP server, silent in its own process (see `_mute_process`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _mute_process()
        super().__init__(*args, **kwargs)


def _mute_process() -> None:
    """Silence a worker process for good: its stderr goes to /dev/null (unless NSIM_DEBUG is
    set), so no log line, warning or traceback of Dask's reaches the user, even at shutdown
    or interpreter exit; tasks' results and errors reach nsim through the scheduler."""
    _silence()
    if os.environ.get("NSIM_DEBUG"):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - fd 2 lives as long as the process


class PrivateNanny(Nanny):
    """A nanny whose worker process runs a PrivateWorker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, worker_class=PrivateWorker, **kwargs)


def _silence() -> dict[str, int]:
    """Raise QUIET_LOGGERS and their children to CRITICAL and ignore warnings; the old levels."""
    names = [n for n in logging.root.manager.loggerDict
             if any(n == q or n.startswith(q + ".") for q in QUIET_LOGGERS)]
    old = {}
    for name in {*QUIET_LOGGERS, *names}:
        logger = logging.getLogger(name)
        old[name] = logger.level
        logger.setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"distributed(\.|$)")
    return old


def silence_for_good() -> None:
    """For a command whose process ends with its run: Dask logs nothing below CRITICAL and
    warns nothing until the process exits (its atexit handlers included), and the Python
    processes it starts (multiprocessing's resource tracker, worker processes) ignore
    warnings."""
    _silence()
    if not os.environ.get("NSIM_DEBUG") and "ignore" not in sys.warnoptions:
        sys.warnoptions.append("ignore")  # passed to child interpreters as -W ignore


@contextmanager
def quiet() -> Iterator[None]:
    """Dask says nothing on stderr below CRITICAL in this process while the block runs."""
    with warnings.catch_warnings():
        old = _silence()
        try:
            yield
        finally:
            for name, level in old.items():
                logging.getLogger(name).setLevel(level)


def local_cluster(workers: int, memory_limit: str | int = "auto") -> SpecCluster:
    """Start `workers` single-threaded worker processes and a scheduler, all private (see above).

    Connect to it with `Client(cluster, security=cluster.security)`.
    """
    security = Security.temporary()
    common = {"host": HOST, "protocol": "tls://", "security": security}
    scheduler = {"cls": PrivateScheduler,
                 "options": {**common, "dashboard": False, "dashboard_address": None}}
    worker = {"cls": PrivateNanny,
              "options": {**common, "nthreads": 1, "dashboard": False,
                          "silence_logs": logging.CRITICAL,
                          "memory_limit": parse_memory_limit(memory_limit, 1, workers,
                                                           logger=logging.getLogger(__name__))}}
    return SpecCluster(scheduler=scheduler, workers=dict.fromkeys(range(workers), worker),
                       worker=worker, security=security, silence_logs=logging.CRITICAL)
