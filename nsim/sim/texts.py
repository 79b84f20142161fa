"""The values nova prints inside its messages, as a given release prints them: qemu-img
command lines, network_info JSON, VIF reprs (the guest XML and its preamble: nsim.nova.guest_xml).

Lock owner names are nsim.nova.names' (`owners(python3)`); network_info and the os-vif repr
are built by nsim.nova.network_info. qemu-img details follow docs/nova.md §4 and the seed boot
(Pike): `--force-share` from Queens, `--output=json` from Ussuri. The overlay: through Pike
created without a size, then resized (`copy_qcow2_image`, the seed); Queens to Stein
`qemu-img create -f qcow2 -o backing_file=<base>,size=<bytes> <disk>` (`create_cow_image`);
from Train `env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file=<base>,backing_fmt=raw
<disk> <bytes>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsim.nova import qemu_img
from nsim.nova.network_info import PortInfo, linux_bridge_name, network_info_json, os_vif_repr, tap_name


class QemuImg:
    """qemu-img command lines of one release, as nova logs them (nsim.nova.qemu_img)."""

    def __init__(self, release: str, python3: bool) -> None:
        self.release = release
        self.helper = qemu_img.prlimit_helper(python3)
        self.resize_after_create = qemu_img.resizes_after_create(release)

    def info(self, path: str) -> str:
        return " ".join(qemu_img.info_argv(path, self.release, self.helper))

    @staticmethod
    def convert(source: str, target: str, disk_format: str) -> str:
        return " ".join(qemu_img.convert_argv(source, target, disk_format))

    def create(self, base: str, disk: str, size_bytes: int | None) -> str:
        return " ".join(qemu_img.create_argv(self.release, base, disk, size_bytes))

    @staticmethod
    def resize(disk: str, size_bytes: int) -> str:
        return " ".join(qemu_img.resize_argv(disk, size_bytes))


@dataclass(frozen=True)
class Port:
    """One neutron port of an instance."""

    id: str
    mac: str
    ip: str
    network_id: str
    tenant_id: str
    vif: str  # "bridge" or "ovs"

    @property
    def devname(self) -> str:
        return tap_name(self.id)

    @property
    def bridge(self) -> str:
        return linux_bridge_name(self.network_id) if self.vif == "bridge" else "br-int"

    @property
    def event(self) -> str:
        return f"network-vif-plugged-{self.id}"

    def info(self) -> PortInfo:
        """The port as nsim.nova.network_info describes it (a /24 around the fixed IP, MTU 1450)."""
        prefix = self.ip.rsplit(".", 1)[0]
        return PortInfo(id=self.id, mac=self.mac, address=self.ip, cidr=f"{prefix}.0/24",
                        gateway=f"{prefix}.1", dhcp_server=f"{prefix}.2",
                        network_id=self.network_id, tenant_id=self.tenant_id,
                        bridge=self.bridge, devname=self.devname,
                        vif_type="bridge" if self.vif == "bridge" else "ovs", mtu=1450)

    def network_info(self, python3: bool = False) -> str:
        """nova's network_info model as JSON (nova/network/model.py)."""
        return network_info_json([self.info()], python3)

    def os_vif(self) -> str:
        """os-vif's repr of the VIF object nova plugs."""
        return os_vif_repr(self.info())
