"""Which instance a record is about: its `[instance: U]` tag, the lock it names (nova
serializes a build, a delete, a reboot … on the instance's uuid: `utils.synchronized(
instance.uuid)` in nova/compute/manager.py), or else the request it serves, once that request
has named exactly one instance. Used alike by the replay and the TUI."""

from __future__ import annotations

from nsim.events import lock
from nsim.logs.record import Record
from nsim.nova.names import is_uuid

_LOCK_LINES = frozenset((lock.LockAcquiring, lock.LockAcquired, lock.LockReleased))
"""Their exact types (as the replay dispatches events): an isinstance test of a pydantic
model goes through ABCMeta, several times slower, on every untagged record."""


def lock_instance(rec: Record) -> str | None:
    """The instance a lock line names (a lock named by an instance uuid), if it is one."""
    ev = rec.event
    if type(ev) in _LOCK_LINES and is_uuid(ev.name):
        return ev.name
    return None


class Attribution:
    """Requests tied to the instances they serve, learnt record by record (one per scope: a
    host's replay, a whole journal in the TUI). A request that names several instances
    (a multi-create, the service's lifecycle-event context) attributes no untagged line."""

    def __init__(self) -> None:
        self._by_request: dict[str, str] = {}

    def observe(self, rec: Record) -> str | None:
        """The record's instance, after learning what the record ties together (`learn`):
        its tag, the instance whose lock it names, or its request's instance."""
        served = self.learn(rec)
        return served if rec.instance else lock_instance(rec) or served

    def learn(self, rec: Record) -> str | None:
        """Learn what the record ties together: a tagged line or the acquisition of the
        instance's lock ties its request to the instance. Then the record's instance by its
        tag or its request, as `instance_of` now gives it."""
        instance = rec.instance
        request_id = rec.request_id
        if instance:
            if request_id and self._by_request.get(request_id) != instance:  # else tied already
                self._tie(request_id, instance)
            return instance
        ev = rec.event
        if type(ev) is lock.LockAcquired and is_uuid(ev.name):
            self._tie(request_id, ev.name)
        return self.request_instance(request_id) if request_id else None

    def instance_of(self, rec: Record) -> str | None:
        """The record's instance as known so far (nothing is learnt)."""
        if rec.instance:
            return rec.instance
        return self.request_instance(rec.request_id) if rec.request_id else None

    def request_instance(self, request_id: str) -> str | None:
        """The one instance the request has named so far, if exactly one."""
        return self._by_request.get(request_id) or None

    def _tie(self, request_id: str | None, uuid: str) -> None:
        if request_id:
            known = self._by_request.setdefault(request_id, uuid)
            if known != uuid:
                self._by_request[request_id] = ""
