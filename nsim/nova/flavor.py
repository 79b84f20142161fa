"""Flavors: what an instance is sized with (nova/objects/flavor.py fields nsim uses), and the
flavors a fresh deployment has (nova's classic m1.* and devstack's m1.nano / m1.micro)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flavor:
    name: str
    memory_mb: int
    root_gb: int
    vcpus: int
    ephemeral_gb: int = 0
    swap_mb: int = 0


FLAVORS: dict[str, Flavor] = {f.name: f for f in (
    Flavor("m1.nano", 128, 1, 1), Flavor("m1.micro", 192, 1, 1), Flavor("m1.tiny", 512, 1, 1),
    Flavor("m1.small", 2048, 20, 1), Flavor("m1.medium", 4096, 40, 2),
    Flavor("m1.large", 8192, 80, 4), Flavor("m1.xlarge", 16384, 160, 8),
)}
