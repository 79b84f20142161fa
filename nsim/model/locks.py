"""Named locks with holders and waiters (oslo_concurrency.lockutils as nova uses it):
`compute_resources`, one per instance uuid, one per image cache file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Holder:
    """Who holds or waits: the decorated function and the request it serves."""

    owner: str
    request_id: str | None
    since: datetime | None


@dataclass(frozen=True)
class Displaced:
    """A holder whose release is not yet logged when another takes the lock, and where."""

    holder: Holder
    taken_by: Holder
    where: str


@dataclass
class Lock:
    name: str
    holder: Holder | None = None
    waiters: list[Holder] = field(default_factory=list)
    displaced: list[Displaced] = field(default_factory=list)
    """oslo logs "released" after letting go (and under native threads another holder may
    log "acquired" first), or the release line is missing: settled when it shows up."""

    def take_displaced(self, owner: str, request_id: str | None) -> Displaced | None:
        for i, d in enumerate(self.displaced):
            if d.holder.owner == owner and d.holder.request_id == request_id:
                return self.displaced.pop(i)
        return None

    def wait(self, who: Holder) -> None:
        self.waiters.append(who)

    def take_waiter(self, owner: str, request_id: str | None) -> Holder | None:
        for i, w in enumerate(self.waiters):
            if w.owner == owner and w.request_id == request_id:
                return self.waiters.pop(i)
        return None


class LockTable:
    """All locks of one host, created on first use."""

    def __init__(self) -> None:
        self.locks: dict[str, Lock] = {}

    def get(self, name: str) -> Lock:
        lock = self.locks.get(name)
        if lock is None:
            lock = self.locks[name] = Lock(name)
        return lock

    def forget(self, name: str) -> None:
        """Drop a lock nobody holds, waits for or has yet to log releasing (e.g. a finished
        instance's uuid lock): `get` makes the same lock again when it is named next."""
        lock = self.locks.get(name)
        if lock is not None and lock.holder is None and not lock.waiters and not lock.displaced:
            del self.locks[name]

    def held(self) -> list[Lock]:
        return [lock for lock in self.locks.values() if lock.holder is not None]
