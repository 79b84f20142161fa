"""Instance states as nova defines them (nova/objects/fields.py, nova/compute/power_state.py,
nova/virt/event.py) and the lifecycle-event to power_state mapping of handle_lifecycle_event."""

from __future__ import annotations

from enum import StrEnum


class VmState(StrEnum):
    ACTIVE = "active"
    BUILDING = "building"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    RESCUED = "rescued"
    RESIZED = "resized"
    SOFT_DELETED = "soft-delete"
    DELETED = "deleted"
    ERROR = "error"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"


class TaskState(StrEnum):
    """The task states a boot and a delete pass through (nova has 42 in all)."""

    SCHEDULING = "scheduling"
    NETWORKING = "networking"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    SPAWNING = "spawning"
    DELETING = "deleting"


class PowerState(StrEnum):
    """nova/compute/power_state.py names (NOSTATE=0, RUNNING=1, PAUSED=3, SHUTDOWN=4, ...)."""

    NOSTATE = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"
    CRASHED = "crashed"
    SUSPENDED = "suspended"


# handle_lifecycle_event (nova/compute/manager.py): event -> power_state.
EVENT_POWER_STATE: dict[str, PowerState] = {
    "Started": PowerState.RUNNING,
    "Resumed": PowerState.RUNNING,
    "Stopped": PowerState.SHUTDOWN,
    "Paused": PowerState.PAUSED,
    "Postcopy started": PowerState.PAUSED,
    "Migration completed": PowerState.PAUSED,
    "Suspended": PowerState.SUSPENDED,
}


class Outcome(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"
    ERROR = "error"
    RESCHEDULED = "rescheduled"
    INCOMPLETE = "incomplete"
