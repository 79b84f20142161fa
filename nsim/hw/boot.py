"""`nsim hw boot`: nova-compute's boot of an instance, performed for real, in nova's order.

For each instance (nova/compute/manager.py `_do_build_and_run_instance`, libvirt driver
`spawn`):

 1. the instance lock, "Starting instance...";
 2. the claim under "compute_resources" against nsim.model's ResourceTracker (totals of this
    machine or --host-config; live claims of earlier hw instances);
 3. networks (a port, network_info), block device mappings, "Start spawning";
 4. the instance directory, "Creating image(s)", disk.info under its lock;
 5. the image cache: unless `_base/sha1(image_id)` exists, under the external per-image lock
    `fetch_func_sync`: download to `.part` from the image service, deep inspection,
    `qemu-img info`, "was qcow2, converting to raw", the direct-I/O check, `qemu-img convert
    -t none|writeback` to `.converted`, `qemu-img info`, rename into place; any failure
    removes `.part`/`.converted` so nothing half-written looks like a cache entry;
 6. `qemu-img info` of the base (verify_base_size), then under `create_qcow2_image` the
    overlay `qemu-img create -f qcow2 -o backing_file=...,backing_fmt=raw disk SIZE`;
 7. the console log, network_info, the guest XML (Start/End _get_guest_xml);
 8. VIF events prepared, os-vif plug (a real bridge), defineXML, createWithFlags(PAUSED),
    neutron's network-vif-plugged when the tap is really on the bridge, resume;
 9. "Guest created on hypervisor", "Instance spawned successfully.", the Took lines.

Lifecycle events come from libvirt's event loop and are logged as nova logs them, with the
"pending task" skip when nova would log it. After the build, the guest's console is watched
for its READY marker (not part of nova's trace). Failures take nova's paths (novaexc) and
leave a clean state: no domain, no instance directory, no claim, no cache-looking file.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid as uuidlib
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

from nsim.hw import faults, guest_image, recovery, safefs
from nsim.hw.build import InstanceBuild
from nsim.hw.context import (
    BootOptions,
    BootResult,
    HostContext,
    fresh_connection,
)
from nsim.hw.errors import HwError, PrerequisiteError
from nsim.hw.image_service import ImageClient, ImageServer, ImageStore
from nsim.hw.libvirt_host import LibvirtHost, probe_virt_type
from nsim.hw.state import InstanceStore, host_config
from nsim.hw.trace import RELEASE, Trace, node_name
from nsim.hw.workdir import Workdir
from nsim.model.image_cache import cache_filename
from nsim.nova.flavor import FLAVORS
from nsim.nova.guest_xml import Guest, GuestImage, KernelBoot, domain_xml, with_owner

__all__ = ["BootOptions", "BootResult", "boot", "leftovers"]


def _virt_type(ctx_workdir: Workdir, host: LibvirtHost, wanted: str) -> str:
    if wanted != "auto":
        return wanted
    cache = ctx_workdir.path("run", "virt-type.json")
    try:
        with ctx_workdir.dir_fd("run") as dfd:
            kind = json.loads(safefs.read_bytes(dfd, cache.name, cache))["virt_type"]
        if kind in ("kvm", "qemu"):
            return str(kind)
    except (OSError, ValueError, KeyError, TypeError, HwError):
        pass
    guest = guest_image.load(ctx_workdir)
    console = ctx_workdir.path("run", "kvm-probe-console.log")
    probe_uuid = str(uuidlib.uuid4())

    def xml_for(kind: str) -> str:
        return with_owner(domain_xml(Guest(
            uuid=probe_uuid, domain=f"nsim-kvm-probe-{probe_uuid[:8]}", display_name="kvm-probe",
            flavor=FLAVORS["m1.nano"], image=GuestImage(id=guest.image_id), release=RELEASE,
            disk=None, console_log=str(console), virt_type=kind,
            kernel_boot=KernelBoot(str(guest.kernel), str(guest.initramfs),
                                   guest_image.KERNEL_CMDLINE),
            created=datetime.now())), str(ctx_workdir.root))

    result = probe_virt_type(host, xml_for, console, "NSIM-GUEST:")
    with ctx_workdir.dir_fd("run") as dfd:
        safefs.write_atomic(dfd, cache.name, json.dumps(result, indent=2).encode(), cache)
    return str(result["virt_type"])


def _bridge_choice(mode: str) -> tuple[bool, str]:
    from nsim.hw.doctor import CAP_NET_ADMIN, capability

    if mode == "none":
        return False, "--network none"
    able = capability(CAP_NET_ADMIN) and shutil.which("ip") is not None
    if mode == "bridge" and not able:
        raise PrerequisiteError("--network bridge needs CAP_NET_ADMIN and `ip`")
    return able, ("no CAP_NET_ADMIN: no port, network_info []" if not able else "")


def boot(workdir: Workdir, opts: BootOptions, on_progress: Callable[[str], None] | None = None,
         server: ImageServer | None = None, host: LibvirtHost | None = None) -> BootResult:
    """Boot `opts.count` instances for real; returns what happened to each."""
    opts.validate()
    workdir.ensure()
    say = on_progress or (lambda _msg: None)
    recovered: list[str] = []
    recovery.recover(workdir, recovered.append)
    for line in recovered:
        say(line)
    workdir.require_qemu_reach()  # before any claim: say which directory keeps qemu out
    store = ImageStore(workdir)
    own_server = server is None
    if server is None:
        server = ImageServer(store).start()
    own_host = host is None
    plan: faults.FaultPlan | None = None
    trace: Trace | None = None
    try:
        if host is None:
            host = LibvirtHost().open()
        client = ImageClient(server.url)
        meta = client.show(opts.image)  # what the API does before it accepts the request
        if opts.fault:
            plan = faults.plan(opts.fault, workdir, store, server, meta)
            meta = client.show(plan.image_id) if plan.image_id else meta
            if plan.after_show:
                plan.after_show()
        virt_type = _virt_type(workdir, host, opts.virt_type)
        if plan is None or plan.image_id is None:
            guest_image.load(workdir)  # fail early, before any claim, when not prepared
        use_bridge, bridge_note = _bridge_choice(opts.network)
        node = node_name()
        trace_path = opts.trace_path or workdir.default_trace(opts.fmt)
        trace = Trace.in_workdir(workdir, trace_path, opts.fmt, RELEASE, host=node)
        ctx = HostContext(workdir=workdir, trace=trace, host=host, images=client,
                          config=host_config(workdir, node, opts.host_config), node=node,
                          virt_type=virt_type, store=InstanceStore(workdir),
                          use_bridge=use_bridge, bridge_note=bridge_note, fault=plan,
                          stop_after=opts.stop_after, say=say)
        builds = []
        for i in range(opts.count):
            b = InstanceBuild(ctx, meta, FLAVORS[opts.flavor], i + 1)
            b.result.name = f"instance-{ctx.store.next_instance_id(host.name_in_use):08x}"
            builds.append(b)
        say(f"booting {opts.count} x {opts.flavor} from image {meta['id']} "
            f"(domain type {virt_type})")
        downloads_before = server.requests[f"/v2/images/{meta['id']}/file"]
        threads = [threading.Thread(target=b.run, name=f"build-{b.uuid[:8]}") for b in builds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for b in builds:
            if b.result.outcome == "active":
                b.wait_for_lifecycle()
        if opts.wait_for_guest:
            waits = [threading.Thread(target=b.wait_for_guest, args=(opts.marker_timeout,))
                     for b in builds if b.result.outcome == "active"]
            for t in waits:
                t.start()
            for t in waits:
                t.join()
        for b in builds:
            if b.result.outcome != "active":
                b.result.leftovers = leftovers(workdir, b.uuid, b.image_id, host)
        store_problems = InstanceStore(workdir).scan()[1]
        notes = recovered + store_problems + (list(plan.notes) if plan else [])
        return BootResult(image_id=meta["id"], flavor=opts.flavor, trace=trace_path,
                          fmt=opts.fmt, virt_type=virt_type, instances=[b.result for b in builds],
                          downloads=server.requests[f"/v2/images/{meta['id']}/file"]
                          - downloads_before, notes=notes)
    finally:
        if plan is not None:
            plan.cleanup()
        if trace is not None:
            trace.close()
        if own_server:
            server.stop()
        if own_host and host is not None:
            host.close()


def leftovers(workdir: Workdir, uuid: str, image_id: str, host: LibvirtHost | None) -> list[str]:
    """What a failed build left behind (should be nothing)."""
    out = []
    name = cache_filename(image_id)
    base_dir = workdir.base_dir
    for suffix in (".part", ".converted"):
        p = base_dir / f"{name}{suffix}"
        if p.is_file() and not p.is_symlink():  # a planted link is not something nsim left
            out.append(str(p))
    for d in (workdir.instance_dir(uuid), workdir.instances_path / f"{uuid}_del"):
        if d.exists():
            out.append(str(d))
    if InstanceStore(workdir).load(uuid) is not None:
        out.append(f"state record {uuid}")
    if host is not None:
        with suppress(Exception):
            if host.alive():
                found = host.lookup(uuid) is not None
            else:  # the fault dropped it: ask libvirtd on a new connection
                with fresh_connection(host.uri) as other:
                    found = other.lookup(uuid) is not None
            if found:
                out.append(f"libvirt domain {uuid}")
    return out
