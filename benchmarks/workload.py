"""The benchmarks' workload: a host (or several) booting two images, every instance deleted
later, as one scenario whatever the release and size."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nsim.sim.scenario import Scenario, parse_scenario

NSIM = str(Path(sys.executable).with_name("nsim"))
"""The `nsim` command of the running interpreter's environment."""


def check_exit(cmd: Sequence[str], code: int) -> None:
    """Stop the benchmark when a command failed (replay exits 1 on violations: not a failure)."""
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {code}")


def busy_scenario(boots: int, host: dict[str, Any], start: str) -> Scenario:
    """`boots` instances of cirros (m1.tiny) and ubuntu (m1.small), half each, every 0.5 s,
    each deleted 20-60 s after its boot, on the host entry `host`."""
    lifetime = {"dist": "uniform", "low": 20, "high": 60}
    return parse_scenario({
        "seed": 3, "start": start, "hosts": [{"name": "compute", "audit_interval": 60, **host}],
        "images": [{"id": "3b2f0c7e-9d4a-4e61-8c1b-5a7f2e9d0c14", "name": "cirros",
                    "size_bytes": 21430272},
                   {"id": "8e6a1d25-4b7c-4f0e-9a3d-2c5b7e1f9a60", "name": "ubuntu",
                    "size_bytes": 593494016}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1},
                    {"name": "m1.small", "memory_mb": 2048, "disk_gb": 20, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": boots // 2, "interval": 0.5,
                   "lifetime": lifetime},
                  {"flavor": "m1.small", "image": "ubuntu", "count": boots - boots // 2,
                   "interval": 0.5, "lifetime": lifetime}],
    })
