"""The boots of a trace: each build attempt's records, phases and what it booted.

A record belongs to a boot by its `[instance: U]`, or by its request id once the boot's
request is known (the instance lock or "Starting instance..."). A boot ends when its
instance lock is released by `_locked_do_build_and_run_instance`; later records of the
instance (delete, late lifecycle events) are not part of the boot. Phases come from
replaying the records through the host model (nsim.replay).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from nsim.events import build, guest, image, lock
from nsim.logs.reader import ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.model.instance import Phase
from nsim.nova_names import BUILD_FUNCTION, COMPUTE_RESOURCES, is_uuid, owner_function
from nsim.replay.run import ReplayResult, host_key, replay_records

_FLAVOR = re.compile(r'<nova:flavor name="([^"]+)">')
_NAME = re.compile(r"<nova:name>([^<]+)</nova:name>")


@dataclass
class BootTrace:
    """One build attempt of one instance on one host."""

    host: str
    uuid: str
    records: list[Record] = field(default_factory=list)
    phases: dict[str, Phase] = field(default_factory=dict)
    outcome: str = "incomplete"
    flavor: str | None = None
    sizes: tuple[int | None, int | None, int | None] = (None, None, None)
    image: str | None = None
    name: str | None = None
    closed: bool = False

    @property
    def start(self) -> datetime | None:
        phase = self.phases.get("build")
        if phase is not None and phase.start is not None:
            return phase.start
        return next((r.timestamp for r in self.records if r.timestamp is not None), None)

    @property
    def signature(self) -> tuple[object, ...]:
        """What pairs boots without a shared uuid: flavor sizes and image."""
        return (*self.sizes, self.image)

    def label(self) -> str:
        return f"{self.host}/{self.uuid[:8]}"

    def to_json(self) -> dict[str, object]:
        start = self.start
        return {"host": self.host, "uuid": self.uuid, "flavor": self.flavor,
                "memory_mb": self.sizes[0], "disk_gb": self.sizes[1], "vcpus": self.sizes[2],
                "image": self.image, "start": start.isoformat() if start else None,
                "outcome": self.outcome}


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


def _describe(boot: BootTrace) -> None:
    for rec in boot.records:
        ev = rec.event
        if isinstance(ev, guest.GuestXmlEnd):
            flavor, name = _FLAVOR.search(ev.xml), _NAME.search(ev.xml)
            boot.flavor = flavor.group(1) if flavor else boot.flavor
            boot.name = name.group(1) if name else boot.name


def collect(records: Iterable[Record]) -> tuple[list[BootTrace], ReplayResult]:
    """Split records into boots (in the order their builds start) and replay them."""
    records = list(records)
    open_boots: dict[tuple[str, str], BootTrace] = {}
    by_request: dict[tuple[str, str], BootTrace] = {}
    boots: list[BootTrace] = []
    for rec in records:
        ev = rec.event
        if ev is None:
            continue
        host = host_key(rec)
        starts = isinstance(ev, lock.LockAcquired) and owner_function(ev.owner) == BUILD_FUNCTION
        uuid = ev.name if starts else rec.instance
        boot = None
        if uuid is not None:
            boot = open_boots.get((host, uuid))
            if boot is None and (starts or isinstance(ev, build.InstanceStarting)):
                boot = open_boots[(host, uuid)] = BootTrace(host, uuid)
                boots.append(boot)
        elif rec.request_id is not None:
            boot = by_request.get((host, rec.request_id))
        if boot is None or boot.closed:
            continue
        if rec.request_id is not None and (starts or isinstance(ev, build.InstanceStarting)):
            by_request[(host, rec.request_id)] = boot
        boot.records.append(rec)
        if isinstance(ev, lock.LockReleased) and owner_function(ev.owner) == BUILD_FUNCTION:
            boot.closed = True
            del open_boots[(host, boot.uuid)]
    result = replay_records(records)
    for boot in boots:
        inst = result.hosts[boot.host].instances.get(boot.uuid)
        if inst is not None:
            boot.phases = {p.name: p for p in inst.ordered_phases()}
            boot.outcome = inst.outcome.value
            boot.image = inst.image_id
            if inst.claim is not None:
                boot.sizes = (inst.claim.memory_mb, inst.claim.disk_gb, inst.claim.vcpus)
        _describe(boot)
    return boots, result


class UnreadableLog(ValueError):
    """A log that cannot be read (missing, a directory, not a nova-compute log): the parser's
    errors, one per file, as `file: what`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def read(path: str, year: int | None = None,
         on_diagnostic: Callable[[Diagnostic], None] | None = None
         ) -> tuple[list[BootTrace], ReplayResult, ParseRun]:
    """The boots of one log file, its replay, and the parse run (its errors and diagnostics;
    `on_diagnostic` sees each diagnostic as it comes)."""
    run = ParseRun([path], year=year, on_diagnostic=on_diagnostic)
    boots, replayed = collect(run)
    return boots, replayed, run


def load(path: str, year: int | None = None,
         on_diagnostic: Callable[[Diagnostic], None] | None = None) -> list[BootTrace]:
    """The boots of one log file; UnreadableLog when the file cannot be read."""
    boots, _, run = read(path, year, on_diagnostic)
    if run.errors:
        raise UnreadableLog(run.errors)
    return boots
