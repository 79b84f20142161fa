"""The simulator's teardown steps (a failed build's cleanup and a delete share them) and its
delete driver; the order is nsim.compute.manager's `shutdown_instance` / `terminate_instance`."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from nsim.events import guest, teardown
from nsim.events.base import Event
from nsim.events.writer import RequestContext
from nsim.nova.names import COMPUTE_RESOURCES
from nsim.sim.durations import Steps
from nsim.sim.host import SimHost

# nova/virt/libvirt/host.py: a STOPPED lifecycle event is emitted 15 s late.
STOPPED_DELAY = 15.0


class SimTeardown:
    """`_shutdown_instance`'s steps on the SimPy clock, for one instance on `host`."""

    host: SimHost
    steps: Steps
    uuid: str
    ctx: RequestContext
    instance_dir: str
    guest_gone = False
    """The guest and its files are gone already (a failed start cleaned them up)."""

    def say(self, event: Event, context: RequestContext | bool | None = True,
            traceback: tuple[str, ...] | None = None) -> None:
        """Log for this instance; context True = this step's request, None = `[-]`."""
        ctx = self.ctx if context is True else context
        self.host.say(event, ctx if isinstance(ctx, RequestContext) else None, self.uuid, traceback)

    def wait(self, seconds: float) -> Any:
        return self.host.env.timeout(seconds)

    def now(self) -> float:
        return float(self.host.env.now)

    def terminating(self) -> None:
        self.say(teardown.Terminating())

    def destroy(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.destroy * 0.5)
        if self.guest_gone:  # nova's _wait_for_destroy finds no domain
            self.say(teardown.DestroyVanished())
        self.say(teardown.Destroyed())

    def delete_files(self) -> Generator[Any, Any, None]:
        """LibvirtDriver.delete_instance_files: "Deleting instance files" only when there
        are files, "Deletion of … complete" always."""
        deleted = f"{self.instance_dir}_del"
        if not self.guest_gone:
            self.say(teardown.DeletingFiles(path=deleted))
        yield self.wait(self.steps.destroy * 0.5)
        self.say(teardown.DeletionComplete(path=deleted))

    def deallocate_network(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.deallocate)

    def took(self, seconds: float, what: str) -> None:
        self.say(guest.TookSeconds(seconds=seconds, what=what))


class Deletion(SimTeardown):
    """terminate_instance of the instance `attempt` built, asked for by `context`; `start`
    runs a process beside it (the late STOPPED event)."""

    def __init__(self, attempt: SimTeardown, context: RequestContext,
                 start: Callable[[Generator[Any, Any, None]], None]) -> None:
        self.start = start
        self.host, self.steps = attempt.host, attempt.steps
        self.uuid, self.instance_dir = attempt.uuid, attempt.instance_dir
        self.ctx = context

    def lock_instance(self) -> Generator[Any, Any, Any]:
        return (yield from self.host.lock(self.uuid, self.host.owners.terminate, self.ctx))

    def unlock_instance(self, held: Any) -> None:
        self.host.unlock(self.uuid, held, self.ctx)

    def destroy(self) -> Generator[Any, Any, None]:
        yield from super().destroy()
        # libvirt's STOPPED lifecycle event of the destroyed domain, delayed 15 s by nova.
        self.start(self._stopped_later())

    def update_usage(self) -> Generator[Any, Any, None]:
        h = self.host
        usage = yield from h.lock(COMPUTE_RESOURCES, h.owners.update_usage, self.ctx)
        h.give_back(self.uuid)
        h.unlock(COMPUTE_RESOURCES, usage, self.ctx)

    def _stopped_later(self) -> Generator[Any, Any, None]:
        """nova/virt/libvirt/host.py `_event_emit_delayed`: STOPPED is emitted 15 s after the
        domain stopped (the destroy), whatever the rest of the delete is doing by then."""
        yield self.wait(STOPPED_DELAY)
        self.say(guest.LifecycleEvent(transition="Stopped", instance_uuid=self.uuid), None)
