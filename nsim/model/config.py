"""What is fixed about a compute host: its totals and nova.conf options that the model uses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nsim.errors import NsimError
from nsim.nova.releases import at_least, known_release
from nsim.tomlfile import read_toml, validate

# nova/conf/compute.py and nova/conf/imagecache.py defaults.
DEFAULT_INSTANCES_PATH = "/var/lib/nova/instances"
DEFAULT_RESERVED_HOST_MEMORY_MB = 512


def default_allocation_ratios(release: str) -> dict[str, float]:
    """The allocation ratios nova applies when none is configured (nova/conf/compute.py
    `initial_*_allocation_ratio`): 16.0/1.5/1.0 for vcpu/memory/disk, 4.0/1.0/1.0 from 2023.1."""
    if at_least(release, "2023.1"):
        return {"memory": 1.0, "disk": 1.0, "vcpu": 4.0}
    return {"memory": 1.5, "disk": 1.0, "vcpu": 16.0}


class HostConfigError(NsimError, ValueError):
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

    @field_validator("release")
    @classmethod
    def _release(cls, value: str | None) -> str | None:
        return value if value is None else known_release(value)


def load_host_config(path: str) -> HostConfig:
    """Read a TOML host configuration; HostConfigError says what is wrong and where."""
    return validate(HostConfig, read_toml(path, HostConfigError), str(path), HostConfigError)
