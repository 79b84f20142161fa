"""libvirt as nova's libvirt driver uses it: one connection, the default event loop on a
thread, lifecycle events turned into nova's names, define / start paused / resume / destroy /
undefine, and the probe that decides between domain type kvm and qemu on this machine.

Event mapping (nova/virt/libvirt/host.py `_event_lifecycle_callback`): STARTED -> Started,
SUSPENDED -> Paused (Postcopy started / Migration completed for those details), RESUMED ->
Resumed, STOPPED -> Stopped; the others (DEFINED, UNDEFINED, SHUTDOWN, ...) nova ignores.
"""

from __future__ import annotations

import contextlib
import importlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nsim.hw.errors import PrerequisiteError
from nsim.model.lifecycle import PowerState
from nsim.nova.guest_xml import NSIM_NS, owner_of

URI = "qemu:///system"

libvirt: Any = None


def require_libvirt() -> Any:
    """The libvirt binding, imported on first use (the doctor may have just installed it)."""
    global libvirt
    if libvirt is None:
        importlib.invalidate_caches()
        try:
            libvirt = importlib.import_module("libvirt")
        except ImportError:
            raise PrerequisiteError("the libvirt Python binding is missing: run `nsim hw doctor "
                                    "--fix` (pip install libvirt-python)") from None
    return libvirt


@dataclass(frozen=True)
class DomainEvent:
    uuid: str
    event: int
    detail: int
    received: datetime
    transition: str | None
    """nova's lifecycle name, or None for events nova ignores."""


def nova_transition(event: int, detail: int) -> str | None:
    lv = require_libvirt()
    if event == lv.VIR_DOMAIN_EVENT_STARTED:
        return "Started"
    if event == lv.VIR_DOMAIN_EVENT_STOPPED:
        return "Stopped"
    if event == lv.VIR_DOMAIN_EVENT_RESUMED:
        return "Resumed"
    if event == lv.VIR_DOMAIN_EVENT_SUSPENDED:
        if detail == lv.VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY:
            return "Postcopy started"
        if detail == lv.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED:
            return "Migration completed"
        return "Paused"
    return None


def power_state(state: int) -> PowerState:
    """nova/virt/libvirt/guest.py LIBVIRT_POWER_STATE."""
    lv = require_libvirt()
    return {
        lv.VIR_DOMAIN_RUNNING: PowerState.RUNNING, lv.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
        lv.VIR_DOMAIN_PAUSED: PowerState.PAUSED, lv.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
        lv.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN, lv.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
        lv.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
    }.get(state, PowerState.NOSTATE)


_loop_lock = threading.Lock()
_loop_started = False


def _ensure_event_loop() -> None:
    """virEventRegisterDefaultImpl before any open, then run the loop on a daemon thread."""
    global _loop_started
    lv = require_libvirt()
    with _loop_lock:
        if _loop_started:
            return
        lv.virEventRegisterDefaultImpl()
        # libvirt prints every error to stderr by default; nsim reports them itself.
        lv.registerErrorHandler(lambda _ctx, _err: None, None)

        def run() -> None:
            while True:
                lv.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-event-loop", daemon=True).start()
        _loop_started = True


class LibvirtHost:
    """One connection to libvirtd with lifecycle events dispatched per domain UUID."""

    def __init__(self, uri: str = URI) -> None:
        self.uri = uri
        self.conn: Any = None
        self._subscribers: dict[str, Callable[[DomainEvent], None]] = {}
        self._sub_lock = threading.Lock()
        self._queue: queue.Queue[DomainEvent | None] = queue.Queue()
        self._callback_id: int | None = None
        self._dispatcher: threading.Thread | None = None

    # -- connection -------------------------------------------------------------------
    def open(self) -> LibvirtHost:
        lv = require_libvirt()
        _ensure_event_loop()
        try:
            self.conn = lv.open(self.uri)
        except lv.libvirtError as exc:
            raise PrerequisiteError(
                f"libvirtd is not answering on {self.uri}: {exc.get_error_message()}; "
                "run `nsim hw doctor --fix` to start it") from None
        self._callback_id = self.conn.domainEventRegisterAny(
            None, lv.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)
        self._dispatcher = threading.Thread(target=self._dispatch, name="lifecycle-dispatch",
                                            daemon=True)
        self._dispatcher.start()
        return self

    def alive(self) -> bool:
        try:
            return bool(self.conn is not None and self.conn.isAlive())
        except Exception:
            return False

    def close(self) -> None:
        require_libvirt()
        if self.conn is None:
            return
        try:
            if self._callback_id is not None:
                self.conn.domainEventDeregisterAny(self._callback_id)
        except Exception:  # a dropped connection raises more than libvirtError
            pass
        with contextlib.suppress(Exception):
            self.conn.close()
        self.conn = None
        self._queue.put(None)

    def drop_connection(self) -> None:
        """Close the connection without deregistering (what a crashed libvirtd leaves behind)."""
        with contextlib.suppress(Exception):
            self.conn.close()

    # -- events -----------------------------------------------------------------------
    def _on_lifecycle(self, _conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        self._queue.put(DomainEvent(dom.UUIDString(), event, detail, datetime.now(),
                                    nova_transition(event, detail)))

    def _dispatch(self) -> None:
        while True:
            ev = self._queue.get()
            if ev is None:
                return
            with self._sub_lock:
                callback = self._subscribers.get(ev.uuid)
            if callback is not None:
                # A subscriber's bug must not stop event delivery.
                with contextlib.suppress(Exception):
                    callback(ev)

    def subscribe(self, uuid: str, callback: Callable[[DomainEvent], None]) -> None:
        with self._sub_lock:
            self._subscribers[uuid] = callback

    def unsubscribe(self, uuid: str) -> None:
        with self._sub_lock:
            self._subscribers.pop(uuid, None)

    # -- domains ----------------------------------------------------------------------
    def lookup(self, uuid: str) -> Any | None:
        lv = require_libvirt()
        try:
            return self.conn.lookupByUUIDString(uuid)
        except lv.libvirtError as exc:
            if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def name_in_use(self, name: str) -> bool:
        lv = require_libvirt()
        try:
            self.conn.lookupByName(name)
            return True
        except lv.libvirtError as exc:
            if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN:
                return False
            raise

    def owner(self, dom: Any) -> str | None:
        """The work directory in the domain's nsim owner mark, or None (not nsim's)."""
        lv = require_libvirt()
        try:
            return owner_of(dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, NSIM_NS, 0))
        except lv.libvirtError:
            return None

    def owned_domains(self, workdir: Path) -> list[Any]:
        """Every domain (defined or transient) whose owner mark names this work directory."""
        return [d for d in self.conn.listAllDomains(0) if self.owner(d) == str(workdir)]

    def define(self, xml: str) -> Any:
        return self.conn.defineXML(xml)

    def launch(self, dom: Any, pause: bool) -> None:
        lv = require_libvirt()
        dom.createWithFlags(lv.VIR_DOMAIN_START_PAUSED if pause else 0)

    def state(self, uuid: str) -> PowerState:
        dom = self.lookup(uuid)
        if dom is None:
            return PowerState.NOSTATE
        return power_state(dom.state()[0])

    def destroy(self, uuid: str) -> bool:
        """Power off (virDomainDestroy) and undefine; True when there was a domain."""
        lv = require_libvirt()
        dom = self.lookup(uuid)
        if dom is None:
            return False
        try:
            if dom.isActive():
                dom.destroy()
        except lv.libvirtError as exc:
            if exc.get_error_code() != lv.VIR_ERR_OPERATION_INVALID:  # already shut off
                raise
        flags = lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        try:
            dom.undefineFlags(flags | lv.VIR_DOMAIN_UNDEFINE_NVRAM)
        except lv.libvirtError:
            dom.undefineFlags(flags)
        return True


# -- KVM or TCG ------------------------------------------------------------------------
def probe_virt_type(host: LibvirtHost, xml_for: Callable[[str], str], console: Path,
                    marker: str, timeout: float = 15) -> dict[str, Any]:
    """Boot the guest once as a transient `kvm` domain: kvm when it reaches `marker`, else qemu.

    `/dev/kvm` existing proves nothing (here it is a stand-in that aborts `-cpu host` and
    hangs other CPU models), so the decision is made by what a real boot does; the result
    says why.
    """
    lv = require_libvirt()
    result: dict[str, Any] = {"virt_type": "qemu", "checked": datetime.now().isoformat()}
    if not Path("/dev/kvm").exists():
        result["reason"] = "/dev/kvm does not exist"
    else:
        console.unlink(missing_ok=True)
        dom = None
        try:
            dom = host.conn.createXML(xml_for("kvm"), 0)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if console.exists() and marker in console.read_text(errors="replace"):
                    result.update(virt_type="kvm", reason="the guest booted under KVM")
                    break
                time.sleep(0.25)
            else:
                result["reason"] = f"the guest did not boot under KVM within {timeout:.0f}s"
        except lv.libvirtError as exc:
            lines = [ln.strip() for ln in exc.get_error_message().splitlines() if ln.strip()]
            said = [ln for ln in lines if "error:" in ln] or lines[-1:]
            result["reason"] = "KVM domain failed to start: " + said[0].split("error: ", 1)[-1]
        finally:
            if dom is not None:
                with contextlib.suppress(lv.libvirtError):
                    dom.destroy()
            console.unlink(missing_ok=True)
    return result
