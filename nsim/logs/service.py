"""Which OpenStack service wrote a record: from a journald identifier, a container or log
file name, or the logger of the line (nova.api.* is nova-api, nova.scheduler.* nova-scheduler)."""

from __future__ import annotations

import re
from functools import lru_cache

# devstack's unit names (devstack@n-cpu.service) and their services.
_DEVSTACK = {
    "n-cpu": "nova-compute", "n-api": "nova-api", "n-api-meta": "nova-api-metadata",
    "n-sch": "nova-scheduler", "n-cond": "nova-conductor", "n-super-cond": "nova-conductor",
    "n-cond-cell1": "nova-conductor", "n-novnc": "nova-novncproxy",
    "n-novnc-cell1": "nova-novncproxy", "placement-api": "placement-api",
    "q-svc": "neutron-server", "q-agt": "neutron-openvswitch-agent",
    "q-dhcp": "neutron-dhcp-agent", "q-l3": "neutron-l3-agent",
    "q-meta": "neutron-metadata-agent", "q-ovn-metadata-agent": "neutron-ovn-metadata-agent",
    "g-api": "glance-api", "c-api": "cinder-api", "c-vol": "cinder-volume",
    "c-sch": "cinder-scheduler", "keystone": "keystone",
}
_PROJECTS = ("nova", "neutron", "cinder", "glance", "keystone", "placement", "octavia",
             "ironic", "heat", "swift", "manila", "designate", "barbican", "magnum")
# A service named inside a longer name: "nova-compute.log.1", "havana-nova-compute.log".
_OTHERS = "|".join(_PROJECTS[2:])
_NAMED = re.compile(
    r"(?<![a-z0-9])("
    r"nova-(?:compute|api-metadata|api-os-compute|api|scheduler|conductor|novncproxy"
    r"|spicehtml5proxy|serialproxy|consoleauth|cert|network|placement-api)"
    r"|neutron-(?:server|rpc-server|[a-z0-9-]*?agent)"
    rf"|(?:{_OTHERS})-[a-z0-9]+|placement-api|keystone)(?![a-z0-9])")
_HOST_DAEMONS = frozenset({"libvirtd", "virtqemud", "ovs-vswitchd", "ovsdb-server"})


@lru_cache(maxsize=256)
def service_of_name(name: str | None) -> str | None:
    """The service a journald identifier, unit, container or log file name names, or None.

    "nova-compute", "nova_compute", "devstack@n-cpu.service", "nova-compute.log.1.2017-05-16_13:55:31"
    and "/var/log/nova/nova-compute.log" all name nova-compute.
    """
    if not name:
        return None
    base = name.rsplit("/", 1)[-1].lower().replace("_", "-")
    base = base.removeprefix("devstack@")
    base = re.sub(r"\.(?:service|log|gz|journal|txt|json)\b.*$", "", base)
    if base in _DEVSTACK:
        return _DEVSTACK[base]
    if base in _HOST_DAEMONS:
        return base
    m = _NAMED.search(base)
    return m.group(1) if m is not None else None


@lru_cache(maxsize=1024)
def service_of_logger(logger: str | None) -> str | None:
    """The service only whose process logs under `logger`, or None for a logger several share
    (oslo_*, os_vif, nova.scheduler.client, nova.conductor.api, ...)."""
    if not logger:
        return None
    parts = logger.split(".")
    top = parts[0]
    sub = parts[1] if len(parts) > 1 else ""
    if top == "nova":
        if sub == "compute":
            part = parts[2] if len(parts) > 2 else ""
            if part == "api":
                return "nova-api"
            return None if part in ("rpcapi", "utils", "") else "nova-compute"
        if sub == "virt":
            return "nova-compute"
        if sub in ("api", "osapi_compute"):
            return "nova-api-metadata" if "metadata" in parts[2:] else "nova-api"
        if sub == "metadata":
            return "nova-api-metadata"
        if sub == "scheduler":
            return None if len(parts) > 2 and parts[2] in ("client", "rpcapi", "utils") \
                else "nova-scheduler"
        if sub == "conductor":
            return None if len(parts) > 2 and parts[2] in ("api", "rpcapi") else "nova-conductor"
        return None
    if top == "neutron":
        return _neutron(logger)
    if top in _PROJECTS:
        return top
    return None


def _neutron(logger: str) -> str:
    if "openvswitch" in logger and "agent" in logger:
        return "neutron-openvswitch-agent"
    if "linuxbridge" in logger and "agent" in logger:
        return "neutron-linuxbridge-agent"
    if "sriov" in logger and "agent" in logger:
        return "neutron-sriov-agent"
    for kind in ("dhcp", "l3", "metadata"):
        if logger.startswith(f"neutron.agent.{kind}"):
            return f"neutron-{kind}-agent"
    if logger.startswith(("neutron.api", "neutron.wsgi", "neutron.db", "neutron.plugins.ml2.",
                          "neutron.services", "neutron.quota", "neutron.pecan_wsgi")) \
            and ".agent" not in logger:
        return "neutron-server"
    return "neutron"


class ServiceGuess:
    """The service of each record of one input.

    A record that comes with a name (journald identifier or container, file-name prefix) is
    of the service that name names, else of its logger's service, else of the service seen
    before for its pid, else unknown. A record of a plain oslo.log file is of the service the
    file's name names, else its logger's, its pid's, else the first service the file showed.
    """

    def __init__(self, file_name: str | None) -> None:
        self.file_service = service_of_name(file_name)
        self._by_pid: dict[tuple[str, int | None], str] = {}
        self._first: str | None = None

    def of(self, source: str, name: str | None, pid: int | None, logger: str | None) -> str | None:
        """The service of a record from `source`; `name` is None when the line has no name."""
        if name is not None:
            service = service_of_name(name) or service_of_logger(logger)
        else:
            service = self.file_service or service_of_logger(logger)
        key = (source, pid)
        if service is None:
            return self._by_pid.get(key, self._first if name is None else None)
        if self._first is None:
            self._first = service
        self._by_pid[key] = service
        return service
