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
import time
import uuid as uuidlib
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsim.events import guest as ev_guest
from nsim.events import teardown as ev_teardown
from nsim.events.writer import RequestContext
from nsim.hw import network
from nsim.hw.errors import HwError, UsageError
from nsim.hw.libvirt_host import LibvirtHost
from nsim.hw.locks import synchronized
from nsim.hw.state import InstanceStore
from nsim.hw.trace import RELEASE, Trace, node_name
from nsim.hw.workdir import Workdir, validate_uuid
from nsim.nova_names import COMPUTE_RESOURCES, PY3_OWNERS

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
    with suppress(OSError):
        os.rename(target, target_del)
    if not target.exists() and target_del.exists():
        trace.emit(ev_teardown.DeletingFiles(path=str(target_del)), instance=uuid, context=context)
        shutil.rmtree(target_del, ignore_errors=True)
    if target.exists() or target_del.exists():
        raise HwError(f"could not remove {target if target.exists() else target_del}")
    trace.emit(ev_teardown.DeletionComplete(path=str(target_del)), instance=uuid, context=context)


@dataclass
class DeleteResult:
    uuid: str
    destroyed: bool
    seconds: float
    trace: Path


def delete(workdir: Workdir, uuids: list[str] | None, host: LibvirtHost | None = None
           ) -> list[DeleteResult]:
    """`nsim hw delete`: terminate instances (all of this workdir's when uuids is None)."""
    store = InstanceStore(workdir)
    if uuids is None:
        records = store.all()
    else:
        records = []
        for u in uuids:
            validate_uuid(u, "instance uuid")
            rec = store.load(u)
            if rec is None:
                raise UsageError(f"no instance {u} in {workdir.root}")
            records.append(rec)
    if not records:
        if uuids is None:
            network.remove_bridge(network.BRIDGE)
        return []
    own_host = host is None
    host = host or LibvirtHost().open()
    results = []
    try:
        for rec in records:
            results.append(_terminate(workdir, store, host, rec))
    finally:
        if own_host:
            host.close()
    if uuids is None:
        network.remove_bridge(network.BRIDGE)  # only when no port is left on it
    return results


def _terminate(workdir: Workdir, store: InstanceStore, host: LibvirtHost,
               rec: dict[str, Any]) -> DeleteResult:
    uuid = validate_uuid(rec["uuid"], "instance uuid")
    fmt = rec.get("fmt", "journal")
    if fmt not in ("journal", "oslo"):
        raise UsageError(f"state record {uuid}: unknown trace format {fmt!r}")
    trace_path = workdir.default_trace(fmt)
    if rec.get("trace"):
        # The trace the boot wrote (possibly -o outside the work directory): absolute, plain.
        recorded = Path(str(rec["trace"]))
        if not recorded.is_absolute() or ".." in recorded.parts or "\x00" in str(recorded):
            raise UsageError(f"state record {uuid}: unusable trace path {recorded}")
        trace_path = recorded
    trace = Trace(trace_path, fmt, RELEASE, host=rec.get("node") or node_name())
    req = user_context()
    try:
        with synchronized(trace, uuid, OWNER_TERMINATE, req):
            trace.emit(ev_teardown.Terminating(), instance=uuid, context=req)
            start = time.monotonic()
            destroyed = host.destroy(uuid)
            if destroyed:
                trace.emit(ev_teardown.Destroyed(), instance=uuid, context=req)
            delete_instance_files(workdir, uuid, trace, req)
            seconds = time.monotonic() - start
            trace.emit(ev_guest.TookSeconds(seconds=seconds,
                                            what="destroy the instance on the hypervisor.",
                                            step="destroy"), instance=uuid, context=req)
            start = time.monotonic()
            trace.emit(ev_guest.TookSeconds(seconds=time.monotonic() - start,
                                            what="deallocate network for instance.",
                                            step="deallocate_network"), instance=uuid, context=req)
            with synchronized(trace, COMPUTE_RESOURCES, OWNER_UPDATE_USAGE, req,
                              lock_dir=workdir.locks_dir):
                store.remove(uuid)
    finally:
        trace.close()
    return DeleteResult(uuid, destroyed, seconds, trace_path)
