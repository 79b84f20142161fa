"""`nsim hw delete`: nova's terminate_instance for instances the hardware mode booted.

Under the instance lock (`do_terminate_instance`): "Terminating instance", the domain powered
off and undefined ("Instance destroyed successfully."), the instance directory renamed to
`<uuid>_del` and removed ("Deleting instance files" / "Deletion of ... complete"), the Took
lines, and the claim dropped under "compute_resources" (`update_usage`). The base file stays:
removing it is the image cache manager's job.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

from nsim.compute.manager import terminate_instance
from nsim.events import guest as ev_guest
from nsim.events import teardown as ev_teardown
from nsim.events.guest import TOOK_WHAT
from nsim.events.writer import RequestContext
from nsim.hw import network, recovery, safefs
from nsim.hw.errors import HwError, UsageError
from nsim.hw.libvirt_host import LibvirtHost
from nsim.hw.locks import holding, synchronized
from nsim.hw.state import InstanceRecord, InstanceStore
from nsim.hw.trace import RELEASE, Trace
from nsim.hw.workdir import Workdir, validate_uuid
from nsim.nova.names import COMPUTE_RESOURCES, PY3_OWNERS

OWNER_TERMINATE = PY3_OWNERS.terminate
OWNER_UPDATE_USAGE = PY3_OWNERS.update_usage


def user_context() -> RequestContext:
    """A request of the admin user (devstack's `admin admin`), with a fresh request id."""
    return RequestContext(request_id=f"req-{uuidlib.uuid4()}", user="admin", project="admin")


def delete_instance_files(workdir: Workdir, uuid: str, trace: Trace,
                          context: RequestContext | None) -> None:
    """nova's LibvirtDriver.delete_instance_files: rename to <uuid>_del, remove it; "Deleting
    instance files" only when there was something to delete, "Deletion of ... complete" always."""
    target = workdir.instance_dir(uuid)
    target_del = workdir.path("instances", f"{uuid}_del")
    name, name_del = target.name, target_del.name
    with workdir.dir_fd("instances") as dfd:
        for n, shown in ((name, target), (name_del, target_del)):
            st = safefs.lstat_at(dfd, n)
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise safefs.UnsafePathError(f"refusing {shown}: not a directory nsim made")
        if safefs.lstat_at(dfd, name) is not None:
            if safefs.lstat_at(dfd, name_del) is not None:  # left by an earlier, killed delete
                shutil.rmtree(name_del, dir_fd=dfd)
            os.rename(name, name_del, src_dir_fd=dfd, dst_dir_fd=dfd)
        if safefs.lstat_at(dfd, name_del) is not None:
            trace.emit(ev_teardown.DeletingFiles(path=str(target_del)), instance=uuid,
                       context=context)
            with suppress(OSError):
                shutil.rmtree(name_del, dir_fd=dfd)
        left = [p for n, p in ((name, target), (name_del, target_del))
                if safefs.lstat_at(dfd, n) is not None]
    if left:
        raise HwError(f"could not remove {left[0]}")
    trace.emit(ev_teardown.DeletionComplete(path=str(target_del)), instance=uuid, context=context)


@dataclass
class DeleteResult:
    uuid: str
    destroyed: bool
    seconds: float
    trace: Path


def delete(workdir: Workdir, uuids: list[str] | None, host: LibvirtHost | None = None,
           report: Callable[[str], None] | None = None) -> list[DeleteResult]:
    """`nsim hw delete`: terminate instances (all of this workdir's when uuids is None).

    Every record is validated first; a bad one, or one naming a domain that does not carry this
    work directory's owner mark, is reported through `report` (one line naming the file) and
    skipped, never fatal to the others. With --all, what killed boots left behind goes too
    (recovery.py)."""
    say = report or (lambda _msg: None)
    workdir.check_trusted()
    store = InstanceStore(workdir)
    if uuids is None:
        records, problems = store.scan()
        for line in problems:
            say(line)
    else:
        records = []
        for u in uuids:
            validate_uuid(u, "instance uuid")
            rec = store.load(u)
            if rec is None:
                raise UsageError(f"no valid instance record {u} in {workdir.root}")
            records.append(rec)
    if uuids is None and workdir.root.is_dir():
        recovery.recover(workdir, say)
    if not records and uuids is not None:
        return []
    own_host = host is None
    host = host or LibvirtHost().open()
    results = []
    try:
        for rec in records:
            refusal = _not_ours(workdir, host, rec)
            if refusal:
                say(f"{workdir.state_dir / (rec.uuid + '.json')}: skipped, {refusal}")
                continue
            try:
                results.append(_terminate(workdir, store, host, rec))
            except (HwError, OSError) as exc:
                say(f"{workdir.state_dir / (rec.uuid + '.json')}: not deleted, {exc}")
        if uuids is None and workdir.root.is_dir():
            recovery.orphans(workdir, host, {r.uuid for r in records}, say)
    finally:
        if own_host:
            host.close()
    if uuids is None:
        network.remove_bridge(network.BRIDGE)  # only when no port is left on it
    return results


def _not_ours(workdir: Workdir, host: LibvirtHost, rec: InstanceRecord) -> str | None:
    """Why the record's domain must not be touched (None: absent, or marked as ours)."""
    dom = host.lookup(rec.uuid)
    if dom is None:
        return None
    owner = host.owner(dom)
    if owner != str(workdir.root):
        return (f"it names libvirt domain {dom.name()} ({rec.uuid}), which nsim did not define "
                "in this work directory: left alone")
    if rec.domain is not None and dom.name() != rec.domain:
        return f"it names domain {rec.domain} but {rec.uuid} is {dom.name()}: left alone"
    return None


class HwTeardown:
    """`_shutdown_instance`'s steps done for real (a failed build's cleanup and a delete share
    them); the domain's destroy is each driver's own."""

    uuid: str
    req: RequestContext
    trace: Trace
    workdir: Workdir
    phases: dict[str, float]
    """Seconds of each timed step, by TOOK_WHAT's step name."""

    def now(self) -> float:
        return time.monotonic()

    def terminating(self) -> None:
        self.trace.emit(ev_teardown.Terminating(), instance=self.uuid, context=self.req)

    def delete_files(self) -> Iterator[None]:
        yield from ()
        delete_instance_files(self.workdir, self.uuid, self.trace, self.req)

    def destroyed(self, existed: bool) -> None:
        """nova's `_wait_for_destroy`: "Instance destroyed successfully." once the domain is
        gone, after "During wait destroy, instance disappeared." when it was gone already."""
        if not existed:
            self.trace.emit(ev_teardown.DestroyVanished(), instance=self.uuid, context=self.req)
        self.trace.emit(ev_teardown.Destroyed(), instance=self.uuid, context=self.req)

    def deallocate_network(self) -> Iterator[None]:
        """The port is a tap device libvirt made for the domain: it went with the destroy."""
        yield from ()

    def took(self, seconds: float, what: str) -> None:
        step = TOOK_WHAT[what]
        self.phases[step] = round(seconds, 3)
        self.trace.emit(ev_guest.TookSeconds(seconds=seconds, what=what, step=step),
                        instance=self.uuid, context=self.req)


class Termination(HwTeardown):
    """terminate_instance of one recorded instance, done for real."""

    def __init__(self, workdir: Workdir, store: InstanceStore, host: LibvirtHost,
                 rec: InstanceRecord, trace: Trace) -> None:
        self.workdir, self.store, self.host, self.trace = workdir, store, host, trace
        self.uuid = rec.uuid
        self.req = user_context()
        self.existed = False
        self.phases = {}

    def lock_instance(self) -> Iterator[None]:
        yield from ()
        return holding(synchronized(self.trace, self.uuid, OWNER_TERMINATE, self.req))

    def unlock_instance(self, held: ExitStack) -> None:
        held.close()

    def destroy(self) -> Iterator[None]:
        yield from ()
        self.existed = self.host.destroy(self.uuid)
        self.destroyed(self.existed)

    def update_usage(self) -> Iterator[None]:
        yield from ()
        with synchronized(self.trace, COMPUTE_RESOURCES, OWNER_UPDATE_USAGE, self.req,
                          workdir=self.workdir):
            self.store.remove(self.uuid)


def _terminate(workdir: Workdir, store: InstanceStore, host: LibvirtHost,
               rec: InstanceRecord) -> DeleteResult:
    trace_path = rec.trace_path(workdir)
    trace = Trace.in_workdir(workdir, trace_path, rec.fmt, RELEASE, host=rec.node)
    termination = Termination(workdir, store, host, rec, trace)
    try:
        for _ in terminate_instance(termination):
            pass
    finally:
        trace.close()
    return DeleteResult(rec.uuid, termination.existed, termination.phases["destroy"],
                        trace_path)
