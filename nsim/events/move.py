"""Moves of an instance between hosts and rebuilds in place (nova/compute/manager.py
_prep_resize, rebuild_instance, unshelve_instance, _post_live_migration,
post_live_migration_at_destination; nova/virt/libvirt/driver.py finish_migration).

At INFO level these are what tells a move's claim on a destination from a boot's."""

from __future__ import annotations

from typing import Any, ClassVar

from nsim.events.base import Event, Wording

MANAGER = "nova.compute.manager"
DRIVER = "nova.virt.libvirt.driver"


class Migrating(Event):
    """_prep_resize on the destination, before its resize claim (cold migration or resize)."""

    kind: ClassVar[str] = "migrating"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Migrating", level="INFO"),)


class Evacuating(Event):
    """rebuild_instance on the host an instance is evacuated to (before its rebuild claim)."""

    kind: ClassVar[str] = "evacuating"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Evacuating instance", level="INFO", since="rocky"),)


class Rebuilding(Event):
    """rebuild_instance: a rebuild in place (or, before Rocky, an evacuation too)."""

    kind: ClassVar[str] = "rebuilding"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Rebuilding instance", level="INFO"),)


class Unshelving(Event):
    """unshelve_instance: a shelved-offloaded instance comes back, with a claim on this host."""

    kind: ClassVar[str] = "unshelving"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Unshelving", level="INFO"),)


class MigrationArrived(Event):
    """post_live_migration_at_destination: a live-migrated instance now runs here."""

    kind: ClassVar[str] = "migration_arrived"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Post operation of migration started", level="INFO"),)


class MigratedAway(Event):
    """_post_live_migration on the source: the instance has left this host."""

    kind: ClassVar[str] = "migrated_away"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Migrating instance to {destination} finished successfully.", level="INFO"),)
    destination: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> MigratedAway:
        return cls(destination=str(tokens[0]))


class RunningAfterMove(Event):
    """The driver's finish_migration (or revert) waited for the guest to run."""

    kind: ClassVar[str] = "running_after_move"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance running successfully.", level="INFO"),)
