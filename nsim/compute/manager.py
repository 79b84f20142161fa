"""The build and the delete of an instance, in nova's order, written once
(nova/compute/manager.py: `_do_build_and_run_instance` → `_build_and_run_instance` →
`_build_resources` for the build, `_delete_instance` → `_shutdown_instance` for the delete);
the virt driver's spawn is nsim.compute.spawn.

The order, the timings nova logs and the failure path live here; a driver does each step: the
simulator's on its SimPy clock (nsim.sim.boot, nsim.sim.teardown), hardware mode's for real
with qemu-img and libvirt (nsim.hw.build, nsim.hw.teardown). Every step is a generator: the
simulator's yield SimPy events, the hardware driver's never yield. A third driver plugs in by
implementing `ComputeDriver` (a build) and `TerminateDriver` (a delete).
"""

from __future__ import annotations

from collections.abc import Generator
from enum import Enum
from typing import Any, Protocol

from nsim.compute.spawn import SpawnDriver, as_failure, spawn
from nsim.compute.steps import BuildFailed, Steps, releasing
from nsim.events.guest import TOOK_BUILD, TOOK_DEALLOCATE, TOOK_DESTROY, TOOK_SPAWN


class Outcome(Enum):
    """How a build ended, as the rest of the cloud learns it once the instance lock is let go."""

    ACTIVE = "active"
    REFUSED = "refused"
    """The claim was refused (ComputeResourcesUnavailable): re-scheduled before any spawn."""
    FAILED = "failed"
    """The spawn failed: torn down, the claim aborted, re-scheduled or set to error."""


class Teardown(Protocol):
    """The steps of `_shutdown_instance`: a failed build's cleanup and a delete share them."""

    def now(self) -> float:
        """The driver's clock, in seconds (for nova's "Took N seconds" lines)."""

    def terminating(self) -> None:
        """"Terminating instance"."""

    def destroy(self) -> Steps:
        """The virt driver's destroy: the domain powered off and undefined."""

    def delete_files(self) -> Steps:
        """The virt driver's cleanup: the instance directory renamed to `_del` and removed."""

    def deallocate_network(self) -> Steps:
        """The instance's ports given back to neutron."""

    def took(self, seconds: float, what: str) -> None:
        """Log "Took {seconds:.2f} seconds to {what}"."""


class ComputeDriver(Teardown, SpawnDriver, Protocol):
    """The steps of a build, each doing and logging what nova does at that point."""

    def lock_instance(self) -> Steps:
        """Take the lock named after the instance (build_and_run_instance's synchronized);
        returns what `unlock_instance` needs."""

    def unlock_instance(self, held: Any) -> None: ...

    def starting(self) -> None:
        """"Starting instance...": the build begins."""

    def claim(self) -> Steps:
        """instance_claim under compute_resources; returns the refusal's reason, or None."""

    def refused(self, reason: str) -> Steps:
        """The claim was refused: the build is re-scheduled (logged under the instance lock)."""

    def networks_and_bdm(self) -> Steps:
        """_build_resources: networks allocated in the background, block devices."""

    def spawning(self) -> None:
        """"Start spawning the instance on the hypervisor."; the virt driver's spawn
        (nsim.compute.spawn) follows."""

    def spawn_failed(self, failure: BuildFailed) -> Steps:
        """"Instance failed to spawn"; returns whether the cleanup deallocates the networks."""

    def abort_claim(self) -> Steps:
        """abort_instance_claim under compute_resources."""

    def build_failed(self, failure: BuildFailed) -> Steps:
        """The failed build is re-scheduled or set to error (logged under the instance lock)."""

    def active(self) -> Steps:
        """The instance is active (saved so, under the instance lock, before "Took N seconds
        to build instance.")."""

    def finished(self, outcome: Outcome) -> Steps:
        """After the instance lock is let go: the rest of the cloud learns the outcome."""


class TerminateDriver(Teardown, Protocol):
    """The steps of a delete besides `_shutdown_instance`'s."""

    def lock_instance(self) -> Steps:
        """Take the lock named after the instance (do_terminate_instance's synchronized)."""

    def unlock_instance(self, held: Any) -> None: ...

    def update_usage(self) -> Steps:
        """update_usage under compute_resources: the deleted instance's claim is dropped."""


def build_and_run_instance(driver: ComputeDriver) -> Steps:
    """One build, in nova's order, with nova's failure path; the instance lock is let go
    however the build ends (not when the run abandons it: nsim.compute.steps.releasing)."""
    held = yield from driver.lock_instance()
    with releasing(lambda: driver.unlock_instance(held)):
        outcome = yield from _build(driver)
    yield from driver.finished(outcome)


def _build(driver: ComputeDriver) -> Generator[Any, Any, Outcome]:
    driver.starting()
    began = driver.now()
    refusal = yield from driver.claim()
    if refusal is not None:
        yield from driver.refused(refusal)
        return Outcome.REFUSED
    # `with rt.instance_claim(...)` (nova/compute/claims.py): until the build succeeds or its
    # failure is cleaned up, any exception aborts the claim (Claim.__exit__) and goes on.
    failure: BuildFailed | None = None
    try:
        yield from driver.networks_and_bdm()
        spawn_began = driver.now()
        driver.spawning()
        try:
            yield from spawn(driver)
        except Exception as exc:
            failure = as_failure(driver, exc)
            if failure is None:
                raise
        if failure is not None:
            deallocate = yield from driver.spawn_failed(failure)
            yield from shutdown_instance(driver, deallocate=deallocate)
    except Exception:
        yield from driver.abort_claim()
        raise
    if failure is not None:
        yield from driver.abort_claim()
        yield from driver.build_failed(failure)
        return Outcome.FAILED
    driver.took(driver.now() - spawn_began, TOOK_SPAWN)
    yield from driver.active()
    driver.took(driver.now() - began, TOOK_BUILD)
    return Outcome.ACTIVE


def shutdown_instance(driver: Teardown, *, deallocate: bool) -> Steps:
    """_shutdown_instance: terminate, destroy, delete the files, and (when asked) give the
    networks back, each timed as nova logs it."""
    driver.terminating()
    began = driver.now()
    yield from driver.destroy()
    yield from driver.delete_files()
    driver.took(driver.now() - began, TOOK_DESTROY)
    if deallocate:
        began = driver.now()
        yield from driver.deallocate_network()
        driver.took(driver.now() - began, TOOK_DEALLOCATE)


def terminate_instance(driver: TerminateDriver) -> Steps:
    """do_terminate_instance: under the instance lock, shut the instance down, then drop its
    usage under compute_resources."""
    held = yield from driver.lock_instance()
    with releasing(lambda: driver.unlock_instance(held)):
        yield from shutdown_instance(driver, deallocate=True)
        yield from driver.update_usage()
