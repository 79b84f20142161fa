"""The boots of a trace: each build attempt's records, phases and what it booted.

A boot is one build of one instance on one host, from whatever level the log was written
at. It starts at the first of its instance lock (`_locked_do_build_and_run_instance`,
DEBUG), "Starting instance..." or a claim line, and ends at "Took N seconds to build
instance", at its abort or re-schedule, at the release of its instance lock, or at the end
of the window. A build whose start is before the window (an excerpt) is a boot from its
first line that tells how it ended. After "Instance spawned successfully." or a failure only the boot's own
request still logs for it (the teardown of a failed build, the "Took ..." totals); a delete
or a new build of the instance ends it, and later records of the instance (lifecycle
events, reboots, the delete) are not part of it. A record without an instance belongs to
the open boot of the instance its request serves (nsim.logs.attribution), when it is that
boot's request. A claim for an instance whose boot on this host was already seen,
or that the replay calls a move (resize, migration), starts no boot.

Phases, outcome, claim sizes and image come from replaying the records through the host
model (nsim.replay); the guest XML (DEBUG) adds the flavor name, and its sizes when the
claim lines do not give them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nsim.errors import NsimError
from nsim.events import build, claim, failure, guest, image, lock, teardown
from nsim.logs.attribution import Attribution
from nsim.logs.reader import ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.model.instance import Instance, Phase
from nsim.nova import guest_xml
from nsim.nova.names import (
    BUILD_FUNCTION,
    COMPUTE_RESOURCES,
    FETCH_FUNCTION,
    OVERLAY_FUNCTIONS,
    is_uuid,
    owner_function,
)
from nsim.replay.run import ReplayResult, host_key, replay_records

# Lines that open a boot (with the instance lock of _locked_do_build_and_run_instance).
_OPENS = (build.InstanceStarting, claim.ClaimAttempt, claim.ClaimSuccessful, claim.ClaimFailed,
          claim.ClaimTotal)
# Lines after which the build's outcome is known: only its own request logs for it then.
_ENDING = (guest.Spawned, failure.SpawnFailed, failure.BuildFailed, failure.NetworkAllocFailed,
           failure.GuestStartFailed, failure.UnexpectedBuildFailure, failure.VifCreationFailed,
           failure.NetworkAllocNotRescheduling, failure.BuildTimedOut)
# Lines that end a boot (included).
_ENDS = (failure.Aborted, failure.Rescheduled, failure.RetryInfoAbsent)
# Outcomes of a build that ran to its end.
COMPLETE = ("active", "error", "rescheduled")
# How a build ended, in words, by outcome (an aborted build is an error that says so).
ENDINGS = {"active": "active", "error": "failed", "rescheduled": "re-scheduled",
           "deleted": "deleted", "incomplete": "cut off by the log's end"}


@dataclass(frozen=True)
class LockWait:
    """A boot waiting for a lock another boot holds, as oslo logs it: from `acquired -
    waited` to the "acquired" line."""

    lock: str
    """`compute_resources` (the claim), or `image` (a base file's fetch or overlay lock)."""
    start: datetime
    end: datetime


def lock_wait(rec: Record) -> LockWait | None:
    """The wait an "acquired ... :: waited N s" line of the claim or image lock tells."""
    ev = rec.event
    if not isinstance(ev, lock.LockAcquired) or ev.waited <= 0 or rec.timestamp is None:
        return None
    if ev.name == COMPUTE_RESOURCES:
        role = COMPUTE_RESOURCES
    elif owner_function(ev.owner) in (FETCH_FUNCTION, *OVERLAY_FUNCTIONS):
        role = "image"
    else:
        return None
    return LockWait(role, rec.timestamp - timedelta(seconds=ev.waited), rec.timestamp)


@dataclass
class BootTrace:
    """One build attempt of one instance on one host."""

    host: str
    uuid: str
    records: list[Record] = field(default_factory=list)
    phases: dict[str, Phase] = field(default_factory=dict)
    outcome: str = "incomplete"
    """active, error, rescheduled, deleted (during the build) or incomplete (cut by the window)."""
    cause: str | None = None
    flavor: str | None = None
    sizes: tuple[int | None, int | None, int | None] = (None, None, None)
    image: str | None = None
    base_file: str | None = None
    name: str | None = None
    request_id: str | None = None
    started: bool = True
    """The log shows the boot's start (else the window cuts it: an excerpt)."""
    locked: bool = False
    """The log shows the boot's instance lock (DEBUG): the lock's release ends it."""
    ending: bool = False

    @property
    def start(self) -> datetime | None:
        phase = self.phases.get("build")
        if phase is not None and phase.start is not None:
            return phase.start
        return next((r.timestamp for r in self.records if r.timestamp is not None), None)

    @property
    def end(self) -> datetime | None:
        """The build's end, else (cut by the window) the boot's last stamp."""
        phase = self.phases.get("build")
        if phase is not None and phase.end is not None:
            return phase.end
        return max((r.timestamp for r in self.records if r.timestamp is not None), default=None)

    @property
    def waits(self) -> list[LockWait]:
        """The boot's waits on the claim and image locks, in order."""
        return [w for w in map(lock_wait, self.records) if w is not None]

    @property
    def ended_as(self) -> str:
        """How the build ended, in words: active, failed, aborted, re-scheduled, deleted or
        cut off by the log's end."""
        if self.outcome == "error" and any(isinstance(r.event, failure.Aborted)
                                           for r in self.records):
            return "aborted"
        return ENDINGS.get(self.outcome, self.outcome)

    @property
    def complete(self) -> bool:
        """The whole build is in the window, and it ran to its end (active, error or
        re-scheduled)."""
        return self.started and self.outcome in COMPLETE

    @property
    def signature(self) -> tuple[object, ...]:
        """What pairs boots without a shared uuid: flavor sizes and image (or base file)."""
        return (*self.sizes, self.image or self.base_file)

    def label(self) -> str:
        return f"{self.host}/{self.uuid[:8]}"

    def to_json(self) -> dict[str, object]:
        start = self.start
        return {"host": self.host, "uuid": self.uuid, "flavor": self.flavor,
                "memory_mb": self.sizes[0], "disk_gb": self.sizes[1], "vcpus": self.sizes[2],
                "image": self.image, "start": start.isoformat() if start else None,
                "outcome": self.outcome, "cause": self.cause}


def event_key(rec: Record) -> str:
    """A record's kind with what tells its instances apart (lock role, qemu-img step, ...)."""
    ev = rec.event
    assert ev is not None
    if isinstance(ev, lock.LockAcquiring | lock.LockAcquired | lock.LockReleased):
        role = ("instance" if is_uuid(ev.name) else
                ev.name if ev.name == COMPUTE_RESOURCES else "image")
        return f"{ev.kind}:{role}:{owner_function(ev.owner)}"
    if isinstance(ev, image.SubprocessRunning | image.SubprocessReturned):
        cmd = ev.qemu_img
        if cmd is None:
            return ev.kind
        if cmd.operation == "info" and cmd.source:
            step = ("part" if cmd.source.endswith(".part") else
                    "converted" if cmd.source.endswith(".converted") else
                    "disk" if cmd.source.endswith("/disk") else "base")
            return f"{ev.kind}:info:{step}"
        return f"{ev.kind}:{cmd.operation}"
    if isinstance(ev, guest.LifecycleEvent):
        return f"{ev.kind}:{ev.transition}"
    if isinstance(ev, guest.TookSeconds):
        return f"{ev.kind}:{ev.step or ev.what}"
    if isinstance(ev, guest.ExternalEvent):
        return f"{ev.kind}:{ev.verb}"
    return ev.kind


def _builds(ev: object) -> bool:
    """ "Took N seconds to build instance." """
    return isinstance(ev, guest.TookSeconds) and ev.step == "build"


def _build_lock(ev: object, released: bool) -> bool:
    kind = lock.LockReleased if released else lock.LockAcquired
    return isinstance(ev, kind) and owner_function(ev.owner) == BUILD_FUNCTION


class _Splitter:
    """Cuts a record stream into boots (see the module docstring)."""

    def __init__(self) -> None:
        self.boots: list[BootTrace] = []
        self.open: dict[tuple[str, str], BootTrace] = {}
        self.attribution: dict[str, Attribution] = {}
        """Per host: which instance an untagged record's request serves."""
        self.seen: set[tuple[str, str]] = set()

    def _close(self, boot: BootTrace) -> None:
        del self.open[(boot.host, boot.uuid)]

    def _open(self, host: str, uuid: str, rec: Record) -> BootTrace:
        boot = self.open[(host, uuid)] = BootTrace(host, uuid, request_id=rec.request_id)
        self.boots.append(boot)
        self.seen.add((host, uuid))
        return boot

    def add(self, rec: Record) -> None:
        ev = rec.event
        if ev is None:
            return
        host = host_key(rec)
        served = self.attribution.setdefault(host, Attribution()).observe(rec)
        locks = _build_lock(ev, released=False)
        uuid = ev.name if locks else rec.instance
        if uuid is None:
            # An untagged line of the boot's own request (lock lines, qemu-img runs …).
            boot = self.open.get((host, served)) if served else None
            if boot is not None and rec.request_id == boot.request_id:
                boot.records.append(rec)
            return
        boot = self.open.get((host, uuid))
        starts = locks or isinstance(ev, build.InstanceStarting)
        if boot is not None and starts and (boot.ending or (locks and boot.locked) or any(
                isinstance(r.event, build.InstanceStarting) for r in boot.records)):
            self._close(boot)  # a new build of the instance on this host
            boot = None
        if boot is None:
            first = (host, uuid) not in self.seen
            if starts or (first and isinstance(ev, _OPENS)):
                boot = self._open(host, uuid, rec)
            elif first and (isinstance(ev, _ENDING + _ENDS) or _builds(ev)):
                boot = self._open(host, uuid, rec)  # its start is before the window
                boot.started = False
            else:
                return
        elif boot.ending and (boot.request_id is None or rec.request_id != boot.request_id):
            if isinstance(ev, teardown.Terminating):
                self._close(boot)  # the instance is deleted
            return
        if boot.request_id is None and rec.request_id is not None and not boot.ending:
            boot.request_id = rec.request_id
        boot.records.append(rec)
        boot.locked = boot.locked or locks
        if _build_lock(ev, released=True) or isinstance(ev, _ENDS) or (
                not boot.locked and _builds(ev)):
            self._close(boot)
        elif isinstance(ev, _ENDING):
            boot.ending = True


def _describe(boot: BootTrace, inst: Instance | None) -> None:
    """Phases, outcome, sizes, image and names of a boot, from the replay and its records."""
    succeeded = any(isinstance(r.event, guest.Spawned) or _builds(r.event) for r in boot.records)
    if inst is not None and inst.operation == "boot":
        boot.phases = {p.name: p for p in inst.ordered_phases()}
        boot.outcome = inst.outcome.value
        boot.cause = inst.cause
        boot.image, boot.base_file = inst.image_id, inst.base_file
        if inst.claim is not None:
            boot.sizes = (inst.claim.memory_mb, inst.claim.disk_gb, inst.claim.vcpus)
    if boot.outcome in ("active", "deleted", "incomplete") and succeeded:
        boot.outcome = "active"  # the build ended well; what happened later is not the boot's
    sizes = list(boot.sizes)
    for rec in boot.records:
        ev = rec.event
        if isinstance(ev, claim.ClaimAttempt):
            sizes = [s if s is not None else v
                     for s, v in zip(sizes, (ev.memory_mb, ev.disk_gb, ev.vcpus), strict=True)]
        elif isinstance(ev, guest.GuestXmlEnd):
            facts = guest_xml.read(ev.xml)
            boot.flavor = facts.flavor or boot.flavor
            boot.name = facts.name or boot.name
            found = [facts.sizes.get(k) for k in ("memory", "disk", "vcpus")]
            sizes = [s if s is not None else v for s, v in zip(sizes, found, strict=True)]
        elif boot.image is None and isinstance(getattr(ev, "image_id", None), str):
            boot.image = ev.image_id  # type: ignore[union-attr]
    boot.sizes = (sizes[0], sizes[1], sizes[2])


def collect(records: Iterable[Record]) -> tuple[list[BootTrace], ReplayResult]:
    """Split records into boots (in the order their builds start) and replay them."""
    records = list(records)
    splitter = _Splitter()
    for rec in records:
        splitter.add(rec)
    result = replay_records(records)
    boots = []
    for boot in splitter.boots:
        inst = result.hosts[boot.host].instances.get(boot.uuid)
        opened_by_build = any(isinstance(r.event, build.InstanceStarting)
                              or _build_lock(r.event, released=False) for r in boot.records)
        if inst is not None and inst.operation == "move" and not opened_by_build:
            continue  # a resize or migration claim: not a boot
        _describe(boot, inst)
        boots.append(boot)
    return boots, result


class UnreadableLog(NsimError, ValueError):
    """A log that cannot be read (missing, a directory, not a nova-compute log): the parser's
    errors, one per file, as `file: what`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


class NoBoots(NsimError, ValueError):
    """Logs in which no boot was found, as `file: no boot found`, one per file."""

    def __init__(self, paths: list[str]) -> None:
        self.errors = [f"{path}: no boot found (no \"Starting instance...\", claim or "
                       "instance lock line)" for path in paths]
        super().__init__("; ".join(self.errors))


def read(path: str, year: int | None = None,
         on_diagnostic: Callable[[Diagnostic], None] | None = None, fmt: str = "auto"
         ) -> tuple[list[BootTrace], ReplayResult, ParseRun]:
    """The boots of one log file, its replay, and the parse run (its errors and diagnostics;
    `on_diagnostic` sees each diagnostic as it comes)."""
    run = ParseRun([path], fmt=fmt, year=year, on_diagnostic=on_diagnostic)
    boots, replayed = collect(run)
    return boots, replayed, run


def load(path: str, year: int | None = None,
         on_diagnostic: Callable[[Diagnostic], None] | None = None) -> list[BootTrace]:
    """The boots of one log file; UnreadableLog when the file cannot be read."""
    boots, _, run = read(path, year, on_diagnostic)
    if run.errors:
        raise UnreadableLog(run.errors)
    return boots
