"""Guest definition and start (nova/virt/libvirt/driver.py, os_vif, nova/compute/manager.py)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from nsim.events.base import Event, Wording, by_type

DRIVER = "nova.virt.libvirt.driver"
MANAGER = "nova.compute.manager"

# nova/virt/event.py display names.
LifecycleName = Literal["Started", "Stopped", "Paused", "Resumed", "Suspended",
                        "Postcopy started", "Migration completed"]


class GuestXmlStart(Event):
    kind: ClassVar[str] = "guest_xml_start"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Start _get_guest_xml {details}"),)
    details: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> GuestXmlStart:
        return cls(details=str(tokens[0]))


class GuestXmlEnd(Event):
    kind: ClassVar[str] = "guest_xml_end"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("End _get_guest_xml xml={xml}"),)
    xml: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> GuestXmlEnd:
        return cls(xml=str(tokens[0]))


class EventPrepare(Event):
    kind: ClassVar[str] = "event_prepare"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Preparing to wait for external event {event}"),
    )
    event: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> EventPrepare:
        return cls(event=str(tokens[0]))


class ExternalEvent(Event):
    """Neutron's event reaching the compute host: received, then processed."""

    kind: ClassVar[str] = "external_event"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("{verb} event {event}{tail}"),)
    verb: Literal["Received", "Processing"]
    event: str
    tail: str = ""

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ExternalEvent:
        t = by_type(tokens)
        rest = t.get("REST", [""])[0]
        return cls(verb=t["EXTERNAL_EVENT_VERB"][0].split()[0], event=t["EVENT_NAME"][0],
                   tail=f" {rest}" if rest else "")


class VifPlugging(Event):
    kind: ClassVar[str] = "vif_plugging"
    logger: ClassVar[str] = "os_vif"
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Plugging vif {vif}"),)
    vif: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> VifPlugging:
        return cls(vif=str(tokens[0]))


class VifPlugged(Event):
    kind: ClassVar[str] = "vif_plugged"
    logger: ClassVar[str] = "os_vif"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Successfully plugged vif {vif}", level="INFO"),
    )
    vif: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> VifPlugged:
        return cls(vif=str(tokens[0]))


class VifUnplugging(Event):
    kind: ClassVar[str] = "vif_unplugging"
    logger: ClassVar[str] = "os_vif"
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Unplugging vif {vif}"),)
    vif: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> VifUnplugging:
        return cls(vif=str(tokens[0]))


class VifUnplugged(Event):
    kind: ClassVar[str] = "vif_unplugged"
    logger: ClassVar[str] = "os_vif"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Successfully unplugged vif {vif}", level="INFO"),
    )
    vif: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> VifUnplugged:
        return cls(vif=str(tokens[0]))


class GuestLaunchFailed(Event):
    """libvirt refused to start the defined domain (nova/virt/libvirt/guest.py launch)."""

    kind: ClassVar[str] = "guest_launch_failed"
    logger: ClassVar[str] = "nova.virt.libvirt.guest"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Error launching a defined domain with XML: {xml}", level="ERROR"),
    )
    xml: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> GuestLaunchFailed:
        return cls(xml=str(tokens[0]))


# nova/virt/event.py: the event codes, in order.
LIFECYCLE_CODES: tuple[str, ...] = ("Started", "Stopped", "Paused", "Resumed", "Suspended",
                                    "Postcopy started", "Migration completed")


class LifecycleEvent(Event):
    """handle_lifecycle_event: a libvirt domain event as nova names it. Havana logged the
    event's code and the instance uuid ("Lifecycle event 0 on VM <uuid>", no instance prefix):
    `instance_uuid` is set from such messages."""

    kind: ClassVar[str] = "lifecycle_event"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Lifecycle event {code} on VM {instance_uuid}", level="INFO", until="havana"),
        Wording("VM {transition} (Lifecycle Event)", level="INFO", since="icehouse"),
    )
    transition: LifecycleName
    instance_uuid: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> LifecycleEvent:
        t = by_type(tokens)
        if "UUID" in t:
            return cls(transition=LIFECYCLE_CODES[int(t["INT"][0])], instance_uuid=t["UUID"][0])
        return cls(transition=t["LIFECYCLE"][0])

    def template_values(self) -> dict[str, Any]:
        return dict(self) | {"code": LIFECYCLE_CODES.index(self.transition)}


class PowerStateSync(Event):
    """handle_lifecycle_event before _sync_instance_power_state; power states as numbers
    (nova/compute/power_state.py: 0 pending, 1 running, 3 paused, 4 shutdown, 6 crashed, 7 suspended)."""

    kind: ClassVar[str] = "power_state_sync"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording('Synchronizing instance power state after lifecycle event "{transition}"; '
                "current vm_state: {vm_state}, current task_state: {task_state}, "
                "current DB power_state: {db_power_state}, VM power_state: {vm_power_state}"),
    )
    transition: str
    vm_state: str
    task_state: str | None
    db_power_state: int
    vm_power_state: int

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> PowerStateSync:
        task = str(tokens[2])
        return cls(transition=str(tokens[0]).strip('"'), vm_state=str(tokens[1]),
                   task_state=None if task == "None" else task,
                   db_power_state=int(tokens[3]), vm_power_state=int(tokens[4]))


class SyncPowerStateSkip(Event):
    """The power-state sync skipped an instance with a task; Havana did not name the task."""

    kind: ClassVar[str] = "sync_power_state_skip"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("During sync_power_state the instance has a pending task. Skip.", level="INFO",
                until="havana"),
        Wording("During sync_power_state the instance has a pending task ({task_state}). Skip.",
                level="INFO", since="icehouse"),
    )
    task_state: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> SyncPowerStateSkip:
        return cls(task_state=str(tokens[0]) if tokens else None)


class GuestCreated(Event):
    kind: ClassVar[str] = "guest_created"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance is running", until="queens"),
        Wording("Guest created on hypervisor", since="rocky"),
    )


class Spawned(Event):
    kind: ClassVar[str] = "spawned"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance spawned successfully.", level="INFO"),
    )


# Text after "Took N seconds to " (nova/compute/manager.py), and the step each times.
TOOK_SPAWN = "spawn the instance on the hypervisor."
TOOK_BUILD = "build instance."
TOOK_DESTROY = "destroy the instance on the hypervisor."
TOOK_DEALLOCATE = "deallocate network for instance."
TOOK_WHAT: dict[str, str] = {
    TOOK_SPAWN: "spawn",
    TOOK_BUILD: "build",
    TOOK_DESTROY: "destroy",
    TOOK_DEALLOCATE: "deallocate_network",
    "detach 1 volumes for instance.": "detach_volumes",
    "snapshot the instance on the hypervisor.": "snapshot",
}


class TookSeconds(Event):
    kind: ClassVar[str] = "took_seconds"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Took {seconds:.2f} seconds to {what}", level="INFO"),
    )
    seconds: float
    what: str
    step: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> TookSeconds:
        what = str(tokens[1])
        return cls(seconds=float(tokens[0]), what=what, step=TOOK_WHAT.get(what))
