"""A simulation scenario: hosts, images, flavors, boot and delete requests, durations, faults.

Scenarios are TOML files validated by pydantic; `load_scenario` names the file and the
field of every problem (`seed.toml: hosts.0.release: ...`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import tomli_w
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from nsim.errors import NsimError
from nsim.model.config import DEFAULT_INSTANCES_PATH, HostConfig
from nsim.nova.flavor import Flavor
from nsim.nova.names import UUID_PATTERN, is_uuid
from nsim.nova.releases import runs_python3
from nsim.sim.durations import MAX_SECONDS, Distribution, DurationModel
from nsim.tomlfile import read_toml, validate

FaultKind = Literal["image_download", "insufficient_resources", "spawn", "network"]
MAX_START_YEAR = 9000
"""Latest year a scenario may start in: its stamps stay far from datetime's year 9999."""
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS)]
"""A time offset or interval of the scenario: at most MAX_SECONDS (about 10 years)."""
MAX_HOSTS = 10_000
"""Hosts a scenario may have (all `count`s together)."""
MAX_BOOTS = 100_000
"""Boots a scenario may request (all `count`s together): 10,000 take about half a minute."""
MAX_AUDITS = 10_000_000
"""Resource audits the hosts may run while the requests last (hosts x span / interval)."""


def _instance_uuid(value: str) -> str:
    if not is_uuid(value):
        raise ValueError(f"{value!r} is not an instance uuid: nova's are lower-case canonical "
                         "UUIDs like 86f71e87-4ae2-48fb-9bcd-c72e3c28e093")
    return value


InstanceUuid = Annotated[str, AfterValidator(_instance_uuid)]


class ScenarioError(NsimError, ValueError):
    """A scenario that cannot be used; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HostSpec(HostConfig):
    """One compute host (or `count` identical ones named NAME-1 .. NAME-count): the host
    model's configuration (nsim.model.config.HostConfig, with a devstack VM's totals as
    defaults) and how the simulated service runs and logs."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    count: int = Field(default=1, ge=1, le=MAX_HOSTS)
    release: str = "2025.2"
    format: Literal["journal", "oslo"] = "journal"
    log_level: Literal["DEBUG", "INFO"] = "DEBUG"
    """nova's [DEFAULT]debug: DEBUG writes every line, INFO (production) none of the DEBUG ones."""
    memory_mb: int = Field(default=7983, gt=0)
    disk_gb: int = Field(default=47, gt=0)
    vcpus: int = Field(default=4, gt=0)
    instances_path: str = DEFAULT_INSTANCES_PATH
    scheduler_limits: bool = False
    """Stein and earlier: the scheduler passes memory/disk/vcpu limits to the claim."""
    audit_interval: Seconds = 60.0
    """Seconds between resource audits (update_available_resource); 0 = none."""
    vif: Literal["bridge", "ovs"] = "ovs"
    pid: int | None = Field(default=None, gt=0)

    @field_validator("instances_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or value != value.rstrip("/") or " " in value:
            raise ValueError("must be an absolute path without a trailing slash or spaces")
        return value

    def names(self) -> list[str]:
        return [self.name] if self.count == 1 else [f"{self.name}-{i}" for i in range(1, self.count + 1)]

    def config(self, name: str) -> HostConfig:
        """The host model's configuration for one host of this entry."""
        return HostConfig(**{k: getattr(self, k) for k in HostConfig.model_fields}
                          | {"node": name})

    @property
    def python3(self) -> bool:
        """Whether this host's nova runs under Python 3 (lock owners, reprs, tracebacks)."""
        return runs_python3(self.release)


class ImageSpec(_Strict):
    id: str = Field(pattern=UUID_PATTERN)
    name: str = "cirros-0.6.2-x86_64-disk"
    disk_format: Literal["qcow2", "raw", "vmdk", "vdi", "vhd", "vhdx"] = "qcow2"
    size_bytes: int = Field(default=21430272, gt=0)

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 2**20


class FlavorSpec(_Strict):
    """A scenario's flavor (its disk is the flavor's root disk)."""

    name: str = Field(min_length=1)
    memory_mb: int = Field(gt=0)
    disk_gb: int = Field(ge=0)
    vcpus: int = Field(gt=0)

    @classmethod
    def of(cls, flavor: Flavor) -> FlavorSpec:
        return cls(name=flavor.name, memory_mb=flavor.memory_mb, disk_gb=flavor.root_gb,
                   vcpus=flavor.vcpus)

    def nova(self) -> Flavor:
        """nova's flavor of these sizes."""
        return Flavor(self.name, self.memory_mb, self.disk_gb, self.vcpus)


class BootRequest(_Strict):
    """`count` boots of one flavor and image, the first at `at` seconds, then every `interval`."""

    at: Seconds = 0.0
    flavor: str
    image: str
    count: int = Field(default=1, ge=1, le=MAX_BOOTS)
    interval: Seconds = 0.0
    host: str | None = None
    name: str = "vm"
    """Display name; several boots are named NAME-1, NAME-2, ... (nova's multi-create)."""
    uuids: list[InstanceUuid] = []
    """Instance uuids of the first boots (lower-case canonical form); the rest are drawn."""
    lifetime: Distribution | None = None
    """Delete each instance this long after it became active."""

    @model_validator(mode="after")
    def _uuids(self) -> BootRequest:
        if len(self.uuids) > self.count:
            raise ValueError(f"{len(self.uuids)} uuids for {self.count} boots")
        last = self.at + (self.count - 1) * self.interval
        if last > MAX_SECONDS:
            raise ValueError(f"the last boot would come {last:g} s in; at most {MAX_SECONDS:g} s "
                             "(about 10 years) after the start")
        return self


class DeleteRequest(_Strict):
    """Delete the `count` oldest active instances (on `host`, when given) at `at` seconds."""

    at: Seconds
    count: int = Field(default=1, ge=1, le=MAX_BOOTS)
    host: str | None = None


class FaultSpec(_Strict):
    """A fault injected into boots: each boot (on `host`, when given) with `probability`,
    and the boots numbered in `boots` (1-based, in request order)."""

    kind: FaultKind
    probability: float = Field(default=0.0, ge=0, le=1)
    boots: list[int] = []
    host: str | None = None


class Scenario(_Strict):
    """Everything `nsim simulate` needs."""

    name: str = "scenario"
    seed: int = 0
    start: datetime = datetime(2025, 1, 6, 9, 0, 0)
    user: str = "admin"
    project: str = "admin"
    max_attempts: int = Field(default=3, ge=1, le=100)
    """Hosts a boot may try (nova's [scheduler]max_attempts); 1 = no re-scheduling."""
    hosts: list[HostSpec] = Field(min_length=1)
    images: list[ImageSpec] = Field(min_length=1)
    flavors: list[FlavorSpec] = Field(min_length=1)
    boots: list[BootRequest] = []
    deletes: list[DeleteRequest] = []
    durations: DurationModel = DurationModel()
    faults: list[FaultSpec] = []

    @field_validator("start")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.year > MAX_START_YEAR:
            raise ValueError(f"year {value.year} is too late; start in {MAX_START_YEAR} or before")
        return value.replace(tzinfo=None)

    @model_validator(mode="after")
    def _size(self) -> Scenario:
        hosts = sum(h.count for h in self.hosts)
        if hosts > MAX_HOSTS:
            raise ValueError(f"hosts: {hosts} hosts; at most {MAX_HOSTS} in one scenario")
        boots = sum(b.count for b in self.boots)
        if boots > MAX_BOOTS:
            raise ValueError(f"boots: {boots} boots; at most {MAX_BOOTS} in one scenario "
                             "(split it: each scenario's trace can be simulated on its own)")
        span = max([b.at + (b.count - 1) * b.interval for b in self.boots]
                   + [d.at for d in self.deletes] + [0.0])
        audits = sum(h.count * span / h.audit_interval for h in self.hosts if h.audit_interval)
        if audits > MAX_AUDITS:
            raise ValueError(f"hosts: about {audits:.3g} resource audits over {span:g} s of "
                             f"requests; at most {MAX_AUDITS}: give a longer audit_interval "
                             "(0 = none), fewer hosts or a shorter span")
        return self

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        hosts = [n for h in self.hosts for n in h.names()]
        if len(set(hosts)) != len(hosts):
            raise ValueError("host names must be unique")
        if any(h.format == "oslo" for h in self.hosts):
            for i, host in enumerate(self.hosts):
                if "." in host.name:
                    raise ValueError(
                        f"hosts.{i}.name: {host.name!r} has a '.', which oslo.log output cannot "
                        "keep (a host's file is <host>.log and replay names an oslo.log host by "
                        "its file name up to the first '.'); use '-' or '_'")
        flavors = {f.name for f in self.flavors}
        images = {i.id for i in self.images} | {i.name for i in self.images}
        for i, boot in enumerate(self.boots):
            if boot.flavor not in flavors:
                raise ValueError(f"boots.{i}.flavor: no flavor named {boot.flavor!r}")
            if boot.image not in images:
                raise ValueError(f"boots.{i}.image: no image with id or name {boot.image!r}")
            if boot.host is not None and boot.host not in hosts:
                raise ValueError(f"boots.{i}.host: no host named {boot.host!r}")
        for i, fault in enumerate(self.faults):
            if fault.host is not None and fault.host not in hosts:
                raise ValueError(f"faults.{i}.host: no host named {fault.host!r}")
        for i, delete in enumerate(self.deletes):
            if delete.host is not None and delete.host not in hosts:
                raise ValueError(f"deletes.{i}.host: no host named {delete.host!r}")
        uuids = [u for b in self.boots for u in b.uuids]
        if len(set(uuids)) != len(uuids):
            raise ValueError("boots: instance uuids must be unique")
        return self

    def image(self, key: str) -> ImageSpec:
        return next(i for i in self.images if key in (i.id, i.name))

    def flavor(self, name: str) -> FlavorSpec:
        return next(f for f in self.flavors if f.name == name)


def parse_scenario(data: dict[str, object], source: str = "scenario") -> Scenario:
    """Validate a scenario table; ScenarioError names `source` and each bad field."""
    return validate(Scenario, data, source, ScenarioError, whole="scenario")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file."""
    return parse_scenario(read_toml(path, ScenarioError), str(path))


def _plain(value: object) -> object:
    """Distributions as written by hand: a fixed one as its number, others without zeros."""
    if isinstance(value, dict):
        if value.get("dist") == "fixed" and set(value) <= {"dist", "mean", "sd", "low", "high"}:
            return value["mean"]
        if "dist" in value:
            return {k: v for k, v in value.items() if v != 0.0}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as TOML that `load_scenario` reads back to the same scenario."""
    return tomli_w.dumps(_plain(scenario.model_dump(exclude_none=True)))  # type: ignore[arg-type]
