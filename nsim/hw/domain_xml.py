"""The libvirt domain XML nova's libvirt driver generates, built with xml.etree.

Shape as nova's LibvirtConfigGuest renders it (2-space indent, nova:instance metadata with its
namespace declared on that element, sysinfo, os, features, clock, cpu, devices). Differences
that belong to this machine: direct kernel boot (`<kernel>`/`<initrd>` in the instance
directory, as nova does for images with kernel_id/ramdisk_id) and `type` qemu when KVM is not
usable here. Values are escaped by ElementTree, never pasted into a string.

The domain nsim defines also carries `<nsim:owner workdir="..."/>` in its metadata (not in
the XML logged, which is nova's): `nsim hw delete` only destroys domains marked with its work
directory.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

from nsim.nova.flavor import Flavor
from nsim.nova.releases import NOVA_VERSION

NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/1.1"
NSIM_NS = "https://nsim.invalid/xmlns/hw/1"


@dataclass(frozen=True)
class VifSpec:
    """One port as nova's network_info holds it (bridge VIF, linux bridge plugin)."""

    port_id: str
    mac: str
    bridge: str
    devname: str
    network_id: str
    address: str
    cidr: str
    mtu: int = 1500


@dataclass(frozen=True)
class DomainSpec:
    uuid: str
    name: str
    display_name: str
    flavor: Flavor
    image_id: str
    virt_type: str
    kernel: Path
    initrd: Path
    cmdline: str
    disk: Path | None
    disk_cache: str
    console_log: Path
    created: datetime
    release: str
    user: tuple[str, str] = ("admin", "00000000000000000000000000000001")
    project: tuple[str, str] = ("admin", "00000000000000000000000000000002")
    vifs: list[VifSpec] = field(default_factory=list)


def nova_version(release: str) -> str:
    return NOVA_VERSION[release]


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _metadata(spec: DomainSpec, parent: ET.Element) -> None:
    meta = _sub(parent, "metadata")
    inst = ET.SubElement(meta, "nova:instance", {"xmlns:nova": NOVA_NS})
    _sub(inst, "nova:package", version=nova_version(spec.release))
    _sub(inst, "nova:name", spec.display_name)
    _sub(inst, "nova:creationTime", spec.created.strftime("%Y-%m-%d %H:%M:%S"))
    flavor = _sub(inst, "nova:flavor", name=spec.flavor.name)
    _sub(flavor, "nova:memory", str(spec.flavor.memory_mb))
    _sub(flavor, "nova:disk", str(spec.flavor.root_gb))
    _sub(flavor, "nova:swap", str(spec.flavor.swap_mb))
    _sub(flavor, "nova:ephemeral", str(spec.flavor.ephemeral_gb))
    _sub(flavor, "nova:vcpus", str(spec.flavor.vcpus))
    owner = _sub(inst, "nova:owner")
    _sub(owner, "nova:user", spec.user[0], uuid=spec.user[1])
    _sub(owner, "nova:project", spec.project[0], uuid=spec.project[1])
    _sub(inst, "nova:root", type="image", uuid=spec.image_id)
    ports = _sub(inst, "nova:ports")
    for vif in spec.vifs:
        port = _sub(ports, "nova:port", uuid=vif.port_id)
        _sub(port, "nova:ip", type="fixed", address=vif.address, ipVersion="4")


def build(spec: DomainSpec) -> str:
    """The domain XML text (no XML declaration, 2-space indent, like nova's)."""
    if spec.virt_type not in ("kvm", "qemu"):
        raise ValueError(f"virt_type {spec.virt_type!r}")
    dom = ET.Element("domain", {"type": spec.virt_type})
    _sub(dom, "uuid", spec.uuid)
    _sub(dom, "name", spec.name)
    _sub(dom, "memory", str(spec.flavor.memory_mb * 1024))
    _sub(dom, "vcpu", str(spec.flavor.vcpus))
    _metadata(spec, dom)
    sysinfo = _sub(dom, "sysinfo", type="smbios")
    system = _sub(sysinfo, "system")
    for name, value in (("manufacturer", "OpenStack Foundation"), ("product", "OpenStack Nova"),
                        ("version", nova_version(spec.release)), ("serial", spec.uuid),
                        ("uuid", spec.uuid), ("family", "Virtual Machine")):
        _sub(system, "entry", value, name=name)
    os_el = _sub(dom, "os")
    _sub(os_el, "type", "hvm", machine="pc")
    _sub(os_el, "kernel", str(spec.kernel))
    _sub(os_el, "initrd", str(spec.initrd))
    _sub(os_el, "cmdline", spec.cmdline)
    _sub(os_el, "smbios", mode="sysinfo")
    features = _sub(dom, "features")
    # ACPI is what lets the guest power off (and libvirt shut it down).
    _sub(features, "acpi")
    _sub(features, "apic")
    clock = _sub(dom, "clock", offset="utc")
    _sub(clock, "timer", name="pit", tickpolicy="delay")
    _sub(clock, "timer", name="rtc", tickpolicy="catchup")
    _sub(clock, "timer", name="hpet", present="no")
    cpu = (_sub(dom, "cpu", mode="host-model", match="exact") if spec.virt_type == "kvm"
           else _sub(dom, "cpu"))
    _sub(cpu, "topology", sockets=str(spec.flavor.vcpus), cores="1", threads="1")
    devices = _sub(dom, "devices")
    if spec.disk is not None:
        disk = _sub(devices, "disk", type="file", device="disk")
        _sub(disk, "driver", name="qemu", type="qcow2", cache=spec.disk_cache)
        _sub(disk, "source", file=str(spec.disk))
        _sub(disk, "target", dev="vda", bus="virtio")
    for vif in spec.vifs:
        iface = _sub(devices, "interface", type="bridge")
        _sub(iface, "mac", address=vif.mac)
        _sub(iface, "model", type="virtio")
        _sub(iface, "driver", name="qemu")
        _sub(iface, "source", bridge=vif.bridge)
        _sub(iface, "mtu", size=str(vif.mtu))
        _sub(iface, "target", dev=vif.devname)
    serial = _sub(devices, "serial", type="pty")
    _sub(serial, "log", file=str(spec.console_log), append="off")
    balloon = _sub(devices, "memballoon", model="virtio")
    _sub(balloon, "stats", period="10")
    ET.indent(dom, space="  ")
    # lxml (which nova uses) writes empty elements as `<acpi/>`, ElementTree as `<acpi />`.
    # " />" cannot occur inside escaped text or attribute values, so this only touches tags.
    return ET.tostring(dom, encoding="unicode").replace(" />", "/>")


def with_owner(xml: str, workdir: Path) -> str:
    """The domain XML with nsim's owner mark in <metadata> (what nsim defines)."""
    mark = f"<nsim:owner xmlns:nsim={quoteattr(NSIM_NS)} workdir={quoteattr(str(workdir))}/>"
    head, sep, tail = xml.partition("<metadata>")
    if not sep:
        raise ValueError("domain XML without <metadata>")
    return f"{head}<metadata>\n    {mark}{tail}"


def owner_of(metadata_xml: str) -> str | None:
    """The work directory named by an owner mark: the element libvirt returns for NSIM_NS
    (libvirt hands it back without its namespace prefix)."""
    try:
        el = ET.fromstring(metadata_xml)
    except ET.ParseError:
        return None
    if el.tag not in ("owner", f"{{{NSIM_NS}}}owner"):
        return None
    return el.get("workdir")
