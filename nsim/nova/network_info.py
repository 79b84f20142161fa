"""nova's port (PortInfo: the one port type of the simulator, hardware mode and the guest
XML), its network_info JSON and os-vif's VIF repr, built in one place.

`Instance network_info: |...|` and `Updating instance_info_cache with network_info: ...`
print nova.network.model.NetworkInfo as JSON; `Plugging vif ...` / `Successfully plugged vif
...` print the os-vif object nova converted it to. The simulator (nsim.sim) and the hardware
mode (nsim.hw) both write them through here.

Key order: under Python 3 (Ussuri on) the dicts print in the order nova's model builds them;
under Python 2 in the order the seed boot (Pike) shows. The VIF carries `delegate_create` from
Xena (nova/network/model.py `VIF`, nova 24).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Literal

from nsim.nova.releases import at_least, runs_python3

VifType = Literal["bridge", "ovs"]


def tap_name(port_id: str) -> str:
    """The port's device: "tap" and the port id cut to fit a 14-character interface name
    (nova/network/model.py NIC_NAME_LEN)."""
    return f"tap{port_id[:11]}"


def linux_bridge_name(network_id: str) -> str:
    """The linux bridge agent's bridge for a network ("brq" and the cut network id)."""
    return f"brq{network_id[:11]}"


@dataclass(frozen=True)
class PortInfo:
    """What nova knows of one neutron port: enough for network_info and the os-vif VIF."""

    id: str
    mac: str
    address: str
    """The fixed IPv4 address."""
    cidr: str
    gateway: str
    dhcp_server: str
    network_id: str
    tenant_id: str
    bridge: str
    devname: str
    vif_type: VifType = "bridge"
    mtu: int = 1450
    label: str = "private"

    @property
    def event(self) -> str:
        """The external event neutron sends when the port is plugged."""
        return f"network-vif-plugged-{self.id}"

    def with_vif_type(self, vif_type: VifType) -> PortInfo:
        """The same port bound by another agent (its VIF type and bridge follow)."""
        return replace(self, vif_type=vif_type, bridge=bridge_name(vif_type, self.network_id))


def bridge_name(vif_type: VifType, network_id: str) -> str:
    """The bridge a port is plugged into: the linux bridge agent's, or OVS's integration
    bridge."""
    return linux_bridge_name(network_id) if vif_type == "bridge" else "br-int"


def fixed_port(port_id: str, mac: str, address: str, network_id: str, tenant_id: str,
               vif_type: VifType = "bridge", mtu: int = 1450) -> PortInfo:
    """A port on a /24 around its fixed IPv4 address, gateway .1 and DHCP server .2 (how nsim's
    networks are laid out), its bridge and tap named as neutron names them."""
    prefix = address.rsplit(".", 1)[0]
    return PortInfo(id=port_id, mac=mac, address=address, cidr=f"{prefix}.0/24",
                    gateway=f"{prefix}.1", dhcp_server=f"{prefix}.2", network_id=network_id,
                    tenant_id=tenant_id, bridge=bridge_name(vif_type, network_id),
                    devname=tap_name(port_id), vif_type=vif_type, mtu=mtu)


def vif_model(port: PortInfo, release: str) -> dict[str, object]:
    """One VIF of nova's network_info model (nova/network/model.py), as `release` serialises
    it."""
    ovs_interfaceid = port.id if port.vif_type == "ovs" else None
    bridge_wanted = port.vif_type == "bridge"
    ip = {"address": port.address, "type": "fixed", "version": 4, "meta": {}, "floating_ips": []}
    gateway = {"address": port.gateway, "type": "gateway", "version": 4, "meta": {}}
    if runs_python3(release):
        vif: dict[str, object] = {
            "id": port.id, "address": port.mac,
            "network": {
                "id": port.network_id, "bridge": port.bridge, "label": port.label,
                "subnets": [{"cidr": port.cidr, "dns": [], "gateway": gateway, "ips": [ip],
                             "routes": [], "version": 4,
                             "meta": {"dhcp_server": port.dhcp_server}}],
                "meta": {"injected": False, "tenant_id": port.tenant_id, "mtu": port.mtu,
                         "should_create_bridge": bridge_wanted}},
            "type": port.vif_type, "details": {"port_filter": True}, "devname": port.devname,
            "ovs_interfaceid": ovs_interfaceid, "qbh_params": None, "qbg_params": None,
            "active": False, "vnic_type": "normal", "profile": {}, "preserve_on_delete": False}
        if at_least(release, "xena"):
            vif["delegate_create"] = True
        vif["meta"] = {}
        return vif
    py2_ip = {k: ip[k] for k in ("meta", "version", "type", "floating_ips", "address")}
    py2_gateway = {k: gateway[k] for k in ("meta", "version", "type", "address")}
    return {
        "profile": {}, "ovs_interfaceid": ovs_interfaceid, "preserve_on_delete": False,
        "network": {
            "bridge": port.bridge,
            "subnets": [{"ips": [py2_ip], "version": 4, "meta": {"dhcp_server": port.dhcp_server},
                         "dns": [], "routes": [], "cidr": port.cidr, "gateway": py2_gateway}],
            "meta": {"injected": False, "tenant_id": port.tenant_id,
                     "should_create_bridge": bridge_wanted, "mtu": port.mtu},
            "id": port.network_id, "label": port.label},
        "devname": port.devname, "vnic_type": "normal", "qbh_params": None, "meta": {},
        "details": {"port_filter": True}, "address": port.mac, "active": False,
        "type": port.vif_type, "id": port.id, "qbg_params": None}


def network_info_json(ports: list[PortInfo], release: str) -> str:
    """The network_info list as `release` logs it (`[]` for no port)."""
    return json.dumps([vif_model(p, release) for p in ports])


def os_vif_repr(port: PortInfo) -> str:
    """How os-vif's VIF object prints (VIFBridge for the linux bridge, VIFOpenVSwitch for OVS)."""
    if port.vif_type == "bridge":
        return (f"VIFBridge(active=False,address={port.mac},bridge_name='{port.bridge}',"
                f"has_traffic_filtering=True,id={port.id},network=Network({port.network_id}),"
                f"plugin='linux_bridge',port_profile=<?>,preserve_on_delete=False,"
                f"vif_name='{port.devname}')")
    return (f"VIFOpenVSwitch(active=False,address={port.mac},bridge_name='{port.bridge}',"
            f"has_traffic_filtering=True,id={port.id},network=Network({port.network_id}),"
            f"plugin='ovs',port_profile=VIFPortProfileOpenVSwitch,preserve_on_delete=False,"
            f"vif_name='{port.devname}')")
