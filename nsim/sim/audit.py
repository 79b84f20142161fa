"""The periodic resource audit of a simulated host (ResourceTracker.update_available_resource).

The driver's view first ("Hypervisor/Node resource view": free = total - used for memory,
disk and vcpus), then, under `compute_resources`, the tracker's own count ("Total usable
vcpus", "Final resource view" with the host's stats).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from nsim.events import audit
from nsim.events.writer import RequestContext
from nsim.model.claims import RESOURCES
from nsim.nova.names import COMPUTE_RESOURCES
from nsim.sim.host import SimHost


def resource_audit(host: SimHost, context: RequestContext,
                   seconds: float) -> Generator[Any, Any, None]:
    """update_available_resource: hypervisor view, then the final view under the lock."""
    t = host.tracker
    host.say(audit.ResourceAudit(host=host.name, node=host.name), context)
    used = {r: t.used(r) or 0.0 for r in RESOURCES}
    totals = {r: t.totals[r] or 0.0 for r in RESOURCES}
    host.say(audit.HypervisorView(node=host.name, free_ram_mb=totals["memory"] - used["memory"],
                                  free_disk_gb=totals["disk"] - used["disk"],
                                  free_vcpus=totals["vcpu"] - used["vcpu"], pci_devices="[]"),
             context)
    lock = yield from host.lock(COMPUTE_RESOURCES, host.owners.audit, context)
    # Under the lock the tracker counts the claims made while the audit waited.
    used = {r: t.used(r) or 0.0 for r in RESOURCES}
    host.say(audit.TotalUsableVcpus(usable=int(totals["vcpu"]), allocated=used["vcpu"]), context)
    stats = (f"{{'failed_builds': '{host.failed_builds}', "
             f"'num_instances': '{len(t.claims)}', 'io_workload': '0'}}")
    host.say(audit.FinalResourceView(
        node=host.name, phys_ram_mb=totals["memory"], used_ram_mb=used["memory"],
        phys_disk_gb=totals["disk"], used_disk_gb=used["disk"], total_vcpus=int(totals["vcpu"]),
        used_vcpus=used["vcpu"], pci_stats="[]", stats=stats), context)
    yield host.env.timeout(seconds)
    host.unlock(COMPUTE_RESOURCES, lock, context)
