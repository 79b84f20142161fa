"""The resource tracker's periodic audit (nova/compute/resource_tracker.py) and power sync.

`Final resource view` was INFO through Rocky and DEBUG from Stein (nova commit
e542e512a9); ` stats=...` was appended in 32.0.0 (2025.2). The audit line named
only the node until Newton.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from nsim.events.base import Event, PlainNumbers, Wording, by_type, number

RESOURCE_TRACKER = "nova.compute.resource_tracker"
_HOST_NODE = re.compile(r"(\S+) \(node: (\S+)\)$")


class ResourceAudit(Event):
    kind: ClassVar[str] = "resource_audit"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Auditing locally available compute resources for node {node}", level="INFO",
                until="newton"),
        Wording("Auditing locally available compute resources for {host} (node: {node})",
                since="ocata"),
    )
    node: str
    host: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ResourceAudit:
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
        Wording("While synchronizing instance power states, found {db_instances} instances in "
                "the database and {hypervisor_instances} instances on the hypervisor.",
                level="WARNING"),
    )
    db_instances: int
    hypervisor_instances: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> PowerSyncMismatch:
        return cls(db_instances=int(tokens[0]), hypervisor_instances=int(tokens[1]))
