"""The resource tracker's periodic audit (nova/compute/resource_tracker.py) and power sync.

`Final resource view` was INFO through Rocky and DEBUG from Stein (nova commit
e542e512a9); ` stats=...` was appended in 32.0.0 (2025.2). The audit line named
only the node until Newton, and nothing in Havana, which logged the free resources at AUDIT
level ("Free ram (MB): N"); Havana's wordings are placed up to Juno.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from nsim.events.base import Event, PlainNumbers, Wording, by_type, number

RESOURCE_TRACKER = "nova.compute.resource_tracker"
_HOST_NODE = re.compile(r"(\S+) \(node: (\S+)\)$")


class ResourceAudit(Event):
    kind: ClassVar[str] = "resource_audit"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Auditing locally available compute resources", level="AUDIT", until="juno"),
        Wording("Auditing locally available compute resources for node {node}", level="INFO",
                since="kilo", until="newton"),
        Wording("Auditing locally available compute resources for {host} (node: {node})",
                since="ocata"),
    )
    node: str | None = None
    host: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ResourceAudit:
        if not tokens:
            return cls()
        target = str(tokens[0])
        m = _HOST_NODE.match(target)
        if m:
            return cls(host=m.group(1), node=m.group(2))
        return cls(node=target.removeprefix("node "))


class HypervisorView(PlainNumbers):
    kind: ClassVar[str] = "hypervisor_view"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Hypervisor/Node resource view: name={node} free_ram={free_ram_mb}MB "
                "free_disk={free_disk_gb}GB free_vcpus={free_vcpus} pci_devices={pci_devices}"),
    )
    node: str
    free_ram_mb: float
    free_disk_gb: float
    free_vcpus: float
    pci_devices: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> HypervisorView:
        t = by_type(tokens)
        ram, disk, vcpus = (float(x) for x in t["NUMBER"])
        return cls(node=t["WORD"][0], free_ram_mb=ram, free_disk_gb=disk, free_vcpus=vcpus,
                   pci_devices=t["REST"][0])


class TotalUsableVcpus(PlainNumbers):
    kind: ClassVar[str] = "total_usable_vcpus"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Total usable vcpus: {usable}, total allocated vcpus: {allocated}"),
    )
    usable: int
    allocated: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> TotalUsableVcpus:
        return cls(usable=int(tokens[0]), allocated=number(tokens[1]))


_FINAL_VIEW = ("Final resource view: name={node} phys_ram={phys_ram_mb}MB used_ram={used_ram_mb}MB "
               "phys_disk={phys_disk_gb}GB used_disk={used_disk_gb}GB total_vcpus={total_vcpus} "
               "used_vcpus={used_vcpus} pci_stats={pci_stats}")


class FinalResourceView(PlainNumbers):
    kind: ClassVar[str] = "final_resource_view"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording(_FINAL_VIEW, level="INFO", until="rocky"),
        Wording(_FINAL_VIEW, since="stein", until="2025.1"),
        Wording(_FINAL_VIEW + " stats={stats}", since="2025.2"),
    )
    node: str
    phys_ram_mb: float
    used_ram_mb: float
    phys_disk_gb: float
    used_disk_gb: float
    total_vcpus: int
    used_vcpus: float
    pci_stats: str
    stats: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> FinalResourceView:
        t = by_type(tokens)
        ram, used_ram, disk, used_disk, used_vcpus = (float(x) for x in t["NUMBER"])
        pci, _, stats = t["REST"][0].partition(" stats=")
        return cls(node=t["WORD"][0], phys_ram_mb=ram, used_ram_mb=used_ram, phys_disk_gb=disk,
                   used_disk_gb=used_disk, total_vcpus=int(t["INT"][0]), used_vcpus=used_vcpus,
                   pci_stats=pci, stats=stats or None)


class PowerSyncMismatch(Event):
    kind: ClassVar[str] = "power_sync_mismatch"
    logger: ClassVar[str] = "nova.compute.manager"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Found {db_instances} in the database and {hypervisor_instances} on the "
                "hypervisor.", level="WARNING", until="juno"),
        Wording("While synchronizing instance power states, found {db_instances} instances in "
                "the database and {hypervisor_instances} instances on the hypervisor.",
                level="WARNING", since="kilo"),
    )
    db_instances: int
    hypervisor_instances: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> PowerSyncMismatch:
        return cls(db_instances=int(tokens[0]), hypervisor_instances=int(tokens[1]))


# Havana's names of the free resources (_report_final_resource_view).
_FREE_LABELS = {"memory": "ram (MB)", "disk": "disk (GB)", "vcpu": "VCPUS"}
_FREE_RESOURCE = {label: resource for resource, label in _FREE_LABELS.items()}


class FreeResource(PlainNumbers):
    """Havana's audit: free RAM, disk or vcpus after the usage of the tracked instances (can be
    negative when over-committed)."""

    kind: ClassVar[str] = "free_resource"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Free {label}: {free}", level="AUDIT", until="juno"),
    )
    resource: Literal["memory", "disk", "vcpu"]
    free: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> FreeResource:
        return cls(resource=_FREE_RESOURCE[str(tokens[0])], free=number(tokens[1]))

    def template_values(self) -> dict[str, Any]:
        return super().template_values() | {"label": _FREE_LABELS[self.resource]}


class ComputeRecordUpdated(Event):
    """The audit saved the compute node (_update_available_resource)."""

    kind: ClassVar[str] = "compute_record_updated"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Compute_service record updated for {host}:{node}", level="INFO",
                until="newton"),
        Wording("Compute_service record updated for {host}:{node}", since="ocata"),
    )
    host: str
    node: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ComputeRecordUpdated:
        host, _, node = str(tokens[0]).partition(":")
        return cls(host=host, node=node)


class ComputeRecordCreated(Event):
    """The first audit of a new compute node (_init_compute_node)."""

    kind: ClassVar[str] = "compute_record_created"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Compute_service record created for {host}:{node}", level="INFO",
                until="ocata"),
        Wording("Compute node record created for {host}:{node} with uuid: {uuid}",
                level="INFO", since="pike"),
    )
    host: str
    node: str
    uuid: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ComputeRecordCreated:
        t = by_type(tokens)
        host, _, node = t["HOST_NODE"][0].partition(":")
        return cls(host=host, node=node, uuid=t.get("UUID", [None])[0])
