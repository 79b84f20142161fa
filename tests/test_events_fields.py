"""Typed fields of events, read from nova's wording: numbers, qemu-img argv, network_info JSON,
claim shortage reasons, resource views, lock timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsim.events import classify
from tests.conftest import (
    BASE,
    INST,
    INST_DIR,
    INSTANCES,
    NETWORK_INFO,
    NETWORK_INFO_JSON,
    NETWORK_INFO_VIF,
    PORT,
    devstack_body,
    dsuffix,
    journal_line,
    parse_all,
    write_log,
)


def event_of(text: str):
    event = classify(text)
    assert event is not None, f"not recognised: {text!r}"
    return event


# -- numbers are numbers ---------------------------------------------------------------------------

def test_claim_numbers() -> None:
    attempt = event_of("Attempting claim on node compute: memory 2048 MB, disk 20 GB, vcpus 1 CPU")
    assert attempt.kind == "claim_attempt"
    assert (attempt.node, attempt.memory_mb, attempt.disk_gb, attempt.vcpus) == ("compute", 2048, 20, 1)
    assert all(type(v) is int for v in (attempt.memory_mb, attempt.disk_gb, attempt.vcpus))

    total = event_of("Total memory: 64172 MB, used: 2560.00 MB")
    assert (total.resource, total.total, total.used) == ("memory", 64172.0, 2560.0)
    assert isinstance(total.used, float)

    vcpu = event_of("Total vcpu: 16 VCPU, used: 1.00 VCPU")
    assert (vcpu.resource, vcpu.total, vcpu.used) == ("vcpu", 16.0, 1.0)

    limit = event_of("memory limit: 96258.00 MB, free: 93698.00 MB")
    assert (limit.resource, limit.limit, limit.free) == ("memory", 96258.0, 93698.0)
    disk_limit = event_of("disk limit: 15.00 GB, free: -5.00 GB")
    assert (disk_limit.resource, disk_limit.free) == ("disk", -5.0)

    overhead = event_of("CPU overhead for 1 vCPUs instance; 0 vCPU(s)")
    assert (overhead.resource, overhead.requested, overhead.overhead) == ("vcpu", 1, 0)
    mem = event_of("Memory overhead for 512 MB instance; 0 MB")
    assert (mem.resource, mem.requested) == ("memory", 512)


@pytest.mark.parametrize(("text", "name", "owner", "field", "value"), [
    ('Lock "compute_resources" acquired by '
     '"nova.compute.resource_tracker.ResourceTracker.instance_claim" :: waited 0.000s',
     "compute_resources", "nova.compute.resource_tracker.ResourceTracker.instance_claim",
     "waited", 0.0),
    ('Lock "compute_resources" acquired by "nova.compute.resource_tracker.instance_claim" '
     ":: waited 12.345s", "compute_resources", "nova.compute.resource_tracker.instance_claim",
     "waited", 12.345),
    (f'Lock "{INST}" released by "nova.compute.manager._locked_do_build_and_run_instance" '
     ":: held 9.061s", INST, "nova.compute.manager._locked_do_build_and_run_instance",
     "held", 9.061),
    ('Lock "compute_resources" "released" by '
     '"nova.compute.resource_tracker.ResourceTracker.instance_claim" :: held 0.012s',
     "compute_resources", "nova.compute.resource_tracker.ResourceTracker.instance_claim",
     "held", 0.012),
])
def test_lock_timings_are_floats(text: str, name: str, owner: str, field: str,
                                 value: float) -> None:
    event = event_of(text)
    assert (event.name, event.owner) == (name, owner)
    got = getattr(event, field)
    assert isinstance(got, float)
    assert got == pytest.approx(value)


def test_lock_unacquired() -> None:
    event = event_of('Lock "compute_resources" "unacquired" by '
                     '"nova.compute.resource_tracker.ResourceTracker.instance_claim" :: held 0.000s')
    assert event.kind == "lock_released" and event.action == "unacquired"


@pytest.mark.parametrize(("text", "seconds", "step"), [
    ("Took 8.19 seconds to spawn the instance on the hypervisor.", 8.19, "spawn"),
    ("Took 9.05 seconds to build instance.", 9.05, "build"),
    ("Took 0.52 seconds to destroy the instance on the hypervisor.", 0.52, "destroy"),
    ("Took 1.27 seconds to deallocate network for instance.", 1.27, "deallocate_network"),
])
def test_took_seconds(text: str, seconds: float, step: str) -> None:
    event = event_of(text)
    assert event.kind == "took_seconds"
    assert isinstance(event.seconds, float) and event.seconds == seconds
    assert event.step == step


def test_subprocess_returned_numbers() -> None:
    ok = event_of(f'CMD "qemu-img convert -t none -O raw -f qcow2 {BASE}.part {BASE}.converted" '
                  "returned: 0 in 1.688s")
    assert type(ok.returncode) is int and ok.returncode == 0
    assert isinstance(ok.seconds, float) and ok.seconds == 1.688
    failed = event_of('CMD "qemu-img info /nonexistent" returned: 1 in 0.021s')
    assert failed.returncode == 1 and failed.seconds == 0.021


def test_resource_view_numbers() -> None:
    view = event_of("Final resource view: name=cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us "
                    "phys_ram=64172MB used_ram=2560MB phys_disk=15GB used_disk=20GB "
                    "total_vcpus=16 used_vcpus=1 pci_stats=[]")
    assert view.kind == "final_resource_view"
    assert view.node == "cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us"
    assert (view.phys_ram_mb, view.used_ram_mb) == (64172, 2560)
    assert (view.phys_disk_gb, view.used_disk_gb) == (15, 20)  # used can exceed phys
    assert type(view.total_vcpus) is int and view.total_vcpus == 16
    assert view.used_vcpus == 1
    assert view.pci_stats == "[]"
    assert view.stats is None


def test_final_resource_view_with_stats() -> None:
    stats = "{'failed_builds': '0', 'io_workload': '0', 'num_instances': '1'}"
    view = event_of("Final resource view: name=compute phys_ram=7983MB used_ram=1024MB "
                    "phys_disk=47GB used_disk=1GB total_vcpus=4 used_vcpus=1 "
                    f"pci_stats=[] stats={stats}")
    assert view.pci_stats == "[]"
    assert view.stats == stats
    assert view.used_ram_mb == 1024


def test_hypervisor_view_negative_and_fractional_free_values() -> None:
    view = event_of("Hypervisor/Node resource view: name=compute free_ram=-1536MB "
                    "free_disk=-5GB free_vcpus=-2 pci_devices=None")
    assert (view.free_ram_mb, view.free_disk_gb, view.free_vcpus) == (-1536, -5, -2)
    frac = event_of("Hypervisor/Node resource view: name=compute free_ram=6959MB "
                    "free_disk=38.80341339111328GB free_vcpus=4 pci_devices=[]")
    assert frac.free_disk_gb == pytest.approx(38.80341339111328)
    assert frac.pci_devices == "[]"


def test_power_sync_and_vcpu_counts() -> None:
    sync = event_of("While synchronizing instance power states, found 2 instances in the "
                    "database and 1 instances on the hypervisor.")
    assert (sync.db_instances, sync.hypervisor_instances) == (2, 1)
    vcpus = event_of("Total usable vcpus: 16, total allocated vcpus: 3")
    assert (vcpus.usable, vcpus.allocated) == (16, 3)


@pytest.mark.parametrize(("text", "attempt", "attempts", "final"), [
    ("Instance failed network setup (attempt 1 of 3)", 1, 3, False),
    ("Instance failed network setup after 3 attempt(s)", None, 3, True),
])
def test_network_setup_attempts(text: str, attempt: int | None, attempts: int,
                                final: bool) -> None:
    event = event_of(text)
    assert (event.attempt, event.attempts, event.final) == (attempt, attempts, final)


# -- qemu-img argv --------------------------------------------------------------------------------

def qemu_img_of(command: str):
    event = event_of(f"Running cmd (subprocess): {command}")
    assert event.kind == "subprocess_running"
    assert event.command == command
    return event


@pytest.mark.parametrize("cache", ["none", "writeback"])
def test_qemu_img_convert(cache: str) -> None:
    cmd = f"qemu-img convert -t {cache} -O raw -f qcow2 {BASE}.part {BASE}.converted"
    event = qemu_img_of(cmd)
    assert event.argv == ["qemu-img", "convert", "-t", cache, "-O", "raw", "-f", "qcow2",
                          f"{BASE}.part", f"{BASE}.converted"]
    q = event.qemu_img
    assert q.operation == "convert"
    assert (q.source, q.target) == (f"{BASE}.part", f"{BASE}.converted")
    assert (q.format, q.output_format, q.cache) == ("qcow2", "raw", cache)
    assert q.backing_file is None and q.size_bytes is None


def test_qemu_img_create_overlay_with_backing_fmt_and_size() -> None:
    cmd = (f"env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file={BASE},backing_fmt=raw "
           f"{INST_DIR}/disk 21474836480")
    q = qemu_img_of(cmd).qemu_img
    assert q.operation == "create"
    assert q.target == f"{INST_DIR}/disk"
    assert q.source is None
    assert q.format == "qcow2"
    assert (q.backing_file, q.backing_fmt) == (BASE, "raw")
    assert type(q.size_bytes) is int and q.size_bytes == 21474836480


def test_qemu_img_create_queens_size_option() -> None:
    """Queens create_cow_image: size in the -o options, no size argument."""
    cmd = f"qemu-img create -f qcow2 -o backing_file={BASE},size=1073741824 {INST_DIR}/disk"
    q = qemu_img_of(cmd).qemu_img
    assert q.operation == "create" and q.target == f"{INST_DIR}/disk"
    assert q.backing_file == BASE and q.backing_fmt is None
    assert q.size_bytes == 1073741824


def test_qemu_img_info_under_prlimit() -> None:
    cmd = ("/usr/bin/python3 -m oslo_concurrency.prlimit --as=2147483648 --cpu=30 -- "
           f"env LC_ALL=C LANG=C qemu-img info {BASE}.part --force-share --output=json")
    q = qemu_img_of(cmd).qemu_img
    assert q is not None
    assert q.operation == "info"
    assert q.source == f"{BASE}.part"
    assert q.target is None
    assert q.format is None and q.cache is None  # prlimit's options are not qemu-img's
    assert "--force-share" in q.flags
    assert q.output_format == "json"


def test_qemu_img_info_before_output_json() -> None:
    cmd = ("/usr/bin/python -m oslo_concurrency.prlimit --as=1073741824 --cpu=30 -- "
           f"env LC_ALL=C LANG=C qemu-img info {BASE}.part")
    q = qemu_img_of(cmd).qemu_img
    assert (q.operation, q.source) == ("info", f"{BASE}.part")


def test_qemu_img_in_returned_line() -> None:
    cmd = f"qemu-img convert -t none -O raw -f qcow2 {BASE}.part {BASE}.converted"
    event = event_of(f'CMD "{cmd}" returned: 0 in 1.688s')
    assert event.command == cmd
    assert event.qemu_img.operation == "convert"
    assert event.qemu_img.target == f"{BASE}.converted"


def test_other_commands_have_no_qemu_img() -> None:
    event = event_of(f"Running cmd (subprocess): mv {BASE}.converted {BASE}")
    assert event.argv == ["mv", f"{BASE}.converted", BASE]
    assert event.qemu_img is None


# -- network_info ----------------------------------------------------------------------------------

def test_network_info_json_parsed() -> None:
    event = event_of(f"Instance network_info: |{NETWORK_INFO_JSON}|")
    assert event.kind == "network_info"
    assert event.complete is True
    assert len(event.vifs) == 1
    vif = event.vifs[0]
    assert vif.model_dump() == NETWORK_INFO_VIF
    assert "172.24.4.10" not in vif.fixed_ips  # floating IPs are not fixed IPs


def test_network_cache_update_two_ports() -> None:
    second = json.loads(json.dumps(NETWORK_INFO[0]))
    second.update(id="9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", address="fa:16:3e:01:02:03",
                  type="bridge", devname="tap9b8a7c6d-5e")
    second["network"]["bridge"] = "brq4f28b3ec-cc"
    second["network"]["subnets"] = [second["network"]["subnets"][0]]
    second["network"]["subnets"][0]["ips"][0]["address"] = "10.0.0.9"
    event = event_of("Updating instance_info_cache with network_info: "
                     + json.dumps([NETWORK_INFO[0], second]))
    assert event.kind == "network_cache_update" and event.complete
    assert [v.mac for v in event.vifs] == ["fa:16:3e:5b:2c:91", "fa:16:3e:01:02:03"]
    assert [v.vif_type for v in event.vifs] == ["ovs", "bridge"]
    assert [v.bridge for v in event.vifs] == ["br-int", "brq4f28b3ec-cc"]
    assert event.vifs[1].fixed_ips == ["10.0.0.9"]
    assert event.vifs[1].dhcp_servers == ["10.0.0.2"]


def test_empty_network_info() -> None:
    event = event_of("Instance network_info: |[]|")
    assert event.complete is True and event.vifs == []


@pytest.mark.parametrize("cut", [40, len(NETWORK_INFO_JSON) // 2, len(NETWORK_INFO_JSON) - 1])
def test_truncated_network_info(cut: int) -> None:
    raw = NETWORK_INFO_JSON[:cut]
    event = event_of(f"Instance network_info: |{raw}")
    assert event.kind == "network_info"
    assert event.complete is False
    assert event.vifs == []


def test_truncated_network_info_in_a_log(tmp_path: Path) -> None:
    body = devstack_body("DEBUG", "nova.compute.manager",
                         f"Instance network_info: |{NETWORK_INFO_JSON[:300]}", instance=INST)
    ok = devstack_body("DEBUG", "nova.compute.manager",
                       "Start building block device mappings for instance.", instance=INST,
                       suffix=dsuffix("_build_resources", "/opt/stack/nova/nova/compute/manager.py",
                                      2654))
    path = write_log(tmp_path, "n-cpu.journal", [journal_line(body), journal_line(ok)])
    records, _ = parse_all(path, year=2017)
    assert [r.kind for r in records] == ["network_info", "bdm_start"]
    assert records[0].event.complete is False


# -- claim failures --------------------------------------------------------------------------------

@pytest.mark.parametrize(("reason", "resource", "free", "requested"), [
    ("Free memory 1024.00 MB < requested 2048 MB", "memory", 1024.0, 2048),
    ("Free disk 10.00 GB < requested 20 GB", "disk", 10.0, 20),
    ("Free vcpu 0.00 VCPU < requested 1 VCPU", "vcpu", 0.0, 1),
    ("Free memory -512.00 MB < requested 2048 MB", "memory", -512.0, 2048),
])
def test_insufficient_resources_reason(reason: str, resource: str, free: float,
                                       requested: int) -> None:
    event = event_of(f"Insufficient compute resources: {reason}.")
    assert event.kind == "insufficient_resources"
    assert event.reason == reason
    assert (event.resource, event.free, event.requested) == (resource, free, requested)
    assert isinstance(event.free, float) and type(event.requested) is int


def test_insufficient_resources_numa_reason() -> None:
    reason = "Requested instance NUMA topology cannot fit the given host NUMA topology"
    event = event_of(f"Insufficient compute resources: {reason}.")
    assert event.reason == reason
    assert (event.resource, event.free, event.requested) == (None, None, None)


def test_rescheduled_reason_and_uuid() -> None:
    event = event_of(f"Build of instance {INST} was re-scheduled: Insufficient compute resources: "
                     "Free memory 1024.00 MB < requested 2048 MB.")
    assert event.instance_uuid == INST
    assert event.reason == "Insufficient compute resources: Free memory 1024.00 MB < requested 2048 MB."


# -- other typed fields ----------------------------------------------------------------------------

def test_resource_audit_host_and_node() -> None:
    new = event_of("Auditing locally available compute resources for compute (node: "
                   "compute.example.org)")
    assert (new.host, new.node) == ("compute", "compute.example.org")
    old = event_of("Auditing locally available compute resources for node compute")
    assert (old.host, old.node) == (None, "compute")


def test_image_checking_in_use_counts() -> None:
    event = event_of(f"image 0673dd71-34c5-4fbb-86c4-40623fbe45b4 at ({BASE}): in use: on this "
                     "node 1 local, 0 on other nodes sharing this instance storage")
    assert event.base_file == BASE
    assert (event.local_users, event.remote_users) == (1, 0)
    checking = event_of(f"image 0673dd71-34c5-4fbb-86c4-40623fbe45b4 at ({BASE}): checking")
    assert checking.result == "checking" and checking.local_users is None


def test_base_file_lists() -> None:
    other = f"{INSTANCES}/_base/a489c868f0b34b1a2ba1b0e3b6e0c8e1e8f3e742"
    active = event_of(f"Active base files: {BASE} {other}")
    assert active.paths == [BASE, other]
    assert event_of("Removable base files:").paths == []


def test_direct_io_unsupported() -> None:
    event = event_of(f"Path '{INSTANCES}' does not support direct I/O: "
                     f"'[Errno 22] Invalid argument: '{INSTANCES}/.directio.test''")
    assert event.supported is False
    assert event.path == INSTANCES
    assert "Errno 22" in event.error
    assert event_of(f"Path '{INSTANCES}' supports direct I/O").supported is True


def test_image_converting_fields() -> None:
    event = event_of("f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7 was qcow2, converting to raw")
    assert (event.image_id, event.disk_format) == ("f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7", "qcow2")


@pytest.mark.parametrize("name", ["Started", "Stopped", "Paused", "Resumed", "Suspended",
                                  "Postcopy started", "Migration completed"])
def test_lifecycle_names(name: str) -> None:
    assert event_of(f"VM {name} (Lifecycle Event)").transition == name


def test_external_events() -> None:
    received = event_of(f"Received event network-vif-plugged-{PORT}")
    assert (received.verb, received.event) == ("Received", f"network-vif-plugged-{PORT}")
    processing = event_of(f"Processing event network-vif-plugged-{PORT}")
    assert processing.verb == "Processing"


def test_error_summary_optional() -> None:
    assert event_of("Instance failed to spawn").summary is None
    assert event_of("Failed to build and run instance: libvirt.libvirtError: internal error"
                    ).summary == "libvirt.libvirtError: internal error"


@pytest.mark.parametrize("text", [
    "Running periodic task ComputeManager._poll_rebooting_instances",
    "VM Exploded (Lifecycle Event)",
    "Took many seconds to build instance.",
    'Lock "compute_resources" acquired by',
    "",
])
def test_messages_outside_catalog(text: str) -> None:
    assert classify(text) is None
