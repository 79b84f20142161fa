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
from datetime import datetime

from nsim.events import build, claim, failure, guest, image, imagecache, lock, teardown
from nsim.events.audit import FinalResourceView
from nsim.events.base import Event
from nsim.logs.record import Record
from nsim.model.claims import RESOURCES, UNITS, Claim
from nsim.model.host import Host
from nsim.model.image_cache import BaseState, cache_filename
from nsim.model.instance import Instance
from nsim.model.lifecycle import EVENT_POWER_STATE, Outcome, PowerState, TaskState, VmState
from nsim.model.locks import Holder
from nsim.nova_names import (
    ABORT_CLAIM_FUNCTION,
    BUILD_FUNCTION,
    CLAIM_FUNCTION,
    FETCH_FUNCTION,
    is_uuid,
    owner_function,
)
from nsim.replay.findings import Assumption, Violation

# Slack on top of stamp resolution when comparing logged durations with stamps.
TOLERANCE_SECONDS = 0.5
_FLAVOR = re.compile(r"<nova:(memory|disk|vcpus)>(\d+)</nova:\1>")
_ROOT_IMAGE = re.compile(r'<nova:root type="image" uuid="([0-9a-f-]{36})"')
_DISK_SOURCE = re.compile(r'<source file="([^"]+/disk)"')
# Task state each boot step expects before it (nova/compute/manager.py expected_task_state).
_TASK_BEFORE: dict[TaskState | None, tuple[TaskState | None, ...]] = {
    TaskState.NETWORKING: (None,),
    TaskState.BLOCK_DEVICE_MAPPING: (TaskState.NETWORKING,),
    TaskState.SPAWNING: (TaskState.BLOCK_DEVICE_MAPPING,),
}


def _resolution(*stamps: datetime) -> float:
    """Whole-second stamps (journald `short`) are only good to a second."""
    return 1.0 if all(s.microsecond == 0 for s in stamps) else 0.001


def _fmt(value: float | None, unit: str) -> str:
    return "unknown" if value is None else f"{value:.2f} {unit}"


class HostObserver:
    """Replays the records of one host into its model."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.violations: list[Violation] = []
        self.assumptions: list[Assumption] = []
        self._request_instance: dict[str, str] = {}
        self._pending: dict[str, tuple[Claim, dict[str, float | None]]] = {}
        self._rec: Record | None = None
        self._handlers: dict[type[Event], Callable[[Record, Event], None]] = {
            lock.LockAcquiring: self._lock_acquiring,
            lock.LockAcquired: self._lock_acquired,
            lock.LockReleased: self._lock_released,
            build.InstanceStarting: self._instance_starting,
            claim.ClaimAttempt: self._claim_attempt,
            claim.ClaimTotal: self._claim_total,
            claim.ClaimLimitUnspecified: self._claim_limit_unspecified,
            claim.ClaimLimit: self._claim_limit,
            claim.ClaimSuccessful: self._claim_successful,
            claim.ClaimFailed: self._claim_refused,
            claim.InsufficientResources: self._claim_refused,
            build.NetworkAsyncStart: self._network_start,
            build.NetworkAllocating: self._network_start,
            build.NetworkInfo: self._network_info,
            build.BdmStart: self._bdm_start,
            build.SpawnStart: self._spawn_start,
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
            failure.Rescheduled: self._rescheduled,
            failure.Aborted: self._errored,
            failure.RetryInfoAbsent: self._errored,
            failure.BuildTimedOut: self._errored,
            failure.UnexpectedBuildFailure: self._errored,
            failure.NetworkAllocNotRescheduling: self._errored,
            imagecache.RemovingBaseFile: self._removing_base,
            imagecache.ActiveBaseFiles: self._active_bases,
            FinalResourceView: self._final_view,
        }

    # -- plumbing -----------------------------------------------------------------
    def apply(self, rec: Record) -> None:
        event = rec.event
        if event is None:
            return
        handler = self._handlers.get(type(event))
        if handler is not None:
            self._rec = rec
            handler(rec, event)

    def violation(self, rule: str, message: str) -> None:
        rec = self._rec
        assert rec is not None
        self.violations.append(Violation(rec.source, rec.line, rule, message))

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
        req = rec.request_id
        if rec.instance:
            self._bind(req, rec.instance)
            return rec.instance
        if req:
            return self._request_instance.get(req) or None
        return None

    def _inst(self, rec: Record) -> Instance | None:
        uuid = self._uuid(rec)
        if uuid is None:
            return None
        known = uuid in self.host.instances
        inst = self.host.instance(uuid)
        if not known and not self._starts_boot(rec):
            self.assume(f"instance {uuid} first seen mid-boot; its earlier state is inferred")
        return inst

    @staticmethod
    def _starts_boot(rec: Record) -> bool:
        ev = rec.event
        return isinstance(ev, build.InstanceStarting) or (
            isinstance(ev, lock.LockAcquired) and owner_function(ev.owner) == BUILD_FUNCTION)

    def _check_duration(self, rule: str, what: str, logged: float, start: datetime | None,
                        end: datetime | None) -> None:
        if start is None or end is None:
            return
        measured = (end - start).total_seconds()
        tol = 2 * _resolution(start, end) + TOLERANCE_SECONDS
        if abs(measured - logged) > tol:
            self.violation(rule, f"{what}: logged {logged:.3f}s but the stamps are {measured:.3f}s "
                                 f"apart (tolerance {tol:.1f}s)")

    def _learn_instances_path(self, path: str, derived_from: str) -> None:
        host = self.host
        if host.instances_path is None:
            host.instances_path = path
            self.assume(f"instances_path is {path} (from {derived_from})")
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
        return name

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
            self.violation("lock-exclusive",
                           f'lock "{ev.name}" acquired by {ev.owner} ({rec.request_id}) while '
                           f"{lk.holder.owner} ({lk.holder.request_id}) holds it")
        lk.holder = Holder(ev.owner, rec.request_id, rec.timestamp)
        if owner_function(ev.owner) == BUILD_FUNCTION and is_uuid(ev.name):
            self._bind(rec.request_id, ev.name)
            self.host.instance(ev.name)
            return
        inst = self._inst(rec)
        if inst is None:
            return
        if owner_function(ev.owner) == ABORT_CLAIM_FUNCTION:
            self.host.tracker.drop_claim(inst.uuid)
        elif owner_function(ev.owner) == CLAIM_FUNCTION:
            inst.begin("claim", rec.timestamp)
        elif owner_function(ev.owner) == FETCH_FUNCTION:
            inst.begin("image_fetch", rec.timestamp)

    def _lock_released(self, rec: Record, ev: lock.LockReleased) -> None:
        lk = self.host.locks.get(ev.name)
        holder = lk.holder
        if holder is None:
            self.assume(f'lock "{ev.name}" was taken before the log window')
        elif holder.request_id != rec.request_id or holder.owner != ev.owner:
            self.violation("lock-release",
                           f'lock "{ev.name}" released by {ev.owner} ({rec.request_id}) but held by '
                           f"{holder.owner} ({holder.request_id})")
        else:
            self._check_duration("lock-held", f'lock "{ev.name}" hold', ev.held, holder.since,
                                 rec.timestamp)
        lk.holder = None
        if owner_function(ev.owner) == FETCH_FUNCTION:
            base = self.host.cache.files.get(ev.name)
            if base is not None and base.state in (BaseState.DOWNLOADING, BaseState.CONVERTING):
                self.host.cache.complete(ev.name)
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
    def _instance_starting(self, rec: Record, ev: build.InstanceStarting) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        inst.boot_seen = True
        inst.vm_state, inst.task_state = VmState.BUILDING, None
        inst.outcome = Outcome.INCOMPLETE
        inst.begin("build", rec.timestamp)

    def _claim_attempt(self, rec: Record, ev: claim.ClaimAttempt) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if ev.node is not None:
            self.host.node = self.host.node or ev.node
        inst.begin("claim", rec.timestamp)
        self._pending[inst.uuid] = (Claim(ev.memory_mb, ev.disk_gb, ev.vcpus), {})

    def _claim_total(self, rec: Record, ev: claim.ClaimTotal) -> None:
        tracker = self.host.tracker
        res, unit = ev.resource, UNITS[ev.resource]
        known = tracker.totals[res]
        if known is None:
            tracker.totals[res] = ev.total
            self.assume(f"host {res} total {ev.total:g} {unit} (from the log)")
        elif abs(known - ev.total) > 0.5:
            self.violation("claim-total", f"log says total {res} {ev.total:g} {unit}, "
                                          f"host has {known:g} {unit}")
        self._check_used(res, ev.used, "claim")

    def _check_used(self, res: str, logged: float, where: str) -> None:
        tracker, unit = self.host.tracker, UNITS[res]
        claimed = tracker.claimed(res)
        if claimed is None:
            return
        if not tracker.baseline_known[res]:
            before = logged - claimed
            tracker.baseline[res] = before
            tracker.baseline_known[res] = True
            self.assume(f"{res} in use before the window: {before:g} {unit} "
                        f"(reserved and instances the log does not show)")
            return
        model = tracker.used(res)
        if model is not None and abs(model - logged) > 0.01:
            shown = [f"{u[:8]}={c.amount(res)}" for u, c in itertools.islice(tracker.claims.items(), 4)]
            more = len(tracker.claims) - len(shown)
            lives = ", ".join(shown + ([f"{more} more"] if more > 0 else [])) or "none"
            self.violation(f"{where}-used" if where == "claim" else "final-view",
                           f"log says {res} used {logged:.2f} {unit}, model has {model:.2f} {unit} "
                           f"(baseline {tracker.baseline[res]:g} + live claims: {lives})")

    def _claim_limit_unspecified(self, rec: Record, ev: claim.ClaimLimitUnspecified) -> None:
        uuid = self._uuid(rec)
        if uuid in self._pending:
            self._pending[uuid][1][ev.resource] = None

    def _claim_limit(self, rec: Record, ev: claim.ClaimLimit) -> None:
        tracker, res, unit = self.host.tracker, ev.resource, UNITS[ev.resource]
        expected = tracker.limit(res)
        if expected is not None and abs(expected - ev.limit) > 0.01:
            self.violation("claim-limit", f"log says {res} limit {ev.limit:.2f} {unit}, "
                                          f"total x ratio is {expected:.2f} {unit}")
        used = tracker.used(res)
        if used is not None and tracker.baseline_known[res] and abs((ev.limit - used) - ev.free) > 0.01:
            self.violation("claim-free", f"log says {res} free {ev.free:.2f} {unit}, limit - used "
                                         f"is {ev.limit - used:.2f} {unit}")
        uuid = self._uuid(rec)
        if uuid in self._pending:
            self._pending[uuid][1][res] = ev.limit

    def _claim_successful(self, rec: Record, ev: claim.ClaimSuccessful) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        claimed, limits = self._pending.pop(inst.uuid, (Claim(None, None, None), {}))
        reasons = self.host.tracker.test(claimed, limits)
        if reasons:
            self.violation("claim-decision", "claim succeeded but does not fit: " + "; ".join(reasons))
        if ev.node is not None:
            self.host.node = self.host.node or ev.node
        inst.claim = claimed
        self.host.tracker.instance_claim(inst.uuid, claimed)

    def _claim_refused(self, rec: Record, ev: claim.ClaimFailed | claim.InsufficientResources) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        pending = self._pending.pop(inst.uuid, None)
        if pending is None:
            return
        claimed, limits = pending
        # Only a shortage ("Free memory ... < requested ...") can be checked; NUMA or PCI
        # reasons are beyond the model.
        shortage = isinstance(ev, claim.InsufficientResources) and ev.resource is not None
        if shortage and claimed.sized and limits and not self.host.tracker.test(claimed, limits):
            self.violation("claim-decision",
                           f"claim refused ({ev.reason}) but it fits: " + ", ".join(
                               f"{r} {claimed.amount(r)} {UNITS[r]} of "
                               f"{_fmt(_free(self.host, r, limits), UNITS[r])} free"
                               for r in RESOURCES))
        inst.claim = claimed
        inst.finish("claim", rec.timestamp)

    # -- networks, block devices, spawn ---------------------------------------------------
    def _set_task(self, inst: Instance, task: TaskState) -> None:
        allowed = _TASK_BEFORE.get(task)
        if inst.boot_seen and allowed is not None and inst.task_state not in allowed:
            before = inst.task_state.value if inst.task_state else "None"
            self.violation("task-order", f"{inst.uuid}: task_state {task.value} after {before}")
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
            inst.begin("spawn", rec.timestamp)

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
                cache.start_fetch(name, inst.uuid if inst else None)
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
            cache.start_convert(name)
            if inst is not None:
                base.fetched_by = base.fetched_by or inst.uuid
                inst.begin("convert", rec.timestamp)
        elif cmd.operation == "create" and cmd.backing_file and cmd.target:
            owner = posixpath.basename(posixpath.dirname(cmd.target))
            if inst is None and is_uuid(owner):
                inst = self.host.instance(owner)
            self._overlay(rec, inst, cmd.backing_file, cmd.target)

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
            cache.complete(name)
        elif base.state != BaseState.PRESENT:
            self.violation("cache-backing-ready",
                           f"overlay {target} backed by _base/{name} while it is {base.state.value}")
        if inst is None:
            return
        expected = self.host.instance_dir(inst.uuid)
        if expected is not None and target != posixpath.join(expected, "disk"):
            self.violation("instance-disk-path", f"instance disk {target}, expected {expected}/disk")
        self._expect_image(inst, name)
        hit = cache.use(name, inst.uuid, rec.timestamp)
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
                self.host.cache.abort_fetch(name)
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
            inst.begin("xml", rec.timestamp)

    def _xml_end(self, rec: Record, ev: guest.GuestXmlEnd) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        inst.finish("xml", rec.timestamp)
        inst.begin("domain_start", rec.timestamp)
        sizes = {k: int(v) for k, v in _FLAVOR.findall(ev.xml)}
        if inst.claim is not None and inst.claim.sized and sizes:
            logged = (sizes.get("memory"), sizes.get("disk"), sizes.get("vcpus"))
            claimed = (inst.claim.memory_mb, inst.claim.disk_gb, inst.claim.vcpus)
            if logged != claimed:
                self.violation("xml-flavor", f"guest XML flavor memory/disk/vcpus {logged} "
                                             f"differs from the claim {claimed}")
        elif inst.claim is not None and not inst.claim.sized and len(sizes) == 3:
            sized = Claim(sizes["memory"], sizes["disk"], sizes["vcpus"])
            inst.claim = sized
            self.host.tracker.instance_claim(inst.uuid, sized)
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

    def _power_state_sync(self, rec: Record, ev: guest.PowerStateSync) -> None:
        inst = self._inst(rec)
        if inst is None or not inst.boot_seen or inst.vm_state is None:
            return
        model = (inst.vm_state.value, inst.task_state.value if inst.task_state else None)
        if model != (ev.vm_state, ev.task_state):
            self.violation("sync-power-state",
                           f"{inst.uuid}: log says vm_state {ev.vm_state}, task_state "
                           f"{ev.task_state}; model has {model[0]}, {model[1]}")

    def _lifecycle(self, rec: Record, ev: guest.LifecycleEvent) -> None:
        inst = self._inst(rec)
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
                self.violation("lifecycle-order", f"{inst.uuid}: Resumed without Paused before it")
            inst.finish("resume", rec.timestamp)
        inst.power_state = state

    def _sync_skip(self, rec: Record, ev: guest.SyncPowerStateSkip) -> None:
        inst = self._inst(rec)
        if inst is None or not inst.boot_seen:
            return
        current = inst.task_state.value if inst.task_state else None
        if current != ev.task_state:
            self.violation("sync-power-state", f"{inst.uuid}: skip names pending task "
                                               f"{ev.task_state}, model has {current}")

    def _guest_created(self, rec: Record, ev: guest.GuestCreated) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.guest_running = True

    def _spawned(self, rec: Record, ev: guest.Spawned) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        running = inst.guest_running or inst.power_state == PowerState.RUNNING
        if inst.boot_seen and not running:
            self.violation("spawned-after-running",
                           f"{inst.uuid}: spawned successfully before the guest ran "
                           f"(power_state {inst.power_state.value})")
        # vm_state becomes active after "Took N seconds to spawn" (_update_instance_after_spawn).
        inst.outcome = Outcome.ACTIVE
        inst.finish("spawn", rec.timestamp)

    def _took(self, rec: Record, ev: guest.TookSeconds) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if ev.step == "build":
            inst.build_seconds = ev.seconds
            inst.finish("build", rec.timestamp)
        elif ev.step == "spawn" and inst.outcome == Outcome.ACTIVE:
            inst.vm_state, inst.task_state = VmState.ACTIVE, None
        if ev.step in ("spawn", "build"):
            self._check_duration("took-seconds", f"{inst.uuid}: took {ev.step}", ev.seconds,
                                 inst.phase(ev.step).start, rec.timestamp)
        elif ev.step == "destroy":
            self._check_duration("took-seconds", f"{inst.uuid}: took destroy", ev.seconds,
                                 inst.phase("delete").start, rec.timestamp)

    # -- teardown and failure -------------------------------------------------------------
    def _terminating(self, rec: Record, ev: teardown.Terminating) -> None:
        inst = self._inst(rec)
        if inst is not None:
            if not inst.failing:
                inst.task_state = TaskState.DELETING
            inst.begin("delete", rec.timestamp)

    def _destroyed(self, rec: Record, ev: teardown.Destroyed) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.power_state = PowerState.SHUTDOWN

    def _deletion_complete(self, rec: Record, ev: teardown.DeletionComplete) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        inst.finish("delete", rec.timestamp)
        if inst.failing:
            return
        inst.vm_state, inst.task_state = VmState.DELETED, None
        inst.outcome = Outcome.DELETED
        self.host.tracker.drop_claim(inst.uuid)
        self.host.cache.release(inst.uuid)

    def _failing(self, rec: Record, ev: Event) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.failing = True

    def _rescheduled(self, rec: Record, ev: failure.Rescheduled) -> None:
        inst = self.host.instance(ev.instance_uuid)
        inst.vm_state, inst.task_state = VmState.BUILDING, TaskState.SCHEDULING
        inst.outcome = Outcome.RESCHEDULED
        inst.finish("build", rec.timestamp)
        self.host.tracker.drop_claim(inst.uuid)
        self.host.cache.release(inst.uuid)

    def _errored(self, rec: Record, ev: Event) -> None:
        uuid = getattr(ev, "instance_uuid", None) or self._uuid(rec)
        if uuid is None:
            return
        inst = self.host.instance(uuid)
        inst.vm_state, inst.task_state = VmState.ERROR, None
        inst.outcome = Outcome.ERROR
        inst.finish("build", rec.timestamp)
        self.host.tracker.drop_claim(inst.uuid)
        self.host.cache.release(inst.uuid)

    # -- periodic tasks ---------------------------------------------------------------------
    def _removing_base(self, rec: Record, ev: imagecache.RemovingBaseFile) -> None:
        name = self._base_file(ev.path)
        if name is None:
            return
        base = self.host.cache.entry(name)
        if base.users:
            self.violation("cache-remove-in-use",
                           f"_base/{name} removed while used by {', '.join(sorted(base.users))}")
        min_age = self.host.config.remove_unused_original_minimum_age_seconds
        if base.last_used is not None and rec.timestamp is not None:
            age = (rec.timestamp - base.last_used).total_seconds()
            if age < min_age:
                self.violation("cache-remove-age", f"_base/{name} removed {age:.0f}s after its last "
                                                   f"use (minimum {min_age}s)")
        self.host.cache.remove(name)

    def _active_bases(self, rec: Record, ev: imagecache.ActiveBaseFiles) -> None:
        listed = {name for name in (self._base_file(p) for p in ev.paths) if name}
        for base in self.host.cache.files.values():
            if base.users and base.state == BaseState.PRESENT and base.filename not in listed:
                self.violation("cache-active",
                               f"_base/{base.filename} is used by {', '.join(sorted(base.users))} "
                               f"but not listed among the active base files")

    def _final_view(self, rec: Record, ev: FinalResourceView) -> None:
        host, tracker = self.host, self.host.tracker
        host.node = host.node or ev.node
        for res, total, used in (("memory", ev.phys_ram_mb, ev.used_ram_mb),
                                 ("disk", ev.phys_disk_gb, ev.used_disk_gb),
                                 ("vcpu", float(ev.total_vcpus), ev.used_vcpus)):
            known = tracker.totals[res]
            if known is None:
                tracker.totals[res] = total
                self.assume(f"host {res} total {total:g} {UNITS[res]} (from Final resource view)")
            elif abs(known - total) > 0.5:
                self.violation("final-view", f"Final resource view {res} total {total:g}, "
                                             f"host has {known:g}")
            self._check_used(res, used, "final")

    def finish(self) -> None:
        """End of input: boots still open stay incomplete (not a violation)."""
        for inst in self.host.instances.values():
            if inst.outcome == Outcome.INCOMPLETE and inst.failing:
                inst.outcome = Outcome.ERROR


def _free(host: Host, resource: str, limits: dict[str, float | None]) -> float | None:
    limit, used = limits.get(resource), host.tracker.used(resource)
    return None if limit is None or used is None else limit - used
