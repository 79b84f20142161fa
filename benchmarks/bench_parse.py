"""How fast nsim parses a large journal, next to a bare `re` split and Drain3.

    .venv/bin/python benchmarks/bench_parse.py [--lines N] [--journal PATH] [--seed S]

Builds (in a temporary directory, or at --journal PATH, which is kept) a journald
text log of at least N physical lines (default 200,000) made of many boots on one
devstack host. Each boot is the seed boot (sample_logs/seed-boot.journal) with new
instance/request/port/image ids (the base file name is the sha1 of the image id, as
nova names it), another flavor, fresh lock/command/spawn durations and timestamps
that keep increasing across minutes, hours and days. Some boots hit the image cache
(no download/convert block), some fail to spawn (an ERROR with a traceback whose
lines journald prints as separate ERROR entries, then a re-schedule), some are
deleted afterwards; periodic tasks and image cache passes run between boots. DEBUG
lines, the multi-line guest XML and messages nsim does not know are all included.

Then, in the same run, it measures:
  (a) `nsim.parse(path)`: the full pipeline up to typed events (records/s, lines/s);
  (b) a bare `re` split of each physical line's journal envelope;
  (c) Drain3's `TemplateMiner.add_log_message` on the message text of each physical
      line (what (b) leaves after the envelope, instance prefix and debug suffix).
      For context it also times Drain3 on records' first lines only: each one-token
      XML line with an id in it (<uuid>…</uuid>, <nova:name>vmN</nova:name>) opens a
      cluster of its own that every later such line is compared with, so Drain3
      slows down as the file grows (about 30k lines/s on 20k lines, 6k on 200k);
      on first lines alone it keeps about 45k lines/s;
  (d) the RSS of a child process while it parses the first 50,000 lines vs the whole
      file, to show that memory stays flat (records are streamed; nsim's caches are
      bounded).
Rates are per second of CPU time of the process (wall seconds are shown too), so
that other load on the machine moves them little.
The last line printed is `parse_vs_drain3 R`, R = nsim lines/s / Drain3 lines/s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "sample_logs" / "seed-boot.journal"
HOST, PROCESS, PID = "compute", "nova-compute", 5666
YEAR = 2017
SMALL_LINES = 50_000

# --------------------------------------------------------------------------- generator
# The seed boot becomes a template: literal values are replaced by @NAME@ markers,
# which every generated boot fills in anew (a callable value is drawn per occurrence).
_LITERALS: tuple[tuple[str, str], ...] = (
    ("86f71e87-4ae2-48fb-9bcd-c72e3c28e093", "@INSTANCE@"),
    ("req-d9a23179-e16d-4016-9586-e68c3dfdf6a9", "req-@REQ@"),
    ("req-9b9e116b-fa49-46b3-8c41-9bade624c334", "req-@EVENT_REQ@"),
    ("req-5e6f2a7b-3c4d-4e8f-9a0b-1c2d3e4f5a6b", "req-@NEUTRON_REQ@"),
    ("f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7", "@IMAGE@"),
    ("6eb03a619bcf59de5a27bf520cf83606bf8327a7", "@SHA1@"),
    ("tap4c3d3a9e-7d", "tap@PORT_SHORT@"),
    ("4c3d3a9e-7d5b-4d5e-9a39-0b3f6c1e2a10", "@PORT@"),
    ("fa:16:3e:5b:2c:91", "@MAC@"),
    ("172.12.12.7", "@FIXED_IP@"),
    ("instance-00000001", "instance-@DOMAIN_SEQ@"),
    ("<nova:name>vm1</nova:name>", "<nova:name>@VM_NAME@</nova:name>"),
    ("cirros-0.3.5-x86_64-disk", "@IMAGE_NAME@"),
    ("size=13267968", "size=@IMAGE_BYTES@"),
    ("overhead for 512 MB instance", "overhead for @MEM_MB@ MB instance"),
    ("overhead for 1 GB instance", "overhead for @DISK_GB@ GB instance"),
    ("overhead for 1 vCPUs instance", "overhead for @VCPUS@ vCPUs instance"),
    ("memory 512 MB, disk 1 GB, vcpus 1 CPU", "memory @MEM_MB@ MB, disk @DISK_GB@ GB, vcpus @VCPUS@ CPU"),
    ("used: 512.00 MB", "used: @USED_MEM@ MB"),
    ("used: 0.00 GB", "used: @USED_DISK@ GB"),
    ("used: 0.00 VCPU", "used: @USED_VCPU@ VCPU"),
    ("<memory>524288</memory>", "<memory>@MEM_KIB@</memory>"),
    ("<vcpu>1</vcpu>", "<vcpu>@VCPUS@</vcpu>"),
    ("<nova:memory>512</nova:memory>", "<nova:memory>@MEM_MB@</nova:memory>"),
    ("<nova:disk>1</nova:disk>", "<nova:disk>@DISK_GB@</nova:disk>"),
    ("<nova:vcpus>1</nova:vcpus>", "<nova:vcpus>@VCPUS@</nova:vcpus>"),
    ('name="m1.tiny"', 'name="@FLAVOR@"'),
    ("/disk 1073741824", "/disk @DISK_BYTES@"),
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=waited )\d+\.\d{3}(?=s)"), "@LOCK_WAIT@"),
    (re.compile(r"(?<=held )\d+\.\d{3}(?=s)"), "@LOCK_HELD@"),
    (re.compile(r"(?<=returned: 0 in )\d+\.\d{3}(?=s)"), "@CMD_SECS@"),
    (re.compile(r"(?<=Took )\d+\.\d\d(?= seconds to spawn)"), "@SPAWN_SECS@"),
    (re.compile(r"(?<=Took )\d+\.\d\d(?= seconds to build)"), "@BUILD_SECS@"),
)
_MARKER = re.compile(r"@([A-Z_0-9]+)@")

_CTX = "[None req-@REQ@ admin admin]"
_PCTX = "[None req-@PERIODIC_REQ@ None None]"
_LOCKUTILS = "/usr/local/lib/python2.7/dist-packages/oslo_concurrency/lockutils.py"
_MANAGER = "/opt/stack/nova/nova/compute/manager.py"
_RT = "/opt/stack/nova/nova/compute/resource_tracker.py"
_IMAGECACHE = "/opt/stack/nova/nova/virt/libvirt/imagecache.py"
_INST_DIR = "/opt/stack/data/nova/instances"


def _debug(logger: str, ctx: str, text: str, func: str, path: str, line: int) -> str:
    return f"DEBUG {logger} {ctx} {text} {{{{(pid={PID}) {func} {path}:{line}}}}}"


# A spawn failure: LOG.exception's record, then one ERROR entry per traceback line
# (docs/nova.md §2: the exception prefix carries no context), destroy, re-schedule.
_TRACEBACK = (
    "Traceback (most recent call last):",
    f'  File "{_MANAGER}", line 2125, in _build_resources',
    "    yield resources",
    f'  File "{_MANAGER}", line 1940, in _build_and_run_instance',
    "    block_device_info=block_device_info)",
    '  File "/opt/stack/nova/nova/virt/libvirt/driver.py", line 2793, in spawn',
    "    destroy_disks_on_failure=True)",
    '  File "/opt/stack/nova/nova/virt/libvirt/driver.py", line 5231, in _create_domain_and_network',
    "    destroy_disks_on_failure)",
    '  File "/usr/local/lib/python2.7/dist-packages/libvirt.py", line 1069, in createWithFlags',
    "    if ret == -1: raise libvirtError ('virDomainCreateWithFlags() failed', dom=self)",
    "libvirtError: internal error: qemu unexpectedly closed the monitor: @QEMU_ERROR@",
)
_FAILURE: tuple[str, ...] = (
    "ERROR nova.compute.manager " + _CTX + " [instance: @INSTANCE@] Instance failed to spawn: "
    "libvirtError: internal error: qemu unexpectedly closed the monitor: @QEMU_ERROR@",
    *("ERROR nova.compute.manager [instance: @INSTANCE@] " + tb for tb in _TRACEBACK),
    "INFO nova.compute.manager " + _CTX + " [instance: @INSTANCE@] Terminating instance",
    "INFO nova.virt.libvirt.driver [-] [instance: @INSTANCE@] Instance destroyed successfully.",
    "INFO nova.compute.manager " + _CTX + " [instance: @INSTANCE@] Took @TEARDOWN_SECS@ seconds "
    "to destroy the instance on the hypervisor.",
    _debug("nova.compute.claims", _CTX, "[instance: @INSTANCE@] Aborting claim: [Claim: @MEM_MB@ MB "
           "memory, @DISK_GB@ GB disk]", "abort", "/opt/stack/nova/nova/compute/claims.py", 124),
    _debug("nova.compute.manager", _CTX, "[instance: @INSTANCE@] Build of instance @INSTANCE@ was "
           "re-scheduled: internal error: qemu unexpectedly closed the monitor: @QEMU_ERROR@",
           "_do_build_and_run_instance", _MANAGER, 1782),
    _debug("nova.compute.manager", _CTX, "[instance: @INSTANCE@] Deallocating network for instance",
           "_deallocate_network", _MANAGER, 1631),
)
_QEMU_ERRORS = (
    "2017-06-16T13:13:00.442193Z qemu-system-x86_64: -chardev pty,id=charserial1: char device "
    "redirected to /dev/pts/3 (label charserial1)",
    "Failed to allocate memory: Cannot allocate memory",
    "could not open disk image: Permission denied",
)
_DELETE: tuple[str, ...] = (
    _debug("oslo_concurrency.lockutils", "[None req-@DELETE_REQ@ admin admin]",
           'Lock "@INSTANCE@" acquired by "nova.compute.manager.do_terminate_instance" :: '
           "waited @LOCK_WAIT@s", "inner", _LOCKUTILS, 273),
    "INFO nova.compute.manager [None req-@DELETE_REQ@ admin admin] [instance: @INSTANCE@] "
    "Terminating instance",
    "INFO nova.virt.libvirt.driver [-] [instance: @INSTANCE@] Instance destroyed successfully.",
    "INFO nova.virt.libvirt.driver [None req-@DELETE_REQ@ admin admin] [instance: @INSTANCE@] "
    f"Deleting instance files {_INST_DIR}/@INSTANCE@_del",
    "INFO nova.virt.libvirt.driver [None req-@DELETE_REQ@ admin admin] [instance: @INSTANCE@] "
    f"Deletion of {_INST_DIR}/@INSTANCE@_del complete",
    "INFO nova.compute.manager [None req-@DELETE_REQ@ admin admin] [instance: @INSTANCE@] "
    "Took @TEARDOWN_SECS@ seconds to destroy the instance on the hypervisor.",
    _debug("nova.compute.manager", "[None req-@DELETE_REQ@ admin admin]",
           "[instance: @INSTANCE@] Deallocating network for instance", "_deallocate_network",
           _MANAGER, 1631),
    _debug("nova.network.neutronv2.api", "[None req-@DELETE_REQ@ admin admin]",
           "[instance: @INSTANCE@] deallocate_for_instance()", "deallocate_for_instance",
           "/opt/stack/nova/nova/network/neutronv2/api.py", 1154),
    _debug("nova.network.base_api", "[None req-@DELETE_REQ@ admin admin]",
           "[instance: @INSTANCE@] Updating instance_info_cache with network_info: []",
           "update_instance_cache_with_nw_info", "/opt/stack/nova/nova/network/base_api.py", 48),
    "INFO nova.compute.manager [-] [instance: @INSTANCE@] Took @DEALLOC_SECS@ seconds to "
    "deallocate network for instance.",
    _debug("oslo_concurrency.lockutils", "[None req-@DELETE_REQ@ admin admin]",
           'Lock "@INSTANCE@" released by "nova.compute.manager.do_terminate_instance" :: '
           "held @LOCK_HELD@s", "inner", _LOCKUTILS, 285),
    "INFO nova.compute.manager [-] [instance: @INSTANCE@] VM Stopped (Lifecycle Event)",
)
_PERIODIC_TASKS = (
    "_poll_rebooting_instances", "_poll_rescued_instances", "_poll_unconfirmed_resizes",
    "_instance_usage_audit", "_poll_volume_usage", "_heal_instance_info_cache",
    "_reclaim_queued_deletes", "update_available_resource", "_sync_power_states",
    "_check_instance_build_time", "_run_image_cache_manager_pass", "_cleanup_running_deleted_instances",
)
_PCI = ('[{"dev_id": "pci_0000_00_00_0", "product_id": "1237", "dev_type": "type-PCI", '
        '"numa_node": null, "vendor_id": "8086", "label": "label_8086_1237", '
        '"address": "0000:00:00.0"}]')
_AUDIT: tuple[str, ...] = (
    _debug("nova.compute.manager", _PCTX, "CONF.reclaim_instance_interval <= 0, skipping...",
           "_reclaim_queued_deletes", _MANAGER, 6586),
    _debug("nova.compute.resource_tracker", _PCTX, "Auditing locally available compute resources "
           f"for {HOST} (node: {HOST})", "update_available_resource", _RT, 598),
    _debug("nova.compute.resource_tracker", _PCTX, f"Hypervisor/Node resource view: name={HOST} "
           f"free_ram=@FREE_RAM@MB free_disk=@FREE_DISK@GB free_vcpus=@FREE_VCPUS@ pci_devices={_PCI}",
           "_report_hypervisor_resource_view", _RT, 737),
    _debug("oslo_concurrency.lockutils", _PCTX, 'Lock "compute_resources" acquired by '
           '"nova.compute.resource_tracker._update_available_resource" :: waited @LOCK_WAIT@s',
           "inner", _LOCKUTILS, 273),
    _debug("nova.compute.resource_tracker", _PCTX, "Total usable vcpus: 4, total allocated vcpus: "
           "@ALLOC_VCPUS@", "_report_final_resource_view", _RT, 779),
    f"INFO nova.compute.resource_tracker {_PCTX} Final resource view: name={HOST} phys_ram=7983MB "
    "used_ram=@USED_RAM@MB phys_disk=47GB used_disk=@USED_DISK_GB@GB total_vcpus=4 "
    "used_vcpus=@ALLOC_VCPUS@ pci_stats=[]",
    _debug("nova.compute.resource_tracker", _PCTX, f"Compute_service record updated for {HOST}:{HOST}",
           "_update_available_resource", _RT, 717),
    _debug("oslo_concurrency.lockutils", _PCTX, 'Lock "compute_resources" released by '
           '"nova.compute.resource_tracker._update_available_resource" :: held @LOCK_HELD@s',
           "inner", _LOCKUTILS, 285),
)
_IMAGE_CACHE_PASS: tuple[str, ...] = (
    _debug("nova.virt.libvirt.imagecache", _PCTX, "Verify base images",
           "_age_and_verify_cached_images", _IMAGECACHE, 348),
    _debug("nova.virt.libvirt.imagecache", _PCTX, f"image @IMAGE@ at ({_INST_DIR}/_base/@SHA1@): "
           "checking", "_age_and_verify_cached_images", _IMAGECACHE, 357),
    _debug("nova.virt.libvirt.imagecache", _PCTX, f"image @IMAGE@ at ({_INST_DIR}/_base/@SHA1@): "
           "in use: on this node 1 local, 0 on other nodes sharing this instance storage",
           "_mark_in_use", _IMAGECACHE, 329),
    f"INFO nova.virt.libvirt.imagecache {_PCTX} Active base files: {_INST_DIR}/_base/@SHA1@",
    _debug("nova.virt.libvirt.imagecache", _PCTX, "Verification complete",
           "_age_and_verify_cached_images", _IMAGECACHE, 388),
    f"INFO nova.compute.manager {_PCTX} Running instance usage audit for host {HOST} from "
    "@AUDIT_FROM@ to @AUDIT_TO@. @INSTANCES@ instances.",
)
_FLAVORS = (("m1.nano", 64, 1, 1), ("m1.tiny", 512, 1, 1), ("m1.small", 2048, 20, 1),
            ("m1.medium", 4096, 40, 2), ("m1.large", 8192, 80, 4))
_IMAGES = ("cirros-0.3.5-x86_64-disk", "cirros-0.4.0-x86_64-disk", "ubuntu-16.04-server",
           "fedora-atomic-26", "centos-7-x86_64-GenericCloud")


@dataclass(frozen=True)
class _Line:
    offset: float
    """Seconds after the boot's first line (from the seed's stamps)."""
    body: str


def _templatize(text: str) -> str:
    for literal, marker in _LITERALS:
        text = text.replace(literal, marker)
    for pattern, marker in _PATTERNS:
        text = pattern.sub(marker, text)
    return text


def _seed_template() -> list[_Line]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = datetime.strptime(f"{YEAR} {lines[0][:15]}", "%Y %b %d %H:%M:%S")
    out = []
    for line in lines:
        stamp = datetime.strptime(f"{YEAR} {line[:15]}", "%Y %b %d %H:%M:%S")
        body = line.split("]: ", 1)[1]
        out.append(_Line((stamp - start).total_seconds(), _templatize(body)))
    return out


def _fill(body: str, values: dict[str, str | Callable[[], str]]) -> str:
    def one(m: re.Match[str]) -> str:
        value = values[m.group(1)]
        return value if isinstance(value, str) else value()
    return _MARKER.sub(one, body)


class JournalWriter:
    """Boots, failures, deletes and periodic tasks of one host, as journalctl prints them.

    Stamps are journalctl's default `short` form, as in the seed (nsim's format
    detection does not recognise `short-precise` stamps yet).
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.template = _seed_template()
        self.clock = datetime(YEAR, 6, 16, 13, 12, 52)
        self.domain_seq = 0
        self.seen_images: set[str] = set()
        self.images = [(str(self._uuid()), name, self.rng.randrange(12_000_000, 900_000_000))
                       for name in _IMAGES]
        self.boots = 0

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _secs(self, low: float, high: float, digits: int) -> Callable[[], str]:
        return lambda: f"{self.rng.uniform(low, high):.{digits}f}"

    def _stamped(self, offsets_bodies: Iterator[tuple[float, str]], scale: float) -> Iterator[str]:
        start = self.clock
        for offset, body in offsets_bodies:
            at = start + timedelta(seconds=offset * scale)
            self.clock = max(self.clock, at) + timedelta(microseconds=self.rng.randrange(30, 3000))
            yield f"{self.clock:%b %d %H:%M:%S} {HOST} {PROCESS}[{PID}]: {body}"

    def _values(self) -> dict[str, str | Callable[[], str]]:
        rng = self.rng
        flavor, mem, disk, vcpus = rng.choice(_FLAVORS)
        image_id, image_name, image_bytes = rng.choice(self.images)
        port = str(self._uuid())
        self.domain_seq += 1
        return {
            "INSTANCE": str(self._uuid()), "REQ": str(self._uuid()), "EVENT_REQ": str(self._uuid()),
            "NEUTRON_REQ": str(self._uuid()), "DELETE_REQ": str(self._uuid()),
            "PERIODIC_REQ": str(self._uuid()),
            "IMAGE": image_id, "SHA1": hashlib.sha1(image_id.encode()).hexdigest(),
            "IMAGE_NAME": image_name, "IMAGE_BYTES": str(image_bytes),
            "PORT": port, "PORT_SHORT": port[:11],
            "MAC": "fa:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3)),
            "FIXED_IP": f"172.12.12.{rng.randrange(3, 254)}",
            "DOMAIN_SEQ": f"{self.domain_seq:08x}", "VM_NAME": f"vm{self.domain_seq}",
            "FLAVOR": flavor, "MEM_MB": str(mem), "DISK_GB": str(disk), "VCPUS": str(vcpus),
            "MEM_KIB": str(mem * 1024), "DISK_BYTES": str(disk * 1024 ** 3),
            "USED_MEM": f"{mem + 512 * rng.randrange(0, 6):.2f}",
            "USED_DISK": f"{disk * rng.randrange(0, 4):.2f}",
            "USED_VCPU": f"{vcpus * rng.randrange(0, 3):.2f}",
            "LOCK_WAIT": self._secs(0, 0.02, 3), "LOCK_HELD": self._secs(0.001, 4, 3),
            "CMD_SECS": self._secs(0.02, 2.5, 3), "SPAWN_SECS": self._secs(5, 30, 2),
            "BUILD_SECS": self._secs(6, 35, 2), "TEARDOWN_SECS": self._secs(0.2, 3, 2),
            "DEALLOC_SECS": self._secs(0.3, 4, 2),
            "QEMU_ERROR": rng.choice(_QEMU_ERRORS),
            "FREE_RAM": str(rng.randrange(512, 7500)), "FREE_DISK": str(rng.randrange(5, 47)),
            "FREE_VCPUS": str(rng.randrange(0, 4)), "ALLOC_VCPUS": str(rng.randrange(0, 5)),
            "USED_RAM": str(512 + 512 * rng.randrange(0, 12)), "USED_DISK_GB": str(rng.randrange(0, 40)),
            "INSTANCES": str(rng.randrange(0, 6)),
            "AUDIT_FROM": f"{self.clock - timedelta(hours=1):%Y-%m-%d %H}:00:00",
            "AUDIT_TO": f"{self.clock:%Y-%m-%d %H}:00:00",
        }

    def boot(self) -> Iterator[str]:
        """One boot (seed template), maybe failed, maybe followed by its delete; then periodic tasks."""
        rng = self.rng
        values = self._values()
        self.boots += 1
        cached = values["IMAGE"] in self.seen_images and rng.random() < 0.8
        self.seen_images.add(str(values["IMAGE"]))
        failed = rng.random() < 0.1
        lines: list[_Line] = []
        fetching = False
        for line in self.template:
            if 'fetch_func_sync" :: waited' in line.body:
                fetching = True
            if not (cached and fetching):
                lines.append(line)
            if 'fetch_func_sync" :: held' in line.body:
                fetching = False
            if failed and "Successfully plugged vif" in line.body:
                last = lines[-1].offset
                lines += [_Line(last + 2.5 + i * 0.01, body) for i, body in enumerate(_FAILURE)]
                lines.append(_Line(last + 3.5, self.template[-1].body))
                break
        scale = rng.uniform(0.6, 1.8)
        yield from self._stamped(((ln.offset, _fill(ln.body, values)) for ln in lines), scale)
        self.clock += timedelta(seconds=rng.uniform(1, 40))
        if not failed and rng.random() < 0.3:
            yield from self._stamped(((i * 0.2, _fill(b, values)) for i, b in enumerate(_DELETE)), 1.0)
        self.clock += timedelta(seconds=rng.uniform(5, 60))
        yield from self.periodic(values)

    def periodic(self, values: dict[str, str | Callable[[], str]]) -> Iterator[str]:
        rng = self.rng
        values = values | {"PERIODIC_REQ": str(self._uuid())}
        bodies = [_debug("oslo_service.periodic_task", _PCTX, f"Running periodic task ComputeManager.{t}",
                         "run_periodic_tasks",
                         "/usr/local/lib/python2.7/dist-packages/oslo_service/periodic_task.py", 215)
                  for t in rng.sample(_PERIODIC_TASKS, rng.randrange(2, 6))]
        bodies += _AUDIT
        if self.boots % 5 == 0:
            bodies += _IMAGE_CACHE_PASS
        yield from self._stamped(((i * 0.05, _fill(b, values)) for i, b in enumerate(bodies)), 1.0)
        self.clock += timedelta(seconds=rng.uniform(1, 30))


def write_journal(path: Path, min_lines: int, seed: int) -> tuple[int, int]:
    """Write whole boots until at least `min_lines` lines; returns (lines, boots)."""
    writer = JournalWriter(seed)
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        while count < min_lines:
            chunk = list(writer.boot())
            out.write("\n".join(chunk) + "\n")
            count += len(chunk)
    return count, writer.boots


def head(src: Path, dst: Path, lines: int) -> None:
    with open(src, encoding="utf-8") as inp, open(dst, "w", encoding="utf-8") as out:
        for i, line in enumerate(inp):
            if i >= lines:
                break
            out.write(line)


# --------------------------------------------------------------------------- measures
@dataclass
class Measure:
    """Rates are per second of this process's CPU time, which other load on the machine
    barely moves (all of it is single-threaded Python); wall seconds are shown beside."""

    name: str
    seconds: float
    wall: float
    lines: int
    records: int | None = None

    @property
    def lines_per_s(self) -> float:
        return self.lines / self.seconds

    @property
    def records_per_s(self) -> float | None:
        return self.records / self.seconds if self.records is not None else None


class Clock:
    """CPU and wall time of a block."""

    def __enter__(self) -> Clock:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def measure_nsim(path: Path) -> tuple[Measure, str]:
    import nsim

    # Build the parsers (Lark grammar analysis) before the clock starts.
    for _ in nsim.parse(str(SEED), year=YEAR):
        pass
    run = nsim.parse(str(path), year=YEAR)
    records = 0
    with Clock() as clock:
        for _ in run:
            records += 1
    return Measure("nsim.parse (typed events)", clock.cpu, clock.wall, run.counts.physical_lines,
                   records), run.counts.summary()


# The journal envelope, as a plain regular expression: stamp, host, ident, pid, then
# (on a record's first line) level, logger, context, instance prefix; the message; the
# debug suffix.
ENVELOPE = re.compile(
    r"(?P<stamp>[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<host>\S+) "
    r"(?P<ident>[^\s\[]+)\[(?P<pid>\d+)\]: "
    r"(?:(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL|AUDIT|TRACE) (?P<logger>[\w.-]+) "
    r"(?:\[(?P<context>(?!instance: )[^\]]*)\] )?(?:\[instance: (?P<instance>[0-9a-f-]{36})\] )?)?"
    r"(?P<message>.*?)(?: \{\{(?P<suffix>[^{}]*)\}\})?$")


def measure_re(path: Path) -> tuple[Measure, list[str], list[str]]:
    """Split every line; returns the messages of all lines and of records' first lines."""
    messages: list[str] = []
    first: list[str] = []
    append = messages.append
    match = ENVELOPE.match
    with Clock() as clock, open(path, encoding="utf-8") as inp:
        for line in inp:
            m = match(line.rstrip("\n"))
            append(m.group("message") if m else line)
            if m and m.group("context") is not None:
                first.append(messages[-1])
    return Measure("re envelope split", clock.cpu, clock.wall, len(messages)), messages, first


# Masking instructions of Drain3's own example configuration (logpai/Drain3
# examples/drain3.ini, commit 0822117, [MASKING] masking = ...), verbatim; everything
# else is TemplateMinerConfig's default (sim_th 0.4, depth 4, max_children 100,
# unlimited clusters, no extra delimiters, mask prefix/suffix "<" ">", no profiling,
# no persistence). The example's [DRAIN]/[SNAPSHOT]/[PROFILING] settings are not used.
DRAIN3_EXAMPLE_MASKING: tuple[tuple[str, str], ...] = (
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
)


def measure_drain3(name: str, messages: list[str]) -> tuple[Measure, int]:
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, m) for p, m in DRAIN3_EXAMPLE_MASKING]
    miner = TemplateMiner(config=config)
    add = miner.add_log_message
    with Clock() as clock:
        for message in messages:
            add(message)
    return Measure(name, clock.cpu, clock.wall, len(messages)), len(miner.drain.clusters)


def _rss_mib() -> float:
    """Current resident set size (Linux /proc), else the peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def memory_child(path: str) -> None:
    """Run in a fresh process: RSS before, and its maximum while streaming all records of `path`."""
    import nsim

    for _ in nsim.parse(str(SEED), year=YEAR):
        pass
    before = peak = _rss_mib()
    run = nsim.parse(path, year=YEAR)
    for i, _ in enumerate(run):
        if i % 2000 == 0:
            peak = max(peak, _rss_mib())
    peak = max(peak, _rss_mib())
    print(json.dumps({"lines": run.counts.physical_lines, "before": before, "after": peak}))


def measure_memory(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=200_000, help="minimum physical lines (default 200000)")
    ap.add_argument("--seed", type=int, default=2017, help="random seed of the generator")
    ap.add_argument("--journal", type=Path, help="write the generated journal here and keep it")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return 0

    with tempfile.TemporaryDirectory(prefix="nsim-bench-") as tmp:
        path = args.journal or Path(tmp) / "boots.journal"
        t0 = time.perf_counter()
        lines, boots = write_journal(path, args.lines, args.seed)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {lines:,} lines ({boots:,} boots, {size_mb:.1f} MB) in "
              f"{time.perf_counter() - t0:.1f}s: {path if args.journal else '(temporary)'}")

        nsim_m, summary = measure_nsim(path)
        re_m, messages, first = measure_re(path)
        drain_m, clusters = measure_drain3("Drain3 add_log_message", messages)
        # For context: Drain3 on records' first lines only (no XML/traceback lines, whose
        # unique one-token texts each open a cluster that later lines are compared with).
        first_m, first_clusters = measure_drain3("  (records' first lines)", first)
        del messages, first

        small_lines = min(SMALL_LINES, lines // 4)
        small = Path(tmp) / "small.journal"
        head(path, small, small_lines)
        mem_small, mem_full = measure_memory(small), measure_memory(path)

    print(f"nsim: {summary}; Drain3: {clusters} clusters ({first_clusters} on first lines)")
    print()
    print(f"{'measure (rates per CPU s)':<28}{'lines/s':>12}{'records/s':>12}{'CPU s':>9}{'wall s':>9}")
    for m in (nsim_m, re_m, drain_m, first_m):
        rps = f"{m.records_per_s:,.0f}" if m.records_per_s is not None else "-"
        print(f"{m.name:<28}{m.lines_per_s:>12,.0f}{rps:>12}{m.seconds:>9.2f}{m.wall:>9.2f}")
    print()
    print(f"{'RSS of a child process':<28}{'lines':>12}{'before MiB':>12}{'max MiB':>11}{'growth':>9}")
    for mem in (mem_small, mem_full):
        print(f"{'nsim.parse, streamed':<28}{mem['lines']:>12,.0f}{mem['before']:>12.1f}"
              f"{mem['after']:>11.1f}{mem['after'] - mem['before']:>9.1f}")
    print()
    print(f"nsim lines/s / Drain3 first-lines lines/s: {nsim_m.lines_per_s / first_m.lines_per_s:.2f}")
    print(f"parse_vs_drain3 {nsim_m.lines_per_s / drain_m.lines_per_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
