"""The catalog both ways: event -> nova's wording for a release -> classify -> the same event.

EXAMPLES holds one realistic event per kind (values as a devstack boot logs them); it must cover
every kind in nsim.events.KINDS, so a new kind without an example fails here. The wording changes
between releases are checked against docs/nova.md.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nsim.events import KINDS, Event, classify
from nsim.events.audit import (
    ComputeRecordCreated,
    ComputeRecordUpdated,
    FinalResourceView,
    FreeResource,
    HypervisorView,
    PowerSyncMismatch,
    ResourceAudit,
    TotalUsableVcpus,
)
from nsim.events.build import (
    BdmStart,
    InstanceStarting,
    NetworkAllocating,
    NetworkAsyncStart,
    NetworkCacheUpdate,
    NetworkInfo,
    SpawnStart,
    Vif,
)
from nsim.events.claim import (
    AllocationDeleted,
    ClaimAborting,
    ClaimAttempt,
    ClaimFailed,
    ClaimLimit,
    ClaimLimitUnspecified,
    ClaimSuccessful,
    ClaimTotal,
    ClaimVcpuLimit,
    ClaimVcpuTotal,
    InsufficientResources,
    NumaNote,
    Overhead,
)
from nsim.events.failure import (
    Aborted,
    BuildFailed,
    BuildTimedOut,
    GuestStartFailed,
    NetworkAllocFailed,
    NetworkSetupFailed,
    Rescheduled,
    RetryInfoAbsent,
    SpawnFailed,
    UnexpectedBuildFailure,
    VifCreationFailed,
    VifTimeout,
)
from nsim.events.guest import (
    EventPrepare,
    ExternalEvent,
    GuestCreated,
    GuestLaunchFailed,
    GuestXmlEnd,
    GuestXmlStart,
    LifecycleEvent,
    PowerStateSync,
    Spawned,
    SyncPowerStateSkip,
    TookSeconds,
    VifPlugged,
    VifPlugging,
    VifUnplugged,
    VifUnplugging,
)
from nsim.events.image import (
    ConsoleLog,
    CreatingImage,
    DirectIo,
    ImageConverting,
    InstanceDirCreating,
    SubprocessReturned,
    SubprocessRunning,
)
from nsim.events.imagecache import (
    ActiveBaseFiles,
    BaseFileRemoveFailed,
    BaseFileTooYoung,
    ImageChecking,
    RemovableBaseFiles,
    RemovingBaseFile,
    UnknownBaseFile,
    VerificationComplete,
    VerifyBaseImages,
)
from nsim.events.lock import LockAcquired, LockAcquiring, LockPlain, LockReleased
from nsim.events.move import (
    Evacuating,
    MigratedAway,
    Migrating,
    MigrationArrived,
    Rebuilding,
    RunningAfterMove,
    Unshelving,
)
from nsim.events.power import (
    BlockDeviceSetupFailed,
    BuildError,
    FirewallBasicFiltering,
    FirewallStaticFilters,
    FirewallUnfilterSkipped,
    ImageTooLarge,
    InjectingKey,
    InjectSkipped,
    Rebooted,
    RebootFailed,
    Rebooting,
    RebootNotRunning,
    ShutdownByItself,
    SoftRebootFailed,
    StashingVmState,
    Stopping,
    VolumeAttaching,
)
from nsim.events.teardown import (
    DeallocatingNetwork,
    DeletingFiles,
    DeletionComplete,
    Destroyed,
    DestroyStart,
    DestroyVanished,
    StoppedEventRemoved,
    Terminating,
)
from nsim.nova.qemu_img import QemuImgCommand
from nsim.nova.releases import RELEASES, release_index
from tests.conftest import (
    BASE,
    IMAGE,
    INST,
    INST_DIR,
    INSTANCES,
    NETWORK_INFO_JSON,
    NETWORK_INFO_VIF,
    PORT,
    PROJECT_ID,
    REQ,
    USER_ID,
    XML_LINES,
    dsuffix,
    journal_line,
    json_entry,
    oslo_line,
    parse_all,
    usec_of,
    write_log,
)

OTHER_IMAGE = "0673dd71-34c5-4fbb-86c4-40623fbe45b4"
OTHER_BASE = f"{INSTANCES}/_base/{hashlib.sha1(OTHER_IMAGE.encode()).hexdigest()}"
OLD_BASE = f"{INSTANCES}/_base/{hashlib.sha1(b'9e1c9b5a-2f0d-4e1b-a7c3-5d6e7f8a9b0c').hexdigest()}"
BUILD_OWNER = ("nova.compute.manager.ComputeManager.build_and_run_instance.<locals>."
               "_locked_do_build_and_run_instance")
CONVERT = f"qemu-img convert -t none -O raw -f qcow2 {BASE}.part {BASE}.converted"
CREATE = (f"env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file={BASE},backing_fmt=raw "
          f"{INST_DIR}/disk 21474836480")
VIF_REPR = ("VIFOpenVSwitch(active=False,address=fa:16:3e:5b:2c:91,bridge_name='br-int',"
            f"has_traffic_filtering=True,id={PORT},network=Network(4f28b3ec-cc2d-4a1b-8f3e-"
            "6a7b9c0d1e2f),plugin='ovs',port_profile=VIFPortProfileOpenVSwitch,"
            "preserve_on_delete=False,vif_name='tap4c3d3a9e-7d')")
PCI_DEVICES = ('[{"dev_id": "pci_0000_00_00_0", "product_id": "1237", "dev_type": "type-PCI", '
               '"numa_node": null, "vendor_id": "8086", "label": "label_8086_1237", '
               '"address": "0000:00:00.0"}]')
STATS = ("{'failed_builds': '0', 'io_workload': '0', 'num_instances': '1', 'num_os_type_None': "
         f"'1', 'num_proj_{PROJECT_ID}': '1', 'num_task_spawning': '1', 'num_vm_building': '1'}}")
SUMMARY = "libvirt.libvirtError: internal error: process exited while connecting to monitor"

EXAMPLES: dict[str, Event] = {
    "lock_acquiring": LockAcquiring(
        name="compute_resources",
        owner="nova.compute.resource_tracker.ResourceTracker.instance_claim"),
    "lock_acquired": LockAcquired(name=INST, owner=BUILD_OWNER, waited=0.0),
    "lock_released": LockReleased(name="compute_resources",
                                  owner="nova.compute.resource_tracker.ResourceTracker.instance_claim",
                                  held=0.012, action="released"),
    "lock_plain": LockPlain(verb="Acquired lock", name=f"refresh_cache-{INST}"),
    "instance_starting": InstanceStarting(),
    "network_async_start": NetworkAsyncStart(),
    "network_allocating": NetworkAllocating(),
    "network_info": NetworkInfo(raw=f"|{NETWORK_INFO_JSON}|", vifs=[Vif(**NETWORK_INFO_VIF)],
                                complete=True),
    "network_cache_update": NetworkCacheUpdate(raw=NETWORK_INFO_JSON,
                                               vifs=[Vif(**NETWORK_INFO_VIF)], complete=True),
    "bdm_start": BdmStart(),
    "spawn_start": SpawnStart(),
    "overhead": Overhead(resource="memory", requested=2048, overhead=0),
    "claim_attempt": ClaimAttempt(node="compute", memory_mb=2048, disk_gb=20, vcpus=1),
    "claim_total": ClaimTotal(resource="memory", total=64172.0, used=2560.0),
    "claim_limit_unspecified": ClaimLimitUnspecified(resource="disk"),
    "claim_limit": ClaimLimit(resource="memory", limit=96258.0, free=93698.0),
    "claim_successful": ClaimSuccessful(node="compute"),
    "claim_failed": ClaimFailed(
        reason="Insufficient compute resources: Requested instance NUMA topology cannot fit the "
               "given host NUMA topology."),
    "insufficient_resources": InsufficientResources(
        reason="Free memory 1024.00 MB < requested 2048 MB", resource="memory", free=1024.0,
        requested=2048),
    "numa_note": NumaNote(),
    "instance_dir_creating": InstanceDirCreating(),
    "creating_image": CreatingImage(),
    "image_converting": ImageConverting(image_id=IMAGE, disk_format="qcow2"),
    "direct_io": DirectIo(path=INSTANCES, supported=True),
    "subprocess_running": SubprocessRunning(
        command=CONVERT, argv=CONVERT.split(),
        qemu_img=QemuImgCommand(operation="convert", source=f"{BASE}.part",
                                target=f"{BASE}.converted", format="qcow2", output_format="raw",
                                cache="none")),
    "subprocess_returned": SubprocessReturned(
        command=CREATE, returncode=0, seconds=0.058,
        qemu_img=QemuImgCommand(operation="create", target=f"{INST_DIR}/disk", format="qcow2",
                                backing_file=BASE, backing_fmt="raw", size_bytes=21474836480,
                                options={"backing_file": BASE, "backing_fmt": "raw"})),
    "console_log": ConsoleLog(path=f"{INST_DIR}/console.log"),
    "guest_xml_start": GuestXmlStart(
        details=f'network_info=[{{"id": "{PORT}", "address": "fa:16:3e:5b:2c:91", "type": "ovs"}}] '
                "disk_info={'disk_bus': 'virtio', 'cdrom_bus': 'ide', 'mapping': {'root': "
                "{'bus': 'virtio', 'dev': 'vda', 'type': 'disk', 'boot_index': '1'}}} "
                f"image_meta=ImageMeta(container_format='bare',disk_format='qcow2',id={IMAGE}) "
                "rescue=None block_device_info={'root_device_name': '/dev/vda', "
                "'ephemerals': [], 'block_device_mapping': []}"),
    "guest_xml_end": GuestXmlEnd(xml="\n".join(XML_LINES)),
    "event_prepare": EventPrepare(event=f"network-vif-plugged-{PORT}"),
    "external_event": ExternalEvent(verb="Received", event=f"network-vif-plugged-{PORT}"),
    "vif_plugging": VifPlugging(vif=VIF_REPR),
    "vif_plugged": VifPlugged(vif=VIF_REPR),
    "lifecycle_event": LifecycleEvent(transition="Paused"),
    "sync_power_state_skip": SyncPowerStateSkip(task_state="spawning"),
    "guest_created": GuestCreated(),
    "spawned": Spawned(),
    "took_seconds": TookSeconds(seconds=8.19, what="spawn the instance on the hypervisor.",
                                step="spawn"),
    "terminating": Terminating(),
    "destroyed": Destroyed(),
    "destroy_start": DestroyStart(),
    "deallocating_network": DeallocatingNetwork(),
    "power_state_sync": PowerStateSync(transition="Paused", vm_state="building",
                                       task_state="spawning", db_power_state=0, vm_power_state=3),
    "destroy_vanished": DestroyVanished(),
    "vif_unplugging": VifUnplugging(vif=VIF_REPR),
    "vif_unplugged": VifUnplugged(vif=VIF_REPR),
    "guest_launch_failed": GuestLaunchFailed(xml="<domain type='kvm'>\n  <name>instance-00000003"
                                                 "</name>\n</domain>: libvirtError: internal error"),
    "claim_aborting": ClaimAborting(memory_mb=512, disk_gb=1),
    "allocation_deleted": AllocationDeleted(instance_uuid=INST),
    "deleting_files": DeletingFiles(path=f"{INST_DIR}_del"),
    "deletion_complete": DeletionComplete(path=f"{INST_DIR}_del"),
    "stopped_event_removed": StoppedEventRemoved(
        instance_uuid=INST, new_event=f"<LifecycleEvent: 1497618781.2305, {INST} => Started>"),
    "image_checking": ImageChecking(image_id=IMAGE, base_file=BASE, result="checking"),
    "unknown_base_file": UnknownBaseFile(path=OLD_BASE),
    "active_base_files": ActiveBaseFiles(paths=[BASE, OTHER_BASE]),
    "removable_base_files": RemovableBaseFiles(paths=[OLD_BASE]),
    "base_file_too_young": BaseFileTooYoung(path=OLD_BASE),
    "removing_base_file": RemovingBaseFile(path=OLD_BASE),
    "base_file_remove_failed": BaseFileRemoveFailed(
        path=OLD_BASE, error=f"[Errno 13] Permission denied: '{OLD_BASE}'"),
    "verify_base_images": VerifyBaseImages(),
    "verification_complete": VerificationComplete(),
    "resource_audit": ResourceAudit(host="compute", node="compute"),
    "hypervisor_view": HypervisorView(node="compute", free_ram_mb=7471.0, free_disk_gb=46.0,
                                      free_vcpus=4.0, pci_devices=PCI_DEVICES),
    "total_usable_vcpus": TotalUsableVcpus(usable=4, allocated=1.0),
    "final_resource_view": FinalResourceView(
        node="cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us", phys_ram_mb=64172.0, used_ram_mb=2560.0,
        phys_disk_gb=15.0, used_disk_gb=20.0, total_vcpus=16, used_vcpus=1.0, pci_stats="[]",
        stats=STATS),
    "power_sync_mismatch": PowerSyncMismatch(db_instances=2, hypervisor_instances=1),
    "spawn_failed": SpawnFailed(summary=SUMMARY),
    "build_failed": BuildFailed(summary=SUMMARY),
    "network_alloc_failed": NetworkAllocFailed(
        summary="nova.exception.VirtualInterfaceCreateException: Virtual Interface creation "
                "failed"),
    "guest_start_failed": GuestStartFailed(summary=SUMMARY),
    "unexpected_build_failure": UnexpectedBuildFailure(
        summary="oslo_messaging.exceptions.MessagingTimeout: Timed out waiting for a reply"),
    "rescheduled": Rescheduled(
        instance_uuid=INST,
        reason="Insufficient compute resources: Free memory 1024.00 MB < requested 2048 MB."),
    "aborted": Aborted(
        instance_uuid=INST,
        reason=f"Image {IMAGE} is unacceptable: Unable to convert image to raw: Image "
               f"{BASE}.part is unacceptable: Conversion failed"),
    "retry_info_absent": RetryInfoAbsent(),
    "network_setup_failed": NetworkSetupFailed(attempt=1, attempts=3, final=False),
    "vif_timeout": VifTimeout(
        details=f"[('network-vif-plugged', '{PORT}')] for instance with vm_state building and "
                f"task_state spawning. Event states are: network-vif-plugged-{PORT}: timed out "
                "after 300.00 seconds"),
    "vif_creation_failed": VifCreationFailed(),
    "build_timed_out": BuildTimedOut(),
    "claim_vcpu_total": ClaimVcpuTotal(total=32.0, used=172.0),
    "claim_vcpu_limit": ClaimVcpuLimit(limit=512.0, free=340.0),
    "free_resource": FreeResource(resource="vcpu", free=-6.0),
    "compute_record_updated": ComputeRecordUpdated(host="compute", node="compute.example.org"),
    "compute_record_created": ComputeRecordCreated(host="compute", node="compute.example.org",
                                                   uuid="4ec5bd4c-4b3e-4c8a-9d5f-2a1b3c4d5e6f"),
    "rebooting": Rebooting(),
    "rebooted": Rebooted(soft=True),
    "soft_reboot_failed": SoftRebootFailed(),
    "reboot_not_running": RebootNotRunning(power_state=4, expected=1),
    "reboot_failed": RebootFailed(cause="Instance instance-00000001 could not be found."),
    "shutdown_by_itself": ShutdownByItself(vm_state="active", task_state=None, db_power_state=1,
                                           vm_power_state=4),
    "stopping": Stopping(vm_state="active", task_state="powering-off", db_power_state=1,
                         vm_power_state=1),
    "stashing_vm_state": StashingVmState(vm_state="active"),
    "block_device_setup_failed": BlockDeviceSetupFailed(
        cause="VolumeNotCreated: Volume 68ce19e8-f0c6-425e-bd21-a1c4714b790b did not finish "
              "being created even after we waited 3 seconds or 2 attempts. And its status is "
              "error."),
    "build_error": BuildError(cause="Instance type's disk is too small for requested image."),
    "image_too_large": ImageTooLarge(path=BASE, virtual_size=8589934592, root_size=1073741824),
    "injecting_key": InjectingKey(image_id=IMAGE),
    "inject_skipped": InjectSkipped(what="key", detail="(aug_get: no matching node)"),
    "firewall_basic_filtering": FirewallBasicFiltering(),
    "firewall_static_filters": FirewallStaticFilters(),
    "firewall_unfilter_skipped": FirewallUnfilterSkipped(),
    "volume_attaching": VolumeAttaching(volume_id="68ce19e8-f0c6-425e-bd21-a1c4714b790b",
                                        mountpoint="/dev/vdc"),
    "migrating": Migrating(),
    "evacuating": Evacuating(),
    "rebuilding": Rebuilding(),
    "unshelving": Unshelving(),
    "migration_arrived": MigrationArrived(),
    "migrated_away": MigratedAway(destination="compute2"),
    "running_after_move": RunningAfterMove(),
}


def example(kind: str, release: str) -> Event:
    """The example as `release` can log it: fields its wording does not carry are absent."""
    event = EXAMPLES[kind]
    old = release_index(release) <= release_index("ocata")
    if kind == "claim_successful" and old:
        return event.model_copy(update={"node": None})
    if kind == "resource_audit" and release_index(release) <= release_index("juno"):
        return event.model_copy(update={"host": None, "node": None})
    if kind == "resource_audit" and release_index(release) <= release_index("newton"):
        return event.model_copy(update={"host": None})
    if kind == "final_resource_view" and release_index(release) < release_index("2025.2"):
        return event.model_copy(update={"stats": None})
    if kind == "stopped_event_removed" and release_index(release) < release_index("2026.1"):
        return event.model_copy(update={"new_event": None})
    havana = release == "havana"
    if kind == "claim_attempt" and old:
        if release_index(release) > release_index("mitaka"):
            return event.model_copy(update={"node": None})
        vcpus = None if release_index(release) >= release_index("kilo") else event.vcpus
        return event.model_copy(update={"node": None, "vcpus": vcpus})
    if kind == "lifecycle_event" and havana:
        return event.model_copy(update={"instance_uuid": INST})
    if kind == "sync_power_state_skip" and havana:
        return event.model_copy(update={"task_state": None})
    if kind == "shutdown_by_itself" and release_index(release) <= release_index("newton"):
        return ShutdownByItself()
    if kind == "compute_record_created" and release_index(release) <= release_index("ocata"):
        return event.model_copy(update={"uuid": None})
    return event


CASES = [(kind, release) for kind, cls in KINDS.items() for release in RELEASES
         if cls.wording_for(release) is not None]


# Kinds with no wording: text nova never logs on its own (see their docstrings).
WORDLESS = {"network_alloc_not_rescheduling"}


def test_examples_cover_every_kind() -> None:
    assert set(EXAMPLES) == set(KINDS) - WORDLESS
    for kind, event in EXAMPLES.items():
        assert type(event) is KINDS[kind]
        assert event.kind == kind


def test_every_kind_is_logged_by_some_release() -> None:
    logged = {kind for kind, _ in CASES}
    assert logged == set(KINDS) - WORDLESS
    assert all(not KINDS[kind].wordings for kind in WORDLESS)


@pytest.mark.parametrize(("kind", "release"), CASES)
def test_render_then_classify_is_identity(kind: str, release: str) -> None:
    event = example(kind, release)
    text = event.render(release)
    assert text.strip() == text and text
    back = classify(text)
    assert back is not None, f"{release} wording of {kind} not recognised: {text!r}"
    assert back.kind == kind
    assert back == event


@pytest.mark.parametrize("verb", ["Acquiring lock", "Acquired lock", "Releasing lock",
                                  "Acquired external semaphore"])
def test_lock_plain_every_verb(verb: str) -> None:
    """lockutils.lock() as a context manager logs the lock name alone, no owner, no timings."""
    event = LockPlain(verb=verb, name=f"refresh_cache-{INST}")
    text = event.render("2025.2")
    assert text == f'{verb} "refresh_cache-{INST}"'
    assert classify(text) == event


def test_render_refuses_a_release_without_the_message() -> None:
    with pytest.raises(ValueError):
        EXAMPLES["claim_total"].render("train")
    with pytest.raises(ValueError):
        EXAMPLES["lock_acquiring"].render("yoga")


# -- wording changes between releases (docs/nova.md §1, §4, §5) --------------------------------------

def releases_with(kind: str) -> list[str]:
    return [r for r in RELEASES if KINDS[kind].wording_for(r) is not None]


@pytest.mark.parametrize("kind", ["overhead", "claim_attempt", "claim_total",
                                  "claim_limit_unspecified", "claim_limit"])
def test_claim_test_lines_end_with_stein(kind: str) -> None:
    assert releases_with(kind) == list(RELEASES[:RELEASES.index("stein") + 1])


def test_claim_successful_survives_train_and_failed_claim_starts_in_xena() -> None:
    assert releases_with("claim_successful") == list(RELEASES)
    assert EXAMPLES["claim_successful"].render("train") == "Claim successful on node compute"
    assert ClaimSuccessful().render("ocata") == "Claim successful"
    assert releases_with("claim_failed") == list(RELEASES[RELEASES.index("xena"):])


def test_claim_attempt_names_the_node_from_pike() -> None:
    assert ClaimAttempt(memory_mb=2048, disk_gb=20, vcpus=1).render("ocata") == (
        "Attempting claim: memory 2048 MB, disk 20 GB, vcpus 1 CPU")
    assert EXAMPLES["claim_attempt"].render("pike") == (
        "Attempting claim on node compute: memory 2048 MB, disk 20 GB, vcpus 1 CPU")


def test_claim_test_line_formats() -> None:
    assert EXAMPLES["claim_total"].render("stein") == "Total memory: 64172 MB, used: 2560.00 MB"
    assert EXAMPLES["claim_limit"].render("stein") == (
        "memory limit: 96258.00 MB, free: 93698.00 MB")
    assert EXAMPLES["claim_limit_unspecified"].render("mitaka") == (
        "disk limit not specified, defaulting to unlimited")


def test_creating_image_gains_s_in_zed() -> None:
    assert CreatingImage().render("yoga") == "Creating image"
    assert CreatingImage().render("zed") == "Creating image(s)"


def test_released_is_quoted_from_xena() -> None:
    lock = EXAMPLES["lock_released"]
    owner = "nova.compute.resource_tracker.ResourceTracker.instance_claim"
    assert lock.render("wallaby") == f'Lock "compute_resources" released by "{owner}" :: held 0.012s'
    assert lock.render("xena") == f'Lock "compute_resources" "released" by "{owner}" :: held 0.012s'


def test_acquiring_lock_line_from_zed() -> None:
    assert releases_with("lock_acquiring") == list(RELEASES[RELEASES.index("zed"):])


def test_guest_created_from_rocky() -> None:
    assert GuestCreated().render("queens") == "Instance is running"
    assert GuestCreated().render("rocky") == "Guest created on hypervisor"


def test_image_cache_ephemeral_wording_from_wallaby() -> None:
    young, removing = EXAMPLES["base_file_too_young"], EXAMPLES["removing_base_file"]
    assert young.render("victoria") == f"Base or swap file too young to remove: {OLD_BASE}"
    assert young.render("wallaby") == (
        f"Base, swap or ephemeral file too young to remove: {OLD_BASE}")
    assert removing.render("victoria") == f"Removing base or swap file: {OLD_BASE}"
    assert removing.render("wallaby") == f"Removing base, swap or ephemeral file: {OLD_BASE}"


def test_final_resource_view_stats_from_2025_2_and_debug_from_stein() -> None:
    view = example("final_resource_view", "2025.1")
    text = view.render("2025.1")
    assert text == ("Final resource view: name=cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us "
                    "phys_ram=64172MB used_ram=2560MB phys_disk=15GB used_disk=20GB "
                    "total_vcpus=16 used_vcpus=1 pci_stats=[]")
    assert "stats=" not in text.replace("pci_stats=", "")
    assert EXAMPLES["final_resource_view"].render("2025.2") == f"{text} stats={STATS}"
    cls = KINDS["final_resource_view"]
    assert cls.wording_for("rocky").level == "INFO"
    assert cls.wording_for("stein").level == "DEBUG"


def test_audit_line_names_host_from_ocata() -> None:
    audit = EXAMPLES["resource_audit"]
    assert ResourceAudit(node="compute").render("newton") == (
        "Auditing locally available compute resources for node compute")
    assert audit.render("ocata") == (
        "Auditing locally available compute resources for compute (node: compute)")
    cls = KINDS["resource_audit"]
    assert cls.wording_for("newton").level == "INFO"
    assert cls.wording_for("ocata").level == "DEBUG"


# Levels nova logs a message at (docs/nova.md §1) (same in every release unless noted above).
LEVELS = {
    "lock_acquired": "DEBUG", "lock_acquiring": "DEBUG", "lock_released": "DEBUG",
    "instance_starting": "DEBUG", "overhead": "DEBUG", "claim_attempt": "INFO",
    "claim_total": "INFO", "claim_limit_unspecified": "INFO", "claim_limit": "INFO",
    "claim_successful": "INFO", "claim_failed": "INFO", "network_async_start": "DEBUG",
    "network_allocating": "DEBUG", "network_info": "DEBUG", "bdm_start": "DEBUG",
    "spawn_start": "DEBUG", "instance_dir_creating": "DEBUG", "creating_image": "INFO",
    "console_log": "DEBUG", "guest_xml_start": "DEBUG", "guest_xml_end": "DEBUG",
    "event_prepare": "DEBUG", "vif_plugging": "DEBUG", "vif_plugged": "INFO",
    "lifecycle_event": "INFO", "sync_power_state_skip": "INFO", "external_event": "DEBUG",
    "guest_created": "DEBUG", "spawned": "INFO", "took_seconds": "INFO",
    "insufficient_resources": "DEBUG", "rescheduled": "DEBUG", "spawn_failed": "ERROR",
    "build_failed": "ERROR", "retry_info_absent": "DEBUG", "aborted": "ERROR",
    "vif_timeout": "WARNING", "network_alloc_failed": "ERROR", "guest_start_failed": "ERROR",
    "unexpected_build_failure": "ERROR", "build_timed_out": "WARNING",
    "image_checking": "INFO", "unknown_base_file": "WARNING", "active_base_files": "INFO",
    "removable_base_files": "INFO", "base_file_too_young": "INFO", "removing_base_file": "INFO",
    "base_file_remove_failed": "ERROR", "verify_base_images": "DEBUG",
    "verification_complete": "DEBUG", "power_sync_mismatch": "WARNING",
    "stopped_event_removed": "DEBUG",
}


@pytest.mark.parametrize("kind", sorted(LEVELS))
def test_wording_levels(kind: str) -> None:
    """From Kilo on; before, nova logged some of these at AUDIT (see the next test)."""
    for release in releases_with(kind):
        if release_index(release) >= release_index("kilo"):
            assert KINDS[kind].wording_for(release).level == LEVELS[kind], release


def test_audit_level_only_before_kilo() -> None:
    audit = {(kind, release) for kind, release in CASES
             if KINDS[kind].wording_for(release).level == "AUDIT"}
    assert audit
    assert all(release_index(r) < release_index("kilo") for _, r in audit)
    assert ("claim_attempt", "havana") in audit and ("free_resource", "havana") in audit


# -- the same round trip through whole log lines, in every on-disk format --------------------------

INSTANCE_LOGGERS = ("nova.compute.manager", "nova.compute.claims", "nova.virt.libvirt.driver",
                    "os_vif")
CTX_OSLO = f"{REQ} {USER_ID} {PROJECT_ID} - - -"
CTX_JOURNAL = f"None {REQ} admin admin"


def log_lines(fmt: str, release: str) -> tuple[list[str], list[Event]]:
    """Every kind the release logs, written as nova-compute would write it in `fmt`."""
    lines: list[str] = []
    expected: list[Event] = []
    t0 = datetime(2017, 6, 16, 13, 12, 52)
    for i, (kind, cls) in enumerate(KINDS.items()):
        wording = cls.wording_for(release)
        if wording is None:
            continue
        event = example(kind, release)
        expected.append(event)
        text = event.render(release).split("\n")
        level, logger = wording.level, cls.logger
        instance = INST if logger in INSTANCE_LOGGERS else None
        when = t0 + timedelta(milliseconds=10 * i)
        if fmt == "oslo":
            stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            first = oslo_line(level, logger, text[0], ctx=CTX_OSLO, instance=instance,
                              stamp=stamp)
            rest = text[1:]
            if level == "DEBUG":
                tail = f" {kind}_func /opt/stack/nova/nova/{kind}.py:{100 + i}"
                if rest:
                    rest[-1] += tail
                else:
                    first += tail
            lines += [first, *rest]
            continue
        inst = f"[instance: {instance}] " if instance else ""
        bodies = [f"{level} {logger} [{CTX_JOURNAL}] {inst}{text[0]}", *text[1:]]
        if level == "DEBUG":
            bodies[-1] += " " + dsuffix(f"{kind}_func", f"/opt/stack/nova/nova/{kind}.py", 100 + i)
        if fmt == "journal":
            stamp = when.strftime("%b %d %H:%M:%S.%f")
            lines += [journal_line(b, stamp=stamp) for b in bodies]
        else:
            lines += [json_entry(b, usec_of(when) + j) for j, b in enumerate(bodies)]
    return lines, expected


@pytest.mark.parametrize("fmt", ["journal", "oslo", "json"])
@pytest.mark.parametrize("release", RELEASES)
def test_round_trip_through_log_files(tmp_path: Path, fmt: str, release: str) -> None:
    lines, expected = log_lines(fmt, release)
    path = write_log(tmp_path, f"n-cpu.{fmt}", lines)
    records, run = parse_all(path, format=fmt, year=2017)
    assert run.counts.bad_lines == 0, [str(d) for d in run.diagnostics]
    assert len(records) == len(expected)
    for record, event in zip(records, expected, strict=True):
        assert record.event == event, f"{event.kind}: {record.message!r}"
        assert record.func == f"{event.kind}_func" or record.level != "DEBUG"
