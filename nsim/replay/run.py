"""Replaying several logs: one model per host, records merged by time, one result."""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nsim.logs.reader import Counts, ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.logs.source import SourceError, open_source
from nsim.model.config import HostConfig
from nsim.model.host import Host
from nsim.replay.findings import Assumption, Violation
from nsim.replay.observer import HostObserver

if TYPE_CHECKING:
    import pandas as pd

_INSTANCE_COLUMNS = ["uuid", "host", "operation", "outcome", "cause", "vm_state", "task_state",
                     "power_state", "image_id", "image_cache", "memory_mb", "disk_gb", "vcpus",
                     "build_seconds"]
# Records of these services are the compute host's own (a privsep daemon has its own pid);
# the usual one first.
_COMPUTE = ("nova-compute", None)


@dataclass
class ReplayResult:
    """Hosts with their final model state, plus what the replay found."""

    hosts: dict[str, Host]
    violations: list[Violation]
    assumptions: list[Assumption]
    counts: Counts
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.violations

    def instances_frame(self) -> pd.DataFrame:
        """One row per instance: host, outcome, states, claim, cache use, build time."""
        import pandas as pd

        rows = [{"uuid": i.uuid, "host": i.host, "operation": i.operation,
                 "outcome": i.outcome.value, "cause": i.cause,
                 "vm_state": i.vm_state.value if i.vm_state else None,
                 "task_state": i.task_state.value if i.task_state else None,
                 "power_state": i.power_state.value, "image_id": i.image_id,
                 "image_cache": i.image_cache,
                 "memory_mb": i.claim.memory_mb if i.claim else None,
                 "disk_gb": i.claim.disk_gb if i.claim else None,
                 "vcpus": i.claim.vcpus if i.claim else None,
                 "build_seconds": i.build_seconds}
                for h in self.hosts.values() for i in h.instances.values()]
        return pd.DataFrame(rows, columns=_INSTANCE_COLUMNS)

    def phases_frame(self) -> pd.DataFrame:
        """One row per (instance, phase) with start, end and seconds."""
        import pandas as pd

        rows = [{"uuid": i.uuid, "host": i.host, "phase": p.name, "start": p.start,
                 "end": p.end, "seconds": p.seconds}
                for h in self.hosts.values() for i in h.instances.values()
                for p in i.ordered_phases()]
        return pd.DataFrame(rows, columns=["uuid", "host", "phase", "start", "end", "seconds"])

    def violations_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([vars(v) for v in self.violations],
                            columns=["source", "line", "rule", "message"])


# Lines in which nova names the node it runs (nova/compute/claims.py, resource_tracker.py):
# "Claim successful on node N", "Attempting claim on node N: ...", "Final resource view:
# name=N ...", "Hypervisor/Node resource view: name=N ...", "Compute_service record
# updated|created for H:N", "Compute node record created for H:N with uuid: U", "Auditing
# locally available compute resources for H (node: N)" or "... for node N".
_NODE_NAMED = re.compile(
    rb"(?:Claim successful on node |Attempting claim on node |resource view: name="
    rb"|Compute(?:_service| node) record (?:updated|created) for [^\s:]+:"
    rb"|Auditing locally available compute resources for (?:node |\S+ \(node: ))"
    rb"(?P<node>[^\s:)]+)")


@functools.cache
def source_host(source: str) -> tuple[str, int | None]:
    """The host of a log that does not say it (oslo.log): the node named by the first line
    that names it, with that line's number; else (the log is not a file that can be read
    again, or no line names it) the file's name up to its first dot, and None."""
    try:
        log = open_source(source) if source != "-" else None
    except SourceError:
        log = None
    if log is not None:
        try:
            for number, line in enumerate(log.stream, 1):
                if (m := _NODE_NAMED.search(line)) is not None:
                    return m["node"].decode("utf-8", "replace"), number
        except (OSError, EOFError):
            pass
        finally:
            log.close()
    return Path(source).name.split(".")[0], None


def host_key(rec: Record) -> str:
    """The host a record belongs to: its hostname, else (oslo.log) its log's `source_host`."""
    return rec.host or source_host(rec.source)[0]


def _host_assumption(source: str) -> Assumption:
    name, line = source_host(source)
    if line is None:
        return Assumption(source, None, f"no line names the host or its node: the host is "
                                        f"called {name}, after the file's name")
    return Assumption(source, line, f"the log does not name its host: called {name}, after the "
                                    "node this line names")


def _timed(run: ParseRun, order: int) -> Iterator[tuple[datetime, int, int, Record]]:
    """Records keyed for merging; an unstamped record keeps its predecessor's time."""
    last = datetime.min
    for seq, rec in enumerate(run):
        if rec.timestamp is not None:
            last = rec.timestamp
        yield last, order, seq, rec


def merged(runs: list[ParseRun]) -> Generator[Record, None, None]:
    """Records of several inputs in time order (stable within each input)."""
    if len(runs) == 1:  # nothing to merge with
        yield from runs[0]
        return
    streams = [_timed(run, i) for i, run in enumerate(runs)]
    for _, _, _, rec in heapq.merge(*streams, key=lambda item: item[:3]):
        yield rec


def apply_record(observers: dict[str, HostObserver], rec: Record,
                 config: HostConfig) -> HostObserver | None:
    """Apply one record to the model of its host (created on first sight). Records other
    services wrote (nova-api, neutron agents, ... in one file or journal) are not the
    compute host's: they are left out of its model."""
    if rec.service not in _COMPUTE:
        return None
    key = rec.host or source_host(rec.source)[0]  # host_key, inline: once per record
    obs = observers.get(key)
    if obs is None:
        obs = observers[key] = HostObserver(Host(key, config))
    obs.apply(rec)
    return obs


def replay_records(records: Iterable[Record], config: HostConfig | None = None) -> ReplayResult:
    """Apply records (any order the caller chose) to per-host models."""
    config = config or HostConfig()
    observers: dict[str, HostObserver] = {}
    unnamed: dict[str, set[str]] = {}  # host -> its sources that do not name it
    for rec in records:
        obs = apply_record(observers, rec, config)
        if obs is not None and rec.host is None:
            unnamed.setdefault(obs.host.name, set()).add(rec.source)
    for obs in observers.values():
        obs.finish()
    return ReplayResult(
        hosts={k: o.host for k, o in observers.items()},
        violations=list(itertools.chain.from_iterable(o.violations for o in observers.values())),
        assumptions=[*itertools.chain.from_iterable(
            [*map(_host_assumption, sorted(unnamed.get(k, ()))), *o.assumptions]
            for k, o in observers.items())],
        counts=Counts())


def replay(paths: Iterable[str], config: HostConfig | None = None, fmt: str = "auto",
           year: int | None = None,
           on_diagnostic: Callable[[Diagnostic], None] | None = None,
           jobs: int = 1) -> ReplayResult:
    """Parse and replay logs; several files are merged by time. `jobs`: as ParseRun's."""
    runs = [ParseRun([p], fmt=fmt, year=year, on_diagnostic=on_diagnostic, jobs=jobs)
            for p in paths]
    result = replay_records(merged(runs), config)
    for run in runs:
        for source, (year, line) in run.inferred_years.items():
            result.assumptions.append(Assumption(source, line, f"the stamps carry no year: {year} assumed "
                                                 "(inferred; --year sets it)"))
        result.counts.add(run.counts)
        result.diagnostics.extend(run.diagnostics)
        result.errors.extend(run.errors)
    result.violations.sort(key=lambda v: (v.source, v.line))
    return result
