"""The build of an instance, in nova's order, written once (nova/compute/manager.py
`_do_build_and_run_instance` → `_build_and_run_instance` → `_build_resources`).

The order and the failure path live here; a `ComputeDriver` does each step: the simulator's on
its SimPy clock (nsim.sim.boot), hardware mode's for real with qemu-img and libvirt
(nsim.hw.build). Every step is a generator: the simulator's yield SimPy events, the hardware
driver's never yield. A third driver plugs in by implementing the protocol.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

Steps = Generator[Any, Any, Any]
"""A driver step: what it yields is the driver's business (SimPy events, or nothing)."""


class BuildFailed(Exception):
    """A step of the spawn failed; `fault` is what the driver knows of it."""

    def __init__(self, fault: object) -> None:
        super().__init__(str(fault))
        self.fault = fault


class ComputeDriver(Protocol):
    """The steps of a build, each doing and logging what nova does at that point."""

    def lock_instance(self) -> Steps:
        """Take the lock named after the instance (build_and_run_instance's synchronized);
        returns what `unlock_instance` needs."""

    def unlock_instance(self, held: Any) -> None: ...

    def starting(self) -> None:
        """"Starting instance...": the build begins."""

    def claim(self) -> Steps:
        """instance_claim under compute_resources; returns the refusal's reason, or None."""

    def refused(self, held: Any, reason: str) -> Steps:
        """The claim was refused: the build is re-scheduled (the instance lock is let go)."""

    def networks_and_bdm(self) -> Steps:
        """_build_resources: networks allocated in the background, block devices."""

    def spawn(self) -> Steps:
        """The driver's spawn, from "Start spawning" to "Instance spawned successfully.";
        raises BuildFailed."""

    def spawn_failed(self, failure: BuildFailed) -> Steps:
        """"Instance failed to spawn", then _shutdown_instance."""

    def abort_claim(self) -> Steps:
        """abort_instance_claim under compute_resources (the claim's context exits on the
        exception)."""

    def build_failed(self, held: Any, failure: BuildFailed) -> Steps:
        """The failed build is re-scheduled or set to error; the instance lock is let go."""

    def active(self, held: Any) -> Steps:
        """The build took N seconds; the instance is active; the instance lock is let go."""


def build_and_run_instance(driver: ComputeDriver) -> Steps:
    """One build, in nova's order, with nova's failure path."""
    held = yield from driver.lock_instance()
    driver.starting()
    refusal = yield from driver.claim()
    if refusal is not None:
        yield from driver.refused(held, refusal)
        return
    try:
        yield from driver.networks_and_bdm()
        yield from driver.spawn()
    except BuildFailed as failure:
        yield from driver.spawn_failed(failure)
        yield from driver.abort_claim()
        yield from driver.build_failed(held, failure)
        return
    yield from driver.active(held)
