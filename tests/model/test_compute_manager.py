"""nova's build order and failure path, written once in nsim.compute.manager: a driver that
records its steps shows what the manager asks for, in which order."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

from nsim.compute.manager import (
    BuildFailed,
    ComputeDriver,
    Outcome,
    TerminateDriver,
    build_and_run_instance,
    terminate_instance,
)
from nsim.hw.build import InstanceBuild
from nsim.hw.teardown import Termination
from nsim.sim.boot import Attempt
from nsim.sim.teardown import Deletion


class Recorder:
    """A driver whose steps only say they ran (and yield once, like a clocked driver); its
    clock moves one second per step."""

    def __init__(self, refuse: str | None = None, fail: bool = False,
                 crash: bool = False) -> None:
        self.steps: list[str] = []
        self.refuse, self.fail, self.crash = refuse, fail, crash

    def _step(self, name: str) -> Generator[str, None, None]:
        self.steps.append(name)
        yield name

    def now(self) -> float:
        return float(len(self.steps))

    def lock_instance(self) -> Generator[str, None, str]:
        yield from self._step("lock")
        return "held"

    def unlock_instance(self, held: Any) -> None:
        self.steps.append(f"unlock {held}")

    def starting(self) -> None:
        self.steps.append("starting")

    def claim(self) -> Generator[str, None, str | None]:
        yield from self._step("claim")
        return self.refuse

    def refused(self, reason: str) -> Generator[str, None, None]:
        yield from self._step(f"refused {reason}")

    def networks_and_bdm(self) -> Generator[str, None, None]:
        yield from self._step("networks")
        if self.crash:
            raise OSError("no bridge")

    def spawn(self) -> Generator[str, None, None]:
        yield from self._step("spawn")
        if self.fail:
            raise BuildFailed("no kernel")

    def spawn_failed(self, failure: BuildFailed) -> Generator[str, None, bool]:
        yield from self._step(f"spawn failed: {failure.fault}")
        return False

    def abort_claim(self) -> Generator[str, None, None]:
        yield from self._step("abort claim")

    def build_failed(self, failure: BuildFailed) -> Generator[str, None, None]:
        yield from self._step("build failed")

    def active(self) -> Generator[str, None, None]:
        yield from self._step("active")

    def finished(self, outcome: Outcome) -> Generator[str, None, None]:
        yield from self._step(f"finished {outcome.value}")

    def terminating(self) -> None:
        self.steps.append("terminating")

    def destroy(self) -> Generator[str, None, None]:
        yield from self._step("destroy")

    def delete_files(self) -> Generator[str, None, None]:
        yield from self._step("delete files")

    def deallocate_network(self) -> Generator[str, None, None]:
        yield from self._step("deallocate")

    def took(self, seconds: float, what: str) -> None:
        self.steps.append(f"took {seconds:.0f} to {what}")

    def update_usage(self) -> Generator[str, None, None]:
        yield from self._step("update usage")


UNYIELDED = ("starting", "unlock", "terminating", "took")


def _run(driver: Recorder, process: Callable[[Recorder], Generator[Any, Any, Any]]
         = build_and_run_instance) -> list[str]:
    yielded = list(process(driver))
    assert yielded == [s for s in driver.steps if not s.startswith(UNYIELDED)]
    return driver.steps


def test_a_build_in_nova_s_order() -> None:
    assert _run(Recorder()) == [
        "lock", "starting", "claim", "networks", "spawn",
        "took 1 to spawn the instance on the hypervisor.", "took 4 to build instance.",
        "active", "unlock held", "finished active"]


def test_a_refused_claim_is_rescheduled_before_anything_is_built() -> None:
    assert _run(Recorder(refuse="Free memory 256.00 MB < requested 512 MB")) == [
        "lock", "starting", "claim", "refused Free memory 256.00 MB < requested 512 MB",
        "unlock held", "finished refused"]


def test_a_failed_spawn_tears_down_then_aborts_the_claim_then_fails_the_build() -> None:
    assert _run(Recorder(fail=True)) == [
        "lock", "starting", "claim", "networks", "spawn", "spawn failed: no kernel",
        "terminating", "destroy", "delete files",
        "took 2 to destroy the instance on the hypervisor.",
        "abort claim", "build failed", "unlock held", "finished failed"]


def test_an_unexpected_error_aborts_the_claim_and_lets_the_instance_lock_go() -> None:
    driver = Recorder(crash=True)
    with pytest.raises(OSError, match="no bridge"):
        list(build_and_run_instance(driver))
    assert driver.steps == ["lock", "starting", "claim", "networks", "abort claim",
                            "unlock held"]


def test_a_delete_shuts_down_then_drops_the_usage_under_the_instance_lock() -> None:
    assert _run(Recorder(), terminate_instance) == [
        "lock", "terminating", "destroy", "delete files",
        "took 2 to destroy the instance on the hypervisor.", "deallocate",
        "took 1 to deallocate network for instance.", "update usage", "unlock held"]


@pytest.mark.parametrize(("driver", "protocol"), [(Attempt, ComputeDriver),
                                                  (InstanceBuild, ComputeDriver),
                                                  (Deletion, TerminateDriver),
                                                  (Termination, TerminateDriver)])
def test_the_simulator_and_hardware_mode_are_drivers_of_it(driver: type, protocol: type) -> None:
    steps = [name for name in dir(protocol) if not name.startswith("_")]
    assert len(steps) >= 9
    assert all(callable(getattr(driver, name, None)) for name in steps)
