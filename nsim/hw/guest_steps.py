"""The guest steps of a hardware build (nova/virt/libvirt/driver.py: the console log, the
guest XML, `_create_guest_with_network`, `_wait_for_boot`), done for real with libvirt; the
order is nsim.compute.spawn's. A part of nsim.hw.build.InstanceBuild."""

from __future__ import annotations

import os
import time
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import datetime

from nsim.compute.steps import BuildFailed
from nsim.events import build as ev_build
from nsim.events import failure as ev_failure
from nsim.events import guest as ev_guest
from nsim.events import image as ev_image
from nsim.events.writer import RequestContext
from nsim.hw import guest_image, network, qemu_img, safefs
from nsim.hw.context import (
    OWNER_EVENT_POP,
    OWNER_EVENT_PREPARE,
    VIF_PLUGGING_TIMEOUT,
    Timer,
    service_context,
)
from nsim.hw.errors import HwError
from nsim.hw.libvirt_host import DomainEvent, require_libvirt
from nsim.hw.novaexc import HypervisorUnavailable, VirtualInterfaceCreateException, error_summary
from nsim.hw.trace import RELEASE
from nsim.model.lifecycle import EVENT_POWER_STATE, PowerState
from nsim.nova.guest_xml import Guest, GuestImage, KernelBoot, domain_xml, with_owner, xml_preamble
from nsim.nova.network_info import network_info_json, os_vif_repr


class GuestSteps:
    """From the console log to "Instance spawned successfully.", and the lifecycle events
    libvirt reports meanwhile."""

    # -- before the guest -----------------------------------------------------------------
    def console_log(self) -> Iterator[None]:
        """The console log, and hardware mode's direct kernel boot: the guest's kernel and
        initramfs go into the instance directory (where nova puts kernel_id/ramdisk_id
        images), read from guest/ without following a symlink, written as new files."""
        yield from ()
        self.log(ev_image.ConsoleLog(path=str(self.console_path)))
        with self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
            os.close(safefs.create_exclusive(dfd, self.console_path.name, self.console_path))
            guest = self.ctx.guest()
            for src, dst in ((guest.kernel, self.kernel_path), (guest.initramfs,
                                                                 self.ramdisk_path)):
                data = guest_image.read_artifact(self.ctx.workdir, src.name)
                safefs.write_file(safefs.create_exclusive(dfd, dst.name, dst), data)

    def network_info(self) -> Iterator[None]:
        """The port was made with the build's networks: its network_info is logged now."""
        yield from ()
        nw_json = network_info_json(self.vifs, RELEASE)
        self.log(ev_build.NetworkCacheUpdate(raw=nw_json), context=self.req)
        self.log(ev_build.NetworkInfo(raw=f"|{nw_json}|"))

    def guest_xml(self) -> Iterator[None]:
        yield from ()
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
        self.xml = domain_xml(replace(spec, disk_cache="none" if self.ctx.direct_io
                                      else "writeback"))
        self.log(ev_guest.GuestXmlEnd(xml=self.xml))
        self.result.phases["xml"] = round(t.elapsed(), 3)

    # -- _create_guest_with_network ---------------------------------------------------------
    def prepare_events(self) -> Iterator[None]:
        yield from ()
        events = [v.event for v in self.vifs]
        self.paused_start = bool(events)
        for name in events:
            self.log(ev_guest.EventPrepare(event=name))
            with self.lock(f"{self.uuid}-events", OWNER_EVENT_PREPARE):
                pass

    def plug_vifs(self) -> Iterator[None]:
        yield from ()
        for v in self.vifs:
            self.log(ev_guest.VifPlugging(vif=os_vif_repr(v)))
            network.ensure_bridge(v.bridge)
            self.log(ev_guest.VifPlugged(vif=os_vif_repr(v)))

    def start_paused(self) -> Iterator[None]:
        yield from ()
        host = self.ctx.host
        host.subscribe(self.uuid, self._on_lifecycle)
        if self.ctx.fault and self.ctx.fault.before_define:
            self.ctx.fault.before_define(host)
        t = Timer()
        try:
            self.domain = host.define(with_owner(self.xml, str(self.ctx.workdir.root)))
        except require_libvirt().libvirtError as exc:
            if not host.alive():
                raise HypervisorUnavailable(self.ctx.node) from exc
            raise
        self.defined = True
        self.checkpoint("define")
        if self.ctx.fault and self.ctx.fault.after_define:
            self.ctx.fault.after_define(self)
        host.launch(self.domain, pause=self.paused_start)
        self.result.phases["domain_start"] = round(t.elapsed(), 3)
        self.checkpoint("start")

    def wait_for_events(self) -> Iterator[None]:
        """neutron's network-vif-plugged, sent once the tap is really on the bridge."""
        yield from ()
        if not self.paused_start:
            return
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

    def resume(self) -> Iterator[None]:
        yield from ()
        if self.paused_start:
            t = Timer()
            self.domain.resume()
            self.result.phases["resume"] = round(t.elapsed(), 3)
        self.checkpoint("resume")

    def cleanup_failed_start(self, failure: BuildFailed) -> Iterator[None]:
        """_cleanup_failed_start: power off, undefine (no "destroyed" line on this path),
        delete the instance files. A VIF event timeout was logged as such (VifTimeout), not
        as a failed start."""
        if not isinstance(failure.fault, VirtualInterfaceCreateException):
            self.log(ev_failure.GuestStartFailed(summary=error_summary(failure.fault)))
        self._destroy_domain()
        yield from self.delete_files()

    def guest_created(self) -> Iterator[None]:
        yield from ()
        self.log(ev_guest.GuestCreated())

    def wait_for_boot(self) -> Iterator[None]:
        yield from ()
        deadline = time.monotonic() + 60
        while self.ctx.host.state(self.uuid) != PowerState.RUNNING:
            if time.monotonic() > deadline:
                raise HwError("the domain did not reach running within 60s")
            time.sleep(0.5)
        with self.state_lock:
            self.log(ev_guest.Spawned(), context=None)
            self.task_state = None

    # -- libvirt's events and the guest's console ---------------------------------------------
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

