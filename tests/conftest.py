"""Shared helpers: realistic nova-compute lines in each on-disk format, and parse wrappers.

Wording of the lines follows docs/nova.md (nova's format strings, oslo.log's
line formats and devstack's journald format); nothing here is copied from nsim's output.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

import nsim
from nsim.cli import main as cli_main

# nsim's on-disk cache (nsim.diskcache) lives in this session's own directory, for the
# commands the tests run too: the tests neither read nor leave anything in the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="nsim-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "sample_logs" / "seed-boot.journal"
# Real nova-compute logs (origins in their README): ../shared/real-logs/ beside the repository,
# or wherever NSIM_REAL_LOGS points.
REAL_LOGS = Path(os.environ.get("NSIM_REAL_LOGS", ROOT.parent / "shared" / "real-logs"))

# Identifiers of one boot (devstack on host "compute").
INST = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
REQ = "req-d9a23179-e16d-4016-9586-e68c3dfdf6a9"
GREQ = "req-6a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SVC_REQ = "req-3ea4052c-895e-4b64-b5a3-d5c4a8a5ef43"
USER_ID = "8d1b2c3e4f5a6b7c8d9e0f1a2b3c4d5e"
PROJECT_ID = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
PORT = "4c3d3a9e-7d5b-4d5e-9a39-0b3f6c1e2a10"
SHA1 = hashlib.sha1(IMAGE.encode()).hexdigest()
INSTANCES = "/opt/stack/data/nova/instances"
BASE = f"{INSTANCES}/_base/{SHA1}"
INST_DIR = f"{INSTANCES}/{INST}"

LOCKUTILS = "/usr/local/lib/python3.10/dist-packages/oslo_concurrency/lockutils.py"
PROCESSUTILS = "/usr/local/lib/python3.10/dist-packages/oslo_concurrency/processutils.py"
MANAGER = "/opt/stack/nova/nova/compute/manager.py"
DRIVER = "/opt/stack/nova/nova/virt/libvirt/driver.py"

# devstack journal context: "[None req-R project user]" (project_name before user_name).
DEVSTACK_CTX = f"None {REQ} admin admin"

# ANSI colours oslo.log's ColorHandler and devstack's format strings write (docs/nova.md §2).
ESC = "\x1b"
COLOR = {"DEBUG": f"{ESC}[00;32m", "INFO": f"{ESC}[00;36m", "WARNING": f"{ESC}[01;33m",
         "ERROR": f"{ESC}[01;31m"}
RESET = f"{ESC}[00m"

# The guest XML `End _get_guest_xml xml=` prints over many physical lines.
XML_LINES = [
    '<domain type="kvm">',
    f"  <uuid>{INST}</uuid>",
    "  <name>instance-00000001</name>",
    "  <memory>524288</memory>",
    "  <vcpu>1</vcpu>",
    "  <devices>",
    '    <disk type="file" device="disk">',
    '      <driver name="qemu" type="qcow2" cache="none"/>',
    f'      <source file="{INST_DIR}/disk"/>',
    '      <target bus="virtio" dev="vda"/>',
    "    </disk>",
    "  </devices>",
    "</domain>",
]


def journal_line(body: str, stamp: str = "Jun 16 13:12:52", host: str = "compute",
                 ident: str = "nova-compute", pid: int = 5666) -> str:
    """One entry as `journalctl` (short family) prints it."""
    return f"{stamp} {host} {ident}[{pid}]: {body}"


def dsuffix(func: str, path: str, lineno: int, pid: int | None = 5666) -> str:
    """devstack's debug suffix `{{(pid=N) func path:line}}` ("(pid=..) " omitted with USE_JOURNAL)."""
    head = f"(pid={pid}) " if pid is not None else ""
    return f"{{{{{head}{func} {path}:{lineno}}}}}"


def devstack_body(level: str, logger: str, message: str, ctx: str | None = DEVSTACK_CTX,
                  instance: str | None = None, suffix: str | None = None) -> str:
    """The devstack message part (no colour): LEVEL logger [ctx] [instance: U] message suffix."""
    inst = f"[instance: {instance}] " if instance else ""
    text = f"{level} {logger} [{ctx if ctx is not None else '-'}] {inst}{message}"
    return f"{text} {suffix}" if suffix else text


def oslo_line(level: str, logger: str, message: str, ctx: str | None = None,
              instance: str | None = None, stamp: str = "2017-06-16 13:12:52.123",
              pid: int = 5666, suffix: tuple[str, str, int] | None = None) -> str:
    """One line as oslo.log writes nova-compute.log (context, instance, debug suffix)."""
    inst = f"[instance: {instance}] " if instance else ""
    line = f"{stamp} {pid} {level} {logger} [{ctx if ctx is not None else '-'}] {inst}{message}"
    if suffix:
        line += f" {suffix[0]} {suffix[1]}:{suffix[2]}"
    return line


def oslo_trace(logger: str, text: str, instance: str | None = None,
               stamp: str = "2017-06-16 13:13:01.456", pid: int = 5666, level: str = "ERROR") -> str:
    """A traceback line: logging_exception_prefix `<ts> <pid> ERROR <logger> <instance>` + text."""
    inst = f"[instance: {instance}] " if instance else ""
    return f"{stamp} {pid} {level} {logger} {inst}{text}"


def json_entry(message: str | list[int], usec: int, host: str = "compute",
               ident: str = "nova-compute", pid: int = 5666, **extra: str) -> str:
    """One `journalctl -o json` line (journald field names; values are strings)."""
    obj = {
        "__CURSOR": f"s=6c1b;i={usec % 100000:x};b=1d1c;m={usec:x};t={usec:x};x=0",
        "__REALTIME_TIMESTAMP": str(usec),
        "__MONOTONIC_TIMESTAMP": str(usec // 1000),
        "_BOOT_ID": "1d1c5b2a8f0e4c7e9b3a6d5f4e3c2b1a",
        "PRIORITY": "6",
        "SYSLOG_FACILITY": "3",
        "_UID": "1000",
        "_GID": "1000",
        "_COMM": "nova-compute",
        "_EXE": "/usr/bin/python3.10",
        "_SYSTEMD_UNIT": "devstack@n-cpu.service",
        "_TRANSPORT": "stdout",
        "_HOSTNAME": host,
        "SYSLOG_IDENTIFIER": ident,
        "_PID": str(pid),
        "MESSAGE": message,
    }
    obj.update(extra)
    return json.dumps(obj)


def usec_of(stamp: datetime) -> int:
    """__REALTIME_TIMESTAMP (µs since the epoch) of a naive UTC datetime."""
    aware = stamp.replace(tzinfo=UTC)
    return int(aware.timestamp()) * 1_000_000 + aware.microsecond


def boot_journal() -> list[str]:
    """A short devstack boot (Ussuri-era wording): 12 records, one a multi-line guest XML."""
    lines = [
        journal_line(devstack_body(
            "DEBUG", "oslo_concurrency.lockutils",
            f'Lock "{INST}" acquired by "nova.compute.manager.ComputeManager.build_and_run_instance.'
            '<locals>._locked_do_build_and_run_instance" :: waited 0.000s',
            suffix=dsuffix("inner", LOCKUTILS, 359)), stamp="Jun 16 13:12:52"),
        journal_line(devstack_body(
            "DEBUG", "nova.compute.manager", "Starting instance...", instance=INST,
            suffix=dsuffix("_do_build_and_run_instance", MANAGER, 2175)), stamp="Jun 16 13:12:52"),
        journal_line(devstack_body(
            "INFO", "nova.compute.claims", "Claim successful on node compute", instance=INST),
            stamp="Jun 16 13:12:52"),
        journal_line(devstack_body(
            "INFO", "nova.virt.libvirt.driver", "Creating image", instance=INST),
            stamp="Jun 16 13:12:53"),
        journal_line(devstack_body(
            "DEBUG", "oslo_concurrency.processutils",
            f"Running cmd (subprocess): qemu-img convert -t none -O raw -f qcow2 {BASE}.part "
            f"{BASE}.converted", suffix=dsuffix("execute", PROCESSUTILS, 379)),
            stamp="Jun 16 13:12:55"),
        journal_line(devstack_body(
            "DEBUG", "oslo_concurrency.processutils",
            f'CMD "qemu-img convert -t none -O raw -f qcow2 {BASE}.part {BASE}.converted" '
            "returned: 0 in 1.688s", suffix=dsuffix("execute", PROCESSUTILS, 416)),
            stamp="Jun 16 13:12:57"),
    ]
    xml = [f"End _get_guest_xml xml={XML_LINES[0]}", *XML_LINES[1:]]
    lines.append(journal_line(devstack_body("DEBUG", "nova.virt.libvirt.driver", xml[0],
                                            instance=INST), stamp="Jun 16 13:12:57"))
    lines += [journal_line(x, stamp="Jun 16 13:12:57") for x in xml[1:-1]]
    lines.append(journal_line(f"{xml[-1]} {dsuffix('_get_guest_xml', DRIVER, 7032)}",
                              stamp="Jun 16 13:12:57"))
    lines += [
        journal_line(devstack_body("INFO", "nova.compute.manager", "VM Started (Lifecycle Event)",
                                   ctx="-", instance=INST), stamp="Jun 16 13:13:01"),
        journal_line(devstack_body("INFO", "nova.virt.libvirt.driver",
                                   "Instance spawned successfully.", ctx="-", instance=INST),
                     stamp="Jun 16 13:13:01"),
        journal_line(devstack_body(
            "INFO", "nova.compute.manager",
            "Took 8.19 seconds to spawn the instance on the hypervisor.", instance=INST),
            stamp="Jun 16 13:13:01"),
        journal_line(devstack_body(
            "INFO", "nova.compute.manager", "Took 9.05 seconds to build instance.", instance=INST),
            stamp="Jun 16 13:13:01"),
        journal_line(devstack_body(
            "DEBUG", "oslo_concurrency.lockutils",
            f'Lock "{INST}" released by "nova.compute.manager.ComputeManager.build_and_run_instance.'
            '<locals>._locked_do_build_and_run_instance" :: held 9.061s',
            suffix=dsuffix("inner", LOCKUTILS, 371)), stamp="Jun 16 13:13:01"),
    ]
    return lines


BOOT_KINDS = ["lock_acquired", "instance_starting", "claim_successful", "creating_image",
              "subprocess_running", "subprocess_returned", "guest_xml_end", "lifecycle_event",
              "spawned", "took_seconds", "took_seconds", "lock_released"]


def write_log(directory: Path, name: str, content: str | bytes | Sequence[str],
              mtime: datetime | None = None) -> Path:
    """Write a log file (lines joined with newlines, one at the end); optionally set its mtime."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(("\n".join(content) + "\n").encode("utf-8"))
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def assert_accounted(records: Sequence[nsim.Record], run: nsim.ParseRun) -> None:
    """The invariant: every physical line is in a record or counted as a bad line."""
    total = sum(r.lines for r in records)
    c = run.counts
    assert total + c.bad_lines == c.physical_lines, (
        f"records cover {total} lines + {c.bad_lines} bad != {c.physical_lines} physical")
    recs = list(records)
    assert c.records == len(recs)
    assert c.events + c.unknown == c.records
    assert c.events == sum(1 for r in recs if r.event is not None)


def parse_all(path: str | Path | Sequence[str | Path], **kwargs: object
              ) -> tuple[list[nsim.Record], nsim.ParseRun]:
    """Parse to a list (the run's counts are final) and check the line accounting."""
    paths = [str(p) for p in path] if isinstance(path, list | tuple) else str(path)
    run = nsim.parse(paths, **kwargs)  # type: ignore[arg-type]
    records = list(run)
    assert_accounted(records, run)
    return records, run


def diag_at(run: nsim.ParseRun, source: str | Path, line: int | None) -> list[nsim.Diagnostic]:
    """Diagnostics naming this file and line."""
    return [d for d in run.diagnostics if d.source == str(source) and d.line == line]


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`nsim ...` in-process: (exit code, stdout, stderr); never a traceback on stderr."""
    try:
        code = cli_main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def summary_counts(stderr: str) -> tuple[int, int, int, int]:
    """The numbers of the last stderr line `N records, N events, N unknown, N bad lines`."""
    import re

    last = stderr.rstrip("\n").splitlines()[-1]
    m = re.fullmatch(r"(\d+) records, (\d+) events, (\d+) unknown, (\d+) bad lines", last)
    assert m is not None, f"last stderr line is {last!r}"
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


@pytest.fixture
def boot_file(tmp_path: Path) -> Path:
    return write_log(tmp_path, "boot.journal", boot_journal(), mtime=datetime(2017, 7, 1))


# A network_info list as nova logs it (nova/network/model.py NetworkInfo, JSON): one OVS port
# with an IPv4 subnet (fixed IP plus a floating IP, DHCP server) and an IPv6 SLAAC subnet.
NETWORK_INFO = [{
    "id": PORT, "address": "fa:16:3e:5b:2c:91",
    "network": {
        "id": "4f28b3ec-cc2d-4a1b-8f3e-6a7b9c0d1e2f", "bridge": "br-int", "label": "private",
        "subnets": [
            {"cidr": "10.0.0.0/26", "dns": [],
             "gateway": {"address": "10.0.0.1", "type": "gateway", "version": 4, "meta": {}},
             "ips": [{"address": "10.0.0.5", "type": "fixed", "version": 4, "meta": {},
                      "floating_ips": [{"address": "172.24.4.10", "type": "floating",
                                        "version": 4, "meta": {}}]}],
             "routes": [], "version": 4, "meta": {"dhcp_server": "10.0.0.2"}},
            {"cidr": "fd5b:7c3e:1d2a::/64", "dns": [],
             "gateway": {"address": "fd5b:7c3e:1d2a::1", "type": "gateway", "version": 6,
                         "meta": {}},
             "ips": [{"address": "fd5b:7c3e:1d2a:0:f816:3eff:fe5b:2c91", "type": "fixed",
                      "version": 6, "meta": {}, "floating_ips": []}],
             "routes": [], "version": 6,
             "meta": {"ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}},
        ],
        "meta": {"injected": False, "tenant_id": PROJECT_ID, "mtu": 1442,
                 "physical_network": None, "tunneled": True}},
    "type": "ovs",
    "details": {"connectivity": "l2", "port_filter": True, "ovs_hybrid_plug": False,
                "datapath_type": "system", "bridge_name": "br-int"},
    "devname": "tap4c3d3a9e-7d", "ovs_interfaceid": PORT, "qbh_params": None, "qbg_params": None,
    "active": False, "vnic_type": "normal", "profile": {}, "preserve_on_delete": False,
    "delegate_create": True, "meta": {},
}]
NETWORK_INFO_JSON = json.dumps(NETWORK_INFO)
# What that port is, read by hand from the JSON above.
NETWORK_INFO_VIF = {
    "id": PORT, "mac": "fa:16:3e:5b:2c:91", "vif_type": "ovs", "bridge": "br-int",
    "devname": "tap4c3d3a9e-7d",
    "fixed_ips": ["10.0.0.5", "fd5b:7c3e:1d2a:0:f816:3eff:fe5b:2c91"],
    "cidrs": ["10.0.0.0/26", "fd5b:7c3e:1d2a::/64"],
    "dhcp_servers": ["10.0.0.2"],
}
