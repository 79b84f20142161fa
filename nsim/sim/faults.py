"""Injected faults: which boots fail, and what nova logs about each failure.

Kinds (docs/nova.md §1, failure paths):
- `image_download`: the image service download fails inside `fetch_func_sync`; spawn fails,
  the build is re-scheduled.
- `insufficient_resources`: the claim is refused with the NUMA reason of
  `Claim._test_numa_topology` (placement does not check NUMA fit), then re-scheduled.
- `spawn`: libvirt fails to start the guest; spawn fails, the build is re-scheduled.
- `network`: neutron port binding fails in the background allocation; the failure surfaces
  when spawn needs the network_info, the network is deallocated, the build re-scheduled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nsim.sim.scenario import FaultSpec

NUMA_REASON = "Requested instance NUMA topology cannot fit the given host NUMA topology"


@dataclass(frozen=True)
class Failure:
    """One exception as nova logs it: the summary oslo.log appends, str(e), the traceback."""

    summary: str
    reason: str
    traceback: tuple[str, ...]


class FaultPlan:
    """Decides the faults of each boot attempt from the scenario's fault list."""

    def __init__(self, faults: list[FaultSpec]) -> None:
        self.faults = faults

    def draw(self, number: int, attempt: int, host: str, rng: random.Random) -> frozenset[str]:
        """Fault kinds of boot `number` (1-based) on its `attempt`-th host; one draw per fault."""
        kinds = set()
        for fault in self.faults:
            hit = rng.random() < fault.probability
            if fault.host not in (None, host):
                continue
            if hit or (attempt == 1 and number in fault.boots):
                kinds.add(fault.kind)
        return frozenset(kinds)


def _frame(path: str, line: int, func: str, code: str) -> tuple[str, str]:
    return f'  File "{path}", line {line}, in {func}', f"    {code}"


_MANAGER = "/opt/stack/nova/nova/compute/manager.py"
_DRIVER = "/opt/stack/nova/nova/virt/libvirt/driver.py"


def _traceback(frames: list[tuple[str, str]], last: str) -> tuple[str, ...]:
    lines = ["Traceback (most recent call last):"]
    for frame in frames:
        lines.extend(frame)
    lines.append(last)
    return tuple(lines)


def image_download_failure(image_id: str, python3: bool) -> Failure:
    reason = (f"Connection to glance host http://controller/image failed: Error finding address "
              f"for http://controller/image/v2/images/{image_id}/file: Unable to establish "
              "connection to http://controller/image/v2/images/"
              f"{image_id}/file: ('Connection aborted.', BadStatusLine(\"''\",))")
    exc = "nova.exception.GlanceConnectionFailed" if python3 else "GlanceConnectionFailed"
    return Failure(summary=f"{exc.rsplit('.', 1)[-1]}: {reason}", reason=reason, traceback=_traceback([
        _frame(_MANAGER, 2208, "_build_resources", "yield resources"),
        _frame(_MANAGER, 2018, "_build_and_run_instance", "block_device_info=block_device_info)"),
        _frame(_DRIVER, 2790, "spawn", "block_device_info=block_device_info)"),
        _frame(_DRIVER, 3191, "_create_image", "fallback_from_host)"),
        _frame("/opt/stack/nova/nova/virt/libvirt/imagebackend.py", 245, "fetch_func_sync",
               "fetch_func(target=target, *args, **kwargs)"),
        _frame("/opt/stack/nova/nova/image/glance.py", 547, "download",
               "_reraise_translated_image_exception(image_id)"),
    ], f"{exc}: {reason}"))


def spawn_failure(domain: str, python3: bool) -> Failure:
    reason = (f"internal error: process exited while connecting to monitor: "
              f"qemu-system-x86_64: -name guest={domain}: cannot allocate memory")
    exc = "libvirt.libvirtError" if python3 else "libvirtError"
    return Failure(summary=f"libvirtError: {reason}", reason=reason, traceback=_traceback([
        _frame(_MANAGER, 2208, "_build_resources", "yield resources"),
        _frame(_MANAGER, 2018, "_build_and_run_instance", "block_device_info=block_device_info)"),
        _frame(_DRIVER, 2821, "spawn", "destroy_disks_on_failure=True)"),
        _frame(_DRIVER, 5298, "_create_domain_and_network", "destroy_disks_on_failure)"),
        _frame("/opt/stack/nova/nova/virt/libvirt/guest.py", 144, "launch",
               "return self._domain.createWithFlags(flags)"),
    ], f"{exc}: {reason}"))


def network_failure(port_id: str, python3: bool) -> Failure:
    reason = (f"Binding failed for port {port_id}, please check neutron logs for more "
              "information.")
    exc = "nova.exception.PortBindingFailed" if python3 else "PortBindingFailed"
    return Failure(summary=f"PortBindingFailed: {reason}", reason=reason, traceback=_traceback([
        _frame(_MANAGER, 1442, "_allocate_network_async", "bind_host_id=bind_host_id)"),
        _frame("/opt/stack/nova/nova/network/neutronv2/api.py", 1042, "allocate_for_instance",
               "bind_host_id, available_macs, requested_ports_dict)"),
        _frame("/opt/stack/nova/nova/network/neutronv2/api.py", 1179,
               "_update_ports_for_instance", "vif.destroy()"),
        _frame("/opt/stack/nova/nova/network/neutronv2/api.py", 287, "_ensure_no_port_binding_failure",
               "raise exception.PortBindingFailed(port_id=port['id'])"),
    ], f"{exc}: {reason}"))
