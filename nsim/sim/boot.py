"""One boot attempt on a simulated host: the simulator's driver of nsim.compute.manager
(which holds nova's order and failure path). Its steps wait their drawn durations on the SimPy
clock and log what nova logs there: the claim under `compute_resources` (with the
Stein-and-earlier claim test lines), the networks allocated in the background (a process of
its own), the outcome reported to the engine. The spawn's steps are in nsim.sim.spawn, the
teardown's in nsim.sim.teardown, the periodic resource audit in nsim.sim.audit.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from nsim.compute.manager import BuildFailed, Outcome, build_and_run_instance
from nsim.events import build, claim
from nsim.events import failure as failure_ev
from nsim.events.writer import RequestContext
from nsim.model.claims import RESOURCES, Claim
from nsim.nova.names import COMPUTE_RESOURCES
from nsim.nova.network_info import PortInfo, network_info_json
from nsim.sim.durations import Distribution, Steps
from nsim.sim.faults import NUMA_REASON, Failure, network_failure
from nsim.sim.host import SimHost
from nsim.sim.scenario import FlavorSpec, ImageSpec
from nsim.sim.spawn import Neutron, SimSpawn
from nsim.sim.teardown import SimTeardown


@dataclass
class BootOrder:
    """One requested instance: its identity and what it boots (kept across re-schedules)."""

    number: int
    uuid: str
    name: str
    domain: str
    request: RequestContext
    flavor: FlavorSpec
    image: ImageSpec
    port: PortInfo
    host: str | None = None
    lifetime: Distribution | None = None
    tried: list[str] = field(default_factory=list)


class Conductor(Neutron, Protocol):
    """What a build on a host reports to and asks of the rest of the cloud (nsim.sim.engine)."""

    max_attempts: int
    """Builds per request (nova's scheduler max_attempts); 1: a failure is not re-scheduled."""

    def on_active(self, attempt: Attempt) -> None: ...

    def on_failed(self, attempt: Attempt, retry: bool) -> None: ...


class Attempt(SimSpawn, SimTeardown):
    """A boot of `order` on `host` with drawn `steps` and injected `faults`."""

    def __init__(self, engine: Conductor, host: SimHost, order: BootOrder, steps: Steps,
                 faults: frozenset[str]) -> None:
        self.engine = engine
        self.host = host
        self.env = host.env
        self.order = order
        self.steps = steps
        self.faults = faults
        self.uuid = order.uuid
        self.ctx = order.request
        self.instance_dir = f"{host.spec.instances_path}/{order.uuid}"
        self.python3 = host.spec.python3
        self.network: Any = None
        """The background network allocation (a SimPy process; its value: a fault or None)."""

    # -- the build: nova's order is nsim.compute.manager's; these are this driver's steps --
    def run(self) -> Generator[Any, Any, None]:
        yield from build_and_run_instance(self)

    def lock_instance(self) -> Generator[Any, Any, Any]:
        return (yield from self.host.lock(self.uuid, self.host.owners.build, self.ctx))

    def unlock_instance(self, held: Any) -> None:
        self.host.unlock(self.uuid, held, self.ctx)

    def starting(self) -> None:
        self.say(build.InstanceStarting())

    def refused(self, reason: str) -> Generator[Any, Any, None]:
        self._reschedule(f"Insufficient compute resources: {reason}.")
        yield from ()

    def networks_and_bdm(self) -> Generator[Any, Any, None]:
        s = self.steps
        yield self.wait(s.build_prep * 0.9)
        self.say(build.NetworkAsyncStart())
        self.say(build.NetworkAllocating())
        self.network = self.env.process(self._network())
        yield self.wait(s.build_prep * 0.05)
        self.say(build.BdmStart())
        yield self.wait(s.build_prep * 0.05)

    def spawning(self) -> None:
        self.say(build.SpawnStart())

    def active(self) -> Generator[Any, Any, None]:
        yield from ()

    def finished(self, outcome: Outcome) -> Generator[Any, Any, None]:
        if outcome is Outcome.ACTIVE:
            self.engine.on_active(self)
        elif self.engine.max_attempts == 1:
            self.engine.on_failed(self, retry=False)
        else:
            yield self.wait(self.steps.reschedule)
            self.engine.on_failed(self, retry=True)

    def claim(self) -> Generator[Any, Any, str | None]:
        """instance_claim under compute_resources; the refusal reason, or None on success."""
        h, f = self.host, self.order.flavor
        lock = yield from h.lock(COMPUTE_RESOURCES, h.owners.claim, self.ctx)
        wanted = Claim(f.memory_mb, f.disk_gb, f.vcpus)
        reasons: list[str] = []
        if h.claim_lines:
            for res in RESOURCES:
                h.say(claim.Overhead(resource=res, requested=wanted.amount(res) or 0, overhead=0),
                      self.ctx)
            self.say(claim.ClaimAttempt(node=h.name, memory_mb=f.memory_mb, disk_gb=f.disk_gb,
                                        vcpus=f.vcpus))
            limits = h.claim_limits()
            for res in RESOURCES:
                used = h.tracker.used(res) or 0.0
                self.say(claim.ClaimTotal(resource=res, total=h.tracker.totals[res] or 0.0,
                                          used=used))
                limit = limits[res]
                if limit is None:
                    self.say(claim.ClaimLimitUnspecified(resource=res))
                else:
                    self.say(claim.ClaimLimit(resource=res, limit=limit, free=limit - used))
            reasons = h.tracker.test(wanted, limits)
        if "insufficient_resources" in self.faults:
            reasons.append(NUMA_REASON)
        else:
            h.say(claim.NumaNote(), self.ctx)
        yield self.wait(self.steps.claim)
        if reasons:
            reason = "; ".join(reasons)
            if h.has(claim.ClaimFailed):
                self.say(claim.ClaimFailed(reason=reason))
            h.unlock(COMPUTE_RESOURCES, lock, self.ctx)
            self.say(claim.InsufficientResources(reason=reason))
            return reason
        h.claim(self.uuid, wanted)
        self.say(claim.ClaimSuccessful(node=h.name))
        h.unlock(COMPUTE_RESOURCES, lock, self.ctx)
        return None

    def _network(self) -> Generator[Any, Any, Failure | None]:
        """_allocate_network_async: runs beside image creation; the failure, if any."""
        yield self.wait(self.steps.network)
        port = self.order.port
        if "network" in self.faults:
            fault = network_failure(port.id, self.python3)
            self.host.writer.emit(self.host.when(),
                                  failure_ev.NetworkSetupFailed(attempts=1, final=True),
                                  instance=self.uuid, context=self.ctx,
                                  traceback=list(fault.traceback))
            return fault
        raw = network_info_json([port], self.host.release)
        self.say(build.NetworkCacheUpdate(raw=raw))
        self.say(build.NetworkInfo(raw=f"|{raw}|"))
        return None

    # -- failure -----------------------------------------------------------------------
    def spawn_failed(self, failure: BuildFailed) -> Generator[Any, Any, bool]:
        """_build_resources' cleanup follows; the network is deallocated when its allocation
        failed."""
        fault: Failure = failure.fault  # type: ignore[assignment]
        self.say(failure_ev.SpawnFailed(summary=fault.summary), traceback=fault.traceback)
        network_failed = yield self.network
        return network_failed is not None

    def abort_claim(self) -> Generator[Any, Any, None]:
        h = self.host
        lock = yield from h.lock(COMPUTE_RESOURCES, h.owners.abort_claim, self.ctx)
        h.give_back(self.uuid)
        h.unlock(COMPUTE_RESOURCES, lock, self.ctx)

    def build_failed(self, failure: BuildFailed) -> Generator[Any, Any, None]:
        fault: Failure = failure.fault  # type: ignore[assignment]
        if self.host.has(failure_ev.BuildFailed):  # Rocky on
            self.say(failure_ev.BuildFailed(summary=fault.summary), traceback=fault.traceback)
        self._reschedule(fault.reason)
        yield from ()

    def _reschedule(self, reason: str) -> None:
        """Logged under the instance lock: no retry is possible, or the build is sent back."""
        self.host.failed_builds += 1
        if self.engine.max_attempts == 1:
            self.say(failure_ev.RetryInfoAbsent())
        else:
            self.say(failure_ev.Rescheduled(instance_uuid=self.uuid, reason=reason))
