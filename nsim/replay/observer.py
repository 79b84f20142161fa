"""Applying one host's records to the host model, checking each against it.

Each handler turns an event into model operations (claim, cache, lock, state) through the
host model's transitions, and names the rule a disagreement breaks. Records are attributed
to an instance by their `[instance: U]` or, failing that, by their request id.
"""

from __future__ import annotations

from collections.abc import Callable

from nsim.events import (
    build,
    claim,
    failure,
    guest,
    image,
    imagecache,
    lock,
    move,
    power,
    teardown,
)
from nsim.events.audit import FinalResourceView, FreeResource
from nsim.events.base import Event
from nsim.logs.record import Record
from nsim.model.host import Host
from nsim.replay.images import ImageChecks
from nsim.replay.lifecycle import LifecycleChecks
from nsim.replay.locks import LockChecks
from nsim.replay.resources import ResourceChecks


class HostObserver(LockChecks, ResourceChecks, ImageChecks, LifecycleChecks):
    """Replays the records of one host into its model."""

    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self._handlers: dict[type[Event], Callable[[Record, Event], None]] = {
            lock.LockAcquiring: self._lock_acquiring,
            lock.LockAcquired: self._lock_acquired,
            lock.LockReleased: self._lock_released,
            build.InstanceStarting: self._instance_starting,
            claim.ClaimAttempt: self._claim_attempt,
            claim.Overhead: self._overhead,
            claim.ClaimTotal: self._claim_total,
            claim.ClaimLimitUnspecified: self._claim_limit_unspecified,
            claim.ClaimLimit: self._claim_limit,
            claim.ClaimVcpuTotal: self._claim_total,
            claim.ClaimVcpuLimit: self._claim_limit,
            claim.ClaimSuccessful: self._claim_successful,
            claim.ClaimFailed: self._claim_refused,
            claim.InsufficientResources: self._claim_refused,
            build.NetworkAsyncStart: self._network_start,
            build.NetworkAllocating: self._network_start,
            build.NetworkInfo: self._network_info,
            build.BdmStart: self._bdm_start,
            build.SpawnStart: self._spawn_start,
            image.CreatingImage: self._creating_image,
            image.ImageConverting: self._image_converting,
            image.SubprocessRunning: self._subprocess_running,
            image.SubprocessReturned: self._subprocess_returned,
            guest.GuestXmlStart: self._xml_start,
            guest.GuestXmlEnd: self._xml_end,
            guest.EventPrepare: self._event_prepare,
            guest.PowerStateSync: self._power_state_sync,
            guest.LifecycleEvent: self._lifecycle,
            guest.SyncPowerStateSkip: self._sync_skip,
            guest.GuestCreated: self._guest_created,
            guest.Spawned: self._spawned,
            guest.TookSeconds: self._took,
            teardown.Terminating: self._terminating,
            teardown.Destroyed: self._destroyed,
            teardown.DeletionComplete: self._deletion_complete,
            failure.SpawnFailed: self._failing,
            failure.BuildFailed: self._failing,
            failure.NetworkAllocFailed: self._failing,
            failure.GuestStartFailed: self._failing,
            failure.VifCreationFailed: self._failing,
            guest.GuestLaunchFailed: self._failing,
            failure.Rescheduled: self._rescheduled,
            failure.Aborted: self._errored,
            failure.RetryInfoAbsent: self._errored,
            failure.BuildTimedOut: self._errored,
            failure.UnexpectedBuildFailure: self._errored,
            failure.NetworkAllocNotRescheduling: self._errored,
            power.BlockDeviceSetupFailed: self._failing,
            power.BuildError: self._errored,
            power.StashingVmState: self._stashing,
            move.Migrating: self._stashing,
            move.Evacuating: self._stashing,
            move.Rebuilding: self._stashing,
            move.Unshelving: self._stashing,
            move.MigrationArrived: self._arrived,
            move.RunningAfterMove: self._arrived,
            move.MigratedAway: self._left,
            power.Rebooted: self._running_again,
            power.ShutdownByItself: self._shut_down,
            imagecache.RemovingBaseFile: self._removing_base,
            FreeResource: self._free_resource,
            imagecache.ActiveBaseFiles: self._active_bases,
            FinalResourceView: self._final_view,
        }
