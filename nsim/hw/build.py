"""One instance's build on this machine: hardware mode's driver of nsim.compute.manager and
nsim.compute.spawn (which hold nova's order; nsim.hw.boot lists the steps)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import uuid as uuidlib
from collections.abc import Generator, Iterator
from contextlib import ExitStack, suppress
from datetime import datetime
from typing import Any

from nsim.compute.manager import BuildFailed, Outcome, build_and_run_instance
from nsim.events import build as ev_build
from nsim.events import claim as ev_claim
from nsim.events import failure as ev_failure
from nsim.events import image as ev_image
from nsim.events.writer import RequestContext
from nsim.hw import network, qemu_img, safefs
from nsim.hw.base_file import BaseFileSteps
from nsim.hw.context import (
    OWNER_ABORT_CLAIM,
    OWNER_BUILD,
    OWNER_CLAIM,
    OWNER_DISK_INFO,
    HostContext,
    InstanceResult,
    Timer,
    fresh_connection,
    phase,
)
from nsim.hw.errors import HwError
from nsim.hw.guest_steps import GuestSteps
from nsim.hw.locks import holding, synchronized
from nsim.hw.novaexc import (
    VirtualInterfaceCreateException,
    error_summary,
    traceback_lines,
)
from nsim.hw.state import record_trace
from nsim.hw.teardown import HwTeardown, user_context
from nsim.hw.trace import Trace
from nsim.hw.workdir import Workdir
from nsim.model.claims import Claim
from nsim.model.image_cache import cache_filename
from nsim.nova.flavor import Flavor
from nsim.nova.names import COMPUTE_RESOURCES
from nsim.nova.network_info import PortInfo


class InstanceBuild(BaseFileSteps, GuestSteps, HwTeardown):
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
        self.xml = ""
        self.domain: Any = None
        self._fetched: list[str] = []
        """The files the fetch created in _base (removed if it fails)."""
        self._fetched_format = ""
        self._overlay_timer = Timer()

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
        return holding(self.lock(self.uuid, OWNER_BUILD))

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

    def spawning(self) -> None:
        self.log(ev_build.SpawnStart())
        self.task_state = "spawning"

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
        existed = self.defined
        self._destroy_domain()
        self.destroyed(existed)

    def failure_of(self, exc: Exception) -> BuildFailed:
        """Whatever a real step raises fails the build as nova's spawn would (a libvirt
        error, an unacceptable image, a refused path)."""
        return BuildFailed(exc)

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

    # -- spawn's first steps (nova/virt/libvirt/driver.py) --------------------------------
    def create_instance_dir(self) -> Iterator[None]:
        yield from ()
        self.log(ev_image.InstanceDirCreating())
        with self.ctx.workdir.dir_fd("instances") as dfd:
            os.mkdir(self.uuid, 0o755, dir_fd=dfd)
            # whatever the umask: qemu (libvirt-qemu) must traverse it
            fd = os.open(self.uuid, safefs.DIR_FLAGS, dir_fd=dfd)
            os.fchmod(fd, 0o755)
            os.close(fd)

    def creating_image(self) -> Iterator[None]:
        yield from ()
        self.log(ev_image.CreatingImage())
        self._write_disk_info()

    def _write_disk_info(self) -> None:
        disk_info = self.inst_dir / "disk.info"
        with self.lock(str(disk_info), OWNER_DISK_INFO), \
                self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
            safefs.write_atomic(dfd, disk_info.name,
                                f'{{"{self.disk_path}": "qcow2"}}\n'.encode(), disk_info)

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


