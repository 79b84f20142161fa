"""One instance's build on this machine, in nova's order (see nsim.hw.boot for the steps)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid as uuidlib
from collections.abc import Generator, Iterator
from contextlib import ExitStack, suppress
from dataclasses import replace
from datetime import datetime
from typing import Any

from nsim.compute.manager import BuildFailed, Outcome, build_and_run_instance
from nsim.events import build as ev_build
from nsim.events import claim as ev_claim
from nsim.events import failure as ev_failure
from nsim.events import guest as ev_guest
from nsim.events import image as ev_image
from nsim.events.writer import RequestContext
from nsim.hw import guest_image, network, qemu_img, safefs
from nsim.hw.base_file import BaseFileSteps
from nsim.hw.context import (
    OWNER_ABORT_CLAIM,
    OWNER_BUILD,
    OWNER_CLAIM,
    OWNER_DISK_INFO,
    OWNER_EVENT_POP,
    OWNER_EVENT_PREPARE,
    VIF_PLUGGING_TIMEOUT,
    HostContext,
    InstanceResult,
    Timer,
    fresh_connection,
    phase,
    service_context,
)
from nsim.hw.errors import HwError
from nsim.hw.libvirt_host import DomainEvent, require_libvirt
from nsim.hw.locks import synchronized
from nsim.hw.novaexc import (
    HypervisorUnavailable,
    VirtualInterfaceCreateException,
    error_summary,
    traceback_lines,
)
from nsim.hw.state import record_trace
from nsim.hw.teardown import HwTeardown, user_context
from nsim.hw.trace import RELEASE, Trace
from nsim.hw.workdir import Workdir
from nsim.model.claims import Claim
from nsim.model.image_cache import cache_filename
from nsim.model.lifecycle import EVENT_POWER_STATE, PowerState
from nsim.nova.flavor import Flavor
from nsim.nova.guest_xml import Guest, GuestImage, KernelBoot, domain_xml, with_owner, xml_preamble
from nsim.nova.names import COMPUTE_RESOURCES
from nsim.nova.network_info import PortInfo, network_info_json, os_vif_repr


class InstanceBuild(BaseFileSteps, HwTeardown):
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
        self.vifs: list[PortInfo] = []
        self.task_state: str | None = None
        self.state_lock = threading.Lock()
        self.events_seen: list[str] = []
        self.events_cond = threading.Condition()
        self.defined = False
        self.paused_start = False
        self.record: dict[str, Any] | None = None
        self.ex = qemu_img.Executor(ctx.trace, self.req)
        self.build_timer = Timer()
        self._held = ExitStack()
        """The instance lock while the build holds it."""

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
                         f"dir), then `kill -CONT {os.getpid()}` (or `fg` in its shell) to go "
                         "on; if that shell exits first, the boot dies with it and `nsim hw "
                         "delete --all` cleans up")
            os.kill(os.getpid(), signal.SIGSTOP)

    # -- the build: nova's order is nsim.compute.manager's; these are this driver's steps --
    # (they never yield: each does its step for real before it returns)
    def run(self) -> InstanceResult:
        try:
            for _ in build_and_run_instance(self):
                pass
        except HwError as exc:  # refused (an unsafe path, a lock file planted as a link)
            self.result.outcome = "aborted"
            self.result.reason = str(exc)
            self._cleanup_everything()
        except Exception as exc:  # a bug of ours: leave nothing behind, say what happened
            self.result.outcome = "aborted"
            self.result.reason = f"internal error: {type(exc).__name__}: {exc}"
            self._cleanup_everything()
        self.result.phases.setdefault("build", round(self.build_timer.elapsed(), 3))
        return self.result

    def lock_instance(self) -> Generator[None, None, ExitStack]:
        yield from ()
        held = ExitStack()
        held.enter_context(self.lock(self.uuid, OWNER_BUILD))
        return held

    def unlock_instance(self, held: ExitStack) -> None:
        held.close()

    def starting(self) -> None:
        self.log(ev_build.InstanceStarting())
        self.build_timer = Timer()

    def claim(self) -> Generator[None, None, str | None]:
        """instance_claim: the record saved on success; the refusal's reasons otherwise."""
        yield from ()
        f = self.flavor
        claim = Claim.for_flavor(f.memory_mb, f.root_gb, f.ephemeral_gb, f.vcpus)
        with phase(self.result, "claim"), self.lock(COMPUTE_RESOURCES, OWNER_CLAIM, external=True):
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
        return "; ".join(reasons) or None

    def refused(self, reason: str) -> Iterator[None]:
        yield from ()
        text = f"Insufficient compute resources: {reason}."
        self.log(ev_claim.InsufficientResources(reason=reason))
        self.log(ev_failure.Rescheduled(instance_uuid=self.uuid, reason=text))
        self.result.outcome, self.result.reason = "refused", text

    def spawn(self) -> Iterator[None]:
        yield from ()
        self.log(ev_build.SpawnStart())
        self.task_state = "spawning"
        try:
            self._spawn()
        except Exception as exc:
            raise BuildFailed(exc) from exc

    def spawn_failed(self, failure: BuildFailed) -> Generator[None, None, bool]:
        """Logged with its traceback; hardware mode's ports go with the domain."""
        yield from ()
        exc: BaseException = failure.fault  # type: ignore[assignment]
        self.log(ev_failure.SpawnFailed(summary=error_summary(exc)),
                 traceback=traceback_lines(exc))
        return False

    def abort_claim(self) -> Iterator[None]:
        yield from ()
        with self.lock(COMPUTE_RESOURCES, OWNER_ABORT_CLAIM, external=True):
            self.ctx.store.remove(self.uuid)
            self.record = None

    def build_failed(self, failure: BuildFailed) -> Iterator[None]:
        """manager.py `_build_and_run_instance`'s handlers: aborted (no re-schedule) or
        re-scheduled."""
        yield from ()
        exc: BaseException = failure.fault  # type: ignore[assignment]
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

    def active(self) -> Iterator[None]:
        yield from ()
        self.result.outcome = "active"
        if self.record is not None:
            self.record["status"] = "active"
            self.ctx.store.save(self.record)

    def finished(self, outcome: Outcome) -> Iterator[None]:
        yield from ()

    # -- teardown (shutdown_instance's steps) -------------------------------------------
    @property
    def trace(self) -> Trace:
        return self.ctx.trace

    @property
    def workdir(self) -> Workdir:
        return self.ctx.workdir

    @property
    def phases(self) -> dict[str, float]:  # type: ignore[override]
        return self.result.phases

    def destroy(self) -> Iterator[None]:
        """Power off and undefine the domain this build defined (nothing else, ever)."""
        yield from ()
        self._destroy_domain()

    # -- networks and block devices -------------------------------------------------------
    def networks_and_bdm(self) -> Iterator[None]:
        yield from ()
        self.log(ev_build.NetworkAsyncStart())
        self.task_state = "networking"
        self.log(ev_build.NetworkAllocating())
        if self.ctx.use_bridge:
            self.vifs = [network.allocate_port(self.req.project or "admin")]
            v = self.vifs[0]
            self.result.vif = f"{v.devname} on bridge {v.bridge} ({v.mac}, {v.address})"
        else:
            self.result.vif = f"skipped: {self.ctx.bridge_note}"
        if self.record is not None:
            self.record["vifs"] = [network.vif_record(v) for v in self.vifs]
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
        nw_json = network_info_json(self.vifs)
        self.log(ev_build.NetworkCacheUpdate(raw=nw_json), context=self.req)
        self.log(ev_build.NetworkInfo(raw=f"|{nw_json}|"))
        xml = self._guest_xml()
        self._create_guest_with_network(xml)
        self.log(ev_guest.GuestCreated())
        self._wait_for_boot()

    def _write_disk_info(self) -> None:
        disk_info = self.inst_dir / "disk.info"
        with self.lock(str(disk_info), OWNER_DISK_INFO), \
                self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
            safefs.write_atomic(dfd, disk_info.name,
                                f'{{"{self.disk_path}": "qcow2"}}\n'.encode(), disk_info)

    def _guest_xml(self) -> str:
        m = self.meta
        spec = Guest(
            uuid=self.uuid, domain=self.result.name, display_name=f"nsim-hw-{self.index}",
            flavor=self.flavor, image=GuestImage.from_glance(m), release=RELEASE,
            disk=str(self.disk_path), console_log=str(self.console_path),
            ports=tuple(self.vifs),
            virt_type=self.ctx.virt_type,
            kernel_boot=KernelBoot(str(self.kernel_path), str(self.ramdisk_path),
                                   str(m.get("os_command_line") or guest_image.KERNEL_CMDLINE)),
            created=datetime.now())
        t = Timer()
        self.log(ev_guest.GuestXmlStart(details=xml_preamble(spec)))
        if self.ctx.direct_io is None:
            self.ctx.direct_io = qemu_img.supports_direct_io(self.ctx.trace, self.req,
                                                             self.ctx.workdir)
        xml = domain_xml(replace(spec, disk_cache="none" if self.ctx.direct_io else "writeback"))
        self.log(ev_guest.GuestXmlEnd(xml=xml))
        self.result.phases["xml"] = round(t.elapsed(), 3)
        return xml

    # -- the guest -------------------------------------------------------------------------
    def _create_guest_with_network(self, xml: str) -> None:
        host = self.ctx.host
        events = [v.event for v in self.vifs]
        self.paused_start = bool(events)
        for name in events:
            self.log(ev_guest.EventPrepare(event=name))
            with self.lock(f"{self.uuid}-events", OWNER_EVENT_PREPARE):
                pass
        try:
            for v in self.vifs:
                self.log(ev_guest.VifPlugging(vif=os_vif_repr(v)))
                network.ensure_bridge(v.bridge)
                self.log(ev_guest.VifPlugged(vif=os_vif_repr(v)))
            host.subscribe(self.uuid, self._on_lifecycle)
            if self.ctx.fault and self.ctx.fault.before_define:
                self.ctx.fault.before_define(host)
            t = Timer()
            try:
                dom = host.define(with_owner(xml, str(self.ctx.workdir.root)))
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
                t = Timer()
                dom.resume()
                self.result.phases["resume"] = round(t.elapsed(), 3)
            self.checkpoint("resume")
        except Exception as exc:
            # _create_guest_with_network -> _cleanup_failed_start: power off, delete the
            # instance files, undefine (no "destroyed" line on this path).
            self.log(ev_failure.GuestStartFailed(summary=error_summary(exc)))
            self._destroy_domain()
            self.delete_instance_files()
            raise

    def _wait_for_vif_events(self) -> None:
        neutron = RequestContext(request_id=f"req-{uuidlib.uuid4()}", user="neutron",
                                 project="service")
        for v in self.vifs:
            name = v.event
            if not network.wait_for_tap(v.devname, v.bridge, VIF_PLUGGING_TIMEOUT):
                self.log(ev_failure.VifTimeout(
                    details=f"[('network-vif-plugged', '{v.id}')] for instance with vm_state "
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
            ctx = service_context()
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
        t = Timer()
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

    def _destroy_domain(self) -> None:
        """Power off and undefine the domain this build defined (nothing else, ever)."""
        if not self.defined:
            return
        try:
            self.ctx.host.destroy(self.uuid)
        except Exception:
            # The connection is gone (libvirt-lost): use a fresh one to leave nothing behind.
            with suppress(Exception), fresh_connection(self.ctx.host.uri) as other:
                other.destroy(self.uuid)
        self.defined = False

    def _cleanup_everything(self) -> None:
        with suppress(Exception):
            self._destroy_domain()
        with suppress(Exception):
            shutil.rmtree(self.inst_dir, ignore_errors=True)
        with suppress(Exception):
            self.ctx.store.remove(self.uuid)
        self.ctx.host.unsubscribe(self.uuid)


