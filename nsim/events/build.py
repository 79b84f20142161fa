"""Build steps of nova.compute.manager (_do_build_and_run_instance, _build_resources)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel

from nsim.events.base import Event, Wording
from nsim.nova.releases import at_least

MANAGER = "nova.compute.manager"


class InstanceStarting(Event):
    kind: ClassVar[str] = "instance_starting"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Starting instance..."),)


class NetworkAsyncStart(Event):
    kind: ClassVar[str] = "network_async_start"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Start building networks asynchronously for instance."),
    )


class NetworkAllocating(Event):
    kind: ClassVar[str] = "network_allocating"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Allocating IP information in the background."),
    )


class Vif(BaseModel):
    """One port of a network_info list (nova/network/model.py VIF)."""

    id: str | None = None
    mac: str | None = None
    vif_type: str | None = None
    bridge: str | None = None
    devname: str | None = None
    fixed_ips: list[str] = []
    cidrs: list[str] = []
    dhcp_servers: list[str] = []


def parse_network_info(raw: str) -> tuple[list[Vif], bool]:
    """Parse nova's network_info JSON; returns (vifs, complete). Truncated text gives ([], False)."""
    try:
        data = json.loads(raw.strip().strip("|"))
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to be nova's
        return [], False
    if not isinstance(data, list):
        return [], False
    vifs = []
    for port in data:
        if not isinstance(port, dict):
            continue
        network = port.get("network") or {}
        subnets = network.get("subnets") or []
        vifs.append(Vif(
            id=port.get("id"), mac=port.get("address"), vif_type=port.get("type"),
            bridge=network.get("bridge"), devname=port.get("devname"),
            fixed_ips=[ip.get("address") for s in subnets for ip in s.get("ips") or []
                       if ip.get("type", "fixed") == "fixed" and ip.get("address")],
            cidrs=[s["cidr"] for s in subnets if s.get("cidr")],
            dhcp_servers=[(s.get("meta") or {}).get("dhcp_server") for s in subnets
                          if (s.get("meta") or {}).get("dhcp_server")],
        ))
    return vifs, True


class _NetworkInfoEvent(Event):
    raw: str
    vifs: list[Vif] = []
    complete: bool = True

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> _NetworkInfoEvent:
        raw = str(tokens[0])
        vifs, complete = parse_network_info(raw)
        return cls(raw=raw, vifs=vifs, complete=complete)


class NetworkInfo(_NetworkInfoEvent):
    kind: ClassVar[str] = "network_info"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Instance network_info: {raw}"),)


class NetworkCacheUpdate(_NetworkInfoEvent):
    kind: ClassVar[str] = "network_cache_update"
    logger: ClassVar[str] = "nova.network.neutron"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Updating instance_info_cache with network_info: {raw}"),
    )

    @classmethod
    def logger_for(cls, release: str) -> str:
        """nova/network/base_api.py until nova-network's removal in Ussuri."""
        return cls.logger if at_least(release, "ussuri") else "nova.network.base_api"


class BdmStart(Event):
    kind: ClassVar[str] = "bdm_start"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Start building block device mappings for instance."),
    )


class SpawnStart(Event):
    kind: ClassVar[str] = "spawn_start"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Start spawning the instance on the hypervisor."),
    )
