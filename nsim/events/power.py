"""Reboot, stop, shutdown and resize lines of nova/compute/manager.py and the libvirt driver,
image-size and key-injection failures, and the libvirt firewall's per-instance lines.

Wordings before Ocata come from real logs (Havana 2013.2, where nova used the AUDIT level until
the LOG.audit calls became LOG.info; that change is placed at Kilo). Power states are
nova/compute/power_state.py numbers (1 running, 3 paused, 4 shutdown).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from nsim.events.base import Event, Wording, by_type

MANAGER = "nova.compute.manager"
DRIVER = "nova.virt.libvirt.driver"
FIREWALL = "nova.virt.libvirt.firewall"


class Rebooting(Event):
    kind: ClassVar[str] = "rebooting"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Rebooting instance", level="AUDIT", until="juno"),
        Wording("Rebooting instance", level="INFO", since="kilo"),
    )


class Rebooted(Event):
    """The driver's reboot ended: hard (`soft` False) or soft."""

    kind: ClassVar[str] = "rebooted"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance {how}rebooted successfully.", level="INFO"),
    )
    soft: bool = False

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Rebooted:
        return cls(soft=bool(tokens))

    def template_values(self) -> dict[str, Any]:
        return {"how": "soft " if self.soft else ""}


class SoftRebootFailed(Event):
    kind: ClassVar[str] = "soft_reboot_failed"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Failed to soft reboot instance. Trying hard reboot.", level="WARNING"),
    )


class RebootNotRunning(Event):
    kind: ClassVar[str] = "reboot_not_running"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("trying to reboot a non-running instance: (state: {power_state} expected: "
                "{expected})", level="WARNING"),
    )
    power_state: int
    expected: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> RebootNotRunning:
        return cls(power_state=int(tokens[0]), expected=int(tokens[1]))


class RebootFailed(Event):
    kind: ClassVar[str] = "reboot_failed"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Cannot reboot instance: {cause}", level="ERROR"),
    )
    cause: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> RebootFailed:
        return cls(cause=str(tokens[0]))


_STATES = re.compile(r"Current vm_state: (\S+), current task_state: (\S+), original DB "
                     r"power_state: (\d+), current VM power_state: (\d+)")


class ShutdownByItself(Event):
    """_sync_instance_power_state found the guest off while nova thought it running."""

    kind: ClassVar[str] = "shutdown_by_itself"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance shutdown by itself. Calling the stop API.", level="WARNING",
                until="newton"),
        Wording("Instance shutdown by itself. Calling the stop API. Current vm_state: "
                "{vm_state}, current task_state: {task_state}, original DB power_state: "
                "{db_power_state}, current VM power_state: {vm_power_state}", level="WARNING",
                since="ocata"),
    )
    vm_state: str | None = None
    task_state: str | None = None
    db_power_state: int | None = None
    vm_power_state: int | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ShutdownByItself:
        m = _STATES.match(str(tokens[0])) if tokens else None
        if m is None:
            return cls()
        task = m.group(2)
        return cls(vm_state=m.group(1), task_state=None if task == "None" else task,
                   db_power_state=int(m.group(3)), vm_power_state=int(m.group(4)))

    def template_values(self) -> dict[str, Any]:
        return dict(self) | {"task_state": self.task_state or "None"}


class Stopping(Event):
    kind: ClassVar[str] = "stopping"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Stopping instance; current vm_state: {vm_state}, current task_state: "
                "{task_state}, current DB power_state: {db_power_state}, current VM "
                "power_state: {vm_power_state}"),
    )
    vm_state: str
    task_state: str | None
    db_power_state: int
    vm_power_state: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Stopping:
        task = str(tokens[1])
        return cls(vm_state=str(tokens[0]), task_state=None if task == "None" else task,
                   db_power_state=int(tokens[2]), vm_power_state=int(tokens[3]))

    def template_values(self) -> dict[str, Any]:
        return dict(self) | {"task_state": self.task_state or "None"}


class StashingVmState(Event):
    """_prep_resize on the destination: a resize (or cold migration) begins."""

    kind: ClassVar[str] = "stashing_vm_state"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Stashing vm_state: {vm_state}"),)
    vm_state: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> StashingVmState:
        return cls(vm_state=str(tokens[0]))


class BlockDeviceSetupFailed(Event):
    """_prep_block_device failed (a volume in error, boot from volume); `cause` is oslo.log's
    error summary when it has one."""

    kind: ClassVar[str] = "block_device_setup_failed"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance failed block device setup{summary}", level="ERROR"),
    )
    cause: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> BlockDeviceSetupFailed:
        return cls(cause=str(tokens[0]) if tokens else None)

    def template_values(self) -> dict[str, Any]:
        return {"summary": f": {self.cause}" if self.cause else ""}


class BuildError(Event):
    """_log_original_error: the exception that failed a build, e.g. "Instance type's disk is
    too small for requested image." or "Zero floating ips available."."""

    kind: ClassVar[str] = "build_error"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Error: {cause}", level="ERROR"),)
    cause: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> BuildError:
        return cls(cause=str(tokens[0]))


class ImageTooLarge(Event):
    """The base image's virtual size exceeds the flavor's root disk (imagebackend
    verify_base_size; nova.virt.images in Havana); the build fails with FlavorDiskTooSmall."""

    kind: ClassVar[str] = "image_too_large"
    logger: ClassVar[str] = "nova.virt.libvirt.imagebackend"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("{path} virtual size {virtual_size} larger than flavor root disk size "
                "{root_size}", level="ERROR"),
    )
    path: str
    virtual_size: int
    root_size: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ImageTooLarge:
        return cls(path=str(tokens[0]), virtual_size=int(tokens[1]), root_size=int(tokens[2]))


class InjectingKey(Event):
    kind: ClassVar[str] = "injecting_key"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Injecting key into image {image_id}", level="INFO", until="havana"),
    )
    image_id: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> InjectingKey:
        return cls(image_id=str(tokens[0]))


class InjectSkipped(Event):
    """nova/virt/disk/api.py: key, net, metadata or data injection failed and was skipped."""

    kind: ClassVar[str] = "inject_skipped"
    logger: ClassVar[str] = "nova.virt.disk.api"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Ignoring error injecting {what} into image {detail}", level="WARNING"),
    )
    what: str
    detail: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> InjectSkipped:
        return cls(what=str(tokens[0]), detail=str(tokens[1]))


class FirewallBasicFiltering(Event):
    kind: ClassVar[str] = "firewall_basic_filtering"
    logger: ClassVar[str] = FIREWALL
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Called setup_basic_filtering in nwfilter", level="INFO", until="train"),
    )


class FirewallStaticFilters(Event):
    kind: ClassVar[str] = "firewall_static_filters"
    logger: ClassVar[str] = FIREWALL
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Ensuring static filters", level="INFO", until="train"),
    )


class FirewallUnfilterSkipped(Event):
    kind: ClassVar[str] = "firewall_unfilter_skipped"
    logger: ClassVar[str] = FIREWALL
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Attempted to unfilter instance which is not filtered", level="INFO",
                until="train"),
    )


class VolumeAttaching(Event):
    kind: ClassVar[str] = "volume_attaching"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Attaching volume {volume_id} to {mountpoint}", level="AUDIT", until="juno"),
        Wording("Attaching volume {volume_id} to {mountpoint}", level="INFO", since="kilo"),
    )
    volume_id: str
    mountpoint: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> VolumeAttaching:
        t = by_type(tokens)
        return cls(volume_id=t["UUID"][0], mountpoint=t["WORD"][0])
