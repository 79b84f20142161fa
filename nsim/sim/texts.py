"""The values nova prints inside its messages, as a given release prints them: lock owner
names, qemu-img command lines, network_info JSON, the guest XML and its preamble, VIF reprs.

Python 2 (nova through Train) names a decorated function by module and name; Python 3
(Ussuri on) by `__qualname__` (oslo_utils/reflection.py). qemu-img details follow
nova-facts §4 and the seed boot (Pike): `--force-share` from Queens, `--output=json` from
Ussuri; through Stein the overlay is created without a size and then resized.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nsim.events.release import NOVA_MAJOR, release_index


def _since(release: str, first: str) -> bool:
    return release_index(release) >= release_index(first)


@dataclass(frozen=True)
class Owners:
    """Names lockutils logs for the functions nova synchronizes."""

    build: str
    claim: str
    abort_claim: str
    update_usage: str
    audit: str
    terminate: str
    fetch: str
    create_image: str


def owners(python3: bool) -> Owners:
    if python3:
        return Owners(
            build="nova.compute.manager.ComputeManager.build_and_run_instance.<locals>."
                  "_locked_do_build_and_run_instance",
            claim="nova.compute.resource_tracker.ResourceTracker.instance_claim",
            abort_claim="nova.compute.resource_tracker.ResourceTracker.abort_instance_claim",
            update_usage="nova.compute.resource_tracker.ResourceTracker.update_usage",
            audit="nova.compute.resource_tracker.ResourceTracker._update_available_resource",
            terminate="nova.compute.manager.ComputeManager.terminate_instance.<locals>."
                      "do_terminate_instance",
            fetch="nova.virt.libvirt.imagebackend.Image.cache.<locals>.fetch_func_sync",
            create_image="nova.virt.libvirt.imagebackend.Qcow2.create_image.<locals>."
                         "create_qcow2_image")
    return Owners(
        build="nova.compute.manager._locked_do_build_and_run_instance",
        claim="nova.compute.resource_tracker.instance_claim",
        abort_claim="nova.compute.resource_tracker.abort_instance_claim",
        update_usage="nova.compute.resource_tracker.update_usage",
        audit="nova.compute.resource_tracker._update_available_resource",
        terminate="nova.compute.manager.do_terminate_instance",
        fetch="nova.virt.libvirt.imagebackend.fetch_func_sync",
        create_image="nova.virt.libvirt.imagebackend.copy_qcow2_image")


class QemuImg:
    """qemu-img command lines of one release."""

    def __init__(self, release: str, python3: bool) -> None:
        interpreter = "/usr/bin/python3" if python3 else "/usr/bin/python"
        limit = 2147483648 if _since(release, "train") else 1073741824
        self._info_prefix = (f"{interpreter} -m oslo_concurrency.prlimit --as={limit} --cpu=30 -- "
                             "env LC_ALL=C LANG=C qemu-img info ")
        self._info_suffix = ((" --force-share" if _since(release, "queens") else "")
                             + (" --output=json" if _since(release, "ussuri") else ""))
        self.resize_after_create = not _since(release, "train")

    def info(self, path: str) -> str:
        return f"{self._info_prefix}{path}{self._info_suffix}"

    @staticmethod
    def convert(source: str, target: str, disk_format: str) -> str:
        return f"qemu-img convert -t none -O raw -f {disk_format} {source} {target}"

    def create(self, base: str, disk: str, size_bytes: int) -> str:
        if self.resize_after_create:
            return f"qemu-img create -f qcow2 -o backing_file={base} {disk}"
        return (f"env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file={base},"
                f"backing_fmt=raw {disk} {size_bytes}")

    @staticmethod
    def resize(disk: str, size_bytes: int) -> str:
        return f"qemu-img resize {disk} {size_bytes}"


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
        return f"tap{self.id[:11]}"

    @property
    def bridge(self) -> str:
        return f"brq{self.network_id[:11]}" if self.vif == "bridge" else "br-int"

    @property
    def event(self) -> str:
        return f"network-vif-plugged-{self.id}"

    def network_info(self) -> str:
        """nova's network_info model as JSON (nova/network/model.py)."""
        prefix = self.ip.rsplit(".", 1)[0]
        vif = {
            "profile": {}, "ovs_interfaceid": self.id if self.vif == "ovs" else None,
            "preserve_on_delete": False,
            "network": {
                "bridge": self.bridge,
                "subnets": [{
                    "ips": [{"meta": {}, "version": 4, "type": "fixed", "floating_ips": [],
                             "address": self.ip}],
                    "version": 4, "meta": {"dhcp_server": f"{prefix}.2"}, "dns": [], "routes": [],
                    "cidr": f"{prefix}.0/24",
                    "gateway": {"meta": {}, "version": 4, "type": "gateway",
                                "address": f"{prefix}.1"}}],
                "meta": {"injected": False, "tenant_id": self.tenant_id,
                         "should_create_bridge": self.vif == "bridge", "mtu": 1450},
                "id": self.network_id, "label": "private"},
            "devname": self.devname, "vnic_type": "normal", "qbh_params": None, "meta": {},
            "details": {"port_filter": True}, "address": self.mac, "active": False,
            "type": self.vif, "id": self.id, "qbg_params": None,
        }
        return json.dumps([vif])

    def os_vif(self) -> str:
        """os-vif's repr of the VIF object nova plugs."""
        if self.vif == "bridge":
            return (f"VIFBridge(active=False,address={self.mac},bridge_name='{self.bridge}',"
                    f"has_traffic_filtering=True,id={self.id},network=Network({self.network_id}),"
                    f"plugin='linux_bridge',port_profile=<?>,preserve_on_delete=False,"
                    f"vif_name='{self.devname}')")
        return (f"VIFOpenVSwitch(active=False,address={self.mac},bridge_name='br-int',"
                f"has_traffic_filtering=True,id={self.id},network=Network({self.network_id}),"
                f"plugin='ovs',port_profile=VIFPortProfileOpenVSwitch,preserve_on_delete=False,"
                f"vif_name='{self.devname}')")


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
    u = "" if _since(release, "ussuri") else "u"
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
    return text + ("share_info=[]" if _since(release, "2025.1") else "")


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
        f'      <nova:package version="{NOVA_MAJOR[release]}.0.0"/>',
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
