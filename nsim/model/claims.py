"""A claim of memory, disk and vCPUs for one instance, and nova's fit test.

Through Stein (nova/compute/claims.py `_test`) a claim fits when, for each
resource with a limit, requested <= limit - used; without a limit it always fits.
From Train the test moved to placement and only the outcome is logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsim.events.claim import UNITS

RESOURCES = ("memory", "disk", "vcpu")
_FIELDS = {"memory": "memory_mb", "disk": "disk_gb", "vcpu": "vcpus"}
"""A claim's field for each resource."""


def claimed_disk(root_gb: int, ephemeral_gb: int) -> int:
    """A claim's disk: the flavor's root plus ephemeral (nova/compute/claims.py
    `Claim.disk_gb`, Ocata to Stein)."""
    return root_gb + ephemeral_gb


@dataclass(frozen=True)
class Claim:
    """Resources held for an instance; a size the log never stated is None."""

    memory_mb: int | None
    disk_gb: int | None
    vcpus: int | None

    @classmethod
    def for_flavor(cls, memory_mb: int, root_gb: int, ephemeral_gb: int, vcpus: int) -> Claim:
        """What instance_claim holds for a flavor."""
        return cls(memory_mb, claimed_disk(root_gb, ephemeral_gb), vcpus)

    def amount(self, resource: str) -> int | None:
        return getattr(self, _FIELDS[resource])

    @property
    def sized(self) -> bool:
        return None not in (self.memory_mb, self.disk_gb, self.vcpus)


def shortage(resource: str, requested: float, used: float, limit: float | None) -> str | None:
    """nova's reason text when `requested` does not fit under `limit`, else None."""
    if limit is None:
        return None
    free = limit - used
    if requested > free:
        return f"Free {resource} {free:.2f} {UNITS[resource]} < requested {requested:g} {UNITS[resource]}"
    return None
