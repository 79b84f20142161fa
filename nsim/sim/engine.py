"""The discrete-event engine: requests arrive, a scheduler places them, hosts boot them.

SimPy runs every boot, delete and periodic audit of every host as a process in one
simulated clock, so lines of all hosts come out in time order and are written as they
happen (nothing is kept per finished boot: memory stays flat however many boots run).
The scheduler is placement's view: (total - reserved) x ratio minus allocations, the host
with most free memory wins; a re-scheduled boot tries a host it has not tried.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections import OrderedDict
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import simpy

from nsim.compute.manager import terminate_instance
from nsim.events.writer import RequestContext, TraceWriter
from nsim.model.claims import RESOURCES
from nsim.nova.network_info import fixed_port
from nsim.report.outputs import date_trace
from nsim.sim.audit import resource_audit
from nsim.sim.boot import Attempt, BootOrder
from nsim.sim.faults import FaultPlan
from nsim.sim.host import SimHost
from nsim.sim.scenario import BootRequest, DeleteRequest, HostSpec, Scenario, load_scenario
from nsim.sim.teardown import Deletion

_BUFFER = 1 << 20


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class SimulationResult:
    """What a simulation did: boots by outcome, lines written and where."""

    boots: int = 0
    active: int = 0
    deleted: int = 0
    rescheduled: int = 0
    failed: int = 0
    unscheduled: int = 0
    lines: int = 0
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.boots} boots: {self.active} active, {self.deleted} deleted, "
                f"{self.rescheduled} re-scheduled, {self.failed} failed, {self.unscheduled} "
                f"unscheduled; {self.lines} lines over {self.seconds:.1f} simulated seconds")


class Engine:
    """Runs one scenario's hosts and requests, writing each host's log as it goes."""

    def __init__(self, scenario: Scenario, writers: dict[str, TraceWriter]) -> None:
        self.scenario = scenario
        self.env = simpy.Environment()
        self.seed = scenario.seed
        self.faults = FaultPlan(scenario.faults)
        self._rng = random.Random(f"{self.seed}:engine")
        self.hosts: dict[str, SimHost] = {}
        for spec in scenario.hosts:
            for name in spec.names():
                self.hosts[name] = SimHost(self.env, name, spec, writers[name], scenario.start,
                                           f"req-{_uuid(self._rng)}")
        self._capacity = {name: {r: h.capacity(r) for r in RESOURCES} for name, h in self.hosts.items()}
        self._allocated = {name: dict.fromkeys(RESOURCES, 0.0) for name in self.hosts}
        net = random.Random(f"{self.seed}:network")
        self._network_id, self._tenant = _uuid(net), _uuid(net).replace("-", "")
        self.active: OrderedDict[str, Attempt] = OrderedDict()
        self.result = SimulationResult()
        self._pending = 0
        self._arrived = False
        self._done = self.env.event()

    @property
    def max_attempts(self) -> int:
        return self.scenario.max_attempts

    # -- bookkeeping of running processes ------------------------------------------------
    def start(self, process: Generator[Any, Any, Any]) -> None:
        """Run `process`; the simulation ends once every started process has."""
        self._pending += 1
        self.env.process(process).callbacks.append(self._finished)

    def _finished(self, _event: simpy.Event) -> None:
        self._pending -= 1
        if self._pending == 0 and self._arrived and not self._done.triggered:
            self._done.succeed()

    def neutron_context(self) -> RequestContext:
        """A request of neutron's service user (external events)."""
        return RequestContext(f"req-{_uuid(self._rng)}", user="service", project="neutron")

    # -- requests ---------------------------------------------------------------------
    def _arrivals(self) -> Iterator[tuple[float, int, int, int]]:
        """(time, 0 = boot / 1 = delete, request index, boot index) in time order, lazily."""
        def boots(r: int, b: BootRequest) -> Iterator[tuple[float, int, int, int]]:
            return ((b.at + i * b.interval, 0, r, i) for i in range(b.count))
        deletes = sorted((d.at, 1, r, 0) for r, d in enumerate(self.scenario.deletes))
        return heapq.merge(*(boots(r, b) for r, b in enumerate(self.scenario.boots)), deletes)

    def _workload(self) -> Generator[Any, Any, None]:
        number = 0
        for at, kind, r, i in self._arrivals():
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            if kind == 0:
                number += 1
                self._boot(self._order(number, self.scenario.boots[r], i))
            else:
                self._delete_request(self.scenario.deletes[r])
        self._arrived = True

    def _order(self, number: int, req: BootRequest, i: int) -> BootOrder:
        rng = random.Random(f"{self.seed}:{number}")
        given = req.uuids[i] if i < len(req.uuids) else None
        instance = given or _uuid(rng)
        mac = "fa:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(3, 254)}"
        port = fixed_port(_uuid(rng), mac, ip, self._network_id, self._tenant, "ovs")
        self.result.boots += 1
        return BootOrder(
            number=number, uuid=instance,
            name=req.name if req.count == 1 else f"{req.name}-{i + 1}", domain=f"instance-{number:08x}",
            request=RequestContext(f"req-{_uuid(rng)}", user=self.scenario.user,
                                   project=self.scenario.project),
            flavor=self.scenario.flavor(req.flavor), image=self.scenario.image(req.image), port=port,
            host=req.host, lifetime=req.lifetime)

    def _place(self, order: BootOrder) -> SimHost | None:
        """The host placement and the scheduler pick, or None (NoValidHost)."""
        f = order.flavor
        need = {"memory": f.memory_mb, "disk": f.disk_gb, "vcpu": f.vcpus}
        best, best_free = None, -1.0
        for name, host in self.hosts.items():
            if (order.host is not None and name != order.host) or name in order.tried:
                continue
            cap, alloc = self._capacity[name], self._allocated[name]
            if any(alloc[r] + need[r] > cap[r] for r in RESOURCES):
                continue
            free = cap["memory"] - alloc["memory"]
            if free > best_free:
                best, best_free = host, free
        if best is not None:
            for r in RESOURCES:
                self._allocated[best.name][r] += need[r]
        return best

    def _unplace(self, attempt: Attempt) -> None:
        f = attempt.order.flavor
        alloc = self._allocated[attempt.host.name]
        alloc["memory"] -= f.memory_mb
        alloc["disk"] -= f.disk_gb
        alloc["vcpu"] -= f.vcpus

    def _boot(self, order: BootOrder) -> bool:
        host = self._place(order)
        if host is None:
            return False
        order.tried.append(host.name)
        attempt_no = len(order.tried)
        rng = random.Random(f"{self.seed}:{order.number}:{attempt_no}")
        faults = self.faults.draw(order.number, attempt_no, host.name, rng)
        order.port = order.port.with_vif_type(host.spec.vif)
        steps = self.scenario.durations.sample(rng)
        self.start(Attempt(self, host, order, steps, faults).run())
        return True

    def on_active(self, attempt: Attempt) -> None:
        """A boot finished: the instance is active (and maybe deleted after its lifetime)."""
        self.active[attempt.uuid] = attempt
        if attempt.order.lifetime is not None:
            rng = random.Random(f"{self.seed}:{attempt.order.number}:lifetime")
            self.start(self._expire(attempt, attempt.order.lifetime.sample(rng)))

    def on_failed(self, attempt: Attempt, retry: bool) -> None:
        """A boot attempt failed: free its allocation and try another host if allowed."""
        self._unplace(attempt)
        order = attempt.order
        if retry:
            self.result.rescheduled += 1
            if len(order.tried) < self.scenario.max_attempts and self._boot(order):
                return
        self.result.failed += 1

    # -- deletes ------------------------------------------------------------------------
    def _expire(self, attempt: Attempt, lifetime: float) -> Generator[Any, Any, None]:
        yield self.env.timeout(lifetime)
        if self.active.get(attempt.uuid) is attempt:
            self._delete(attempt)

    def _delete_request(self, req: DeleteRequest) -> None:
        victims = [a for a in self.active.values() if req.host in (None, a.host.name)][:req.count]
        for attempt in victims:
            self._delete(attempt)

    def _delete(self, attempt: Attempt) -> None:
        del self.active[attempt.uuid]
        self._unplace(attempt)
        self.result.deleted += 1
        context = RequestContext(f"req-{_uuid(self._rng)}", user=self.scenario.user,
                                 project=self.scenario.project)
        self.start(terminate_instance(Deletion(attempt, context, self.start)))

    # -- periodic tasks -------------------------------------------------------------------
    def _audits(self, host: SimHost) -> Generator[Any, Any, None]:
        interval = host.spec.audit_interval
        rng = random.Random(f"{self.seed}:{host.name}:audit")
        yield self.env.timeout(rng.uniform(0, interval))
        while True:
            context = RequestContext(f"req-{_uuid(rng)}")
            yield from resource_audit(host, context, self.scenario.durations.audit.sample(rng))
            yield self.env.timeout(interval)

    def run(self) -> SimulationResult:
        """Run until every request is done; returns the tallies."""
        self.start(self._workload())
        for host in self.hosts.values():
            if host.spec.audit_interval > 0:
                self.env.process(self._audits(host))
        self.env.run(until=self._done)
        self.result.active = len(self.active)
        self.result.unscheduled = (self.result.boots - self.result.active - self.result.deleted
                                   - self.result.failed)
        self.result.seconds = self.env.now
        return self.result


class LevelWriter(TraceWriter):
    """A TraceWriter that drops DEBUG records unless `debug` (nova's [DEFAULT]debug)."""

    def __init__(self, out: IO[str], debug: bool, **kwargs: Any) -> None:
        super().__init__(out, **kwargs)
        self.debug = debug

    def write(self, when: datetime, level: str, logger: str, message: str, **kwargs: Any) -> None:
        if self.debug or level != "DEBUG":
            super().write(when, level, logger, message, **kwargs)


def _pid(name: str, seed: int) -> int:
    return random.Random(f"{seed}:{name}:pid").randrange(1000, 32768)


def splits_output(scenario: Scenario) -> bool:
    """Whether the trace goes to a directory of per-host files (several hosts, any oslo)."""
    hosts = [name for spec in scenario.hosts for name in spec.names()]
    return len(hosts) > 1 and any(spec.format == "oslo" for spec in scenario.hosts)


def simulate(scenario: Scenario | str | Path, out: str | Path, seed: int | None = None,
             stdout: IO[str] | None = None) -> SimulationResult:
    """Simulate `scenario` (or a scenario file) and write its trace to `out`.

    One host, or several hosts all logging to journald: one file (`-` = `stdout`). Several
    hosts with any oslo.log host: `out` is a directory of `<host>.journal` / `<host>.log`.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    hosts = [(spec, name) for spec in scenario.hosts for name in spec.names()]
    split = splits_output(scenario)
    if split and str(out) == "-":
        raise ValueError("several hosts with an oslo.log host write a directory of files, "
                         "not stdout: give -o DIRECTORY")
    outputs: list[str] = []
    with ExitStack() as stack:
        def open_out(path: str) -> IO[str]:
            outputs.append(path)
            if path == "-":
                if stdout is None:
                    raise ValueError("out '-' needs a stdout stream")
                return stdout
            return stack.enter_context(open(path, "w", encoding="utf-8", buffering=_BUFFER))

        writers: dict[str, TraceWriter] = {}
        shared: IO[str] | None = None
        if split:
            Path(out).mkdir(parents=True, exist_ok=True)
        for spec, name in hosts:
            if split:
                stream = open_out(str(Path(out) / host_file(spec, name)))
            else:
                shared = shared or open_out(str(out))
                stream = shared
            writers[name] = LevelWriter(stream, spec.log_level == "DEBUG", fmt=spec.format,
                                        release=spec.release, host=name,
                                        pid=spec.pid or _pid(name, scenario.seed))
        result = Engine(scenario, writers).run()
    result.lines = sum(w.lines_written for w in writers.values())
    result.outputs = outputs
    end = scenario.start + timedelta(seconds=result.seconds)
    for path in outputs:  # journald stamps carry no year: readers take it from the file's time
        if path != "-":
            date_trace(path, end)
    return result


def host_file(spec: HostSpec, name: str) -> str:
    """The file a host's trace goes to in a directory output."""
    return f"{name}.{'journal' if spec.format == 'journal' else 'log'}"
