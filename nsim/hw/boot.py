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
import os
import shutil
import signal
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nsim.events import build as ev_build
from nsim.events import claim as ev_claim
from nsim.events import failure as ev_failure
from nsim.events import guest as ev_guest
from nsim.events import image as ev_image
from nsim.events import teardown as ev_teardown
from nsim.events.writer import RequestContext, TraceFormat
from nsim.hw import domain_xml, faults, guest_image, network, qemu_img, recovery, safefs
from nsim.hw.domain_xml import FLAVORS, DomainSpec, Flavor, VifSpec
from nsim.hw.errors import HwError, PrerequisiteError, UsageError
from nsim.hw.faults import STOP_STEPS
from nsim.hw.image_service import ImageClient, ImageServer, ImageStore
from nsim.hw.libvirt_host import DomainEvent, LibvirtHost, probe_virt_type, require_libvirt
from nsim.hw.locks import synchronized
from nsim.hw.novaexc import (
    FlavorDiskSmallerThanImage,
    HypervisorUnavailable,
    ImageUnacceptable,
    VirtualInterfaceCreateException,
    error_summary,
    traceback_lines,
)
from nsim.hw.state import (
    InstanceStore,
    base_is_ours,
    host_config,
    record_trace,
    remember_base,
    sha256_fd,
)
from nsim.hw.teardown import delete_instance_files, user_context
from nsim.hw.trace import RELEASE, Trace, node_name
from nsim.hw.workdir import Workdir, validate_image_ref, validate_name
from nsim.model.claims import Claim
from nsim.model.config import HostConfig
from nsim.model.image_cache import cache_filename
from nsim.model.lifecycle import EVENT_POWER_STATE, PowerState
from nsim.nova_names import COMPUTE_RESOURCES, PY3_OWNERS

# Callables' qualified names as oslo.concurrency logs them (py3 __qualname__): nsim.nova_names.
OWNER_BUILD = PY3_OWNERS.build
OWNER_CLAIM = PY3_OWNERS.claim
OWNER_ABORT_CLAIM = PY3_OWNERS.abort_claim
OWNER_DISK_INFO = PY3_OWNERS.disk_info
OWNER_FETCH = PY3_OWNERS.fetch
OWNER_OVERLAY = PY3_OWNERS.create_image
OWNER_EVENT_PREPARE = PY3_OWNERS.event_prepare
OWNER_EVENT_POP = PY3_OWNERS.event_pop
VIF_PLUGGING_TIMEOUT = 60.0
MARKER_TIMEOUT = 180.0


@dataclass
class BootOptions:
    image: str
    flavor: str
    count: int = 1
    fmt: TraceFormat = "journal"
    trace_path: Path | None = None
    fault: str | None = None
    network: str = "auto"  # auto | bridge | none
    virt_type: str = "auto"  # auto | kvm | qemu
    host_config: HostConfig | None = None
    wait_for_guest: bool = True
    marker_timeout: float = MARKER_TIMEOUT
    stop_after: str | None = None

    def validate(self) -> None:
        validate_image_ref(self.image)
        validate_name(self.flavor, "flavor name")
        if self.flavor not in FLAVORS:
            raise UsageError(f"unknown flavor {self.flavor!r}; known: {', '.join(FLAVORS)}")
        if not 1 <= self.count <= 8:
            raise UsageError("--count must be between 1 and 8")
        if self.network not in ("auto", "bridge", "none"):
            raise UsageError(f"--network must be auto, bridge or none, not {self.network!r}")
        if self.virt_type not in ("auto", "kvm", "qemu"):
            raise UsageError(f"--virt-type must be auto, kvm or qemu, not {self.virt_type!r}")
        faults.validate_fault(self.fault)
        if self.stop_after is not None and self.stop_after not in STOP_STEPS:
            raise UsageError(f"--stop-after must be one of {', '.join(STOP_STEPS)}")


@dataclass
class InstanceResult:
    uuid: str
    name: str = ""
    outcome: str = "building"  # active | rescheduled | aborted | refused
    reason: str | None = None
    cache: str | None = None  # hit | miss
    phases: dict[str, float] = field(default_factory=dict)
    vif: str = ""
    console: list[str] = field(default_factory=list)
    guest_ready: bool = False
    guest_checked: bool = False
    """Whether the console was watched for the guest's marker (not with --no-wait)."""
    lifecycle: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class BootResult:
    image_id: str
    flavor: str
    trace: Path
    fmt: str
    virt_type: str
    instances: list[InstanceResult]
    downloads: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.outcome == "active" and (i.guest_ready or not i.guest_checked)
                   for i in self.instances)


class BuildFailure(Exception):
    """Raised out of spawn: carries the original exception for nova's failure lines."""


class _Aborted(Exception):
    """The claim was refused: nothing to clean but the record."""


@dataclass
class HostContext:
    """What one `nsim hw` command shares between its instance builds."""

    workdir: Workdir
    trace: Trace
    host: LibvirtHost
    images: ImageClient
    server: ImageServer | None
    config: HostConfig
    node: str
    virt_type: str
    store: InstanceStore
    use_bridge: bool
    bridge_note: str
    fault: faults.FaultPlan | None = None
    direct_io: bool | None = None
    stop_after: str | None = None
    say: Callable[[str], None] = lambda _msg: None
    _guest: guest_image.GuestArtifacts | None = None

    def guest(self) -> guest_image.GuestArtifacts:
        if self._guest is None:
            self._guest = guest_image.load(self.workdir)
        return self._guest


def _service_context() -> RequestContext:
    return RequestContext(request_id=f"req-{uuidlib.uuid4()}")


class _Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start


@contextmanager
def _phase(result: InstanceResult, name: str) -> Iterator[None]:
    t = _Timer()
    try:
        yield
    finally:
        result.phases[name] = round(t.elapsed(), 3)


class InstanceBuild:
    """One instance's build, in nova's order; `run()` never raises for nova-handled failures."""

    def __init__(self, ctx: HostContext, image_meta: dict[str, Any], flavor: Flavor,
                 index: int) -> None:
        self.ctx = ctx
        self.meta = image_meta
        self.image_id: str = image_meta["id"]
        self.flavor = flavor
        self.uuid = str(uuidlib.uuid4())
        self.req = user_context()
        self.result = InstanceResult(self.uuid)
        self.index = index
        self.inst_dir = ctx.workdir.instance_dir(self.uuid)
        self.kernel_path = self.inst_dir / "kernel"
        self.ramdisk_path = self.inst_dir / "ramdisk"
        self.disk_path = self.inst_dir / "disk"
        self.console_path = self.inst_dir / "console.log"
        self.base = ctx.workdir.base_dir / cache_filename(self.image_id)
        self.vifs: list[VifSpec] = []
        self.task_state: str | None = None
        self.state_lock = threading.Lock()
        self.events_seen: list[str] = []
        self.events_cond = threading.Condition()
        self.defined = False
        self.paused_start = False
        self.record: dict[str, Any] | None = None
        self.ex = qemu_img.Executor(ctx.trace, self.req)

    # -- logging -------------------------------------------------------------------------
    def log(self, event: Any, *, instance: bool = True, context: RequestContext | str | None = "req",
            traceback: list[str] | None = None) -> datetime:
        ctx = self.req if context == "req" else context
        return self.ctx.trace.emit(event, instance=self.uuid if instance else None,
                                   context=ctx, traceback=traceback)  # type: ignore[arg-type]

    def lock(self, name: str, owner: str, external: bool = False,
             context: RequestContext | None = None) -> Any:
        return synchronized(self.ctx.trace, name, owner, context or self.req,
                            workdir=self.ctx.workdir if external else None)

    def checkpoint(self, step: str) -> None:
        """With `--stop-after step`: freeze the whole process here (SIGSTOP) until SIGCONT."""
        if self.ctx.stop_after == step:
            self.ctx.say(f"stopped after {step} of {self.uuid}: look around (virsh, the work "
                         f"dir), then `kill -CONT {os.getpid()}` to go on")
            os.kill(os.getpid(), signal.SIGSTOP)

    # -- the build ---------------------------------------------------------------------
    def run(self) -> InstanceResult:
        build_timer = _Timer()
        try:
            with self.lock(self.uuid, OWNER_BUILD):
                self.log(ev_build.InstanceStarting())
                build_timer = _Timer()
                self._build(build_timer)
        except _Aborted:
            pass
        except HwError as exc:  # refused (an unsafe path, a lock file planted as a link)
            self.result.outcome = "aborted"
            self.result.reason = str(exc)
            self._cleanup_everything()
        except Exception as exc:  # a bug of ours: leave nothing behind, say what happened
            self.result.outcome = "aborted"
            self.result.reason = f"internal error: {type(exc).__name__}: {exc}"
            self._cleanup_everything()
        self.result.phases["build"] = round(build_timer.elapsed(), 3)
        return self.result

    def _build(self, build_timer: _Timer) -> None:
        self._claim()
        try:
            with self._claim_guard():
                self._network_and_bdm()
                spawn_timer = _Timer()
                try:
                    self.log(ev_build.SpawnStart())
                    self.task_state = "spawning"
                    spawn_timer = _Timer()
                    self._spawn()
                except Exception as exc:
                    self._spawn_failed(exc)
                    raise BuildFailure() from exc
                self.result.phases["spawn"] = round(spawn_timer.elapsed(), 3)
                self.log(ev_guest.TookSeconds(seconds=spawn_timer.elapsed(),
                                              what="spawn the instance on the hypervisor.",
                                              step="spawn"))
        except BuildFailure as failure:
            self._build_failed(failure.__cause__ or failure)
            return
        self.result.outcome = "active"
        if self.record is not None:
            self.record["status"] = "active"
            self.ctx.store.save(self.record)
        self.log(ev_guest.TookSeconds(seconds=build_timer.elapsed(), what="build instance.",
                                      step="build"))

    # -- claim -------------------------------------------------------------------------
    def _claim(self) -> None:
        f = self.flavor
        claim = Claim.for_flavor(f.memory_mb, f.root_gb, f.ephemeral_gb, f.vcpus)
        with _phase(self.result, "claim"), self.lock(COMPUTE_RESOURCES, OWNER_CLAIM, external=True):
            tracker = self.ctx.store.tracker(self.ctx.config)
            limits = {r: tracker.limit(r) for r in ("memory", "disk", "vcpu")}
            reasons = tracker.test(claim, limits)
            if not reasons:
                self.log(ev_claim.ClaimSuccessful(node=self.ctx.node))
                self.record = {
                    "uuid": self.uuid, "status": "building", "image_id": self.image_id,
                    "flavor": {"name": f.name, "memory_mb": f.memory_mb, "root_gb": f.root_gb,
                               "ephemeral_gb": f.ephemeral_gb, "vcpus": f.vcpus},
                    "created": datetime.now().isoformat(),
                    "trace": record_trace(self.ctx.workdir, self.ctx.trace.path),
                    "fmt": self.ctx.trace.fmt, "node": self.ctx.node,
                    "domain": self.result.name or None,
                }
                self.ctx.store.save(self.record)
            else:
                self.log(ev_claim.ClaimFailed(reason="; ".join(reasons)))
        if reasons:
            reason = f"Insufficient compute resources: {'; '.join(reasons)}."
            self.log(ev_claim.InsufficientResources(reason="; ".join(reasons)))
            self.log(ev_failure.Rescheduled(instance_uuid=self.uuid, reason=reason))
            self.result.outcome, self.result.reason = "refused", reason
            raise _Aborted()

    @contextmanager
    def _claim_guard(self) -> Iterator[None]:
        """`with rt.instance_claim(...)`: an exception aborts the claim under the lock."""
        try:
            yield
        except BaseException:
            with self.lock(COMPUTE_RESOURCES, OWNER_ABORT_CLAIM, external=True):
                self.ctx.store.remove(self.uuid)
                self.record = None
            raise

    # -- networks and block devices -------------------------------------------------------
    def _network_and_bdm(self) -> None:
        self.log(ev_build.NetworkAsyncStart())
        self.task_state = "networking"
        self.log(ev_build.NetworkAllocating())
        if self.ctx.use_bridge:
            self.vifs = [network.allocate_port(self.uuid)]
            v = self.vifs[0]
            self.result.vif = f"{v.devname} on bridge {v.bridge} ({v.mac}, {v.address})"
        else:
            self.result.vif = f"skipped: {self.ctx.bridge_note}"
        if self.record is not None:
            self.record["vifs"] = [v.__dict__ for v in self.vifs]
            self.ctx.store.save(self.record)
        self.task_state = "block_device_mapping"
        self.log(ev_build.BdmStart())

    # -- spawn (nova/virt/libvirt/driver.py) -------------------------------------------
    def _spawn(self) -> None:
        self.log(ev_image.InstanceDirCreating())
        with self.ctx.workdir.dir_fd("instances") as dfd:
            os.mkdir(self.uuid, 0o755, dir_fd=dfd)
            # whatever the umask: qemu (libvirt-qemu) must traverse it
            fd = os.open(self.uuid, safefs.DIR_FLAGS, dir_fd=dfd)
            os.fchmod(fd, 0o755)
            os.close(fd)
        self.log(ev_image.CreatingImage())
        self._write_disk_info()
        self._create_root_disk()
        self.log(ev_image.ConsoleLog(path=str(self.console_path)))
        with self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
            os.close(safefs.create_exclusive(dfd, self.console_path.name, self.console_path))
            # The hardware mode's direct kernel boot: the guest's kernel and initramfs go into
            # the instance directory, where nova puts kernel_id/ramdisk_id images; read from
            # guest/ without following a symlink, written as new files.
            guest = self.ctx.guest()
            for src, dst in ((guest.kernel, self.kernel_path), (guest.initramfs,
                                                                 self.ramdisk_path)):
                data = guest_image.read_artifact(self.ctx.workdir, src.name)
                safefs.write_file(safefs.create_exclusive(dfd, dst.name, dst), data)
        nw_json = network.network_info_json(self.vifs, self.req.project or "admin")
        self.log(ev_build.NetworkCacheUpdate(raw=nw_json), context=self.req)
        self.log(ev_build.NetworkInfo(raw=f"|{nw_json}|"))
        xml = self._guest_xml(nw_json)
        self._create_guest_with_network(xml)
        self.log(ev_guest.GuestCreated())
        self._wait_for_boot()

    def _write_disk_info(self) -> None:
        disk_info = self.inst_dir / "disk.info"
        with self.lock(str(disk_info), OWNER_DISK_INFO), \
                self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
            safefs.write_atomic(dfd, disk_info.name,
                                f'{{"{self.disk_path}": "qcow2"}}\n'.encode(), disk_info)

    def _create_root_disk(self) -> None:
        name = self.base.name
        if not self._base_verified():
            with self.lock(name, OWNER_FETCH, external=True):
                if not self._base_verified():
                    self.result.cache = "miss"
                    self._fetch_to_raw()
        if self.result.cache is None:
            self.result.cache = "hit"
        with _phase(self.result, "overlay"):
            with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
                os.utime(name, dir_fd=dfd, follow_symlinks=False)
            safefs.check_no_symlinks(self.ctx.workdir.root, self.base)
            size = self.flavor.root_gb * 1024 ** 3
            base_size = qemu_img.qemu_img_info(self.ex, self.base)["virtual-size"]
            if size < base_size:
                raise FlavorDiskSmallerThanImage(size, base_size)
            with self.lock(name, OWNER_OVERLAY, external=True), \
                    self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
                os.close(safefs.create_exclusive(dfd, self.disk_path.name, self.disk_path))
                try:
                    qemu_img.create_cow_image(self.ex, self.base, self.disk_path, size)
                except BaseException:
                    os.unlink(self.disk_path.name, dir_fd=dfd)
                    raise
        self.checkpoint("overlay")

    def _base_verified(self) -> bool:
        """Whether _base/<sha1> is the file nsim made for this image (its recorded sha256).

        Missing: False. A symlink or other non-file: refused. A regular file nsim has no
        matching record of (planted, or changed since): removed, so it is fetched again."""
        wd, name = self.ctx.workdir, self.base.name
        with wd.dir_fd("instances", "_base") as dfd:
            st = safefs.lstat_at(dfd, name)
            if st is None:
                return False
            fd = safefs.open_regular(dfd, name, self.base)
            try:
                ours = base_is_ours(wd, name, self.image_id, fd)
            finally:
                os.close(fd)
            if not ours:
                os.unlink(name, dir_fd=dfd)
                self.result.notes.append(f"{self.base} did not match nsim's record of it: "
                                         "removed and fetched again")
            return ours

    def _fetch_to_raw(self) -> None:
        """nova.virt.images.fetch_to_raw with its .part / .converted discipline; every file
        created exclusively in _base (a planted link there is refused, never written through)."""
        part = self.base.with_name(self.base.name + ".part")
        converted = self.base.with_name(self.base.name + ".converted")
        created: list[str] = []
        wd = self.ctx.workdir
        stack = ExitStack()
        dfd = stack.enter_context(wd.dir_fd("instances", "_base"))
        try:
            for p in (part, converted):  # left by a killed fetch (we hold its lock)
                safefs.clear_stale(dfd, p.name, p)
            fd = safefs.create_exclusive(dfd, part.name, part)
            created.append(part.name)
            with _phase(self.result, "image_fetch"):
                self.ctx.images.download(self.image_id, fd, self.meta)
            self.checkpoint("fetch")
            fmt = qemu_img.deep_inspect(self.image_id, part, self.meta["disk_format"])
            data = qemu_img.qemu_img_info(self.ex, part)
            fmt = data["format"]
            if data.get("backing-filename"):
                raise ImageUnacceptable(self.image_id,
                                        f"fmt={fmt} backed by: {data['backing-filename']}")
            if fmt != "raw":
                self.log(ev_image.ImageConverting(image_id=self.image_id, disk_format=fmt),
                         instance=False)
                direct = qemu_img.supports_direct_io(self.ctx.trace, self.req,
                                                     self.ctx.workdir)
                self.ctx.direct_io = direct
                cache_mode = "none" if direct else "writeback"
                os.close(safefs.create_exclusive(dfd, converted.name, converted))
                created.append(converted.name)
                t = _Timer()
                preexec = self.ctx.fault.convert_preexec if self.ctx.fault else None
                try:
                    qemu_img.convert_image(self.ex, part, converted, fmt, "raw", cache_mode,
                                           preexec_fn=preexec)
                except ImageUnacceptable as exp:
                    raise ImageUnacceptable(self.image_id,
                                            f"Unable to convert image to raw: {exp}") from exp
                finally:
                    self.result.phases["convert"] = round(t.elapsed(), 3)
                self.checkpoint("convert")
                os.unlink(part.name, dir_fd=dfd)
                data = qemu_img.qemu_img_info(self.ex, converted)
                if data["format"] != "raw":
                    raise ImageUnacceptable(self.image_id, "Converted to raw, but format is now "
                                            f"{data['format']}")
                self._into_cache(dfd, converted.name)
            else:
                self._into_cache(dfd, part.name)
        except BaseException:
            # fileutils.remove_path_on_error: never leave a file that looks like a cache entry
            # (and only ever remove what this fetch created).
            for n in created:
                with suppress(OSError):
                    os.unlink(n, dir_fd=dfd)
            raise
        finally:
            stack.close()

    def _into_cache(self, dfd: int, name: str) -> None:
        """Record the file's sha256, then rename it into place as the base file."""
        fd = safefs.open_regular(dfd, name, self.base.with_name(name))
        try:
            digest, size = sha256_fd(fd), os.fstat(fd).st_size
        finally:
            os.close(fd)
        remember_base(self.ctx.workdir, self.base.name, self.image_id, digest, size)
        os.rename(name, self.base.name, src_dir_fd=dfd, dst_dir_fd=dfd)

    def _guest_xml(self, nw_json: str) -> str:
        disk_info = {"disk_bus": "virtio", "cdrom_bus": "ide", "mapping": {
            "root": {"bus": "virtio", "dev": "vda", "type": "disk", "boot_index": "1"},
            "disk": {"bus": "virtio", "dev": "vda", "type": "disk", "boot_index": "1"}}}
        m = self.meta
        image_meta = (f"ImageMeta(checksum='{m.get('checksum')}',container_format="
                      f"'{m.get('container_format')}',created_at={m.get('created_at')},"
                      f"direct_url=<?>,disk_format='{m.get('disk_format')}',id={m['id']},"
                      f"min_disk={m.get('min_disk', 0)},min_ram={m.get('min_ram', 0)},"
                      f"name='{m.get('name')}',owner=<?>,properties=ImageMetaProps,protected=<?>,"
                      f"size={m.get('size')},status='{m.get('status')}',tags=<?>,updated_at="
                      f"{m.get('updated_at')},virtual_size={m.get('virtual_size')},"
                      f"visibility=<?>)")
        bdi = {"root_device_name": "/dev/vda", "image": [], "ephemerals": [],
               "block_device_mapping": [], "swap": None}
        t = _Timer()
        self.log(ev_guest.GuestXmlStart(
            details=f"network_info={nw_json} disk_info={disk_info} image_meta={image_meta} "
                    f"rescue=None block_device_info={bdi}share_info=None"))
        if self.ctx.direct_io is None:
            self.ctx.direct_io = qemu_img.supports_direct_io(self.ctx.trace, self.req,
                                                             self.ctx.workdir)
        spec = DomainSpec(
            uuid=self.uuid, name=self.result.name, display_name=f"nsim-hw-{self.index}",
            flavor=self.flavor, image_id=self.image_id, virt_type=self.ctx.virt_type,
            kernel=self.kernel_path, initrd=self.ramdisk_path,
            cmdline=str(m.get("os_command_line") or guest_image.KERNEL_CMDLINE),
            disk=self.disk_path, disk_cache="none" if self.ctx.direct_io else "writeback",
            console_log=self.console_path, created=datetime.now(), release=RELEASE,
            vifs=self.vifs)
        xml = domain_xml.build(spec)
        self.log(ev_guest.GuestXmlEnd(xml=xml))
        self.result.phases["xml"] = round(t.elapsed(), 3)
        return xml

    # -- the guest -------------------------------------------------------------------------
    def _create_guest_with_network(self, xml: str) -> None:
        host = self.ctx.host
        events = [f"network-vif-plugged-{v.port_id}" for v in self.vifs]
        self.paused_start = bool(events)
        for name in events:
            self.log(ev_guest.EventPrepare(event=name))
            with self.lock(f"{self.uuid}-events", OWNER_EVENT_PREPARE):
                pass
        try:
            for v in self.vifs:
                self.log(ev_guest.VifPlugging(vif=network.os_vif_repr(v)))
                network.ensure_bridge(v.bridge)
                self.log(ev_guest.VifPlugged(vif=network.os_vif_repr(v)))
            host.subscribe(self.uuid, self._on_lifecycle)
            if self.ctx.fault and self.ctx.fault.before_define:
                self.ctx.fault.before_define(host)
            t = _Timer()
            try:
                dom = host.define(domain_xml.with_owner(xml, self.ctx.workdir.root))
            except require_libvirt().libvirtError as exc:
                if not host.alive():
                    raise HypervisorUnavailable(self.ctx.node) from exc
                raise
            self.defined = True
            self.checkpoint("define")
            if self.ctx.fault and self.ctx.fault.after_define:
                self.ctx.fault.after_define(self)
            host.launch(dom, pause=self.paused_start)
            self.result.phases["domain_start"] = round(t.elapsed(), 3)
            self.checkpoint("start")
            if self.paused_start:
                self._wait_for_vif_events()
                t = _Timer()
                dom.resume()
                self.result.phases["resume"] = round(t.elapsed(), 3)
            self.checkpoint("resume")
        except Exception as exc:
            # _create_guest_with_network -> _cleanup_failed_start: power off, delete the
            # instance files, undefine (no "destroyed" line on this path).
            self.log(ev_failure.GuestStartFailed(summary=error_summary(exc)))
            self._destroy_domain()
            self._delete_instance_files()
            raise

    def _wait_for_vif_events(self) -> None:
        neutron = RequestContext(request_id=f"req-{uuidlib.uuid4()}", user="neutron",
                                 project="service")
        for v in self.vifs:
            name = f"network-vif-plugged-{v.port_id}"
            if not network.wait_for_tap(v.devname, v.bridge, VIF_PLUGGING_TIMEOUT):
                self.log(ev_failure.VifTimeout(
                    details=f"[('network-vif-plugged', '{v.port_id}')] for instance with vm_state "
                            f"building and task_state spawning. Event states are: {name}: timed "
                            f"out after {VIF_PLUGGING_TIMEOUT:.2f} seconds"))
                raise VirtualInterfaceCreateException()
            self.log(ev_guest.ExternalEvent(verb="Received", event=name), context=neutron)
            with self.lock(f"{self.uuid}-events", OWNER_EVENT_POP, context=neutron):
                pass
            self.log(ev_guest.ExternalEvent(verb="Processing", event=name), context=neutron)

    def _on_lifecycle(self, ev: DomainEvent) -> None:
        """nova's handle_lifecycle_event (+ _sync_instance_power_state's skip)."""
        if ev.transition is None:
            return
        with self.state_lock:
            ctx = _service_context()
            self.log(ev_guest.LifecycleEvent(transition=ev.transition), context=ctx)
            try:
                current = self.ctx.host.state(self.uuid)
            except Exception:
                current = PowerState.NOSTATE
            if current == EVENT_POWER_STATE[ev.transition] and self.task_state is not None:
                self.log(ev_guest.SyncPowerStateSkip(task_state=self.task_state), context=ctx)
        with self.events_cond:
            self.events_seen.append(ev.transition)
            self.result.lifecycle.append(ev.transition)
            self.events_cond.notify_all()

    def _wait_for_boot(self) -> None:
        deadline = time.monotonic() + 60
        while self.ctx.host.state(self.uuid) != PowerState.RUNNING:
            if time.monotonic() > deadline:
                raise HwError("the domain did not reach running within 60s")
            time.sleep(0.5)
        with self.state_lock:
            self.log(ev_guest.Spawned(), context=None)
            self.task_state = None

    def wait_for_lifecycle(self, timeout: float = 15) -> None:
        """Let the expected lifecycle events land in the trace before the command ends."""
        want = ["Started", "Paused", "Resumed"] if self.paused_start else ["Started"]
        deadline = time.monotonic() + timeout
        with self.events_cond:
            while not all(w in self.events_seen for w in want):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.events_cond.wait(left)

    def wait_for_guest(self, timeout: float) -> None:
        """Watch the console for the guest's READY marker (proof the guest really booted)."""
        t = _Timer()
        self.result.guest_checked = True
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            with suppress(OSError):
                text = self.console_path.read_text(errors="replace")
            if guest_image.READY_MARKER in text:
                self.result.guest_ready = True
                break
            time.sleep(0.25)
        self.result.phases["guest_ready"] = round(t.elapsed(), 3)
        self.result.console = [ln.strip() for ln in text.splitlines() if ln.startswith("NSIM-")]

    # -- failure (manager.py _build_resources / _build_and_run_instance) ------------------
    def _spawn_failed(self, exc: BaseException) -> None:
        self.log(ev_failure.SpawnFailed(summary=error_summary(exc)),
                 traceback=traceback_lines(exc))
        # _shutdown_instance
        self.log(ev_teardown.Terminating())
        t = _Timer()
        self._destroy_domain()
        self._delete_instance_files()
        self.log(ev_guest.TookSeconds(seconds=t.elapsed(),
                                      what="destroy the instance on the hypervisor.",
                                      step="destroy"))

    def _build_failed(self, exc: BaseException) -> None:
        if isinstance(exc, VirtualInterfaceCreateException):
            self.log(ev_failure.NetworkAllocFailed(summary=error_summary(exc)),
                     traceback=traceback_lines(exc))
            reason = "Failed to allocate the network(s), not rescheduling."
            self.log(ev_failure.Aborted(instance_uuid=self.uuid, reason=reason))
            self.result.outcome = "aborted"
        elif getattr(exc, "abort", False):
            reason = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            self.log(ev_failure.Aborted(instance_uuid=self.uuid, reason=reason))
            self.result.outcome = "aborted"
        else:
            self.log(ev_failure.BuildFailed(summary=error_summary(exc)),
                     traceback=traceback_lines(exc))
            reason = str(exc)
            self.log(ev_failure.Rescheduled(instance_uuid=self.uuid, reason=reason))
            self.result.outcome = "rescheduled"
        self.result.reason = reason
        self.ctx.host.unsubscribe(self.uuid)

    def _destroy_domain(self) -> None:
        """Power off and undefine the domain this build defined (nothing else, ever)."""
        if not self.defined:
            return
        try:
            self.ctx.host.destroy(self.uuid)
        except Exception:
            # The connection is gone (libvirt-lost): use a fresh one to leave nothing behind.
            with suppress(Exception), _fresh_connection(self.ctx.host.uri) as other:
                other.destroy(self.uuid)
        self.defined = False

    def _delete_instance_files(self) -> None:
        delete_instance_files(self.ctx.workdir, self.uuid, self.ctx.trace, self.req)

    def _cleanup_everything(self) -> None:
        with suppress(Exception):
            self._destroy_domain()
        with suppress(Exception):
            shutil.rmtree(self.inst_dir, ignore_errors=True)
        with suppress(Exception):
            self.ctx.store.remove(self.uuid)
        self.ctx.host.unsubscribe(self.uuid)


@contextmanager
def _fresh_connection(uri: str) -> Iterator[LibvirtHost]:
    other = LibvirtHost(uri).open()
    try:
        yield other
    finally:
        other.close()


# -- the command ---------------------------------------------------------------------------
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
        return domain_xml.with_owner(domain_xml.build(DomainSpec(
            uuid=probe_uuid, name=f"nsim-kvm-probe-{probe_uuid[:8]}", display_name="kvm-probe",
            flavor=FLAVORS["m1.nano"], image_id=guest.image_id, virt_type=kind,
            kernel=guest.kernel, initrd=guest.initramfs, cmdline=guest_image.KERNEL_CMDLINE,
            disk=None, disk_cache="none", console_log=console, created=datetime.now(),
            release=RELEASE)), ctx_workdir.root)

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
        ctx = HostContext(workdir=workdir, trace=trace, host=host, images=client, server=server,
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
                with _fresh_connection(host.uri) as other:
                    found = other.lookup(uuid) is not None
            if found:
                out.append(f"libvirt domain {uuid}")
    return out
