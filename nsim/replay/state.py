"""The replay's state for one host and the plumbing every check uses: attribution of a
record to its instance, findings, logged durations against stamps. The checks
(nsim.replay.locks, resources, images, lifecycle) are mixins over it and call each other
through `self`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nsim.events import (
    audit,
    build,
    claim,
    failure,
    guest,
    image,
    lock,
    power,
)
from nsim.logs.attribution import Attribution
from nsim.logs.record import Record
from nsim.model.claims import RESOURCES, Claim
from nsim.model.host import Host
from nsim.model.instance import Instance
from nsim.model.instances import Instances
from nsim.model.lifecycle import Outcome, VmState
from nsim.nova.names import (
    BUILD_FUNCTION,
    CLAIM_FUNCTION,
    owner_function,
)
from nsim.replay.findings import Assumption, Violation

# Slack on top of stamp resolution when comparing logged durations with stamps.
TOLERANCE_SECONDS = 0.5


# How long after a logged step nova surely has saved the state that follows it.
SAVE_SECONDS = 5.0

# Deleted instances kept unpacked: those last named by a record; older ones are packed
# (nsim.model.instances), as a later line about one is rare.
KEEP_DELETED = 256


def resolution(a: datetime, b: datetime) -> float:
    """Whole-second stamps (journald `short`) are only good to a second."""
    return 0.001 if a.microsecond or b.microsecond else 1.0


def _measured(start: datetime, end: datetime) -> tuple[float, float]:
    """Seconds from `start` to `end`, and the tolerance a logged duration has against them."""
    return (end - start).total_seconds(), 2 * resolution(start, end) + TOLERANCE_SECONDS


# Lines of a claim itself (between "Attempting claim" and its outcome), by exact type.
CLAIM_EVENTS = frozenset((
    claim.ClaimTotal, claim.ClaimLimit, claim.ClaimLimitUnspecified, claim.Overhead,
    claim.ClaimVcpuTotal, claim.ClaimVcpuLimit, claim.ClaimSuccessful, claim.ClaimFailed,
    claim.InsufficientResources, claim.ClaimAttempt, lock.LockAcquiring, lock.LockAcquired,
    lock.LockReleased))

# Lines nova logs holding the compute_resources lock, which a claim holds from its attempt
# to its outcome (nova/compute/resource_tracker.py: instance_claim, resize_claim and
# _update_available_resource are synchronized on it): a claim of another instance, the
# audit's usage. A claim still pending then has ended, its outcome line missing. Other
# lines of other instances can come in between (other greenthreads run while it waits).
UNDER_RESOURCE_LOCK = frozenset((
    claim.ClaimAttempt, claim.ClaimTotal, claim.ClaimVcpuTotal, claim.ClaimLimit,
    claim.ClaimVcpuLimit, claim.ClaimLimitUnspecified, claim.ClaimSuccessful,
    claim.ClaimFailed, claim.InsufficientResources, audit.FinalResourceView,
    audit.FreeResource))


# Lines of a build past its claim.
BUILD_STEPS = (build.NetworkAsyncStart, build.NetworkAllocating, build.BdmStart,
               build.SpawnStart, image.CreatingImage, guest.GuestXmlStart, guest.Spawned,
               failure.SpawnFailed, failure.BuildFailed, power.BlockDeviceSetupFailed,
               failure.NetworkAllocFailed, failure.GuestStartFailed, failure.VifCreationFailed)


@dataclass
class Attempt:
    """A claim between "Attempting claim" and its outcome: amounts and what its lines state."""

    claim: Claim
    node_named: bool = False
    """The wording names the node (Pike on)."""
    limits: dict[str, float | None] = field(default_factory=dict)
    free: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)


class ObserverState:
    """One host's model and what the replay keeps beside it."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.violations: list[Violation] = []
        self.assumptions: list[Assumption] = []
        self._attribution = Attribution()
        self._pending: dict[str, Attempt] = {}
        self._last_stamp: datetime | None = None
        self._pid: int | None = None
        """The nova-compute process (its manager's lines; a privsep daemon has its own pid)."""
        self._multinode = False
        self._path_may_change = False
        """nova-compute restarted since instances_path was learnt: its options may differ."""
        self._early_overlays: dict[str, tuple[str, str, str]] = {}
        self._suspects: dict[str, tuple[str, str, str]] = {}
        """Instances the model took as gone on the cache manager's word: (where, rule, what)."""
        self._moving: set[str] = set()
        """Instances whose next claim is a move (resize, migration, evacuation)."""
        self._rec: Record | None = None
        """The record being applied, and its instance (`_uuid`)."""
        self._rec_uuid: str | None = None

    def apply(self, rec: Record) -> None:
        stamp = rec.timestamp
        if stamp is not None:
            self._last_stamp = stamp
        uuid = self._attribution.learn(rec)
        if self._suspects and rec.instance in self._suspects:
            where, rule, message = self._suspects.pop(rec.instance)
            source, _, line = where.rpartition(":")
            self.violations.append(Violation(source, int(line), rule, message + f" (still on "
                                             f"this host at {rec.source}:{rec.line})"))
        pid = rec.pid
        if pid is not None and pid != self._pid and rec.logger \
                and rec.logger.startswith("nova.compute."):
            if self._pid is not None:
                self._rec, self._rec_uuid = rec, uuid
                self._restarted(self._pid, pid)
            self._pid = pid
        event = rec.event
        if event is None:
            return
        handler = self._handlers.get(type(event))
        if handler is not None:
            self._rec, self._rec_uuid = rec, uuid
            if self._pending:
                self._missing_claim_outcome(rec)
            handler(rec, event)
            self._pack_deleted(uuid)

    def _pack_deleted(self, uuid: str | None) -> None:
        """A deleted instance a record named: see `Instances.finished`."""
        instances = self.host.instances
        if uuid is None or not isinstance(instances, Instances):  # the TUI's own dict
            return
        inst = instances.live(uuid)
        if inst is not None and inst.vm_state == VmState.DELETED:
            instances.finished(uuid, KEEP_DELETED)

    def violation(self, rule: str, message: str) -> None:
        rec = self._rec
        assert rec is not None
        self.violations.append(Violation(rec.source, rec.line, rule, message))

    def where(self) -> str:
        rec = self._rec
        return f"{rec.source}:{rec.line}" if rec else self.host.name

    def assume(self, message: str) -> None:
        rec = self._rec
        self.assumptions.append(Assumption(rec.source if rec else self.host.name,
                                           rec.line if rec else None, message))

    def _uuid(self, rec: Record) -> str | None:
        """The record's instance: its tag, or its request's (learnt in `apply`, before which
        the record being applied has it worked out)."""
        return self._rec_uuid if rec is self._rec else self._attribution.instance_of(rec)

    def _inst(self, rec: Record) -> Instance | None:
        uuid = self._rec_uuid if rec is self._rec else self._attribution.instance_of(rec)
        if uuid is None:
            return None
        inst = self.host.instances.get(uuid)
        if inst is not None:
            return inst
        inst = self.host.instance(uuid)
        if isinstance(rec.event, BUILD_STEPS):
            # A build under way whose claim the log does not show: before the first usage
            # line it is in the baseline, after it an arrival of unknown size.
            tracker = self.host.tracker
            for res in RESOURCES:
                if tracker.baseline_known[res]:
                    tracker.unlogged_claim(uuid, res, self.where())
        if not self._starts_boot(rec):
            self.assume(f"instance {uuid} first seen here: what came before is outside the "
                        "window, its state so far is inferred")
        return inst

    @staticmethod
    def _starts_boot(rec: Record) -> bool:
        ev = rec.event
        return isinstance(ev, build.InstanceStarting | claim.ClaimAttempt | claim.ClaimSuccessful) or (
            isinstance(ev, lock.LockAcquired | lock.LockAcquiring)
            and owner_function(ev.owner) in (BUILD_FUNCTION, CLAIM_FUNCTION))

    def _check_duration(self, rule: str, what: str, logged: float, start: datetime | None,
                        end: datetime | None) -> None:
        """A logged duration against stamps that bracket it closely (lock, command)."""
        self._check_span(rule, what, logged, end, early=start, inside=start)

    def _check_span(self, rule: str, what: str, logged: float, end: datetime | None,
                    early: datetime | None, inside: datetime | None) -> None:
        """A logged duration ends at `end`; nova's timer started at or after `early` (a line
        logged before it) and at or before `inside` (a line logged within the timed step).
        Each bound known gives one side of the check."""
        if end is None:
            return
        if early is not None:
            measured, tol = _measured(early, end)
            if logged - measured > tol:
                self.violation(rule, f"{what}: logged {logged:.3f}s but the stamps allow at most "
                                     f"{measured:.3f}s (tolerance {tol:.1f}s)")
                return
        if inside is not None:
            if inside is not early:
                measured, tol = _measured(inside, end)
            if measured - logged > tol:
                self.violation(rule, f"{what}: logged {logged:.3f}s but the stamps show at least "
                                     f"{measured:.3f}s (tolerance {tol:.1f}s)")

    def finish(self) -> None:
        """End of input: boots still open stay incomplete (not a violation); a build that
        failed without a final line is in error; a spawned one is active."""
        for inst in self.host.instances.values():
            if inst.outcome == Outcome.INCOMPLETE and inst.failing:
                inst.outcome, inst.vm_state, inst.task_state = Outcome.ERROR, VmState.ERROR, None
            elif inst.pending_active and self._settled_after(inst.phase("spawn").end):
                inst.vm_state, inst.task_state, inst.pending_active = VmState.ACTIVE, None, False

    def _settled_after(self, when: datetime | None) -> bool:
        """The log goes on long enough after `when` for nova to have saved the state that
        follows (a database write, well under a few seconds)."""
        last = self._last_stamp
        return when is not None and last is not None and (last - when).total_seconds() > SAVE_SECONDS
