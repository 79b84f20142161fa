"""What one `nsim hw boot` shares between its instance builds: options, results, the host
context, the lock owners nova logs, timers."""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nsim.events.writer import RequestContext, TraceFormat
from nsim.hw import faults, guest_image
from nsim.hw.errors import UsageError
from nsim.hw.faults import STOP_STEPS
from nsim.hw.image_service import ImageClient
from nsim.hw.libvirt_host import LibvirtHost
from nsim.hw.state import InstanceStore
from nsim.hw.trace import Trace
from nsim.hw.workdir import Workdir, validate_image_ref, validate_name
from nsim.model.config import HostConfig
from nsim.nova.flavor import FLAVORS
from nsim.nova.names import PY3_OWNERS

# Callables' qualified names as oslo.concurrency logs them (py3 __qualname__): nsim.nova.names.
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


@dataclass
class HostContext:
    """What one `nsim hw` command shares between its instance builds."""

    workdir: Workdir
    trace: Trace
    host: LibvirtHost
    images: ImageClient
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


def service_context() -> RequestContext:
    return RequestContext(request_id=f"req-{uuidlib.uuid4()}")


class Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start


@contextmanager
def phase(result: InstanceResult, name: str) -> Iterator[None]:
    t = Timer()
    try:
        yield
    finally:
        result.phases[name] = round(t.elapsed(), 3)



@contextmanager
def fresh_connection(uri: str) -> Iterator[LibvirtHost]:
    other = LibvirtHost(uri).open()
    try:
        yield other
    finally:
        other.close()

