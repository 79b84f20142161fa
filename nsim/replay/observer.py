"""Applying one host's records to the host model, checking each against it.

Each handler turns an event into model operations (claim, cache, lock, state)
and names the rule a disagreement breaks. Records are attributed to an instance
by their `[instance: U]` or, failing that, by their request id.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nsim.events import (
    build,
    claim,
    failure,
    guest,
    image,
    imagecache,
    lock,
    move,
    power,
    teardown,
)
from nsim.events.audit import FinalResourceView, FreeResource
from nsim.events.base import Event
from nsim.logs.record import Record
from nsim.model.claims import RESOURCES, UNITS, Claim
from nsim.model.host import Host
from nsim.model.image_cache import BaseState, cache_filename
from nsim.model.instance import Instance
from nsim.model.lifecycle import EVENT_POWER_STATE, Outcome, PowerState, TaskState, VmState
from nsim.model.locks import Displaced, Holder
from nsim.model.unseen import Change
from nsim.nova_names import (
    ABORT_CLAIM_FUNCTION,
    BUILD_FUNCTION,
    CLAIM_FUNCTION,
    FETCH_FUNCTION,
    MOVE_CLAIM_FUNCTIONS,
    is_uuid,
    owner_function,
)
from nsim.replay.findings import Assumption, Violation

# Slack on top of stamp resolution when comparing logged durations with stamps.
TOLERANCE_SECONDS = 0.5
# How long after a logged step nova surely has saved the state that follows it.
_SAVE_SECONDS = 5.0
_FLAVOR = re.compile(r"<nova:(memory|disk|vcpus|ephemeral)>(\d+)</nova:\1>")
_FLAVOR_EXTRAS = re.compile(r"<nova:(?:swap|ephemeral)>[1-9]\d*</nova:")
_IMAGE_BASE = re.compile(r"([0-9a-f]{40})(?:_\d+)?$")
_ROOT_IMAGE = re.compile(r'<nova:root type="image" uuid="([0-9a-f-]{36})"')
_DISK_SOURCE = re.compile(r'<source file="([^"]+/disk)"')
# The order of a build's task states (nova/compute/manager.py _build_resources, spawn).
_TASK_ORDER: tuple[TaskState, ...] = (
    TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING)

def _resolution(*stamps: datetime) -> float:
    """Whole-second stamps (journald `short`) are only good to a second."""
    return 1.0 if all(s.microsecond == 0 for s in stamps) else 0.001


class HostObserver:
    """Replays the records of one host into its model."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.violations: list[Violation] = []
        self.assumptions: list[Assumption] = []
        self._request_instance: dict[str, str] = {}
        self._pending: dict[str, _Attempt] = {}
        self._last_stamp: datetime | None = None
        self._pid: int | None = None
        self._multinode = False
        self._path_may_change = False
        """nova-compute restarted since instances_path was learnt: its options may differ."""
        """The nova-compute process (its manager's lines; a privsep daemon has its own pid)."""
        self._early_overlays: dict[str, tuple[str, str, str]] = {}
        self._suspects: dict[str, tuple[str, str, str]] = {}
        """Instances the model took as gone on the cache manager's word: (where, rule, what)."""
        self._moving: set[str] = set()
        """Instances whose next claim is a move (resize, migration, evacuation)."""
        self._rec: Record | None = None
        self._handlers: dict[type[Event], Callable[[Record, Event], None]] = {
            lock.LockAcquiring: self._lock_acquiring,
            lock.LockAcquired: self._lock_acquired,
            lock.LockReleased: self._lock_released,
            build.InstanceStarting: self._instance_starting,
            claim.ClaimAttempt: self._claim_attempt,
            claim.Overhead: self._overhead,
            claim.ClaimTotal: self._claim_total,
            claim.ClaimLimitUnspecified: self._claim_limit_unspecified,
            claim.ClaimLimit: self._claim_limit,
            claim.ClaimVcpuTotal: self._claim_total,
            claim.ClaimVcpuLimit: self._claim_limit,
            claim.ClaimSuccessful: self._claim_successful,
            claim.ClaimFailed: self._claim_refused,
            claim.InsufficientResources: self._claim_refused,
            build.NetworkAsyncStart: self._network_start,
            build.NetworkAllocating: self._network_start,
            build.NetworkInfo: self._network_info,
            build.BdmStart: self._bdm_start,
            build.SpawnStart: self._spawn_start,
            image.CreatingImage: self._creating_image,
            image.ImageConverting: self._image_converting,
            image.SubprocessRunning: self._subprocess_running,
            image.SubprocessReturned: self._subprocess_returned,
            guest.GuestXmlStart: self._xml_start,
            guest.GuestXmlEnd: self._xml_end,
            guest.EventPrepare: self._event_prepare,
            guest.PowerStateSync: self._power_state_sync,
            guest.LifecycleEvent: self._lifecycle,
            guest.SyncPowerStateSkip: self._sync_skip,
            guest.GuestCreated: self._guest_created,
            guest.Spawned: self._spawned,
            guest.TookSeconds: self._took,
            teardown.Terminating: self._terminating,
            teardown.Destroyed: self._destroyed,
            teardown.DeletionComplete: self._deletion_complete,
            failure.SpawnFailed: self._failing,
            failure.BuildFailed: self._failing,
            failure.NetworkAllocFailed: self._failing,
            failure.GuestStartFailed: self._failing,
            failure.VifCreationFailed: self._failing,
            guest.GuestLaunchFailed: self._failing,
            failure.Rescheduled: self._rescheduled,
            failure.Aborted: self._errored,
            failure.RetryInfoAbsent: self._errored,
            failure.BuildTimedOut: self._errored,
            failure.UnexpectedBuildFailure: self._errored,
            failure.NetworkAllocNotRescheduling: self._errored,
            power.BlockDeviceSetupFailed: self._failing,
            power.BuildError: self._errored,
            power.StashingVmState: self._stashing,
            move.Migrating: self._stashing,
            move.Evacuating: self._stashing,
            move.Rebuilding: self._stashing,
            move.Unshelving: self._stashing,
            move.MigrationArrived: self._arrived,
            move.RunningAfterMove: self._arrived,
            move.MigratedAway: self._left,
            power.Rebooted: self._running_again,
            power.ShutdownByItself: self._shut_down,
            imagecache.RemovingBaseFile: self._removing_base,
            FreeResource: self._free_resource,
            imagecache.ActiveBaseFiles: self._active_bases,
            FinalResourceView: self._final_view,
        }

    # -- plumbing -----------------------------------------------------------------
    def apply(self, rec: Record) -> None:
        if rec.timestamp is not None:
            self._last_stamp = rec.timestamp
        if rec.instance and rec.request_id:
            self._bind(rec.request_id, rec.instance)
        if rec.instance in self._suspects:
            where, rule, message = self._suspects.pop(rec.instance)
            source, _, line = where.rpartition(":")
            self.violations.append(Violation(source, int(line), rule, message + f" (still on "
                                             f"this host at {rec.source}:{rec.line})"))
        if rec.pid is not None and rec.logger and rec.logger.startswith("nova.compute."):
            if self._pid is not None and rec.pid != self._pid:
                self._rec = rec
                self._restarted(self._pid, rec.pid)
            self._pid = rec.pid
        event = rec.event
        if event is None:
            return
        handler = self._handlers.get(type(event))
        if handler is not None:
            self._rec = rec
            if self._pending and not isinstance(event, _CLAIM_EVENTS):
                self._missing_claim_outcome(rec)
            handler(rec, event)

    def _missing_claim_outcome(self, rec: Record) -> None:
        """A claim attempt whose outcome line is missing (an excerpt): the build going on
        says it succeeded; anything else leaves it open (nova may count it or not)."""
        uuid = self._uuid(rec)
        for other, attempt in list(self._pending.items()):
            if other == uuid and not isinstance(rec.event, _BUILD_STEPS):
                continue
            del self._pending[other]
            inst = self.host.instance(other)
            inst.claim = attempt.claim
            self.host.claim(other, attempt.claim, self.where())
            if other == uuid:
                self.assume(f"{other}: the claim's outcome is not in the log; the build goes on, "
                            "so it succeeded")
            else:
                self.host.abort_claim(other, self.where(), still_counted=True)
                self.assume(f"{other}: the claim's outcome is not in the log")

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

    def _bind(self, request_id: str | None, uuid: str) -> None:
        """Tie a request to an instance. A request serving several instances (multi-create,
        the lifecycle-event context) cannot attribute lines that name none."""
        if request_id:
            known = self._request_instance.setdefault(request_id, uuid)
            if known != uuid:
                self._request_instance[request_id] = ""

    def _uuid(self, rec: Record) -> str | None:
        """The record's instance: its tag, or its request's (bound in `apply`)."""
        if rec.instance:
            return rec.instance
        if rec.request_id:
            return self._request_instance.get(rec.request_id) or None
        return None

    def _inst(self, rec: Record) -> Instance | None:
        uuid = self._uuid(rec)
        if uuid is None:
            return None

        known = uuid in self.host.instances
        inst = self.host.instance(uuid)
        if not known and isinstance(rec.event, _BUILD_STEPS):
            # A build under way whose claim the log does not show: before the first usage
            # line it is in the baseline, after it an arrival of unknown size.
            tracker = self.host.tracker
            for res in RESOURCES:
                if tracker.baseline_known[res]:
                    tracker.pending[res].append(Change(uuid, +1, f"claim of {uuid} (not in the "
                                                                 "log)", self.where()))
        if not known and not self._starts_boot(rec):
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
        for start, too_long in ((early, True), (inside, False)):
            if start is None:
                continue
            measured = (end - start).total_seconds()
            tol = 2 * _resolution(start, end) + TOLERANCE_SECONDS
            if too_long and logged - measured > tol:
                self.violation(rule, f"{what}: logged {logged:.3f}s but the stamps allow at most "
                                     f"{measured:.3f}s (tolerance {tol:.1f}s)")
                return
            if not too_long and measured - logged > tol:
                self.violation(rule, f"{what}: logged {logged:.3f}s but the stamps show at least "
                                     f"{measured:.3f}s (tolerance {tol:.1f}s)")
                return

    def _learn_instances_path(self, path: str, derived_from: str) -> None:
        host = self.host
        may_change, self._path_may_change = self._path_may_change, False
        if host.instances_path is None:
            host.instances_path = path
            self.assume(f"instances_path is {path} (from {derived_from})")
        elif host.instances_path != path and may_change:
            host.instances_path = path
            self.assume(f"instances_path is now {path} (from {derived_from}; changed across a "
                        "restart)")
        elif host.instances_path != path:
            self.violation("instances-path", f"{derived_from} implies instances_path {path}, "
                                             f"but earlier paths used {host.instances_path}")

    def _base_file(self, path: str) -> str | None:
        """The cache file name of a path in _base/, learning instances_path from it."""
        directory, name = posixpath.split(path)
        if posixpath.basename(directory) != self.host.config.base_dir_name:
            return None
        self._learn_instances_path(posixpath.dirname(directory), f"base file {path}")
        for suffix in (".part", ".converted"):
            name = name.removesuffix(suffix)
        # Ephemeral and swap backing files (ephemeral_1_0706d66, swap_512) live in _base/
        # too but are no image: only sha1 names (with a legacy _<size> resize) are cached images.
        match = _IMAGE_BASE.match(name)
        return match.group(1) if match else None

    # -- locks ------------------------------------------------------------------------
    def _lock_acquiring(self, rec: Record, ev: lock.LockAcquiring) -> None:
        self.host.locks.get(ev.name).wait(Holder(ev.owner, rec.request_id, rec.timestamp))

    def _lock_acquired(self, rec: Record, ev: lock.LockAcquired) -> None:
        lk = self.host.locks.get(ev.name)
        waiter = lk.take_waiter(ev.owner, rec.request_id)
        if waiter is not None:
            self._check_duration("lock-waited", f'lock "{ev.name}" wait', ev.waited,
                                 waiter.since, rec.timestamp)
        if lk.holder is not None and lk.holder.request_id != rec.request_id:
            lk.displaced.append(Displaced(lk.holder, Holder(ev.owner, rec.request_id,
                                                            rec.timestamp), self.where()))
        lk.holder = Holder(ev.owner, rec.request_id, rec.timestamp)
        if owner_function(ev.owner) == BUILD_FUNCTION and is_uuid(ev.name):
            self._bind(rec.request_id, ev.name)
            self.host.instance(ev.name)
            return
        inst = self._inst(rec)
        if inst is None:
            return
        if owner_function(ev.owner) == ABORT_CLAIM_FUNCTION:
            self.host.give_back(inst.uuid, self.where())
        elif owner_function(ev.owner) == CLAIM_FUNCTION:
            self._start_build(inst, rec, proxy=True)
            inst.begin("claim", rec.timestamp)
        elif owner_function(ev.owner) in MOVE_CLAIM_FUNCTIONS:
            self._moving.add(inst.uuid)
        elif owner_function(ev.owner) == FETCH_FUNCTION:
            inst.begin("image_fetch", rec.timestamp)

    def _lock_released(self, rec: Record, ev: lock.LockReleased) -> None:
        lk = self.host.locks.get(ev.name)
        holder = lk.holder
        if holder is not None and holder.request_id == rec.request_id and holder.owner == ev.owner:
            self._check_duration("lock-held", f'lock "{ev.name}" hold', ev.held, holder.since,
                                 rec.timestamp)
            lk.holder = None
        else:
            displaced = lk.take_displaced(ev.owner, rec.request_id)
            if displaced is not None:
                self._check_overlap(ev, rec, displaced.taken_by, displaced.where)
            elif holder is not None:
                self._check_overlap(ev, rec, holder, "")
            else:
                self.assume(f'lock "{ev.name}" was taken before the log window')
        self._after_release(rec, ev)

    def _check_overlap(self, ev: lock.LockReleased, rec: Record, other: Holder, where: str) -> None:
        """`ev` ends a hold of [release - held, release]: another holder that took the lock
        inside it (beyond stamp resolution) proves two holders at once."""
        released = rec.timestamp
        if released is None or other.since is None:
            return
        taken = released - timedelta(seconds=ev.held)
        tol = 2 * _resolution(released, other.since)
        if taken + timedelta(seconds=tol) < other.since < released - timedelta(seconds=tol):
            at = f" at {where}" if where else ""
            self.violation("lock-exclusive",
                           f'lock "{ev.name}" held by {ev.owner} ({rec.request_id}) from '
                           f"{taken.time()} to {released.time()}, but {other.owner} "
                           f"({other.request_id}) acquired it{at} at {other.since.time()}")
        elif not where:
            self.assume(f'lock "{ev.name}": the acquire by {ev.owner} ({rec.request_id}) '
                        "is not in the log")

    def _after_release(self, rec: Record, ev: lock.LockReleased) -> None:
        if owner_function(ev.owner) == FETCH_FUNCTION:
            self._fetch_ended(ev.name)
        if owner_function(ev.owner) == BUILD_FUNCTION:
            return
        inst = self._inst(rec)
        if inst is None:
            return
        if owner_function(ev.owner) == CLAIM_FUNCTION:
            inst.finish("claim", rec.timestamp)
        elif owner_function(ev.owner) == FETCH_FUNCTION:
            fetch = inst.phases.get("image_fetch")
            if fetch is not None and fetch.end is None:
                inst.finish("image_fetch", rec.timestamp)

    # -- build and claim -------------------------------------------------------------
    def _start_build(self, inst: Instance, rec: Record, proxy: bool) -> None:
        """A build attempt begins: at "Starting instance..." (logged before nova's build timer
        starts) or, in logs without it (INFO level), at its first claim line (inside it)."""
        build_phase = inst.phases.get("build")
        if build_phase is not None and build_phase.start is not None:
            if proxy and build_phase.inside is None:
                build_phase.inside = rec.timestamp
            if inst.outcome == Outcome.INCOMPLETE or not inst.boot_seen or proxy:
                return
            # A new attempt after a reschedule back to this host: start afresh.
            inst.phases.clear()
        inst.boot_seen = True
        inst.operation = "boot"
        inst.build_request = rec.request_id
        inst.vm_state, inst.task_state = VmState.BUILDING, None
        inst.outcome, inst.cause, inst.failing = Outcome.INCOMPLETE, None, False
        inst.spawned = inst.pending_active = False
        inst.begin("build", rec.timestamp)
        phase = inst.phase("build")
        phase.proxy = proxy
        phase.inside = rec.timestamp if proxy else None

    def _instance_starting(self, rec: Record, ev: build.InstanceStarting) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self._start_build(inst, rec, proxy=False)

    def _is_move(self, inst: Instance) -> bool:
        """A claim for an instance that already lives (or lived) elsewhere is a move."""
        return inst.uuid in self._moving or (
            not inst.boot_seen and inst.vm_state not in (None, VmState.BUILDING))

    def _claim_attempt(self, rec: Record, ev: claim.ClaimAttempt) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if ev.node is not None:
            self._learn_node(ev.node)
        if not self._is_move(inst):
            self._start_build(inst, rec, proxy=True)
        inst.begin("claim", rec.timestamp)
        self._pending[inst.uuid] = _Attempt(Claim(ev.memory_mb, ev.disk_gb, ev.vcpus),
                                            node_named=ev.node is not None)

    def _overhead(self, rec: Record, ev: claim.Overhead) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.overhead[ev.resource] = ev.overhead

    def _claim_total(self, rec: Record, ev: claim.ClaimTotal | claim.ClaimVcpuTotal) -> None:
        tracker = self.host.tracker
        res, unit = ev.resource, UNITS[ev.resource]
        known = None if self._multinode else tracker.totals[res]
        if known is None:
            tracker.totals[res] = ev.total
            self.assume(f"host {res} total {ev.total:g} {unit} (from the log)")
        elif abs(known - ev.total) > 0.5:
            self.violation("claim-total", f"log says total {res} {ev.total:g} {unit}, "
                                          f"host has {known:g} {unit}")
        uuid = self._uuid(rec)
        if uuid in self._pending:
            self._pending[uuid].used[res] = ev.used
        self._check_used(res, ev.used, "claim")

    def _learn_node(self, node: str) -> None:
        """The node a claim or audit names. One service with several nodes (ironic, or a
        driver reporting several) keeps a resource tracker per node, beyond this model."""
        if self.host.node is None:
            self.host.node = node
        elif node != self.host.node and not self._multinode:
            self._multinode = True
            self.assume(f"this nova-compute reports several nodes ({self.host.node}, {node}): "
                        "usage per node is not checked")

    def _check_used(self, res: str, logged: float, where: str) -> None:
        if self._multinode:
            return
        tracker, unit = self.host.tracker, UNITS[res]
        seen = tracker.observe(res, logged, audit=where == "final")
        outcome = seen.outcome
        if seen.first:
            self.assume(f"{res} in use before the window: {tracker.baseline[res]:g} {unit} "
                        f"(reserved and instances the log does not show)")
        elif not outcome.explained:
            shown = [f"{u[:8]}={c.amount(res)}" for u, c in itertools.islice(tracker.claims.items(), 4)]
            more = len(tracker.claims) - len(shown)
            lives = ", ".join(shown + ([f"{more} more"] if more > 0 else [])) or "none"
            self.violation(f"{where}-used" if where == "claim" else "final-view",
                           f"log says {res} used {logged:.2f} {unit}, model has {seen.model:.2f} "
                           f"{unit} (baseline {seen.model - tracker.claimed(res):g} + live claims: "
                           f"{lives}); nothing unlogged explains the difference")
        elif outcome.because:
            self.assume(f"{res} in use {logged:g} {unit} where the model had {seen.model:g}: "
                        + "; ".join(outcome.because))

    def _claim_limit_unspecified(self, rec: Record, ev: claim.ClaimLimitUnspecified) -> None:
        uuid = self._uuid(rec)
        if uuid in self._pending:
            self._pending[uuid].limits[ev.resource] = None

    def _claim_limit(self, rec: Record, ev: claim.ClaimLimit | claim.ClaimVcpuLimit) -> None:
        tracker, res, unit = self.host.tracker, ev.resource, UNITS[ev.resource]
        expected = tracker.limit(res)
        if expected is not None and abs(expected - ev.limit) > 0.01:
            self.violation("claim-limit", f"log says {res} limit {ev.limit:.2f} {unit}, "
                                          f"total x ratio is {expected:.2f} {unit}")
        uuid = self._uuid(rec)
        attempt = self._pending.get(uuid) if uuid else None
        # The claim's own `used` line is what nova subtracted from the limit (without it, a
        # line missing from the log could explain any difference).
        used = attempt.used.get(res) if attempt else None
        if used is not None and abs((ev.limit - used) - ev.free) > 0.01:
            self.violation("claim-free", f"log says {res} free {ev.free:.2f} {unit}, limit - used "
                                         f"is {ev.limit - used:.2f} {unit}")
        if attempt is not None:
            attempt.limits[res] = ev.limit
            attempt.free[res] = ev.free

    def _claim_successful(self, rec: Record, ev: claim.ClaimSuccessful) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        attempt = self._pending.pop(inst.uuid, None) or _Attempt(Claim(None, None, None))
        claimed = attempt.claim
        reasons = self.host.tracker.test(claimed, attempt.limits, attempt.free)
        if reasons:
            self.violation("claim-decision", "claim succeeded but does not fit: " + "; ".join(reasons))
        if ev.node is not None:
            self._learn_node(ev.node)
        if self._is_move(inst):
            self._moving.discard(inst.uuid)
            inst.operation = "move"
            self.host.move_claim(inst.uuid, claimed, self.where())
            return
        self._start_build(inst, rec, proxy=True)
        inst.claim = claimed
        self.host.claim(inst.uuid, claimed, self.where())
        if attempt.node_named and claimed.disk_gb is not None:
            # From Rocky the tracker adds swap and leaves out a volume-backed root disk,
            # which the claim's own disk amount does not (nova/compute/resource_tracker.py).
            self.host.tracker.may_differ(inst.uuid, "disk", "disk usage may count swap or "
                                         "leave out a volume root (Rocky on)", self.where())

    def _claim_refused(self, rec: Record, ev: claim.ClaimFailed | claim.InsufficientResources) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        attempt = self._pending.pop(inst.uuid, None) or _Attempt(Claim(None, None, None))
        # Only a shortage ("Free memory X MB < requested Y MB") can be checked, against the
        # claim's own lines (NUMA or PCI reasons are beyond the model): the amount asked for
        # and the free amount logged must be the ones the refusal names, and must not fit.
        if isinstance(ev, claim.InsufficientResources) and ev.resource is not None:
            res, unit = ev.resource, UNITS[ev.resource]
            problems = []
            if ev.requested is not None and ev.free is not None and ev.requested <= ev.free:
                problems.append(f"{ev.requested} {unit} fit in {ev.free:.2f} {unit}")
            asked = attempt.claim.amount(res)
            if asked is not None and ev.requested is not None and asked != ev.requested:
                problems.append(f"the claim asked for {asked} {unit}")
            free = attempt.free.get(res)
            if free is not None and ev.free is not None and abs(free - ev.free) > 0.01:
                problems.append(f"the claim's own line says {free:.2f} {unit} free")
            if problems:
                self.violation("claim-decision", f"claim refused ({ev.reason}) but "
                                                 + "; ".join(problems))
        inst.claim = attempt.claim
        inst.finish("claim", rec.timestamp)
        self.host.tracker.uncounted.add(inst.uuid)

    # -- networks, block devices, spawn ---------------------------------------------------
    def _set_task(self, inst: Instance, task: TaskState) -> None:
        """Steps may be missing from a log (excerpts, INFO level); only going back is wrong."""
        if inst.boot_seen and task in _TASK_ORDER and inst.task_state in _TASK_ORDER and \
                _TASK_ORDER.index(task) < _TASK_ORDER.index(inst.task_state):
            self.violation("task-order", f"{inst.uuid}: task_state {task.value} after "
                                         f"{inst.task_state.value}")
        inst.task_state = task

    def _network_start(self, rec: Record, ev: Event) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if inst.task_state != TaskState.NETWORKING:
            self._set_task(inst, TaskState.NETWORKING)
        inst.begin("network", rec.timestamp)

    def _network_info(self, rec: Record, ev: build.NetworkInfo) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.finish("network", rec.timestamp)

    def _bdm_start(self, rec: Record, ev: build.BdmStart) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self._set_task(inst, TaskState.BLOCK_DEVICE_MAPPING)

    def _spawn_start(self, rec: Record, ev: build.SpawnStart) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self._set_task(inst, TaskState.SPAWNING)
            spawn = inst.phase("spawn")
            if spawn.start is None or spawn.proxy:
                spawn.start, spawn.proxy = rec.timestamp, False

    def _creating_image(self, rec: Record, ev: image.CreatingImage) -> None:
        """The driver's spawn begins with its disks: at INFO level, the spawn's first line."""
        inst = self._inst(rec)
        if inst is None or inst.operation != "boot":
            return
        self._after_spawned(inst, "Creating image", rec)
        if inst.task_state != TaskState.SPAWNING:
            self._set_task(inst, TaskState.SPAWNING)
        spawn = inst.phase("spawn")
        if spawn.start is None:
            spawn.start, spawn.proxy = rec.timestamp, True
        if spawn.inside is None:
            spawn.inside = rec.timestamp

    # -- image cache and disks -----------------------------------------------------------
    def _image_converting(self, rec: Record, ev: image.ImageConverting) -> None:
        inst = self._inst(rec)
        name = cache_filename(ev.image_id)
        base = self.host.cache.entry(name, ev.image_id)
        if inst is not None:
            inst.image_id = ev.image_id
        if not self.host.config.force_raw_images:
            self.violation("force-raw", f"image {ev.image_id} converted to raw although "
                                        "force_raw_images is off")
        if base.state == BaseState.PRESENT and base.fetched_by != (inst.uuid if inst else None):
            self.violation("cache-double-fetch",
                           f"image {ev.image_id} converted again although _base/{name} is cached")
        if inst is not None and base.fetched_by is None:
            base.fetched_by = inst.uuid

    def _subprocess_running(self, rec: Record, ev: image.SubprocessRunning) -> None:
        cmd = ev.qemu_img
        if cmd is None:
            return
        inst = self._inst(rec)
        cache = self.host.cache
        if cmd.operation == "info" and cmd.source and cmd.source.endswith(".part"):
            name = self._base_file(cmd.source)
            if name is None:
                return
            base = cache.entry(name)
            if base.state == BaseState.PRESENT:
                self.violation("cache-double-fetch", f"_base/{name} downloaded again although cached")
            if base.state not in (BaseState.DOWNLOADING, BaseState.CONVERTING):
                self.host.fetch_started(name, inst.uuid if inst else None)
            if inst is not None:
                inst.finish("image_fetch", rec.timestamp)
                self._expect_image(inst, name)
        elif cmd.operation == "convert" and cmd.source and cmd.target:
            name = self._base_file(cmd.source)
            if name is None:
                return
            target = self._base_file(cmd.target)
            if target != name:
                self.violation("cache-filename", f"convert writes {cmd.target}, not {name}.converted")
            base = cache.entry(name)
            if base.state == BaseState.PRESENT:
                self.violation("cache-double-fetch", f"_base/{name} converted again although cached")
            self.host.convert_started(name)
            if inst is not None:
                self._after_spawned(inst, "qemu-img convert", rec)
                base.fetched_by = base.fetched_by or inst.uuid
                inst.begin("convert", rec.timestamp)
        elif cmd.operation == "create" and cmd.backing_file and cmd.target:
            owner = posixpath.basename(posixpath.dirname(cmd.target))
            if inst is None and is_uuid(owner):
                inst = self.host.instance(owner)
            self._overlay(rec, inst, cmd.backing_file, cmd.target)

    def _fetch_ended(self, name: str) -> None:
        """The base file is in place. An overlay created on it before now was too early."""
        early = self._early_overlays.pop(name, None)
        if early is not None:
            where, target, state = early
            self.violation("cache-backing-ready",
                           f"overlay {target} was created at {where} on _base/{name} while it was "
                           f"still {state}: its fetch ends only here")
        base = self.host.cache.files.get(name)
        if base is not None and base.state in (BaseState.DOWNLOADING, BaseState.CONVERTING):
            self.host.fetch_completed(name)

    def _expect_image(self, inst: Instance, name: str) -> None:
        if inst.image_id is not None and cache_filename(inst.image_id) != name:
            self.violation("cache-filename", f"base file {name} is not sha1({inst.image_id}) = "
                                             f"{cache_filename(inst.image_id)}")

    def _overlay(self, rec: Record, inst: Instance | None, backing: str, target: str) -> None:
        name = self._base_file(backing)
        if name is None:
            return
        cache = self.host.cache
        base = cache.entry(name)
        if base.state == BaseState.ABSENT and base.fetched_by is None:
            self.assume(f"base file _base/{name} was cached before the log window")
            self.host.fetch_completed(name)
        elif base.state in (BaseState.DOWNLOADING, BaseState.CONVERTING):
            # The fetch may have ended without a line (INFO level, or a rename after a
            # convert): only its end logged after this overlay proves the overlay early.
            self._early_overlays[name] = (self.where(), target, base.state.value)
            self.host.fetch_completed(name)
        elif base.state == BaseState.REMOVED:
            self.assume(f"base file _base/{name} was fetched again after its removal "
                        "(the fetch is not in the log)")
            self.host.fetch_completed(name)
        if inst is None or posixpath.basename(target) != "disk":
            return  # a rescue or other extra disk, not the instance's root disk
        expected = self.host.instance_dir(inst.uuid)
        if expected is not None and target != posixpath.join(expected, "disk"):
            self.violation("instance-disk-path", f"instance disk {target}, expected {expected}/disk")
        self._expect_image(inst, name)
        hit = self.host.use_base(name, inst.uuid, rec.timestamp)
        inst.image_cache = "hit" if hit else "miss"
        inst.base_file = name
        inst.begin("overlay", rec.timestamp)

    def _subprocess_returned(self, rec: Record, ev: image.SubprocessReturned) -> None:
        cmd = ev.qemu_img
        if cmd is not None and ev.returncode != 0:
            # fetch_to_raw gives up: the .part/.converted file is removed, nothing is cached.
            path = cmd.source if cmd.operation == "info" else cmd.target
            name = self._base_file(path) if path and path.endswith((".part", ".converted")) else None
            if name is not None:
                self.host.fetch_aborted(name)
        if cmd is not None and cmd.operation == "convert" and ev.returncode == 0 and cmd.source:
            # fetch_to_raw renames <base>.converted to <base> without a line of its own.
            name = self._base_file(cmd.source)
            if name is not None:
                self._fetch_ended(name)
        inst = self._inst(rec) if cmd is not None else None
        if cmd is None or inst is None:
            return
        if cmd.operation == "convert":
            inst.finish("convert", rec.timestamp)
            self._check_duration("took-seconds", "qemu-img convert", ev.seconds,
                                 inst.phase("convert").start, rec.timestamp)
        elif cmd.operation == "create":
            inst.finish("overlay", rec.timestamp)

    # -- guest -------------------------------------------------------------------------------
    def _xml_start(self, rec: Record, ev: guest.GuestXmlStart) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self._after_spawned(inst, "the guest XML", rec)
            inst.begin("xml", rec.timestamp)

    def _xml_end(self, rec: Record, ev: guest.GuestXmlEnd) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        inst.finish("xml", rec.timestamp)
        inst.begin("domain_start", rec.timestamp)
        sizes = {k: int(v) for k, v in _FLAVOR.findall(ev.xml)}
        if "disk" in sizes:  # a claim's disk is root + ephemeral (nova/compute/claims.py)
            sizes["disk"] += sizes.pop("ephemeral", 0)
        if inst.claim is not None and inst.claim.sized and sizes:
            logged = (sizes.get("memory"), sizes.get("disk"), sizes.get("vcpus"))
            claimed = (inst.claim.memory_mb, inst.claim.disk_gb, inst.claim.vcpus)
            if not all(_fits(c, x, inst.overhead.get(r)) for c, x, r in
                       zip(claimed, logged, RESOURCES, strict=True)):
                self.violation("xml-flavor", f"guest XML flavor memory/disk/vcpus {logged} "
                                             f"differs from the claim {claimed}")
        elif inst.claim is not None and not inst.claim.sized and \
                {"memory", "disk", "vcpus"} <= sizes.keys():
            # The tracker counts root (unless volume-backed) + ephemeral (+ swap from
            # Rocky): only an image-backed root without extras is certain.
            plain = not _FLAVOR_EXTRAS.search(ev.xml) and _ROOT_IMAGE.search(ev.xml)
            sized = Claim(sizes["memory"], sizes["disk"] if plain else None, sizes["vcpus"])
            inst.claim = sized
            self.host.tracker.size(inst.uuid, sized)
        image_match = _ROOT_IMAGE.search(ev.xml)
        if image_match and inst.image_id is None:
            inst.image_id = image_match.group(1)
        if inst.base_file is not None:
            self._expect_image(inst, inst.base_file)
        disk = _DISK_SOURCE.search(ev.xml)
        expected = self.host.instance_dir(inst.uuid)
        if disk and expected is not None and disk.group(1) != posixpath.join(expected, "disk"):
            self.violation("instance-disk-path", f"guest XML disk {disk.group(1)}, "
                                                 f"expected {expected}/disk")

    def _event_prepare(self, rec: Record, ev: guest.EventPrepare) -> None:
        inst = self._inst(rec)
        if inst is not None and ev.event.startswith("network-vif-plugged"):
            # The guest starts paused and is resumed once the VIF is plugged.
            inst.waits_for_vif = True

    def _check_sync(self, inst: Instance, vm_state: str | None, task: str | None) -> None:
        """A sync_power_state line shows the database's states. Steps nova takes without a
        log line (INFO level, excerpts) may have moved them on: learn those. Only a task
        the build has already left is wrong."""
        if not inst.boot_seen or inst.vm_state is None:
            return
        logged_task = _task(task)
        if inst.pending_active and (vm_state in (None, VmState.ACTIVE.value) and task is None):
            inst.vm_state, inst.task_state, inst.pending_active = VmState.ACTIVE, None, False
            return
        if vm_state not in (None, inst.vm_state.value) or logged_task is None:
            return
        model = inst.task_state
        if model in _TASK_ORDER and logged_task in _TASK_ORDER and \
                _TASK_ORDER.index(logged_task) < _TASK_ORDER.index(model):
            self.violation("sync-power-state",
                           f"{inst.uuid}: log says task_state {task} after the build reached "
                           f"{model.value}")
        elif logged_task != model and (model is None or model in _TASK_ORDER):
            inst.task_state = logged_task

    def _power_state_sync(self, rec: Record, ev: guest.PowerStateSync) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self._check_sync(inst, ev.vm_state, ev.task_state)

    def _lifecycle(self, rec: Record, ev: guest.LifecycleEvent) -> None:
        inst = self.host.instance(ev.instance_uuid) if ev.instance_uuid else self._inst(rec)
        if inst is None:
            return
        state = EVENT_POWER_STATE[ev.transition]
        if ev.transition == "Started":
            inst.finish("domain_start", rec.timestamp)
        elif ev.transition == "Paused":
            inst.was_paused = True
            inst.begin("resume", rec.timestamp)
        elif ev.transition == "Resumed":
            if inst.waits_for_vif and not inst.was_paused and inst.vm_state == VmState.BUILDING:
                self.assume(f"{inst.uuid}: the guest started paused (it waits for its VIF); the "
                            "Paused event is not in the log")
            inst.finish("resume", rec.timestamp)
        inst.power_state = state

    def _sync_skip(self, rec: Record, ev: guest.SyncPowerStateSkip) -> None:
        inst = self._inst(rec)
        if inst is not None and ev.task_state is not None:
            self._check_sync(inst, None, ev.task_state)

    def _guest_created(self, rec: Record, ev: guest.GuestCreated) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.guest_running = True

    def _after_spawned(self, inst: Instance, step: str, rec: Record) -> None:
        """A disk or guest step of a build (same request) whose spawn nova already called
        successful."""
        if inst.spawned and inst.outcome == Outcome.ACTIVE and inst.vm_state == VmState.BUILDING \
                and rec.request_id is not None and rec.request_id == inst.build_request \
                and inst.uuid not in self._moving:
            self.violation("spawned-after-running",
                           f"{inst.uuid}: {step} logged after 'Instance spawned successfully'")

    def _spawned(self, rec: Record, ev: guest.Spawned) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        # The driver says so only once the guest runs (libvirt driver _wait_for_boot); the
        # lifecycle event that tells the same may be logged later.
        inst.guest_running = True
        inst.power_state = PowerState.RUNNING
        if inst.operation != "boot" or inst.outcome not in (Outcome.INCOMPLETE, Outcome.ACTIVE):
            return  # a rebuild or unshelve of an instance whose build ended before
        inst.spawned = True
        inst.outcome = Outcome.ACTIVE
        # vm_state becomes active in _update_instance_after_spawn, after "Took N seconds to
        # spawn" is logged and before "Took N seconds to build".
        inst.pending_active = True
        inst.finish("spawn", rec.timestamp)

    def _took(self, rec: Record, ev: guest.TookSeconds) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if ev.step == "build":
            inst.build_seconds = ev.seconds
            inst.finish("build", rec.timestamp)
            if inst.outcome == Outcome.ACTIVE or inst.spawned:
                inst.outcome = Outcome.ACTIVE
                inst.vm_state, inst.task_state, inst.pending_active = VmState.ACTIVE, None, False
        elif ev.step == "spawn":
            inst.spawn_seconds = ev.seconds
            spawn = inst.phase("spawn")
            if spawn.end is None:
                spawn.end = rec.timestamp
            if inst.spawned:
                inst.pending_active = True
        if ev.step in ("spawn", "build"):
            phase = inst.phase(ev.step)
            self._check_span("took-seconds", f"{inst.uuid}: took {ev.step}", ev.seconds,
                             rec.timestamp, early=None if phase.proxy else phase.start,
                             inside=phase.inside)
        elif ev.step == "destroy":
            # "Terminating instance" is logged before the destroy's timer starts.
            self._check_span("took-seconds", f"{inst.uuid}: took destroy", ev.seconds,
                             rec.timestamp, early=inst.phase("delete").start, inside=None)

    # -- teardown and failure -------------------------------------------------------------
    def _terminating(self, rec: Record, ev: teardown.Terminating) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if inst.failing and inst.outcome == Outcome.INCOMPLETE:
            if rec.request_id is None or rec.request_id == inst.build_request:
                # A failed build shuts its guest down (_shutdown_instance) in its own request
                # before it is set to error or re-scheduled: a cleanup, not a delete.
                inst.cleaning = True
                inst.begin("delete", rec.timestamp)
                return
            self._fail(inst, rec, inst.cause or "build failed")
        inst.cleaning = False
        inst.task_state = TaskState.DELETING
        inst.begin("delete", rec.timestamp)
        self.host.instance_leaving(inst.uuid, self.where(), "deleted")

    def _destroyed(self, rec: Record, ev: teardown.Destroyed) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        inst.power_state = PowerState.SHUTDOWN
        if inst.task_state == TaskState.DELETING:
            # The guest is gone; what follows (files, network, the database row) may be
            # silent (a volume-backed instance has no files to delete).
            self._deleted(inst)

    def _deletion_complete(self, rec: Record, ev: teardown.DeletionComplete) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        inst.finish("delete", rec.timestamp)
        if inst.cleaning or (inst.failing and inst.outcome == Outcome.INCOMPLETE):
            # The files of a failed spawn are cleaned up before the build is rescheduled
            # or set to error.
            inst.cleaning = False
            return
        self._deleted(inst)

    def _deleted(self, inst: Instance) -> None:
        inst.vm_state, inst.task_state, inst.pending_active = VmState.DELETED, None, False
        if inst.outcome in (Outcome.ACTIVE, Outcome.INCOMPLETE):
            inst.outcome = Outcome.DELETED
        self.host.instance_leaving(inst.uuid, self.where(), "deleted")

    def _failing(self, rec: Record, ev: Event) -> None:
        """A build step failed: the exception leaves the claim's context, which aborts it
        (nova/compute/claims.py); the audit of some releases counts the instance again."""
        inst = self._inst(rec)
        if inst is not None:
            inst.failing = True
            inst.cause = inst.cause or _cause(rec, ev)
            # A window starting mid-build learns the build's request from its failure.
            inst.build_request = inst.build_request or rec.request_id
            if inst.operation == "boot":
                self.host.abort_claim(inst.uuid, self.where(), still_counted=True)

    def _rescheduled(self, rec: Record, ev: failure.Rescheduled) -> None:
        inst = self.host.instance(ev.instance_uuid)
        inst.vm_state, inst.task_state = VmState.BUILDING, TaskState.SCHEDULING
        inst.outcome, inst.cause = Outcome.RESCHEDULED, _cause(rec, ev)
        inst.finish("build", rec.timestamp)
        # A re-scheduled build leaves the node: nova clears the instance's host.
        self.host.abort_claim(inst.uuid, self.where(), still_counted=False)

    def _errored(self, rec: Record, ev: Event) -> None:
        uuid = getattr(ev, "instance_uuid", None) or self._uuid(rec)
        if uuid is None:
            return
        inst = self.host.instance(uuid)
        self._fail(inst, rec, _cause(rec, ev))

    def _fail(self, inst: Instance, rec: Record, cause: str) -> None:
        inst.vm_state, inst.task_state, inst.pending_active = VmState.ERROR, None, False
        inst.outcome = Outcome.ERROR
        inst.cause = cause  # the final verdict names the cause nova settled on
        inst.finish("build", rec.timestamp)
        # The claim is aborted; until the instance is deleted, the audit of some releases
        # still counts it (it keeps its host).
        self.host.abort_claim(inst.uuid, self.where(), still_counted=True)

    # -- moves, reboots, restarts ------------------------------------------------------------
    def _stashing(self, rec: Record, ev: Event) -> None:
        """A resize, migration, evacuation, rebuild or unshelve begins: the next claim of this
        instance is not a boot's, nor are the spawn lines that follow."""
        inst = self._inst(rec)
        if inst is not None:
            self._moving.add(inst.uuid)
            if not inst.boot_seen:
                inst.operation = "move"

    def _arrived(self, rec: Record, ev: Event) -> None:
        """A migration finished onto this host: a claim taken for a boot was the move's."""
        inst = self._inst(rec)
        if inst is None or inst.operation != "boot" or inst.spawned:
            return
        build_phase = inst.phases.get("build")
        if build_phase is not None and not build_phase.proxy:
            return  # "Starting instance..." was logged: a real build
        inst.operation, inst.boot_seen = "move", False
        inst.phases.clear()
        inst.vm_state, inst.task_state = None, None
        self.assume(f"{inst.uuid}: the claim taken as a boot's belongs to a migration onto this "
                    "host")
        self.host.move_claim(inst.uuid, inst.claim or Claim(None, None, None), self.where())

    def _left(self, rec: Record, ev: move.MigratedAway) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self.host.instance_leaving(inst.uuid, self.where(), f"migrated to {ev.destination}")

    def _running_again(self, rec: Record, ev: power.Rebooted) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.power_state = PowerState.RUNNING

    def _shut_down(self, rec: Record, ev: power.ShutdownByItself) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.power_state = PowerState.SHUTDOWN

    def _restarted(self, old: int, new: int) -> None:
        """nova-compute restarted: its configuration may have changed, held locks died with
        the old process, and init_host sets builds it finds unfinished to error."""
        self.assume(f"nova-compute restarted (pid {old} -> {new}): reserved amounts and options "
                    "may have changed; usage is re-learnt from the next observation")
        tracker, config = self.host.tracker, self.host.config
        configured = {"memory": config.memory_mb, "disk": config.disk_gb, "vcpu": config.vcpus}
        for res in tracker.pending:
            tracker.unsettle(res, f"nova-compute restarted (pid {old} -> {new})", self.where())
            tracker.totals[res] = configured[res]
        for lk in self.host.locks.locks.values():
            lk.holder, lk.waiters, lk.displaced = None, [], []
        self._path_may_change = self.host.config.instances_path is None
        for inst in self.host.instances.values():
            if inst.operation == "boot" and inst.boot_seen and inst.outcome == Outcome.INCOMPLETE:
                self._fail(inst, self._rec, "nova-compute restarted during the build "
                                            "(init_host sets it to error)")

    # -- periodic tasks ---------------------------------------------------------------------
    def _removing_base(self, rec: Record, ev: imagecache.RemovingBaseFile) -> None:
        name = self._base_file(ev.path)
        if name is None:
            return
        base = self.host.cache.entry(name)
        if base.users:
            self._not_in_use(base.filename, "cache-remove-in-use",
                             f"_base/{name} removed while used by {{users}}")
        config = self.host.config
        if base.last_used is not None and rec.timestamp is not None:
            age = (rec.timestamp - base.last_used).total_seconds()
            min_age = config.remove_unused_original_minimum_age_seconds
            if "remove_unused_original_minimum_age_seconds" not in config.model_fields_set:
                if age < min_age:
                    self.assume(f"remove_unused_original_minimum_age_seconds is at most "
                                f"{age:.0f} (_base/{name} removed {age:.0f}s after its last use; "
                                f"nova's default is {min_age})")
            elif age < min_age:
                self.violation("cache-remove-age", f"_base/{name} removed {age:.0f}s after its last "
                                                   f"use (minimum {min_age}s)")
        self.host.base_removed(name)

    def _active_bases(self, rec: Record, ev: imagecache.ActiveBaseFiles) -> None:
        listed = {name for name in (self._base_file(p) for p in ev.paths) if name}
        for base in list(self.host.cache.files.values()):
            if base.users and base.state == BaseState.PRESENT and base.filename not in listed:
                self._not_in_use(base.filename, "cache-active",
                                 f"_base/{base.filename} is used by {{users}} but not listed "
                                 "among the active base files")

    def _not_in_use(self, filename: str, rule: str, message: str) -> None:
        """The cache manager counts none of the model's users of a base file: they may have
        left this host without a line here (deleted by the API while this service was down,
        moved away). A later record of one of them on this host proves it was still here."""
        base = self.host.cache.entry(filename)
        users = sorted(base.users)
        for uuid in users:
            self._suspects[uuid] = (self.where(), rule, message.format(users=", ".join(users)))
            self.host.instance_leaving(uuid, self.where(), "gone without a line here")
        self.assume(f"the image cache manager counts none of {', '.join(users)} as using "
                    f"_base/{filename}: taken as gone from this host without a line here")

    def _free_resource(self, rec: Record, ev: FreeResource) -> None:
        """Havana's audit logs free amounts: used = total - free."""
        total = self.host.tracker.totals[ev.resource]
        if total is not None:
            self._check_used(ev.resource, total - ev.free, "final")

    def _final_view(self, rec: Record, ev: FinalResourceView) -> None:
        tracker = self.host.tracker
        self._learn_node(ev.node)
        for res, total, used in (("memory", ev.phys_ram_mb, ev.used_ram_mb),
                                 ("disk", ev.phys_disk_gb, ev.used_disk_gb),
                                 ("vcpu", float(ev.total_vcpus), ev.used_vcpus)):
            known = None if self._multinode else tracker.totals[res]
            if known is None:
                tracker.totals[res] = total
                self.assume(f"host {res} total {total:g} {UNITS[res]} (from Final resource view)")
            elif abs(known - total) > 0.5:
                self.violation("final-view", f"Final resource view {res} total {total:g}, "
                                             f"host has {known:g}")
            self._check_used(res, used, "final")

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
        return when is not None and last is not None and (last - when).total_seconds() > _SAVE_SECONDS


def _fits(claimed: int | None, flavor: int | None, overhead: int | None) -> bool:
    """A claim's amount is the flavor's plus the driver's overhead (logged at DEBUG only)."""
    if claimed is None or flavor is None:
        return True
    return claimed == flavor + overhead if overhead is not None else claimed >= flavor


# Lines of a claim itself (between "Attempting claim" and its outcome).
_CLAIM_EVENTS = (claim.ClaimTotal, claim.ClaimLimit, claim.ClaimLimitUnspecified, claim.Overhead,
                 claim.ClaimVcpuTotal, claim.ClaimVcpuLimit,
                 claim.ClaimSuccessful, claim.ClaimFailed, claim.InsufficientResources,
                 claim.ClaimAttempt, lock.LockAcquiring, lock.LockAcquired, lock.LockReleased)
# Lines of a build past its claim.
_BUILD_STEPS = (build.NetworkAsyncStart, build.NetworkAllocating, build.BdmStart,
                build.SpawnStart, image.CreatingImage, guest.GuestXmlStart, guest.Spawned,
                failure.SpawnFailed, failure.BuildFailed, power.BlockDeviceSetupFailed,
                failure.NetworkAllocFailed, failure.GuestStartFailed, failure.VifCreationFailed)


def _task(value: str | None) -> TaskState | None:
    try:
        return TaskState(value) if value else None
    except ValueError:
        return None


def _cause(rec: Record, ev: Event) -> str:
    """Why a build failed, as nova logged it: the event's reason, else its first line."""
    for name in ("reason", "summary", "cause"):
        value = getattr(ev, name, None)
        if value:
            return str(value)
    return (rec.message or ev.kind).splitlines()[0]


@dataclass
class _Attempt:
    """A claim between "Attempting claim" and its outcome: amounts and what its lines state."""

    claim: Claim
    node_named: bool = False
    """The wording names the node (Pike on)."""
    limits: dict[str, float | None] = field(default_factory=dict)
    free: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
