"""Writing events back as nova-compute log lines: journald text (devstack) or oslo.log files.

The inverse of the grammars: the catalog gives the wording for a release, this
module the envelope (docs/nova.md §2: oslo.log context/default formats, devstack's
journald format, the DEBUG suffix, the exception prefix on traceback lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import IO, Literal

from nsim.events.base import Event
from nsim.nova.releases import at_least, known_release, runs_python3

TraceFormat = Literal["journal", "oslo"]

# Where nova logs each kind from: (function, file under the nova tree, line). The line
# numbers are those of nova master at the time of writing; they only fill the DEBUG suffix.
ORIGIN: dict[str, tuple[str, str, int]] = {
    "instance_starting": ("_do_build_and_run_instance", "nova/compute/manager.py", 2478),
    "lock_acquiring": ("inner", "oslo_concurrency/lockutils.py", 402),
    "lock_acquired": ("inner", "oslo_concurrency/lockutils.py", 407),
    "lock_released": ("inner", "oslo_concurrency/lockutils.py", 421),
    "lock_plain": ("lock", "oslo_concurrency/lockutils.py", 312),
    "overhead": ("instance_claim", "nova/compute/resource_tracker.py", 202),
    "numa_note": ("numa_fit_instance_to_host", "nova/virt/hardware.py", 2364),
    "insufficient_resources": ("_do_build_and_run_instance", "nova/compute/manager.py", 2530),
    "network_async_start": ("_build_resources", "nova/compute/manager.py", 2869),
    "network_allocating": ("_allocate_network_async", "nova/compute/manager.py", 1985),
    "network_info": ("_allocate_network_async", "nova/compute/manager.py", 2008),
    "network_cache_update": ("update_instance_cache_with_nw_info", "nova/network/neutron.py", 117),
    "bdm_start": ("_build_resources", "nova/compute/manager.py", 2905),
    "spawn_start": ("_build_and_run_instance", "nova/compute/manager.py", 2661),
    "instance_dir_creating": ("_create_image", "nova/virt/libvirt/driver.py", 4826),
    "image_converting": ("fetch_to_raw", "nova/virt/images.py", 301),
    "direct_io": ("supports_direct_io", "nova/filesystem.py", 97),
    "subprocess_running": ("execute", "oslo_concurrency/processutils.py", 349),
    "subprocess_returned": ("execute", "oslo_concurrency/processutils.py", 372),
    "console_log": ("_ensure_console_log_for_instance", "nova/virt/libvirt/driver.py", 4765),
    "guest_xml_start": ("_get_guest_xml", "nova/virt/libvirt/driver.py", 8256),
    "guest_xml_end": ("_get_guest_xml", "nova/virt/libvirt/driver.py", 8275),
    "event_prepare": ("prepare_for_instance_event", "nova/compute/manager.py", 283),
    "external_event": ("external_instance_event", "nova/compute/manager.py", 11570),
    "vif_plugging": ("plug", "os_vif/__init__.py", 76),
    "guest_created": ("spawn", "nova/virt/libvirt/driver.py", 4999),
    "resource_audit": ("update_available_resource", "nova/compute/resource_tracker.py", 937),
    "hypervisor_view": ("_report_hypervisor_resource_view", "nova/compute/resource_tracker.py", 1136),
    "total_usable_vcpus": ("_report_final_resource_view", "nova/compute/resource_tracker.py", 1168),
    "final_resource_view": ("_report_final_resource_view", "nova/compute/resource_tracker.py", 1177),
    "verify_base_images": ("_age_and_verify_cached_images", "nova/virt/libvirt/imagecache.py", 313),
    "verification_complete": ("_age_and_verify_cached_images", "nova/virt/libvirt/imagecache.py",
                              347),
    "stopped_event_removed": ("_event_emit_delayed", "nova/virt/libvirt/host.py", 193),
    "rescheduled": ("_do_build_and_run_instance", "nova/compute/manager.py", 2580),
    "retry_info_absent": ("_reschedule_or_error", "nova/compute/manager.py", 2395),
}
_DEFAULT_ORIGIN = ("log", "nova/compute/manager.py", 1)
_NOVA_TREE = "/opt/stack/nova"
# Where devstack installs oslo and os_vif: Python 2.7 until Train, Python 3 after.
PY2_SITE = "/usr/local/lib/python2.7/dist-packages"
PY3_SITE = "/usr/local/lib/python3.12/dist-packages"


@dataclass(frozen=True)
class RequestContext:
    """The request a record is logged under; None fields print as nova prints them."""

    request_id: str
    global_request_id: str | None = None
    user: str | None = None
    project: str | None = None


class TraceWriter:
    """Writes records as one nova-compute service of `release` would log them."""

    def __init__(self, out: IO[str], fmt: TraceFormat = "journal", release: str = "2025.2",
                 host: str = "compute", pid: int = 4242, process: str = "nova-compute",
                 site_packages: str | None = None) -> None:
        known_release(release)
        self.out = out
        self.fmt = fmt
        self.release = release
        self.host = host
        self.pid = pid
        self.process = process
        self.lines_written = 0
        self.site_packages = site_packages or (
            PY3_SITE if runs_python3(release) else PY2_SITE)
        # oslo.log >= 4.8.0 (Zed) adds the global request id and a 6-field identity.
        self._new_oslo = at_least(release, "zed")

    def _context(self, ctx: RequestContext | None) -> str:
        if ctx is None:
            return "[-]"
        if self.fmt == "journal":
            return (f"[{ctx.global_request_id or 'None'} {ctx.request_id} "
                    f"{ctx.project or 'None'} {ctx.user or 'None'}]")
        user, project = ctx.user or "-", ctx.project or "-"
        if self._new_oslo:
            return (f"[{ctx.global_request_id or 'None'} {ctx.request_id} {user} {project} "
                    f"- - default default]")
        return f"[{ctx.request_id} {user} {project} - - -]"

    def _stamp(self, when: datetime) -> str:
        if self.fmt == "journal":
            return f"{when.strftime('%b %d %H:%M:%S.%f')} {self.host} {self.process}[{self.pid}]:"
        return f"{when.strftime('%Y-%m-%d %H:%M:%S')}.{when.microsecond // 1000:03d} {self.pid}"

    def emit(self, when: datetime, event: Event, *, instance: str | None = None,
             context: RequestContext | None = None, traceback: list[str] | None = None) -> None:
        """Write `event` at `when`; raises ValueError if this release never logged it."""
        self.write(when, event.level(self.release), event.logger_for(self.release),
                   event.render(self.release),
                   instance=instance, context=context, origin=ORIGIN.get(event.kind),
                   traceback=traceback)

    def write(self, when: datetime, level: str, logger: str, message: str, *,
              instance: str | None = None, context: RequestContext | None = None,
              origin: tuple[str, str, int] | None = None,
              traceback: list[str] | None = None) -> None:
        """Write one record (any message) in this writer's format."""
        prefix = self._stamp(when)
        inst = f"[instance: {instance}] " if instance else ""
        head = f"{prefix} {level} {logger} {self._context(context)} {inst}"
        parts = message.split("\n")
        if level == "DEBUG":
            func, rel, lineno = origin or _DEFAULT_ORIGIN
            root = self.site_packages if rel.startswith(("oslo_", "os_vif")) else _NOVA_TREE
            where = f"{func} {root}/{rel}:{lineno}"
            suffix = (f" {{{{(pid={self.pid}) {where}}}}}" if self.fmt == "journal"
                      else f" {where}")
            parts[-1] += suffix
        lines = [head + parts[0]]
        cont = f"{prefix} " if self.fmt == "journal" else ""
        lines.extend(cont + p for p in parts[1:])
        exc_prefix = f"{prefix} ERROR {logger} {inst}"
        lines.extend(exc_prefix + t for t in traceback or ())
        self.out.write("\n".join(lines) + "\n")
        self.lines_written += len(lines)
