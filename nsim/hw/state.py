"""What the hardware mode remembers between commands: its instances and the host's totals.

One JSON file per instance in workdir/state/ (written atomically, read without following a
symlink, validated by `InstanceRecord`: a bad record is reported and skipped), a counter for
nova's `instance-%08x` domain names, the checksum of each base file nsim made
(state/cache/<sha1>.json), and the host model's configuration: totals measured on this
machine (or given with --host-config) and nova's defaults for 2025.2 (reserved 512 MB,
allocation ratios 4.0 CPU / 1.0 RAM / 1.0 disk since 2023.1).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nsim.hw import safefs
from nsim.hw.errors import HwError
from nsim.hw.workdir import Workdir, validate_name, validate_uuid
from nsim.model.claims import Claim
from nsim.model.config import HostConfig
from nsim.model.resource_tracker import ResourceTracker
from nsim.nova.names import UUID_PATTERN

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


_PLAIN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$"
MAX_RECORD_BYTES = 64 << 10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlavorRecord(_Strict):
    name: str
    memory_mb: int = Field(gt=0, le=1 << 24)
    root_gb: int = Field(ge=0, le=1 << 20)
    ephemeral_gb: int = Field(default=0, ge=0, le=1 << 20)
    vcpus: int = Field(gt=0, le=4096)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        validate_name(v, "flavor name")
        return v


class VifRecord(_Strict):
    port_id: str = Field(pattern=UUID_PATTERN)
    mac: str = Field(pattern=r"^fa:16:3e(:[0-9a-f]{2}){3}$")
    bridge: str = Field(pattern=r"^brq[0-9a-f-]{11}$")
    devname: str = Field(pattern=r"^tap[0-9a-f-]{11}$")
    network_id: str = Field(pattern=UUID_PATTERN)
    address: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}$")
    cidr: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    mtu: int = Field(ge=68, le=65535)


class InstanceRecord(_Strict):
    """What `nsim hw boot` remembers of one instance; anything else in a record is refused."""

    uuid: str = Field(pattern=UUID_PATTERN)
    status: Literal["building", "active"]
    image_id: str = Field(pattern=UUID_PATTERN)
    flavor: FlavorRecord
    created: str = Field(pattern=r"^[0-9T:.+-]{10,40}$")
    trace: str | None = None
    """The trace file, relative to the work directory (None: the boot's -o was outside it)."""
    fmt: Literal["journal", "oslo"]
    node: str = Field(pattern=_PLAIN)
    domain: str | None = Field(default=None, pattern=r"^instance-[0-9a-f]{8}$")
    vifs: list[VifRecord] = Field(default_factory=list, max_length=8)

    @field_validator("trace")
    @classmethod
    def _relative(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if (not re.fullmatch(r"[A-Za-z0-9._/-]{1,255}", v) or v.startswith("/")
                or ".." in Path(v).parts):
            raise ValueError("trace must be a plain path inside the work directory")
        return v

    def trace_path(self, workdir: Workdir) -> Path:
        """The trace to append to: the recorded one (inside the work dir) or the default."""
        if self.trace is None:
            return workdir.default_trace(self.fmt)
        return workdir.path(*Path(self.trace).parts)


def record_trace(workdir: Workdir, trace: Path | None) -> str | None:
    """How a record names a trace: relative to the work directory, or None when outside."""
    if trace is None:
        return None
    try:
        return str(trace.resolve().relative_to(workdir.root))
    except ValueError:
        return None


class InstanceStore:
    """workdir/state/<uuid>.json for each instance hw created and has not deleted."""

    def __init__(self, workdir: Workdir) -> None:
        self.workdir = workdir

    def _path(self, uuid: str) -> Path:
        return self.workdir.path("state", f"{validate_uuid(uuid, 'instance uuid')}.json")

    def save(self, record: dict[str, Any]) -> None:
        """Validate and write atomically (a symlink in the way is replaced, never followed)."""
        rec = InstanceRecord.model_validate(record)
        path = self._path(rec.uuid)
        with self.workdir.dir_fd("state", create=True) as dfd:
            safefs.write_atomic(dfd, path.name, rec.model_dump_json(indent=2).encode(), path,
                                0o600)

    def _read(self, dfd: int, name: str) -> InstanceRecord:
        shown = self.workdir.state_dir / name
        fd = safefs.open_regular(dfd, name, shown)
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_RECORD_BYTES + 1)
        if len(data) > MAX_RECORD_BYTES:
            raise ValueError(f"larger than {MAX_RECORD_BYTES} bytes")
        rec = InstanceRecord.model_validate_json(data)
        if f"{rec.uuid}.json" != name:
            raise ValueError(f"names instance {rec.uuid}, not the file's")
        return rec

    def load(self, uuid: str) -> InstanceRecord | None:
        """The instance's record, or None when there is none or it is not valid."""
        name = self._path(uuid).name
        try:
            with self.workdir.dir_fd("state") as dfd:
                return self._read(dfd, name)
        except (OSError, ValueError, HwError):
            return None

    def remove(self, uuid: str) -> None:
        name = self._path(uuid).name
        with suppress(FileNotFoundError), self.workdir.dir_fd("state") as dfd:
            st = safefs.lstat_at(dfd, name)
            if st is not None:
                os.unlink(name, dir_fd=dfd)

    def scan(self) -> tuple[list[InstanceRecord], list[str]]:
        """Every valid record, and one line per state file that is not (named, then why)."""
        records, problems = [], []
        try:
            with self.workdir.dir_fd("state") as dfd:
                names = sorted(n for n in os.listdir(dfd) if n.endswith(".json"))
                for name in names:
                    try:
                        records.append(self._read(dfd, name))
                    except ValidationError as exc:
                        err = exc.errors()[0]
                        where = ".".join(str(x) for x in err["loc"]) or "record"
                        problems.append(f"{self.workdir.state_dir / name}: skipped, invalid "
                                        f"record ({where}: {err['msg']})")
                    except (OSError, ValueError, HwError) as exc:
                        problems.append(f"{self.workdir.state_dir / name}: skipped, {exc}")
        except FileNotFoundError:
            pass
        return records, problems

    def all(self) -> list[InstanceRecord]:
        return self.scan()[0]

    def tracker(self, config: HostConfig, exclude: str | None = None) -> ResourceTracker:
        """nsim.model's resource tracker with every live instance's claim applied. hw knows
        every instance of its host (its records), so the baseline is the reserved amounts."""
        tracker = ResourceTracker(config)
        tracker.baseline_known = dict.fromkeys(tracker.baseline_known, True)
        for rec in self.all():
            if rec.uuid == exclude:
                continue
            f = rec.flavor
            tracker.instance_claim(rec.uuid, Claim.for_flavor(f.memory_mb, f.root_gb,
                                                              f.ephemeral_gb, f.vcpus))
        return tracker

    @contextmanager
    def _counter(self) -> Iterator[int]:
        with self.workdir.dir_fd("state", create=True) as dfd:
            fd = safefs.open_regular(dfd, "instance-counter",
                                     self.workdir.state_dir / "instance-counter",
                                     os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def next_instance_id(self, taken: Any) -> int:
        """The next nova instance id whose `instance-%08x` name `taken(name)` says is free."""
        with self._counter() as fd:
            try:
                n = int(os.pread(fd, 32, 0).decode().strip() or 0)
            except ValueError:
                n = 0
            while True:
                n += 1
                if not taken(f"instance-{n:08x}"):
                    break
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(n).encode(), 0)
            return n


# -- the image cache's own record -----------------------------------------------------------
class CacheRecord(_Strict):
    image_id: str = Field(pattern=UUID_PATTERN)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


def sha256_fd(fd: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


def remember_base(workdir: Workdir, name: str, image_id: str, digest: str, size: int) -> None:
    """Record the checksum of a base file nsim made (before it is renamed into place)."""
    rec = CacheRecord(image_id=image_id, sha256=digest, size=size)
    with workdir.dir_fd("state", "cache", create=True) as dfd:
        safefs.write_atomic(dfd, f"{name}.json", rec.model_dump_json().encode(),
                            workdir.state_dir / "cache" / f"{name}.json", 0o600)


def base_is_ours(workdir: Workdir, name: str, image_id: str, base_fd: int) -> bool:
    """Whether the open base file is the one nsim made: its record's image, size and sha256."""
    try:
        with workdir.dir_fd("state", "cache") as dfd:
            rec = CacheRecord.model_validate_json(
                safefs.read_bytes(dfd, f"{name}.json", workdir.state_dir / "cache" / name))
    except (OSError, ValueError, HwError):
        return False
    st = os.fstat(base_fd)
    return (rec.image_id == image_id and st.st_size == rec.size and st.st_nlink == 1
            and sha256_fd(base_fd) == rec.sha256)
