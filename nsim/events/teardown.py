"""Instance teardown (nova/compute/manager.py _shutdown_instance, libvirt/driver.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from nsim.events.base import Event, Wording, by_type

DRIVER = "nova.virt.libvirt.driver"


class Terminating(Event):
    kind: ClassVar[str] = "terminating"
    logger: ClassVar[str] = "nova.compute.manager"
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Terminating instance", level="INFO"),)


class DeallocatingNetwork(Event):
    kind: ClassVar[str] = "deallocating_network"
    logger: ClassVar[str] = "nova.compute.manager"
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Deallocating network for instance"),)


class Destroyed(Event):
    kind: ClassVar[str] = "destroyed"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance destroyed successfully.", level="INFO"),
    )


class DestroyStart(Event):
    kind: ClassVar[str] = "destroy_start"
    logger: ClassVar[str] = "nova.compute.manager"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Start destroying the instance on the hypervisor."),
    )


class DestroyVanished(Event):
    """The domain was already gone while nova waited for it to stop (driver._wait_for_destroy)."""

    kind: ClassVar[str] = "destroy_vanished"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("During wait destroy, instance disappeared."),
    )


class DeletingFiles(Event):
    kind: ClassVar[str] = "deleting_files"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Deleting instance files {path}", level="INFO"),
    )
    path: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> DeletingFiles:
        return cls(path=str(tokens[0]))


class DeletionComplete(Event):
    kind: ClassVar[str] = "deletion_complete"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Deletion of {path} complete", level="INFO"),
    )
    path: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> DeletionComplete:
        return cls(path=str(tokens[0]))


class StoppedEventRemoved(Event):
    """A new lifecycle event cancelled the delayed STOPPED event (nova/virt/libvirt/host.py
    _event_emit_delayed); 2026.1 names the new event."""

    kind: ClassVar[str] = "stopped_event_removed"
    logger: ClassVar[str] = "nova.virt.libvirt.host"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Removed pending event for {instance_uuid} due to lifecycle event",
                until="victoria"),
        Wording("Removed pending event for {instance_uuid} due to event", since="wallaby",
                until="2025.2"),
        Wording("Removed pending STOPPED event for {instance_uuid} due to new event {new_event}",
                since="2026.1"),
    )
    instance_uuid: str
    new_event: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> StoppedEventRemoved:
        t = by_type(tokens)
        return cls(instance_uuid=t["UUID"][0], new_event=t.get("REST", [None])[0])
