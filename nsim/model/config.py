"""What is fixed about a compute host: its totals and nova.conf options that the model uses."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nsim.events.release import RELEASES, release_index

# nova/conf/compute.py and nova/conf/imagecache.py defaults.
DEFAULT_INSTANCES_PATH = "/var/lib/nova/instances"
DEFAULT_RESERVED_HOST_MEMORY_MB = 512


def default_allocation_ratios(release: str) -> dict[str, float]:
    """The allocation ratios nova applies when none is configured (nova/conf/compute.py
    `initial_*_allocation_ratio`): 16.0/1.5/1.0 for vcpu/memory/disk, 4.0/1.0/1.0 from 2023.1."""
    if release_index(release) >= release_index("2023.1"):
        return {"memory": 1.0, "disk": 1.0, "vcpu": 4.0}
    return {"memory": 1.5, "disk": 1.0, "vcpu": 16.0}


class HostConfigError(ValueError):
    """A host configuration file that cannot be used; the message names the file and field."""


class HostConfig(BaseModel):
    """Totals and options of one compute host. Totals left unset are learnt from the log."""

    model_config = ConfigDict(extra="forbid")

    node: str | None = None
    memory_mb: int | None = Field(default=None, ge=0)
    disk_gb: int | None = Field(default=None, ge=0)
    vcpus: int | None = Field(default=None, ge=0)
    reserved_host_memory_mb: int = Field(default=DEFAULT_RESERVED_HOST_MEMORY_MB, ge=0)
    reserved_host_disk_mb: int = Field(default=0, ge=0)
    reserved_host_cpus: int = Field(default=0, ge=0)
    cpu_allocation_ratio: float | None = Field(default=None, gt=0)
    ram_allocation_ratio: float | None = Field(default=None, gt=0)
    disk_allocation_ratio: float | None = Field(default=None, gt=0)
    instances_path: str | None = None
    base_dir_name: str = "_base"
    force_raw_images: bool = True
    remove_unused_original_minimum_age_seconds: int = Field(default=86400, ge=0)
    release: str | None = None

    def model_post_init(self, __context: object) -> None:
        if self.release is not None and self.release not in RELEASES:
            raise ValueError(f"release {self.release!r} is not one of {', '.join(RELEASES)}")


def load_host_config(path: str) -> HostConfig:
    """Read a TOML host configuration; HostConfigError says what is wrong and where."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HostConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise HostConfigError(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise HostConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise HostConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return HostConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors())
        raise HostConfigError(f"{path}: {problems}") from None
