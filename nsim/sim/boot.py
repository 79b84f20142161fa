"""One boot attempt and one delete on a simulated host, logged in nova's order (the
periodic resource audit is in nsim.sim.audit).

The order follows nova's code path (docs/nova.md §1) and the seed boot: instance lock,
"Starting instance...", the claim under `compute_resources` (with the Stein-and-earlier
claim test lines), networks allocated in the background, block devices, spawn: image cache
(per-image lock: fetch, convert, overlay), console log, guest XML (waits for the network),
VIF plug, domain started paused, network-vif-plugged, resumed, spawned. Failures follow
`_build_resources` and `_do_build_and_run_instance`: "Instance failed to spawn", teardown,
claim aborted, "Failed to build and run instance", re-scheduled.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from nsim.compute.manager import BuildFailed, Outcome, build_and_run_instance
from nsim.events import build, claim, guest, image
from nsim.events import failure as failure_ev
from nsim.events.writer import RequestContext
from nsim.model.claims import RESOURCES, Claim
from nsim.model.image_cache import BaseState, cache_filename
from nsim.nova.guest_xml import Guest, GuestImage, domain_xml, xml_preamble
from nsim.nova.names import COMPUTE_RESOURCES
from nsim.nova.network_info import PortInfo, network_info_json, os_vif_repr
from nsim.sim.durations import Distribution, Steps
from nsim.sim.faults import NUMA_REASON, Failure, image_download_failure, network_failure, spawn_failure
from nsim.sim.host import SimHost
from nsim.sim.scenario import FlavorSpec, ImageSpec
from nsim.sim.teardown import SimTeardown


@dataclass
class BootOrder:
    """One requested instance: its identity and what it boots (kept across re-schedules)."""

    number: int
    uuid: str
    name: str
    domain: str
    request: RequestContext
    flavor: FlavorSpec
    image: ImageSpec
    port: PortInfo
    host: str | None = None
    lifetime: Distribution | None = None
    tried: list[str] = field(default_factory=list)


class Conductor(Protocol):
    """What a build on a host reports to and asks of the rest of the cloud (nsim.sim.engine)."""

    max_attempts: int
    """Builds per request (nova's scheduler max_attempts); 1: a failure is not re-scheduled."""

    def on_active(self, attempt: Attempt) -> None: ...

    def on_failed(self, attempt: Attempt, retry: bool) -> None: ...

    def start(self, process: Generator[Any, Any, None]) -> None: ...

    def neutron_context(self) -> RequestContext: ...


class Attempt(SimTeardown):
    """A boot of `order` on `host` with drawn `steps` and injected `faults`."""

    def __init__(self, engine: Conductor, host: SimHost, order: BootOrder, steps: Steps,
                 faults: frozenset[str]) -> None:
        self.engine = engine
        self.host = host
        self.env = host.env
        self.order = order
        self.steps = steps
        self.faults = faults
        self.uuid = order.uuid
        self.ctx = order.request
        self.instance_dir = f"{host.spec.instances_path}/{order.uuid}"
        self.python3 = host.spec.python3
        self.network: Any = None
        """The background network allocation (a SimPy process; its value: a fault or None)."""

    # -- the build: nova's order is nsim.compute.manager's; these are this driver's steps --
    def run(self) -> Generator[Any, Any, None]:
        yield from build_and_run_instance(self)

    def lock_instance(self) -> Generator[Any, Any, Any]:
        return (yield from self.host.lock(self.uuid, self.host.owners.build, self.ctx))

    def unlock_instance(self, held: Any) -> None:
        self.host.unlock(self.uuid, held, self.ctx)

    def starting(self) -> None:
        self.say(build.InstanceStarting())

    def refused(self, reason: str) -> Generator[Any, Any, None]:
        self._reschedule(f"Insufficient compute resources: {reason}.")
        yield from ()

    def networks_and_bdm(self) -> Generator[Any, Any, None]:
        s = self.steps
        yield self.wait(s.build_prep * 0.9)
        self.say(build.NetworkAsyncStart())
        self.say(build.NetworkAllocating())
        self.network = self.env.process(self._network())
        yield self.wait(s.build_prep * 0.05)
        self.say(build.BdmStart())
        yield self.wait(s.build_prep * 0.05)

    def spawn(self) -> Generator[Any, Any, None]:
        s = self.steps
        self.say(build.SpawnStart())
        yield self.wait(s.image_prep * 0.5)
        if self.host.has(image.InstanceDirCreating):  # Stein on
            self.say(image.InstanceDirCreating())
        yield self.wait(s.image_prep * 0.5)
        self.say(image.CreatingImage())
        fault = yield from self._image()
        if fault is None:
            yield self.wait(s.guest_prep)
            self.say(image.ConsoleLog(path=f"{self.instance_dir}/console.log"))
            fault = yield self.network
            if fault is None:
                fault = yield from self._guest()
        if fault is not None:
            raise BuildFailed(fault)

    def active(self) -> Generator[Any, Any, None]:
        yield from ()

    def finished(self, outcome: Outcome) -> Generator[Any, Any, None]:
        if outcome is Outcome.ACTIVE:
            self.engine.on_active(self)
        elif self.engine.max_attempts == 1:
            self.engine.on_failed(self, retry=False)
        else:
            yield self.wait(self.steps.reschedule)
            self.engine.on_failed(self, retry=True)

    def claim(self) -> Generator[Any, Any, str | None]:
        """instance_claim under compute_resources; the refusal reason, or None on success."""
        h, f = self.host, self.order.flavor
        lock = yield from h.lock(COMPUTE_RESOURCES, h.owners.claim, self.ctx)
        wanted = Claim(f.memory_mb, f.disk_gb, f.vcpus)
        reasons: list[str] = []
        if h.claim_lines:
            for res in RESOURCES:
                h.say(claim.Overhead(resource=res, requested=wanted.amount(res) or 0, overhead=0),
                      self.ctx)
            self.say(claim.ClaimAttempt(node=h.name, memory_mb=f.memory_mb, disk_gb=f.disk_gb,
                                        vcpus=f.vcpus))
            limits = h.claim_limits()
            for res in RESOURCES:
                used = h.tracker.used(res) or 0.0
                self.say(claim.ClaimTotal(resource=res, total=h.tracker.totals[res] or 0.0,
                                          used=used))
                limit = limits[res]
                if limit is None:
                    self.say(claim.ClaimLimitUnspecified(resource=res))
                else:
                    self.say(claim.ClaimLimit(resource=res, limit=limit, free=limit - used))
            reasons = h.tracker.test(wanted, limits)
        if "insufficient_resources" in self.faults:
            reasons.append(NUMA_REASON)
        else:
            h.say(claim.NumaNote(), self.ctx)
        yield self.wait(self.steps.claim)
        if reasons:
            reason = "; ".join(reasons)
            if h.has(claim.ClaimFailed):
                self.say(claim.ClaimFailed(reason=reason))
            h.unlock(COMPUTE_RESOURCES, lock, self.ctx)
            self.say(claim.InsufficientResources(reason=reason))
            return reason
        h.claim(self.uuid, wanted)
        self.say(claim.ClaimSuccessful(node=h.name))
        h.unlock(COMPUTE_RESOURCES, lock, self.ctx)
        return None

    def _network(self) -> Generator[Any, Any, Failure | None]:
        """_allocate_network_async: runs beside image creation; the failure, if any."""
        yield self.wait(self.steps.network)
        port = self.order.port
        if "network" in self.faults:
            fault = network_failure(port.id, self.python3)
            self.host.writer.emit(self.host.when(),
                                  failure_ev.NetworkSetupFailed(attempts=1, final=True),
                                  instance=self.uuid, context=self.ctx,
                                  traceback=list(fault.traceback))
            return fault
        raw = network_info_json([port], self.python3)
        self.say(build.NetworkCacheUpdate(raw=raw))
        self.say(build.NetworkInfo(raw=f"|{raw}|"))
        return None

    def _run(self, command: str, seconds: float) -> Generator[Any, Any, None]:
        """One processutils.execute (logged without the instance): running, then returned."""
        h = self.host
        h.say(image.SubprocessRunning(command=command, argv=command.split()), self.ctx)
        yield self.wait(seconds)
        h.say(image.SubprocessReturned(command=command, returncode=0, seconds=seconds), self.ctx)

    def _image(self) -> Generator[Any, Any, Failure | None]:
        """Image.cache: fetch the base file under its lock unless cached, then the overlay."""
        h, s, img = self.host, self.steps, self.order.image
        name = cache_filename(img.id)
        base = f"{h.base_dir}/{name}"
        if h.cache.entry(name, img.id).state != BaseState.PRESENT:
            lock = yield from h.lock(name, h.owners.fetch, self.ctx)
            if h.cache.files[name].state != BaseState.PRESENT:
                h.fetch_started(name, self.uuid)
                yield self.wait(s.download(img.size_mb))
                if "image_download" in self.faults:
                    h.fetch_aborted(name)
                    h.unlock(name, lock, self.ctx)
                    return image_download_failure(img.id, self.python3)
                yield from self._run(h.qemu_img.info(f"{base}.part"), s.qemu_img_info)
                if img.disk_format != "raw":
                    h.say(image.ImageConverting(image_id=img.id, disk_format=img.disk_format),
                          self.ctx)
                    h.say(image.DirectIo(path=h.spec.instances_path, supported=True), self.ctx)
                    h.convert_started(name)
                    yield from self._run(h.qemu_img.convert(f"{base}.part", f"{base}.converted",
                                                            img.disk_format),
                                         s.convert(img.size_mb))
                    yield from self._run(h.qemu_img.info(f"{base}.converted"), s.qemu_img_info)
                h.fetch_completed(name)
            h.unlock(name, lock, self.ctx)
        lock = yield from h.lock(name, h.owners.create_image, self.ctx)
        yield from self._run(h.qemu_img.info(base), s.qemu_img_info)
        # nova: size = root_gb GiB, None when the flavor has no root disk size.
        size = self.order.flavor.disk_gb * 2**30 or None
        h.use_base(name, self.uuid, h.when())
        yield from self._run(h.qemu_img.create(base, f"{self.instance_dir}/disk", size), s.overlay)
        if h.qemu_img.resize_after_create and size is not None:
            yield from self._run(h.qemu_img.resize(f"{self.instance_dir}/disk", size),
                                 s.qemu_img_info)
        h.unlock(name, lock, self.ctx)
        return None

    def _guest(self) -> Generator[Any, Any, Failure | None]:
        """Guest XML, VIF plug, domain started paused, vif-plugged event, resume, spawned."""
        h, s, o = self.host, self.steps, self.order
        spec = Guest(uuid=self.uuid, domain=o.domain, display_name=o.name, flavor=o.flavor.nova(),
                     image=GuestImage(id=o.image.id, name=o.image.name,
                                      disk_format=o.image.disk_format, size=o.image.size_bytes),
                     release=h.release, disk=f"{self.instance_dir}/disk",
                     console_log=f"{self.instance_dir}/console.log", ports=(o.port,),
                     abridged=True)
        self.say(guest.GuestXmlStart(details=xml_preamble(spec)))
        yield self.wait(s.xml)
        self.say(guest.GuestXmlEnd(xml=domain_xml(spec)))
        self.say(guest.EventPrepare(event=o.port.event))
        vif = os_vif_repr(o.port)
        self.say(guest.VifPlugging(vif=vif))
        yield self.wait(s.vif_plug)
        self.say(guest.VifPlugged(vif=vif))
        yield self.wait(s.domain_start)
        if "spawn" in self.faults:
            self.say(failure_ev.GuestStartFailed())
            return spawn_failure(o.domain, self.python3)
        self.say(guest.LifecycleEvent(transition="Started", instance_uuid=self.uuid), None)
        self.say(guest.LifecycleEvent(transition="Paused", instance_uuid=self.uuid), h.service)
        self.say(guest.SyncPowerStateSkip(task_state="spawning"), h.service)
        yield self.wait(s.vif_event)
        self.say(guest.ExternalEvent(verb="Received", event=o.port.event),
                 self.engine.neutron_context())
        yield self.wait(s.resume)
        self.say(guest.LifecycleEvent(transition="Resumed", instance_uuid=self.uuid), h.service)
        self.say(guest.GuestCreated(), None)
        yield self.wait(s.spawn_tail)
        self.say(guest.Spawned(), None)
        return None

    # -- failure -----------------------------------------------------------------------
    def spawn_failed(self, failure: BuildFailed) -> Generator[Any, Any, bool]:
        """_build_resources' cleanup follows; the network is deallocated when its allocation
        failed."""
        fault: Failure = failure.fault  # type: ignore[assignment]
        self.say(failure_ev.SpawnFailed(summary=fault.summary), traceback=fault.traceback)
        network_failed = yield self.network
        return network_failed is not None

    def abort_claim(self) -> Generator[Any, Any, None]:
        h = self.host
        lock = yield from h.lock(COMPUTE_RESOURCES, h.owners.abort_claim, self.ctx)
        h.give_back(self.uuid)
        h.unlock(COMPUTE_RESOURCES, lock, self.ctx)

    def build_failed(self, failure: BuildFailed) -> Generator[Any, Any, None]:
        fault: Failure = failure.fault  # type: ignore[assignment]
        if self.host.has(failure_ev.BuildFailed):  # Rocky on
            self.say(failure_ev.BuildFailed(summary=fault.summary), traceback=fault.traceback)
        self._reschedule(fault.reason)
        yield from ()

    def _reschedule(self, reason: str) -> None:
        """Logged under the instance lock: no retry is possible, or the build is sent back."""
        self.host.failed_builds += 1
        if self.engine.max_attempts == 1:
            self.say(failure_ev.RetryInfoAbsent())
        else:
            self.say(failure_ev.Rescheduled(instance_uuid=self.uuid, reason=reason))
