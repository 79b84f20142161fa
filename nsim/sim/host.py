"""One simulated compute host: the host model, SimPy locks, and its log writer.

SimHost is nsim.model's Host (its state and nova's transitions on it); this class only adds
what a running service has besides its state: mutual exclusion in simulated time and a
log. Every lock is a SimPy resource mirrored in the LockTable (holder, waiters), and every
acquire/release is logged the way oslo.concurrency logs it for the host's release.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import simpy

from nsim.events.base import Event
from nsim.events.lock import LockAcquired, LockAcquiring, LockReleased
from nsim.events.writer import RequestContext, TraceWriter
from nsim.model.config import default_allocation_ratios
from nsim.model.host import Host
from nsim.model.locks import Holder
from nsim.nova.names import COMPUTE_RESOURCES, Owners, owners
from nsim.nova.releases import at_least
from nsim.sim.scenario import HostSpec
from nsim.sim.texts import QemuImg


class SimHost(Host):
    """A nova-compute service in simulated time."""

    def __init__(self, env: simpy.Environment, name: str, spec: HostSpec, writer: TraceWriter,
                 start: datetime, service_request: str) -> None:
        self.env = env
        self.spec = spec
        self.release = spec.release
        self.writer = writer
        self.start = start
        config = spec.config(name)
        ratios = default_allocation_ratios(spec.release)
        config = config.model_copy(update={
            "cpu_allocation_ratio": spec.cpu_allocation_ratio or ratios["vcpu"],
            "ram_allocation_ratio": spec.ram_allocation_ratio or ratios["memory"],
            "disk_allocation_ratio": spec.disk_allocation_ratio or ratios["disk"]})
        super().__init__(name, config)
        self._mutex: dict[str, simpy.Resource] = {}
        self.owners: Owners = owners(spec.python3)
        self.qemu_img = QemuImg(spec.release, spec.python3)
        self.claim_lines = not at_least(spec.release, "train")
        self.service = RequestContext(service_request)
        self.failed_builds = 0

    # -- time and log -----------------------------------------------------------
    def when(self) -> datetime:
        return self.start + timedelta(seconds=self.env.now)

    def say(self, event: Event, context: RequestContext | None, instance: str | None = None,
            traceback: tuple[str, ...] | None = None) -> None:
        """Log `event` now, as this host's nova release words it."""
        self.writer.emit(self.when(), event, instance=instance, context=context,
                         traceback=list(traceback) if traceback else None)

    def has(self, kind: type[Event]) -> bool:
        """Whether this release logs `kind` at all."""
        return kind.wording_for(self.release) is not None

    # -- placement's view -----------------------------------------------------------
    def capacity(self, resource: str) -> float:
        """Placement inventory: (total - reserved) x allocation ratio."""
        total = self.tracker.totals[resource] or 0.0
        return (total - self.tracker.baseline[resource]) * (self.tracker.ratios[resource] or 1.0)

    def claim_limits(self) -> dict[str, float | None]:
        """The limits the scheduler hands the claim (Stein and earlier, with its filters on)."""
        if not self.spec.scheduler_limits:
            return dict.fromkeys(("memory", "disk", "vcpu"))
        return {r: self.tracker.limit(r) for r in ("memory", "disk", "vcpu")}

    # -- locks ----------------------------------------------------------------------
    def lock(self, name: str, owner: str, context: RequestContext) -> Generator[Any, Any, Any]:
        """Wait for lock `name` on behalf of `owner`; logs acquiring (Zed on) and acquired."""
        mutex = self._mutex.get(name)
        if mutex is None:
            mutex = self._mutex[name] = simpy.Resource(self.env, capacity=1)
        table = self.locks.get(name)
        table.wait(Holder(owner, context.request_id, self.when()))
        if self.has(LockAcquiring):
            self.say(LockAcquiring(name=name, owner=owner), context)
        request = mutex.request()
        yield request
        waiter = table.take_waiter(owner, context.request_id)
        now = self.when()
        table.holder = Holder(owner, context.request_id, now)
        waited = (now - waiter.since).total_seconds() if waiter and waiter.since else 0.0
        self.say(LockAcquired(name=name, owner=owner, waited=waited), context)
        return request

    def unlock(self, name: str, request: Any, context: RequestContext) -> None:
        """Release lock `name`; logs the hold time and forgets locks nobody wants."""
        table = self.locks.get(name)
        holder = table.holder
        held = (self.when() - holder.since).total_seconds() if holder and holder.since else 0.0
        table.holder = None
        self.say(LockReleased(name=name, owner=holder.owner if holder else "", held=held),
                 context)
        mutex = self._mutex[name]
        mutex.release(request)
        if not mutex.users and not mutex.queue and name != COMPUTE_RESOURCES:
            del self._mutex[name]
            self.locks.forget(name)
