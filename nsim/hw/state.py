"""What the hardware mode remembers between commands: its instances and the host's totals.

One JSON file per instance in workdir/state/ (written atomically), a counter for nova's
`instance-%08x` domain names, and the host model's configuration: totals measured on this
machine (or given with --host-config) and nova's defaults for 2025.2 (reserved 512 MB,
allocation ratios 4.0 CPU / 1.0 RAM / 1.0 disk since 2023.1).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nsim.hw.workdir import Workdir, validate_uuid
from nsim.model.claims import Claim
from nsim.model.config import HostConfig
from nsim.model.resource_tracker import ResourceTracker

INITIAL_RATIOS = {"cpu_allocation_ratio": 4.0, "ram_allocation_ratio": 1.0,
                  "disk_allocation_ratio": 1.0}


def machine_totals(instances_path: Path) -> dict[str, int]:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
                break
    return {"memory_mb": mem_kb // 1024,
            "disk_gb": shutil.disk_usage(instances_path).total >> 30,
            "vcpus": os.cpu_count() or 1}


def host_config(workdir: Workdir, node: str, given: HostConfig | None = None) -> HostConfig:
    """The host model's config: `given` (from --host-config) completed with this machine."""
    data: dict[str, Any] = given.model_dump() if given is not None else {}
    for key, value in machine_totals(workdir.instances_path).items():
        if data.get(key) is None:
            data[key] = value
    for key, value in INITIAL_RATIOS.items():
        if data.get(key) is None:
            data[key] = value
    data["node"] = data.get("node") or node
    data["instances_path"] = str(workdir.instances_path)
    return HostConfig.model_validate(data)


class InstanceStore:
    """workdir/state/<uuid>.json for each instance hw created and has not deleted."""

    def __init__(self, workdir: Workdir) -> None:
        self.workdir = workdir

    def _path(self, uuid: str) -> Path:
        return self.workdir.path("state", f"{validate_uuid(uuid, 'instance uuid')}.json")

    def save(self, record: dict[str, Any]) -> None:
        path = self._path(record["uuid"])
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        tmp.replace(path)

    def load(self, uuid: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(uuid).read_text())
        except (OSError, ValueError):
            return None

    def remove(self, uuid: str) -> None:
        self._path(uuid).unlink(missing_ok=True)

    def all(self) -> list[dict[str, Any]]:
        out = []
        if self.workdir.state_dir.is_dir():
            for p in sorted(self.workdir.state_dir.glob("*.json")):
                try:
                    validate_uuid(p.stem)
                    out.append(json.loads(p.read_text()))
                except Exception:  # skip what is not ours
                    continue
        return out

    def tracker(self, config: HostConfig, exclude: str | None = None) -> ResourceTracker:
        """nsim.model's resource tracker with every live instance's claim applied."""
        tracker = ResourceTracker(config)
        for rec in self.all():
            if rec["uuid"] == exclude or rec.get("status") not in ("building", "active"):
                continue
            f = rec["flavor"]
            tracker.instance_claim(rec["uuid"], Claim(f["memory_mb"], f["root_gb"], f["vcpus"]))
        return tracker

    @contextmanager
    def _counter(self) -> Iterator[Path]:
        path = self.workdir.path("state", "instance-counter")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def next_instance_id(self, taken: Any) -> int:
        """The next nova instance id whose `instance-%08x` name `taken(name)` says is free."""
        with self._counter() as path:
            try:
                n = int(path.read_text().strip() or 0)
            except ValueError:
                n = 0
            while True:
                n += 1
                if not taken(f"instance-{n:08x}"):
                    break
            path.write_text(str(n))
            return n
