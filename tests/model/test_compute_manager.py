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
from nsim.compute.spawn import BaseLock
from nsim.hw.build import InstanceBuild
from nsim.hw.teardown import Termination
from nsim.sim.boot import Attempt
from nsim.sim.teardown import Deletion


def _yielding(name: str) -> Callable[[Recorder], Generator[str, None, None]]:
    """A step that records `name`, yields once, and raises where asked to: BuildFailed, or
    with `raw_error` a plain exception the driver's `failure_of` judges."""

    def step(self: Recorder) -> Generator[str, None, None]:
        yield from self._step(name)
        if self.fail_at == name:
            raise ValueError(f"{name} broke") if self.raw_error else BuildFailed(f"{name} failed")

    return step


class Recorder:
    """A driver whose steps only say they ran (and yield once, like a clocked driver); its
    clock moves one second per step. `fail_at` names the step that raises BuildFailed;
    `cached`: the base file is there; `raw`: the image needs no conversion."""

    def __init__(self, refuse: str | None = None, fail_at: str | None = None,
                 crash: bool = False, cached: bool = False, raw: bool = False,
                 raw_error: bool = False, nova_handles: bool = True) -> None:
        self.steps: list[str] = []
        self.refuse, self.fail_at, self.crash = refuse, fail_at, crash
        self.cached, self.raw = cached, raw
        self.raw_error, self.nova_handles = raw_error, nova_handles

    def failure_of(self, exc: Exception) -> BuildFailed | None:
        return BuildFailed(f"nova: {exc}") if self.nova_handles else None

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

    def spawning(self) -> None:
        self.steps.append("spawning")

    # -- the spawn --
    create_instance_dir = _yielding("instance dir")
    creating_image = _yielding("creating image")

    def base_present(self) -> bool:
        self.steps.append(f"present? {self.cached}")
        return self.cached

    def lock_base(self, owner: BaseLock) -> Generator[str, None, str]:
        yield from self._step(f"lock base {owner.value}")
        return owner.value

    def unlock_base(self, held: str) -> None:
        self.steps.append(f"unlock base {held}")

    def fetch(self) -> Generator[str, None, bool]:
        yield from _yielding("fetch")(self)
        return not self.raw

    convert = _yielding("convert")
    into_cache = _yielding("into cache")

    def fetch_aborted(self) -> None:
        self.steps.append("fetch aborted")

    verify_base = _yielding("verify base")
    overlay = _yielding("overlay")
    disk_created = _yielding("disk created")
    console_log = _yielding("console log")
    network_info = _yielding("network info")
    guest_xml = _yielding("guest xml")
    prepare_events = _yielding("prepare events")
    plug_vifs = _yielding("plug vifs")
    start_paused = _yielding("start paused")
    wait_for_events = _yielding("wait for events")
    resume = _yielding("resume")

    def cleanup_failed_start(self, failure: BuildFailed) -> Generator[str, None, None]:
        yield from self._step(f"cleanup failed start: {failure.fault}")

    guest_created = _yielding("guest created")
    wait_for_boot = _yielding("wait for boot")

    # -- after the spawn --
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

    destroy = _yielding("destroy")
    delete_files = _yielding("delete files")
    deallocate_network = _yielding("deallocate")

    def took(self, seconds: float, what: str) -> None:
        self.steps.append(f"took {seconds:.0f} to {what}")

    update_usage = _yielding("update usage")


UNYIELDED = ("starting", "unlock", "terminating", "took", "spawning", "present?",
             "fetch aborted")


def _run(driver: Recorder, process: Callable[[Recorder], Generator[Any, Any, Any]]
         = build_and_run_instance) -> list[str]:
    yielded = list(process(driver))
    assert yielded == [s for s in driver.steps if not s.startswith(UNYIELDED)]
    return driver.steps


SPAWN_MISS = ["spawning", "instance dir", "creating image", "present? False",
              "lock base fetch", "present? False", "fetch", "convert", "into cache",
              "unlock base fetch", "verify base", "lock base overlay", "overlay",
              "unlock base overlay", "disk created", "console log", "network info", "guest xml",
              "prepare events", "plug vifs", "start paused", "wait for events", "resume",
              "guest created", "wait for boot"]


def test_a_build_in_nova_s_order() -> None:
    assert _run(Recorder()) == [
        "lock", "starting", "claim", "networks", *SPAWN_MISS,
        "took 25 to spawn the instance on the hypervisor.", "active",
        "took 29 to build instance.", "unlock held", "finished active"]


def test_a_cached_base_file_is_not_fetched_and_a_raw_image_not_converted() -> None:
    spawn = _run(Recorder(cached=True))[4:]
    assert spawn[:8] == ["spawning", "instance dir", "creating image", "present? True",
                         "verify base", "lock base overlay", "overlay", "unlock base overlay"]
    fetched = _run(Recorder(raw=True))
    assert "fetch" in fetched and "convert" not in fetched
    assert fetched.index("into cache") == fetched.index("fetch") + 1


def test_a_failed_fetch_removes_what_it_wrote_and_lets_the_base_lock_go() -> None:
    steps = _run(Recorder(fail_at="convert"))
    i = steps.index("convert")
    assert steps[i:i + 3] == ["convert", "fetch aborted", "unlock base fetch"]
    assert "overlay" not in steps and "console log" not in steps
    assert steps[i + 3:i + 5] == ["spawn failed: convert failed", "terminating"]


def test_a_refused_claim_is_rescheduled_before_anything_is_built() -> None:
    assert _run(Recorder(refuse="Free memory 256.00 MB < requested 512 MB")) == [
        "lock", "starting", "claim", "refused Free memory 256.00 MB < requested 512 MB",
        "unlock held", "finished refused"]


def test_a_guest_that_does_not_start_is_cleaned_up_then_the_build_fails() -> None:
    steps = _run(Recorder(fail_at="start paused"))
    i = steps.index("start paused")
    assert steps[i:] == [
        "start paused", "cleanup failed start: start paused failed",
        "spawn failed: start paused failed", "terminating", "destroy", "delete files",
        "took 2 to destroy the instance on the hypervisor.",
        "abort claim", "build failed", "unlock held", "finished failed"]


def test_a_failed_spawn_tears_down_then_aborts_the_claim_then_fails_the_build() -> None:
    steps = _run(Recorder(fail_at="wait for boot"))
    i = steps.index("wait for boot")
    assert steps[i:] == [
        "wait for boot", "spawn failed: wait for boot failed", "terminating", "destroy",
        "delete files", "took 2 to destroy the instance on the hypervisor.",
        "abort claim", "build failed", "unlock held", "finished failed"]


def test_a_failed_resume_fails_the_build_without_a_failed_start_cleanup() -> None:
    """nova resumes after `_create_guest_with_network`'s try: its failure is the spawn's."""
    steps = _run(Recorder(fail_at="resume", raw_error=True))
    assert not any(s.startswith("cleanup failed start") for s in steps)
    i = steps.index("resume")
    assert steps[i + 1:i + 3] == ["spawn failed: nova: resume broke", "terminating"]


def test_what_the_driver_calls_a_bug_aborts_the_claim_and_goes_on_up() -> None:
    driver = Recorder(fail_at="guest xml", raw_error=True, nova_handles=False)
    with pytest.raises(ValueError, match="guest xml broke"):
        list(build_and_run_instance(driver))
    assert driver.steps[-3:] == ["guest xml", "abort claim", "unlock held"]


def test_an_error_while_cleaning_up_a_failed_build_still_aborts_the_claim() -> None:
    """Claim.__exit__ covers the cleanup too (nova's _build_resources)."""

    class BrokenDestroy(Recorder):
        def destroy(self) -> Generator[str, None, None]:
            yield from self._step("destroy")
            raise OSError("domain stuck")

    driver = BrokenDestroy(fail_at="wait for boot")
    with pytest.raises(OSError, match="domain stuck"):
        list(build_and_run_instance(driver))
    assert driver.steps[-3:] == ["destroy", "abort claim", "unlock held"]


@pytest.mark.parametrize("at", ["claim", "fetch", "overlay", "update usage"])
def test_an_abandoned_process_lets_nothing_go_and_logs_nothing(at: str) -> None:
    """A run that ends (or is interrupted) drops its processes: closing one is no step, so no
    lock is let go and no line written for it (the trace's files are closed by then)."""
    driver = Recorder()
    process = terminate_instance(driver) if at == "update usage" else build_and_run_instance(driver)
    for name in process:
        if name == at:
            break
    before = list(driver.steps)
    process.close()
    assert driver.steps == before


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
    missing = [name for name in steps if not callable(getattr(driver, name, None))]
    assert missing == []
