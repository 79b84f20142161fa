"""Which instance a record is about: its `[instance: U]` tag, the build lock it names (nova
locks each build on the instance's uuid), or else the request it serves, once that request
has named exactly one instance. Used alike by the replay, the TUI and `nsim diff`."""

from __future__ import annotations

from nsim.events import lock
from nsim.logs.record import Record
from nsim.nova.names import BUILD_FUNCTION, is_uuid, owner_function


def build_lock_instance(rec: Record) -> str | None:
    """The instance whose build lock (`_locked_do_build_and_run_instance`) the record's lock
    line names, if it is one."""
    ev = rec.event
    if isinstance(ev, lock.LockAcquiring | lock.LockAcquired | lock.LockReleased) \
            and owner_function(ev.owner) == BUILD_FUNCTION and is_uuid(ev.name):
        return ev.name
    return None


class Attribution:
    """Requests tied to the instances they serve, learnt record by record (one per scope: a
    host's replay, a whole journal in the TUI). A request that names several instances
    (a multi-create, the service's lifecycle-event context) attributes no untagged line."""

    def __init__(self) -> None:
        self._by_request: dict[str, str] = {}

    def observe(self, rec: Record) -> str | None:
        """The record's instance, after learning what the record ties together: a tagged
        line or the build lock's acquisition ties its request to the instance."""
        if rec.instance:
            self._tie(rec.request_id, rec.instance)
            return rec.instance
        locked = build_lock_instance(rec)
        if locked is not None:
            if isinstance(rec.event, lock.LockAcquired):
                self._tie(rec.request_id, locked)
            return locked
        return self.instance_of(rec)

    def instance_of(self, rec: Record) -> str | None:
        """The record's instance as known so far (nothing is learnt)."""
        if rec.instance:
            return rec.instance
        if rec.request_id:
            return self._by_request.get(rec.request_id) or None
        return None

    def _tie(self, request_id: str | None, uuid: str) -> None:
        if request_id:
            known = self._by_request.setdefault(request_id, uuid)
            if known != uuid:
                self._by_request[request_id] = ""
