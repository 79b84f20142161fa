"""The values nova prints inside its messages, as a given release prints them: qemu-img
command lines, network_info JSON, the guest XML and its preamble, VIF reprs.

Lock owner names are nsim.nova.names' (`owners(python3)`); network_info and the os-vif repr
are built by nsim.nova.network_info. qemu-img details follow docs/nova.md §4 and the seed boot
(Pike): `--force-share` from Queens, `--output=json` from Ussuri. The overlay: through Pike
created without a size, then resized (`copy_qcow2_image`, the seed); Queens to Stein
`qemu-img create -f qcow2 -o backing_file=<base>,size=<bytes> <disk>` (`create_cow_image`);
from Train `env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file=<base>,backing_fmt=raw
<disk> <bytes>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nsim.nova import qemu_img
from nsim.nova.network_info import PortInfo, linux_bridge_name, network_info_json, os_vif_repr, tap_name
from nsim.nova.releases import NOVA_VERSION, at_least


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


@dataclass(frozen=True)
class GuestSpec:
    """What the libvirt driver renders into the domain XML for one instance."""

    uuid: str
    domain: str
    name: str
    flavor: str
    memory_mb: int
    disk_gb: int
    vcpus: int
    image_id: str
    image_name: str
    disk_format: str
    image_bytes: int
    instance_dir: str
    port: Port


def xml_preamble(guest: GuestSpec, release: str) -> str:
    """The text after `Start _get_guest_xml ` (share_info, unspaced, since 2025.1)."""
    u = "" if at_least(release, "ussuri") else "u"
    port = guest.port
    net = json.dumps([{"id": port.id, "address": port.mac, "type": port.vif}])
    disk = (f"{{'disk_bus': 'virtio', 'cdrom_bus': 'ide', 'mapping': {{'disk': {{'bus': 'virtio', "
            f"'boot_index': '1', 'type': 'disk', 'dev': {u}'vda'}}, 'root': {{'bus': 'virtio', "
            f"'boot_index': '1', 'type': 'disk', 'dev': {u}'vda'}}}}}}")
    meta = (f"ImageMeta(container_format='bare',disk_format='{guest.disk_format}',"
            f"id={guest.image_id},min_disk=0,min_ram=0,name='{guest.image_name}',"
            f"size={guest.image_bytes})")
    bdi = (f"{{'swap': None, 'root_device_name': {u}'/dev/vda', 'ephemerals': [], "
           f"'block_device_mapping': []}}")
    text = (f"network_info={net} disk_info={disk} image_meta={meta} rescue=None "
            f"block_device_info={bdi}")
    return text + ("share_info=[]" if at_least(release, "2025.1") else "")


def guest_xml(guest: GuestSpec, release: str) -> str:
    """The libvirt domain XML nova logs after `End _get_guest_xml xml=` (many lines)."""
    port = guest.port
    return "\n".join((
        '<domain type="kvm">',
        f"  <uuid>{guest.uuid}</uuid>",
        f"  <name>{guest.domain}</name>",
        f"  <memory>{guest.memory_mb * 1024}</memory>",
        f"  <vcpu>{guest.vcpus}</vcpu>",
        "  <metadata>",
        '    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.0">',
        f'      <nova:package version="{NOVA_VERSION[release]}"/>',
        f"      <nova:name>{guest.name}</nova:name>",
        f'      <nova:flavor name="{guest.flavor}">',
        f"        <nova:memory>{guest.memory_mb}</nova:memory>",
        f"        <nova:disk>{guest.disk_gb}</nova:disk>",
        f"        <nova:vcpus>{guest.vcpus}</nova:vcpus>",
        "      </nova:flavor>",
        f'      <nova:root type="image" uuid="{guest.image_id}"/>',
        "    </nova:instance>",
        "  </metadata>",
        "  <os>",
        "    <type>hvm</type>",
        '    <boot dev="hd"/>',
        "  </os>",
        "  <devices>",
        '    <disk type="file" device="disk">',
        '      <driver name="qemu" type="qcow2" cache="none"/>',
        f'      <source file="{guest.instance_dir}/disk"/>',
        '      <target bus="virtio" dev="vda"/>',
        "    </disk>",
        '    <interface type="bridge">',
        f'      <mac address="{port.mac}"/>',
        '      <model type="virtio"/>',
        f'      <source bridge="{port.bridge}"/>',
        f'      <target dev="{port.devname}"/>',
        "    </interface>",
        '    <serial type="file">',
        f'      <source path="{guest.instance_dir}/console.log"/>',
        "    </serial>",
        "  </devices>",
        "</domain>",
    ))
