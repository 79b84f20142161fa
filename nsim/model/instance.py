"""One instance as the compute host sees it: states, claim, cache use and timed phases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nsim.model.claims import Claim
from nsim.model.lifecycle import Outcome, PowerState, TaskState, VmState

# Phases of a boot, in the order they start (also the rows `nsim diff` compares).
PHASES: tuple[str, ...] = (
    "build", "claim", "network", "spawn", "image_fetch", "convert", "overlay", "xml",
    "domain_start", "resume")


@dataclass
class Phase:
    name: str
    start: datetime | None = None
    end: datetime | None = None
    proxy: bool = False
    """The start is a line inside the step nova times (an INFO log has no "Starting
    instance..."): nova's own start was earlier."""
    inside: datetime | None = None
    """The first stamp known to lie inside the step nova times (a claim line in a build,
    "Creating image" in a spawn): a logged duration is at least end - inside."""

    @property
    def seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds()


@dataclass
class Instance:
    """What the model knows of one instance on one host."""

    uuid: str
    host: str
    vm_state: VmState | None = None
    task_state: TaskState | None = None
    power_state: PowerState = PowerState.NOSTATE
    outcome: Outcome = Outcome.INCOMPLETE
    claim: Claim | None = None
    image_cache: str | None = None
    image_id: str | None = None
    base_file: str | None = None
    build_seconds: float | None = None
    boot_seen: bool = False
    """The log shows the boot's start ("Starting instance...")."""
    guest_running: bool = False
    was_paused: bool = False
    waits_for_vif: bool = False
    """The boot waits for network-vif-plugged: the guest starts paused."""
    failing: bool = False
    overhead: dict[str, int] = field(default_factory=dict)
    """The driver's overhead per resource, when logged ("Memory overhead for ...")."""
    build_request: str | None = None
    """The request id of the build attempt."""
    cleaning: bool = False
    """A failed build is shutting its guest down (not a delete)."""
    spawned: bool = False
    """The driver logged "Instance spawned successfully." for this build."""
    pending_active: bool = False
    """Spawned, but nova may not have saved vm_state active yet."""
    spawn_seconds: float | None = None
    operation: str = "boot"
    """What the log shows the host doing with it: "boot", or "move" (resize, migration,
    evacuation: a claim on this node for an instance built elsewhere)."""
    cause: str | None = None
    """Why a build ended in error or was rescheduled, as nova logged it."""
    phases: dict[str, Phase] = field(default_factory=dict)

    @property
    def built_here(self) -> bool:
        """The log shows this instance's build on this host, or part of it (a window may
        start in the middle of a build)."""
        return self.operation == "boot" and (
            self.boot_seen or self.spawned or "build" in self.phases or "spawn" in self.phases)

    def phase(self, name: str) -> Phase:
        p = self.phases.get(name)
        if p is None:
            p = self.phases[name] = Phase(name)
        return p

    def begin(self, name: str, when: datetime | None) -> None:
        p = self.phases.get(name)
        if p is None:
            self.phases[name] = Phase(name, when)
        elif p.start is None:
            p.start = when

    def finish(self, name: str, when: datetime | None) -> None:
        p = self.phases.get(name)
        if p is None:
            self.phases[name] = Phase(name, end=when)
        else:
            p.end = when

    def ordered_phases(self) -> list[Phase]:
        return sorted(self.phases.values(),
                      key=lambda p: PHASES.index(p.name) if p.name in PHASES else len(PHASES))
