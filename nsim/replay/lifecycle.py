"""Replay of a build's and a delete's steps: task, vm and power states, lifecycle events,
failures, moves."""

from __future__ import annotations

import posixpath

from nsim.events import (
    build,
    failure,
    guest,
    move,
    power,
    teardown,
)
from nsim.events.base import Event
from nsim.logs.record import Record
from nsim.model.claims import RESOURCES, Claim, claimed_disk
from nsim.model.instance import Instance
from nsim.model.lifecycle import EVENT_POWER_STATE, Outcome, PowerState, TaskState, VmState
from nsim.nova import guest_xml
from nsim.replay.state import ObserverState

# The order of a build's task states (nova/compute/manager.py _build_resources, spawn).
_TASK_ORDER: tuple[TaskState, ...] = (
    TaskState.NETWORKING, TaskState.BLOCK_DEVICE_MAPPING, TaskState.SPAWNING)


def _fits(claimed: int | None, flavor: int | None, overhead: int | None) -> bool:
    """A claim's amount is the flavor's plus the driver's overhead (logged at DEBUG only)."""
    if claimed is None or flavor is None:
        return True
    return claimed == flavor + overhead if overhead is not None else claimed >= flavor


_TASKS = {state.value: state for state in TaskState}


def _task(value: str | None) -> TaskState | None:
    """The task state a line names, if the model knows it."""
    return _TASKS.get(value) if value else None


def _cause(rec: Record, ev: Event) -> str:
    """Why a build failed, as nova logged it: the event's reason, else its first line."""
    for name in ("reason", "summary", "cause"):
        value = getattr(ev, name, None)
        if value:
            return str(value)
    return (rec.message or ev.kind).splitlines()[0]


class LifecycleChecks(ObserverState):
    """Checks of a build's and a delete's steps: task, vm and power states, lifecycle events,"""

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

    def _xml_start(self, rec: Record, ev: guest.GuestXmlStart) -> None:
        inst = self._inst(rec)
        if inst is not None:
            self._after_spawned(inst, "the guest XML", rec)
            inst.begin("xml", rec.timestamp)

    def _xml_end(self, rec: Record, ev: guest.GuestXmlEnd) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        stamp = rec.timestamp
        inst.finish("xml", stamp)
        inst.begin("domain_start", stamp)
        facts = guest_xml.read(ev.xml)
        sizes = {k: v for k, v in facts.sizes.items() if k in ("memory", "disk", "vcpus")}
        if "disk" in sizes:
            sizes["disk"] = claimed_disk(sizes["disk"], facts.sizes.get("ephemeral", 0))
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
            plain = not facts.extras and facts.root_image is not None
            sized = Claim(sizes["memory"], sizes["disk"] if plain else None, sizes["vcpus"])
            inst.claim = sized
            self.host.tracker.size(inst.uuid, sized)
        if facts.root_image and inst.image_id is None:
            inst.image_id = facts.root_image
        if inst.base_file is not None:
            self._expect_image(inst, inst.base_file)
        expected = self.host.instance_dir(inst.uuid)
        if facts.disk and expected is not None and facts.disk != posixpath.join(expected, "disk"):
            self.violation("instance-disk-path", f"guest XML disk {facts.disk}, "
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
        named = ev.instance_uuid
        inst = self.host.instance(named) if named else self._inst(rec)
        if inst is None:
            return
        transition = ev.transition
        state = EVENT_POWER_STATE[transition]
        if transition == "Started":
            inst.finish("domain_start", rec.timestamp)
        elif transition == "Paused":
            inst.was_paused = True
            inst.begin("resume", rec.timestamp)
        elif transition == "Resumed":
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
        step, seconds, stamp = ev.step, ev.seconds, rec.timestamp
        if step == "build":
            inst.build_seconds = seconds
            inst.finish("build", stamp)
            if inst.outcome == Outcome.ACTIVE or inst.spawned:
                inst.outcome = Outcome.ACTIVE
                inst.vm_state, inst.task_state, inst.pending_active = VmState.ACTIVE, None, False
        elif step == "spawn":
            inst.spawn_seconds = seconds
            spawn = inst.phase("spawn")
            if spawn.end is None:
                spawn.end = stamp
            if inst.spawned:
                inst.pending_active = True
        if step in ("spawn", "build"):
            phase = inst.phase(step)
            self._check_span("took-seconds", f"{inst.uuid}: took {step}", seconds, stamp,
                             early=None if phase.proxy else phase.start, inside=phase.inside)
        elif step == "destroy":
            # "Terminating instance" is logged before the destroy's timer starts.
            self._check_span("took-seconds", f"{inst.uuid}: took destroy", seconds, stamp,
                             early=inst.phase("delete").start, inside=None)
        elif step == "deallocate_network" and not inst.cleaning and (
                inst.task_state == TaskState.DELETING or inst.vm_state == VmState.DELETED):
            # A delete's usage leaves after this line, at an update_usage that need not be
            # logged (nova/compute/manager.py _delete_instance: _shutdown_instance, then
            # _complete_deletion): an instance the model put inside the baseline leaves now.
            self.host.instance_leaving(inst.uuid, self.where(), "deleted")

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
        if inst is None or inst.failing:
            return  # the failure's later lines (spawn failed, then build failed …)
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
