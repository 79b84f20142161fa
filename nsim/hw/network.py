"""The instance's network, done the way nova + neutron's linux bridge agent + os-vif do it.

"Allocation" makes one port (id, fa:16:3e MAC, fixed IP on a private /24) and nova's
network_info for it. "Plugging" is os-vif's linux_bridge plugin: the bridge `brq<net[:11]>`
exists and is up (created with `ip` when missing). libvirt creates the tap `tap<port[:11]>`
and enslaves it to the bridge when the domain starts; neutron's "network-vif-plugged" event is
sent when that tap is really on the bridge. Without CAP_NET_ADMIN the instance gets no port
(network_info `[]`, nothing plugged, the guest is not started paused): the trace says so.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import threading
import time
import uuid as uuidlib
from pathlib import Path

from nsim.hw.errors import HwError
from nsim.nova.network_info import PortInfo, fixed_port, linux_bridge_name

NETWORK_ID = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://nsim.invalid/hw/network/private"))
BRIDGE = linux_bridge_name(NETWORK_ID)
SYS_NET = Path("/sys/class/net")
_bridge_lock = threading.Lock()


def allocate_port(project_id: str) -> PortInfo:
    """A new port of the project on the private network (10.77.0.0/24, MTU 1500)."""
    port_id = str(uuidlib.uuid4())
    rng = random.Random(port_id)
    mac = "fa:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
    host = 3 + int(hashlib.sha1(port_id.encode()).hexdigest(), 16) % 250
    return fixed_port(port_id, mac, f"10.77.0.{host}", NETWORK_ID, project_id, mtu=1500)


def vif_record(port: PortInfo) -> dict[str, object]:
    """The port as an instance's state record keeps it (nsim.hw.state.VifRecord)."""
    return {"port_id": port.id, "mac": port.mac, "bridge": port.bridge, "devname": port.devname,
            "network_id": port.network_id, "address": port.address, "cidr": port.cidr,
            "mtu": port.mtu}


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)


def ensure_bridge(name: str) -> None:
    """os_vif linux_bridge ensure_bridge: create and bring up the bridge if it is missing."""
    with _bridge_lock:
        if not (SYS_NET / name).exists():
            res = _ip("link", "add", name, "type", "bridge")
            if res.returncode != 0 and not (SYS_NET / name).exists():
                raise HwError(f"cannot create bridge {name}: {res.stderr.strip()}")
        res = _ip("link", "set", name, "up")
        if res.returncode != 0:
            raise HwError(f"cannot bring bridge {name} up: {res.stderr.strip()}")


def tap_on_bridge(tap: str, bridge: str) -> bool:
    master = SYS_NET / tap / "master"
    try:
        return master.resolve().name == bridge
    except OSError:
        return False


def wait_for_tap(tap: str, bridge: str, timeout: float) -> bool:
    """What makes neutron send network-vif-plugged: the tap exists and is on the bridge."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tap_on_bridge(tap, bridge):
            return True
        time.sleep(0.05)
    return tap_on_bridge(tap, bridge)


def remove_bridge(name: str) -> bool:
    """Delete the bridge when no port is left on it (used by `nsim hw delete --all`)."""
    with _bridge_lock:
        brif = SYS_NET / name / "brif"
        if not (SYS_NET / name).exists():
            return False
        if brif.is_dir() and any(brif.iterdir()):
            return False
        return _ip("link", "del", name).returncode == 0
