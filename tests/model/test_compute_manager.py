"""nova's build order and failure path, written once in nsim.compute.manager: a driver that
records its steps shows what the manager asks for, in which order."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from nsim.compute.manager import BuildFailed, ComputeDriver, build_and_run_instance
from nsim.hw.build import InstanceBuild
from nsim.sim.boot import Attempt


class Recorder:
    """A driver whose steps only say they ran (and yield once, like a clocked driver)."""

    def __init__(self, refuse: str | None = None, fail: bool = False) -> None:
        self.steps: list[str] = []
        self.refuse, self.fail = refuse, fail

    def _step(self, name: str) -> Generator[str, None, None]:
        self.steps.append(name)
        yield name

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

    def refused(self, held: Any, reason: str) -> Generator[str, None, None]:
        yield from self._step(f"refused {reason}")
        self.unlock_instance(held)

    def networks_and_bdm(self) -> Generator[str, None, None]:
        yield from self._step("networks")

    def spawn(self) -> Generator[str, None, None]:
        yield from self._step("spawn")
        if self.fail:
            raise BuildFailed("no kernel")

    def spawn_failed(self, failure: BuildFailed) -> Generator[str, None, None]:
        yield from self._step(f"spawn failed: {failure.fault}")

    def abort_claim(self) -> Generator[str, None, None]:
        yield from self._step("abort claim")

    def build_failed(self, held: Any, failure: BuildFailed) -> Generator[str, None, None]:
        yield from self._step("build failed")
        self.unlock_instance(held)

    def active(self, held: Any) -> Generator[str, None, None]:
        yield from self._step("active")
        self.unlock_instance(held)


def _run(driver: Recorder) -> list[str]:
    yielded = list(build_and_run_instance(driver))
    assert yielded == [s for s in driver.steps if s != "starting" and not s.startswith("unlock")]
    return driver.steps


def test_a_build_in_nova_s_order() -> None:
    assert _run(Recorder()) == ["lock", "starting", "claim", "networks", "spawn", "active",
                                "unlock held"]


def test_a_refused_claim_is_rescheduled_before_anything_is_built() -> None:
    assert _run(Recorder(refuse="Free memory 256.00 MB < requested 512 MB")) == [
        "lock", "starting", "claim", "refused Free memory 256.00 MB < requested 512 MB",
        "unlock held"]


def test_a_failed_spawn_tears_down_then_aborts_the_claim_then_fails_the_build() -> None:
    assert _run(Recorder(fail=True)) == [
        "lock", "starting", "claim", "networks", "spawn", "spawn failed: no kernel",
        "abort claim", "build failed", "unlock held"]


@pytest.mark.parametrize("driver", [Attempt, InstanceBuild])
def test_the_simulator_and_hardware_mode_are_drivers_of_it(driver: type) -> None:
    steps = [name for name in dir(ComputeDriver) if not name.startswith("_")]
    assert len(steps) == 11
    assert all(callable(getattr(driver, name, None)) for name in steps)
