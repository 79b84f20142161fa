"""Replay of oslo.concurrency's lock lines: holders, waiters, logged wait and hold times."""

from __future__ import annotations

from datetime import timedelta

from nsim.events import lock
from nsim.logs.record import Record
from nsim.model.lifecycle import VmState
from nsim.model.locks import Displaced, Holder
from nsim.nova.names import (
    ABORT_CLAIM_FUNCTION,
    BUILD_FUNCTION,
    CLAIM_FUNCTION,
    FETCH_FUNCTION,
    MOVE_CLAIM_FUNCTIONS,
    UPDATE_USAGE_FUNCTION,
    is_uuid,
    owner_function,
)
from nsim.replay.state import (
    ObserverState,
    resolution,
)


class LockChecks(ObserverState):
    """Checks of oslo.concurrency's lock lines: holders, waiters, logged wait and hold times."""

    def _lock_acquiring(self, rec: Record, ev: lock.LockAcquiring) -> None:
        self.host.locks.get(ev.name).wait(Holder(ev.owner, rec.request_id, rec.timestamp))

    def _lock_acquired(self, rec: Record, ev: lock.LockAcquired) -> None:
        name, owner, request_id, stamp = ev.name, ev.owner, rec.request_id, rec.timestamp
        lk = self.host.locks.get(name)
        waiter = lk.take_waiter(owner, request_id)
        if waiter is not None:
            self._check_duration("lock-waited", f'lock "{name}" wait', ev.waited, waiter.since,
                                 stamp)
        taker = Holder(owner, request_id, stamp)
        if lk.holder is not None and lk.holder.request_id != request_id:
            lk.displaced.append(Displaced(lk.holder, taker, self.where()))
        lk.holder = taker
        function = owner_function(owner)
        if function == BUILD_FUNCTION and is_uuid(name):
            self.host.instance(name)  # its request was tied to it in `apply`
            return
        inst = self._inst(rec)
        if inst is None:
            return
        if function == ABORT_CLAIM_FUNCTION:
            self.host.give_back(inst.uuid, self.where())
        elif function == UPDATE_USAGE_FUNCTION:
            if inst.vm_state == VmState.DELETED:  # the delete's update_usage: gone for good
                self.host.give_back(inst.uuid, self.where())
        elif function == CLAIM_FUNCTION:
            self._start_build(inst, rec, proxy=True)
            inst.begin("claim", stamp)
        elif function in MOVE_CLAIM_FUNCTIONS:
            self._moving.add(inst.uuid)
        elif function == FETCH_FUNCTION:
            inst.begin("image_fetch", stamp)

    def _lock_released(self, rec: Record, ev: lock.LockReleased) -> None:
        name, owner, request_id = ev.name, ev.owner, rec.request_id
        lk = self.host.locks.get(name)
        holder = lk.holder
        if holder is not None and holder.request_id == request_id and holder.owner == owner:
            self._check_duration("lock-held", f'lock "{name}" hold', ev.held, holder.since,
                                 rec.timestamp)
            lk.holder = None
        else:
            displaced = lk.take_displaced(owner, request_id)
            if displaced is not None:
                self._check_overlap(ev, rec, displaced.taken_by, displaced.where)
            elif holder is not None:
                self._check_overlap(ev, rec, holder, "")
            else:
                self.assume(f'lock "{name}" was taken before the log window')
        self.host.locks.forget(name)
        self._after_release(rec, name, owner_function(owner))

    def _check_overlap(self, ev: lock.LockReleased, rec: Record, other: Holder, where: str) -> None:
        """`ev` ends a hold of [release - held, release]: another holder that took the lock
        inside it (beyond stamp resolution) proves two holders at once."""
        released = rec.timestamp
        if released is None or other.since is None:
            return
        taken = released - timedelta(seconds=ev.held)
        tol = 2 * resolution(released, other.since)
        if taken + timedelta(seconds=tol) < other.since < released - timedelta(seconds=tol):
            at = f" at {where}" if where else ""
            self.violation("lock-exclusive",
                           f'lock "{ev.name}" held by {ev.owner} ({rec.request_id}) from '
                           f"{taken.time()} to {released.time()}, but {other.owner} "
                           f"({other.request_id}) acquired it{at} at {other.since.time()}")
        elif not where:
            self.assume(f'lock "{ev.name}": the acquire by {ev.owner} ({rec.request_id}) '
                        "is not in the log")

    def _after_release(self, rec: Record, name: str, function: str) -> None:
        """What the release of lock `name` by a synchronized `function` ends."""
        if function == FETCH_FUNCTION:
            self._fetch_ended(name)
        elif function == BUILD_FUNCTION:
            return
        inst = self._inst(rec)
        if inst is None:
            return
        if function == CLAIM_FUNCTION:
            inst.finish("claim", rec.timestamp)
        elif function == FETCH_FUNCTION:
            fetch = inst.phases.get("image_fetch")
            if fetch is not None and fetch.end is None:
                inst.finish("image_fetch", rec.timestamp)
