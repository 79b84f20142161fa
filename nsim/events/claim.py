"""Resource claims (nova/compute/claims.py, nova/compute/resource_tracker.py).

The per-resource test lines (overhead, total/used, limit) exist through Stein
and were removed in Train (nova commit 5406c8bd9b); from Xena (nova 24) a refused claim
logs "Failed to claim: ...". Ocata and earlier do not name the node.

Before Ocata (real logs): Havana logs the claim at AUDIT level with capitalised resource names
("Total Memory: 15431 MB", "Total CPU: 4 VCPUs"); Liberty's claim line has no vcpus, whose test
the nova.compute.resources.vcpu plugin logs ("Total CPUs: 32 VCPUs"). Havana's wording is
placed up to Juno and Liberty's from Kilo to Mitaka.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from nsim.events.base import Event, Wording, by_type, number

CLAIMS = "nova.compute.claims"
RESOURCE_TRACKER = "nova.compute.resource_tracker"

ResourceType = Literal["memory", "disk", "vcpu"]
# The unit nova prints after each resource in the claim lines.
UNITS: dict[str, str] = {"memory": "MB", "disk": "GB", "vcpu": "VCPU"}
# Havana's capitalised names and units.
OLD_LABELS: dict[str, tuple[str, str]] = {"memory": ("Memory", "MB"), "disk": ("Disk", "GB"),
                                          "vcpu": ("CPU", "VCPUs")}
_RESOURCE_OF = {"memory": "memory", "disk": "disk", "vcpu": "vcpu", "Memory": "memory",
                "Disk": "disk", "CPU": "vcpu"}


class _ClaimLine(Event):
    resource: ResourceType

    def template_values(self) -> dict[str, Any]:
        label, unit = OLD_LABELS[self.resource]
        return dict(self) | {"unit": UNITS[self.resource], "Label": label, "old_unit": unit}


class Overhead(Event):
    kind: ClassVar[str] = "overhead"
    logger: ClassVar[str] = RESOURCE_TRACKER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("{label} overhead for {requested} {unit} instance; {overhead} {overhead_unit}",
                until="stein"),
    )
    resource: ResourceType
    requested: int
    overhead: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Overhead:
        resource = {"Memory": "memory", "Disk": "disk", "CPU": "vcpu"}[str(tokens[0])]
        return cls(resource=resource, requested=int(tokens[1]), overhead=int(tokens[3]))

    def template_values(self) -> dict[str, Any]:
        label, unit, overhead_unit = {
            "memory": ("Memory", "MB", "MB"), "disk": ("Disk", "GB", "GB"),
            "vcpu": ("CPU", "vCPUs", "vCPU(s)"),
        }[self.resource]
        return dict(self) | {"label": label, "unit": unit, "overhead_unit": overhead_unit}


class ClaimAttempt(Event):
    kind: ClassVar[str] = "claim_attempt"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Attempting claim: memory {memory_mb} MB, disk {disk_gb} GB, VCPUs {vcpus}",
                level="AUDIT", until="juno"),
        Wording("Attempting claim: memory {memory_mb} MB, disk {disk_gb} GB", level="INFO",
                since="kilo", until="mitaka"),
        Wording("Attempting claim: memory {memory_mb} MB, disk {disk_gb} GB, vcpus {vcpus} CPU",
                level="INFO", since="newton", until="ocata"),
        Wording("Attempting claim on node {node}: memory {memory_mb} MB, disk {disk_gb} GB, "
                "vcpus {vcpus} CPU", level="INFO", since="pike", until="stein"),
    )
    node: str | None = None
    memory_mb: int
    disk_gb: int
    vcpus: int | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimAttempt:
        t = by_type(tokens)
        numbers = [int(x) for x in t["INT"]]
        return cls(node=t.get("NODE", [None])[0], memory_mb=numbers[0], disk_gb=numbers[1],
                   vcpus=numbers[2] if len(numbers) > 2 else None)


class ClaimTotal(_ClaimLine):
    kind: ClassVar[str] = "claim_total"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Total {Label}: {total:.0f} {old_unit}, used: {used:.2f} {old_unit}",
                level="AUDIT", until="juno"),
        Wording("Total {resource}: {total:.0f} {unit}, used: {used:.2f} {unit}",
                level="INFO", since="kilo", until="stein"),
    )
    total: float
    used: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimTotal:
        return cls(resource=_RESOURCE_OF[str(tokens[0])], total=number(tokens[1]),
                   used=number(tokens[3]))


class ClaimLimitUnspecified(_ClaimLine):
    kind: ClassVar[str] = "claim_limit_unspecified"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("{Label} limit not specified, defaulting to unlimited", level="AUDIT",
                until="juno"),
        Wording("{resource} limit not specified, defaulting to unlimited",
                level="INFO", since="kilo", until="stein"),
    )

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimLimitUnspecified:
        return cls(resource=_RESOURCE_OF[str(tokens[0])])


class ClaimLimit(_ClaimLine):
    kind: ClassVar[str] = "claim_limit"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("{Label} limit: {limit:.2f} {old_unit}, free: {free:.2f} {old_unit}",
                level="AUDIT", until="juno"),
        Wording("{resource} limit: {limit:.2f} {unit}, free: {free:.2f} {unit}",
                level="INFO", since="kilo", until="stein"),
    )
    limit: float
    free: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimLimit:
        return cls(resource=_RESOURCE_OF[str(tokens[0])], limit=number(tokens[1]),
                   free=number(tokens[3]))


class ClaimVcpuTotal(Event):
    """The vcpu resource plugin's test (nova/compute/resources/vcpu.py, Kilo..Mitaka)."""

    kind: ClassVar[str] = "claim_vcpu_total"
    logger: ClassVar[str] = "nova.compute.resources.vcpu"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Total CPUs: {total:.0f} VCPUs, used: {used:.2f} VCPUs", since="kilo",
                until="mitaka"),
    )
    resource: Literal["vcpu"] = "vcpu"
    total: float
    used: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimVcpuTotal:
        return cls(total=number(tokens[0]), used=number(tokens[1]))


class ClaimVcpuLimit(Event):
    kind: ClassVar[str] = "claim_vcpu_limit"
    logger: ClassVar[str] = "nova.compute.resources.vcpu"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("CPUs limit: {limit:.2f} VCPUs, free: {free:.2f} VCPUs", since="kilo",
                until="mitaka"),
    )
    resource: Literal["vcpu"] = "vcpu"
    limit: float
    free: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimVcpuLimit:
        return cls(limit=number(tokens[0]), free=number(tokens[1]))


class ClaimSuccessful(Event):
    kind: ClassVar[str] = "claim_successful"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Claim successful", level="AUDIT", until="juno"),
        Wording("Claim successful", level="INFO", since="kilo", until="ocata"),
        Wording("Claim successful on node {node}", level="INFO", since="pike"),
    )
    node: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimSuccessful:
        return cls(node=str(tokens[0]) if tokens else None)


class ClaimFailed(Event):
    kind: ClassVar[str] = "claim_failed"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Failed to claim: {reason}", level="INFO", since="xena"),
    )
    reason: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimFailed:
        return cls(reason=str(tokens[0]))


# "Free memory 1024.00 MB < requested 2048 MB" (claims.py _test, Stein and earlier).
_SHORTAGE = re.compile(r"Free (memory|disk|vcpu) (-?\d+(?:\.\d+)?) (?:MB|GB|VCPU) < requested (\d+)")


class InsufficientResources(Event):
    """ComputeResourcesUnavailable (nova/exception.py), logged by the manager before rescheduling."""

    kind: ClassVar[str] = "insufficient_resources"
    logger: ClassVar[str] = "nova.compute.manager"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Insufficient compute resources: {reason}."),
    )
    reason: str
    resource: ResourceType | None = None
    free: float | None = None
    requested: int | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> InsufficientResources:
        reason = str(tokens[0]).removesuffix(".")
        m = _SHORTAGE.search(reason)
        if m is None:
            return cls(reason=reason)
        return cls(reason=reason, resource=m.group(1), free=float(m.group(2)),
                   requested=int(m.group(3)))


class ClaimAborting(Event):
    """Claim.abort (claims.py): the claim is given back after a failed build."""

    kind: ClassVar[str] = "claim_aborting"
    logger: ClassVar[str] = CLAIMS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Aborting claim: [Claim: {memory_mb} MB memory, {disk_gb} GB disk]"),
    )
    memory_mb: int
    disk_gb: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ClaimAborting:
        return cls(memory_mb=int(tokens[0]), disk_gb=int(tokens[1]))


class AllocationDeleted(Event):
    """The placement allocation of an instance removed (nova/scheduler/client/report.py)."""

    kind: ClassVar[str] = "allocation_deleted"
    logger: ClassVar[str] = "nova.scheduler.client.report"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Deleted allocation for instance {instance_uuid}", level="INFO"),
    )
    instance_uuid: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> AllocationDeleted:
        return cls(instance_uuid=str(tokens[0]))


class NumaNote(Event):
    kind: ClassVar[str] = "numa_note"
    logger: ClassVar[str] = "nova.virt.hardware"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Require both a host and instance NUMA topology to fit instance on host."),
    )
