"""The simulator's steps of the libvirt driver's spawn (the order is nsim.compute.spawn's):
each waits its drawn duration on the SimPy clock and logs what nova logs there; the image
cache's state changes go through the host model."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

from nsim.compute.spawn import BaseLock
from nsim.compute.steps import BuildFailed
from nsim.events import failure as failure_ev
from nsim.events import guest, image, teardown
from nsim.events.writer import RequestContext
from nsim.model.image_cache import BaseState, cache_filename
from nsim.nova.guest_xml import Guest, GuestImage, domain_xml, xml_preamble
from nsim.nova.network_info import os_vif_repr
from nsim.sim.faults import image_download_failure, spawn_failure
from nsim.sim.teardown import SimTeardown


class Neutron(Protocol):
    """Who sends the network-vif-plugged event (nsim.sim.engine)."""

    def neutron_context(self) -> RequestContext: ...


class SimSpawn(SimTeardown):
    """A simulated build's spawn steps (a part of nsim.sim.boot.Attempt)."""

    order: Any
    faults: frozenset[str]
    python3: bool
    network: Any
    engine: Neutron

    @property
    def _base_name(self) -> str:
        return cache_filename(self.order.image.id)

    @property
    def _base(self) -> str:
        return f"{self.host.base_dir}/{self._base_name}"

    def _run(self, command: str, seconds: float) -> Generator[Any, Any, None]:
        """One processutils.execute (logged without the instance): running, then returned."""
        h = self.host
        h.say(image.SubprocessRunning(command=command, argv=command.split()), self.ctx)
        yield self.wait(seconds)
        h.say(image.SubprocessReturned(command=command, returncode=0, seconds=seconds), self.ctx)

    # -- the image ----------------------------------------------------------------------
    def create_instance_dir(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.image_prep * 0.5)
        if self.host.has(image.InstanceDirCreating):  # Stein on
            self.say(image.InstanceDirCreating())
        yield self.wait(self.steps.image_prep * 0.5)

    def creating_image(self) -> Generator[Any, Any, None]:
        self.say(image.CreatingImage())
        yield from ()

    def base_present(self) -> bool:
        img = self.order.image
        return self.host.cache.entry(self._base_name, img.id).state == BaseState.PRESENT

    def lock_base(self, owner: BaseLock) -> Generator[Any, Any, Any]:
        h = self.host
        who = h.owners.fetch if owner is BaseLock.FETCH else h.owners.create_image
        return (yield from h.lock(self._base_name, who, self.ctx))

    def unlock_base(self, held: Any) -> None:
        self.host.unlock(self._base_name, held, self.ctx)

    def fetch(self) -> Generator[Any, Any, bool]:
        h, img = self.host, self.order.image
        h.fetch_started(self._base_name, self.uuid)
        yield self.wait(self.steps.download(img.size_mb))
        if "image_download" in self.faults:
            raise BuildFailed(image_download_failure(img.id, self.python3))
        yield from self._run(h.qemu_img.info(f"{self._base}.part"), self.steps.qemu_img_info)
        return bool(img.disk_format != "raw")

    def convert(self) -> Generator[Any, Any, None]:
        h, img, base = self.host, self.order.image, self._base
        h.say(image.ImageConverting(image_id=img.id, disk_format=img.disk_format), self.ctx)
        h.say(image.DirectIo(path=h.spec.instances_path, supported=True), self.ctx)
        h.convert_started(self._base_name)
        yield from self._run(h.qemu_img.convert(f"{base}.part", f"{base}.converted",
                                                img.disk_format), self.steps.convert(img.size_mb))
        yield from self._run(h.qemu_img.info(f"{base}.converted"), self.steps.qemu_img_info)

    def into_cache(self) -> Generator[Any, Any, None]:
        self.host.fetch_completed(self._base_name)
        yield from ()

    def fetch_aborted(self) -> None:
        self.host.fetch_aborted(self._base_name)

    def verify_base(self) -> Generator[Any, Any, None]:
        """As the seed boot logs it, the base file's qemu-img info comes inside the overlay's
        lock (create_cow_image's own)."""
        yield from ()

    def overlay(self) -> Generator[Any, Any, None]:
        h, s, base = self.host, self.steps, self._base
        yield from self._run(h.qemu_img.info(base), s.qemu_img_info)
        # nova: size = root_gb GiB, None when the flavor has no root disk size.
        size = self.order.flavor.disk_gb * 2**30 or None
        h.use_base(self._base_name, self.uuid, h.when())
        yield from self._run(h.qemu_img.create(base, f"{self.instance_dir}/disk", size), s.overlay)
        if h.qemu_img.resize_after_create and size is not None:
            yield from self._run(h.qemu_img.resize(f"{self.instance_dir}/disk", size),
                                 s.qemu_img_info)

    def disk_created(self) -> Generator[Any, Any, None]:
        yield from ()

    # -- the guest ----------------------------------------------------------------------
    def console_log(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.guest_prep)
        self.say(image.ConsoleLog(path=f"{self.instance_dir}/console.log"))

    def network_info(self) -> Generator[Any, Any, None]:
        """The background allocation (nsim.sim.boot `_network`) logged its own lines."""
        fault = yield self.network
        if fault is not None:
            raise BuildFailed(fault)

    def guest_xml(self) -> Generator[Any, Any, None]:
        o = self.order
        spec = Guest(uuid=self.uuid, domain=o.domain, display_name=o.name, flavor=o.flavor.nova(),
                     image=GuestImage(id=o.image.id, name=o.image.name,
                                      disk_format=o.image.disk_format, size=o.image.size_bytes),
                     release=self.host.release, disk=f"{self.instance_dir}/disk",
                     console_log=f"{self.instance_dir}/console.log", ports=(o.port,),
                     abridged=True)
        self.say(guest.GuestXmlStart(details=xml_preamble(spec)))
        yield self.wait(self.steps.xml)
        self.say(guest.GuestXmlEnd(xml=domain_xml(spec)))

    def prepare_events(self) -> Generator[Any, Any, None]:
        self.say(guest.EventPrepare(event=self.order.port.event))
        yield from ()

    def plug_vifs(self) -> Generator[Any, Any, None]:
        vif = os_vif_repr(self.order.port)
        self.say(guest.VifPlugging(vif=vif))
        yield self.wait(self.steps.vif_plug)
        self.say(guest.VifPlugged(vif=vif))

    def start_paused(self) -> Generator[Any, Any, None]:
        h = self.host
        yield self.wait(self.steps.domain_start)
        if "spawn" in self.faults:
            raise BuildFailed(spawn_failure(self.order.domain, self.python3))
        self.say(guest.LifecycleEvent(transition="Started", instance_uuid=self.uuid), None)
        self.say(guest.LifecycleEvent(transition="Paused", instance_uuid=self.uuid), h.service)
        self.say(guest.SyncPowerStateSkip(task_state="spawning"), h.service)

    def wait_for_events(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.vif_event)
        self.say(guest.ExternalEvent(verb="Received", event=self.order.port.event),
                 self.engine.neutron_context())

    def resume(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.resume)
        self.say(guest.LifecycleEvent(transition="Resumed", instance_uuid=self.uuid),
                 self.host.service)

    def failure_of(self, exc: Exception) -> None:
        """The simulator fails a build only by raising BuildFailed: anything else is a bug."""
        return None

    def cleanup_failed_start(self, failure: BuildFailed) -> Generator[Any, Any, None]:
        """"Failed to start libvirt guest", then _cleanup_failed_start's cleanup deletes the
        instance files (nova/virt/libvirt/driver.py)."""
        self.say(failure_ev.GuestStartFailed())
        deleted = f"{self.instance_dir}_del"
        self.say(teardown.DeletingFiles(path=deleted))
        self.say(teardown.DeletionComplete(path=deleted))
        self.guest_gone = True
        yield from ()

    def guest_created(self) -> Generator[Any, Any, None]:
        self.say(guest.GuestCreated(), None)
        yield from ()

    def wait_for_boot(self) -> Generator[Any, Any, None]:
        yield self.wait(self.steps.spawn_tail)
        self.say(guest.Spawned(), None)
