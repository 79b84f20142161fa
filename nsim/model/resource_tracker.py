"""The resource tracker of one node (nova/compute/resource_tracker.py).

Usage starts at the reserved amounts (`reserved_host_memory_mb`, default 512;
`reserved_host_disk_mb`/1024; `reserved_host_cpus`) and grows by each live claim.
Usage seen in a log before any claim of the window is the baseline: reserved plus
instances booted before the window.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsim.model.claims import RESOURCES, Claim, shortage
from nsim.model.config import HostConfig


@dataclass(frozen=True)
class ResourceView:
    """What `Final resource view` reports: totals and usage of the node."""

    phys_ram_mb: float | None
    used_ram_mb: float | None
    phys_disk_gb: float | None
    used_disk_gb: float | None
    total_vcpus: float | None
    used_vcpus: float | None


class ResourceTracker:
    """Totals, baseline usage and live claims of one node."""

    def __init__(self, config: HostConfig) -> None:
        self.totals: dict[str, float | None] = {
            "memory": config.memory_mb, "disk": config.disk_gb, "vcpu": config.vcpus}
        self.baseline: dict[str, float] = {
            "memory": config.reserved_host_memory_mb,
            "disk": config.reserved_host_disk_mb / 1024,
            "vcpu": config.reserved_host_cpus,
        }
        self.baseline_known: dict[str, bool] = dict.fromkeys(RESOURCES, False)
        self.ratios: dict[str, float | None] = {
            "memory": config.ram_allocation_ratio, "disk": config.disk_allocation_ratio,
            "vcpu": config.cpu_allocation_ratio}
        self.claims: dict[str, Claim] = {}
        # Running sums of the live claims, and how many of them state no size.
        self._claimed: dict[str, float] = dict.fromkeys(RESOURCES, 0.0)
        self._unsized = 0

    def used(self, resource: str) -> float | None:
        """Baseline plus live claims; None when a live claim's size was never stated."""
        if self._unsized:
            return None
        return self.baseline[resource] + self._claimed[resource]

    def claimed(self, resource: str) -> float | None:
        """The live claims alone (without the baseline)."""
        used = self.used(resource)
        return None if used is None else used - self.baseline[resource]

    def limit(self, resource: str) -> float | None:
        """total x allocation ratio, when both are known (Stein-era claim limits)."""
        total, ratio = self.totals[resource], self.ratios[resource]
        return None if total is None or ratio is None else total * ratio

    def test(self, claim: Claim, limits: dict[str, float | None]) -> list[str]:
        """nova's reasons why `claim` does not fit under `limits` (empty when it fits)."""
        reasons = []
        for resource in RESOURCES:
            requested, used = claim.amount(resource), self.used(resource)
            if requested is None or used is None:
                continue
            reason = shortage(resource, requested, used, limits.get(resource))
            if reason:
                reasons.append(reason)
        return reasons

    def _count(self, claim: Claim, sign: int) -> None:
        if not claim.sized:
            self._unsized += sign
            return
        for resource in RESOURCES:
            self._claimed[resource] += sign * (claim.amount(resource) or 0)

    def instance_claim(self, uuid: str, claim: Claim) -> None:
        """Hold `claim` for the instance (replacing an earlier one)."""
        self.drop_claim(uuid)
        self.claims[uuid] = claim
        self._count(claim, +1)

    def drop_claim(self, uuid: str) -> Claim | None:
        """Abort or release the instance's claim; the claim, or None if there was none."""
        claim = self.claims.pop(uuid, None)
        if claim is not None:
            self._count(claim, -1)
        return claim

    def view(self) -> ResourceView:
        return ResourceView(
            phys_ram_mb=self.totals["memory"], used_ram_mb=self.used("memory"),
            phys_disk_gb=self.totals["disk"], used_disk_gb=self.used("disk"),
            total_vcpus=self.totals["vcpu"], used_vcpus=self.used("vcpu"))
