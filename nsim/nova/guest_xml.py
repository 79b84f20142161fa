"""nova's guest XML, written and read in one place: the guest as the libvirt driver describes
it (one `Guest` for the simulator and hardware mode), the `Start _get_guest_xml` preamble, the
domain XML (nova/virt/libvirt/config.py LibvirtConfigGuest*, logged by driver.py
`_get_guest_xml`), nsim's owner mark on the domains it defines, and the facts read back from a
logged XML.

What nova writes follows the release (nova 15..34 checked; see the *_SINCE constants):
Python 2's dict and keyword-argument order until Train, Python 3's (insertion order) from
Ussuri; the root disk's info from the image's block device from Zed; a file console until Rocky
(no virtlogd, as on the seed's host), a pty logged by virtlogd from Stein; machine type "pc"
from Train; the interface's MTU from Ussuri; OVS ports as libvirt "ethernet" interfaces from
Xena; namespace 1.1 and <nova:ports> from Wallaby; share_info from 2025.1.

Two forms. nova's (`abridged=False`, hardware mode): what libvirt is given: sysinfo,
features, clock, cpu, creation time, owner, swap and ephemeral sizes, a memory balloon; direct
kernel boot when the guest has a kernel. The seed's (`abridged=True`, the simulator): the
elements the seed boot (nova 16, Pike) logs: the instance's identity, sizes, root image, disk,
VIFs and console, with network_info and ImageMeta cut to what the seed shows; each element as
the release writes it.

Values are escaped as lxml escapes them, never pasted in raw. Reading uses patterns, not an XML
parser: a logged XML may be cut short or wrapped, and what it does say still counts.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from xml.sax.saxutils import quoteattr, unescape

from nsim.nova.flavor import Flavor
from nsim.nova.network_info import PortInfo, network_info_json
from nsim.nova.releases import NOVA_VERSION, at_least, runs_python3

NSIM_NS = "https://nsim.invalid/xmlns/hw/1"
"""The namespace of nsim's owner mark (`<nsim:owner workdir="..."/>`)."""
PORTS_SINCE = "wallaby"
"""nova 23 put the ports in <nova:instance> and moved its namespace to 1.1 (config.py
NOVA_NS, LibvirtConfigGuestMetaNovaPorts)."""
PTY_CONSOLE_SINCE = "stein"
"""nova 19 always gives the serial console to virtlogd (driver.py _create_pty_device); before,
a file console where virtlogd is missing (libvirt < 1.3.3 or QEMU < 2.7, the seed's host)."""
MACHINE_SINCE = "train"
"""nova 20 defaults x86's machine type to "pc" (libvirt/utils.py get_default_machine_type)."""
MTU_SINCE = "ussuri"
"""nova 21's minimum libvirt (4.0.0) and QEMU (2.11) have interface MTUs (vif.py
MIN_LIBVIRT_INTERFACE_MTU 3.3.0, QEMU 2.9): the MTU is always written from then on."""
OVS_ETHERNET_SINCE = "xena"
"""nova 24 delegates OVS port creation to os-vif (delegate_create): an "ethernet" interface
(vif.py _set_config_VIFOpenVSwitch)."""
IMAGE_BDM_SINCE = "zed"
"""nova 26 passes the image's block device (block_device_info['image']) and maps the root disk
from it (driver.py get_block_device_info, blockinfo.py _get_disk_mapping)."""
SHARE_INFO_SINCE = "2025.1"
"""nova 31 logs share_info (spawn does not pass it: None)."""
# The ImageMeta fields the seed boot prints (all it sets).
_SEED_IMAGE_FIELDS = frozenset({"container_format", "disk_format", "id", "min_disk", "min_ram",
                                "name", "size"})


def nova_namespace(release: str) -> str:
    """The namespace of <nova:instance> (nova/virt/libvirt/config.py NOVA_NS)."""
    version = "1.1" if at_least(release, PORTS_SINCE) else "1.0"
    return f"http://openstack.org/xmlns/libvirt/nova/{version}"


@dataclass(frozen=True)
class GuestImage:
    """The image as nova's ImageMeta holds it (nova/objects/image_meta.py); None: not set."""

    id: str
    name: str | None = None
    disk_format: str | None = None
    size: int | None = None
    container_format: str | None = "bare"
    min_disk: int | None = 0
    min_ram: int | None = 0
    checksum: str | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    virtual_size: int | None = None

    @classmethod
    def from_glance(cls, record: Mapping[str, Any]) -> GuestImage:
        """The fields nova takes from glance's image record (ImageMeta.from_dict)."""
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})


def image_meta_repr(image: GuestImage, abridged: bool = False) -> str:
    """How ImageMeta prints (oslo.versionedobjects: fields by name, `<?>` when unset); the
    seed's form shows only the fields the seed boot sets."""
    def quoted(value: str | None) -> str | None:
        return None if value is None else f"'{value}'"

    values: dict[str, object] = {
        "checksum": quoted(image.checksum), "container_format": quoted(image.container_format),
        "created_at": image.created_at, "direct_url": None,
        "disk_format": quoted(image.disk_format), "id": image.id, "min_disk": image.min_disk,
        "min_ram": image.min_ram, "name": quoted(image.name), "owner": None,
        "properties": "ImageMetaProps", "protected": None, "size": image.size,
        "status": quoted(image.status), "tags": None, "updated_at": image.updated_at,
        "virtual_size": image.virtual_size, "visibility": None}
    shown = [(k, v) for k, v in values.items() if not abridged or k in _SEED_IMAGE_FIELDS]
    return "ImageMeta(" + ",".join(f"{k}={'<?>' if v is None else v}" for k, v in shown) + ")"


@dataclass(frozen=True)
class KernelBoot:
    """Direct kernel boot: the kernel and initramfs files (where nova puts an image's
    kernel_id/ramdisk_id) and the kernel command line."""

    kernel: str
    initrd: str
    cmdline: str


@dataclass(frozen=True)
class Guest:
    """One instance as the libvirt driver describes it to libvirt."""

    uuid: str
    domain: str
    """libvirt's name for it (instance-%08x)."""
    display_name: str
    flavor: Flavor
    image: GuestImage
    release: str
    disk: str | None
    """The root disk's qcow2 file; None: no disk (hardware mode's KVM probe)."""
    console_log: str
    ports: tuple[PortInfo, ...] = ()
    virt_type: str = "kvm"
    kernel_boot: KernelBoot | None = None
    disk_cache: str = "none"
    created: datetime | None = None
    """<nova:creationTime>; None: not rendered."""
    user: tuple[str, str] = ("admin", "00000000000000000000000000000001")
    """(name, id) in nova's form's <nova:owner>; so is `project`."""
    project: tuple[str, str] = ("admin", "00000000000000000000000000000002")
    abridged: bool = False
    """The seed's form (see the module's docstring)."""

    def __post_init__(self) -> None:
        if self.virt_type not in ("kvm", "qemu"):
            raise ValueError(f"virt_type {self.virt_type!r}")


def _disk_info(release: str) -> str:
    """blockinfo.get_disk_info's dict for an image-backed root disk (vda)."""
    if not runs_python3(release):  # Python 2's hash order, unicode from the instance
        vda = "{'bus': 'virtio', 'boot_index': '1', 'type': 'disk', 'dev': u'vda'}"
        return (f"{{'disk_bus': 'virtio', 'cdrom_bus': 'ide', 'mapping': "
                f"{{'disk': {vda}, 'root': {vda}}}}}")
    if at_least(release, IMAGE_BDM_SINCE):  # get_info_from_bdm
        root = {"bus": "virtio", "dev": "vda", "type": "disk", "boot_index": "1"}
    else:  # get_root_info without a root block device
        root = {"bus": "virtio", "type": "disk", "dev": "vda", "boot_index": "1"}
    return repr({"disk_bus": "virtio", "cdrom_bus": "ide", "mapping": {"root": root,
                                                                        "disk": root}})


def _block_device_info(guest: Guest) -> str:
    """nova/virt/driver.py get_block_device_info's dict for a boot from an image, no volumes,
    ephemeral disk or swap."""
    if not runs_python3(guest.release):
        return ("{'swap': None, 'root_device_name': u'/dev/vda', 'ephemerals': [], "
                "'block_device_mapping': []}")
    info: dict[str, object] = {"root_device_name": "/dev/vda"}
    if at_least(guest.release, IMAGE_BDM_SINCE):
        # DriverImageBlockDevice (virt/block_device.py): its fields come in the order of a set
        # (per process); nsim writes _transform's, image_id last (set outside the fields).
        info["image"] = [{
            "device_name": "/dev/vda", "size": 0, "disk_bus": "virtio", "device_type": "disk",
            "guest_format": None, "boot_index": 0, "encrypted": False,
            "encryption_secret_uuid": None, "encryption_format": None,
            "encryption_options": None, "image_id": guest.image.id}]
    info |= {"ephemerals": [], "block_device_mapping": [], "swap": None}
    return repr(info)


def xml_preamble(guest: Guest) -> str:
    """The text after `Start _get_guest_xml ` (nova/virt/libvirt/driver.py _get_guest_xml)."""
    if guest.abridged:
        net = json.dumps([{"id": p.id, "address": p.mac, "type": p.vif_type} for p in guest.ports])
    else:
        net = network_info_json(list(guest.ports), guest.release)
    text = (f"network_info={net} disk_info={_disk_info(guest.release)} "
            f"image_meta={image_meta_repr(guest.image, guest.abridged)} rescue=None "
            f"block_device_info={_block_device_info(guest)}")
    # nova 31 adds share_info, with no space before it.
    return text + ("share_info=None" if at_least(guest.release, SHARE_INFO_SINCE) else "")


_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;",
                       "\r": "&#13;", "\t": "&#9;"})


def _t(value: object) -> str:
    """A value escaped for element text (as lxml writes it)."""
    return str(value).translate(_TEXT)


def _a(value: object) -> str:
    """A value escaped for a double-quoted attribute."""
    return str(value).translate(_ATTR)


def _metadata(guest: Guest) -> list[str]:
    full = not guest.abridged
    f = guest.flavor
    lines = [f'    <nova:instance xmlns:nova="{nova_namespace(guest.release)}">',
             f'      <nova:package version="{NOVA_VERSION[guest.release]}"/>',
             f"      <nova:name>{_t(guest.display_name)}</nova:name>"]
    if guest.created is not None:
        lines.append(f"      <nova:creationTime>{guest.created:%Y-%m-%d %H:%M:%S}"
                     "</nova:creationTime>")
    lines += [f'      <nova:flavor name="{_a(f.name)}">',
              f"        <nova:memory>{f.memory_mb}</nova:memory>",
              f"        <nova:disk>{f.root_gb}</nova:disk>"]
    if full:
        lines += [f"        <nova:swap>{f.swap_mb}</nova:swap>",
                  f"        <nova:ephemeral>{f.ephemeral_gb}</nova:ephemeral>"]
    lines += [f"        <nova:vcpus>{f.vcpus}</nova:vcpus>", "      </nova:flavor>"]
    if full:
        (user, user_id), (project, project_id) = guest.user, guest.project
        lines += ["      <nova:owner>",
                  f'        <nova:user uuid="{_a(user_id)}">{_t(user)}</nova:user>',
                  f'        <nova:project uuid="{_a(project_id)}">{_t(project)}</nova:project>',
                  "      </nova:owner>"]
    lines.append(f'      <nova:root type="image" uuid="{_a(guest.image.id)}"/>')
    if at_least(guest.release, PORTS_SINCE):
        ports = [(f'        <nova:port uuid="{_a(p.id)}">',
                  f'          <nova:ip type="fixed" address="{_a(p.address)}" ipVersion="4"/>',
                  "        </nova:port>") for p in guest.ports]
        lines += (["      <nova:ports>", *(line for port in ports for line in port),
                   "      </nova:ports>"] if ports else ["      <nova:ports/>"])
    return [*lines, "    </nova:instance>"]


def _sysinfo(guest: Guest) -> list[str]:
    entries = (("manufacturer", "OpenStack Foundation"), ("product", "OpenStack Nova"),
               ("version", NOVA_VERSION[guest.release]), ("serial", guest.uuid),
               ("uuid", guest.uuid), ("family", "Virtual Machine"))
    return ['  <sysinfo type="smbios">', "    <system>",
            *(f'      <entry name="{name}">{_t(value)}</entry>' for name, value in entries),
            "    </system>", "  </sysinfo>"]


def _os(guest: Guest) -> list[str]:
    machine = ' machine="pc"' if at_least(guest.release, MACHINE_SINCE) else ""
    lines = [f"    <type{machine}>hvm</type>"]
    boot = guest.kernel_boot
    if boot is not None:
        lines += [f"    <kernel>{_t(boot.kernel)}</kernel>", f"    <initrd>{_t(boot.initrd)}</initrd>",
                  f"    <cmdline>{_t(boot.cmdline)}</cmdline>"]
    else:
        lines.append('    <boot dev="hd"/>')
    if not guest.abridged:
        lines.append('    <smbios mode="sysinfo"/>')
    return ["  <os>", *lines, "  </os>"]


def _platform(guest: Guest) -> list[str]:
    """Features, clock and CPU."""
    cpu = '  <cpu mode="host-model" match="exact">' if guest.virt_type == "kvm" else "  <cpu>"
    # ACPI is what lets the guest power off (and libvirt shut it down).
    return ["  <features>", "    <acpi/>", "    <apic/>", "  </features>",
            '  <clock offset="utc">', '    <timer name="pit" tickpolicy="delay"/>',
            '    <timer name="rtc" tickpolicy="catchup"/>', '    <timer name="hpet" present="no"/>',
            "  </clock>", cpu,
            f'    <topology sockets="{guest.flavor.vcpus}" cores="1" threads="1"/>', "  </cpu>"]


def _interface(guest: Guest, port: PortInfo) -> list[str]:
    """One VIF (config.py LibvirtConfigGuestInterface, as vif.py configures it)."""
    mtu = [f'      <mtu size="{port.mtu}"/>'] if at_least(guest.release, MTU_SINCE) else []
    ethernet = port.vif_type == "ovs" and at_least(guest.release, OVS_ETHERNET_SINCE)
    lines = [f'    <interface type="{"ethernet" if ethernet else "bridge"}">',
             f'      <mac address="{_a(port.mac)}"/>', '      <model type="virtio"/>']
    if guest.virt_type == "qemu":  # vif.py get_base_config: vhost needs KVM
        lines.append('      <driver name="qemu"/>')
    if not ethernet:
        lines.append(f'      <source bridge="{_a(port.bridge)}"/>')
    lines += [*mtu, f'      <target dev="{_a(port.devname)}"/>']
    if port.vif_type == "ovs" and not ethernet:
        lines += ['      <virtualport type="openvswitch">',
                  f'        <parameters interfaceid="{_a(port.id)}"/>', "      </virtualport>"]
    return [*lines, "    </interface>"]


def _devices(guest: Guest) -> list[str]:
    lines = []
    if guest.disk is not None:
        # etree.Element("target", dev=..., bus=...): keyword order, hashed under Python 2.
        target = ('dev="vda" bus="virtio"' if runs_python3(guest.release)
                  else 'bus="virtio" dev="vda"')
        lines += ['    <disk type="file" device="disk">',
                  f'      <driver name="qemu" type="qcow2" cache="{_a(guest.disk_cache)}"/>',
                  f'      <source file="{_a(guest.disk)}"/>', f"      <target {target}/>",
                  "    </disk>"]
    for p in guest.ports:
        lines += _interface(guest, p)
    if at_least(guest.release, PTY_CONSOLE_SINCE):
        lines += ['    <serial type="pty">',
                  f'      <log file="{_a(guest.console_log)}" append="off"/>', "    </serial>"]
    else:
        lines += ['    <serial type="file">', f'      <source path="{_a(guest.console_log)}"/>',
                  "    </serial>"]
    if not guest.abridged:
        lines += ['    <memballoon model="virtio">', '      <stats period="10"/>',
                  "    </memballoon>"]
    return ["  <devices>", *lines, "  </devices>"]


def domain_xml(guest: Guest) -> str:
    """The domain XML as nova logs it after `End _get_guest_xml xml=` (many lines, 2-space
    indent, no XML declaration, values escaped as lxml does)."""
    lines = [f'<domain type="{guest.virt_type}">', f"  <uuid>{_t(guest.uuid)}</uuid>",
             f"  <name>{_t(guest.domain)}</name>",
             f"  <memory>{guest.flavor.memory_mb * 1024}</memory>",
             f"  <vcpu>{guest.flavor.vcpus}</vcpu>", "  <metadata>", *_metadata(guest),
             "  </metadata>"]
    if not guest.abridged:
        lines += _sysinfo(guest)
    lines += _os(guest)
    if not guest.abridged:
        lines += _platform(guest)
    return "\n".join([*lines, *_devices(guest), "</domain>"])


def with_owner(xml: str, workdir: str) -> str:
    """The domain XML with nsim's owner mark in <metadata> (what nsim defines; the XML logged
    is nova's, without it): `nsim hw delete` only destroys domains marked with its work
    directory."""
    mark = f"<nsim:owner xmlns:nsim={quoteattr(NSIM_NS)} workdir={quoteattr(workdir)}/>"
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


_SIZES = re.compile(r"<nova:(memory|disk|swap|ephemeral|vcpus)>(\d+)</nova:\1>")
_FLAVOR = re.compile(r'<nova:flavor name="([^"]+)">')
_NAME = re.compile(r"<nova:name>([^<]+)</nova:name>")
_ROOT_IMAGE = re.compile(r'<nova:root type="image" uuid="([0-9a-f-]{36})"')
_DISK_SOURCE = re.compile(r'<source file="([^"]+/disk)"')
_PACKAGE = re.compile(r'<nova:package version="(\d+)\.')
_ENTITIES = {"&quot;": '"', "&apos;": "'"}


@dataclass(frozen=True)
class GuestFacts:
    """The guest XML's facts nsim uses; None (or empty) where the XML does not say."""

    flavor: str | None
    name: str | None
    sizes: dict[str, int]
    """memory (MB), disk (root GB), swap (MB), ephemeral (GB), vcpus: those the XML gives."""
    root_image: str | None
    """The image of an image-backed root disk."""
    disk: str | None
    """The root disk's file (`…/<uuid>/disk`)."""
    nova_major: int | None
    """nova's major version, from <nova:package>."""

    @property
    def extras(self) -> bool:
        """Swap or an ephemeral disk, which the resource tracker counts besides root."""
        return bool(self.sizes.get("swap") or self.sizes.get("ephemeral"))


def _first(rx: re.Pattern[str], xml: str) -> str | None:
    """The first match's group, unescaped."""
    m = rx.search(xml)
    if m is None:
        return None
    text = m.group(1)
    return unescape(text, _ENTITIES) if "&" in text else text


def read(xml: str) -> GuestFacts:
    """The facts of a logged guest XML (whole or cut short); text and attribute values
    unescaped."""
    package = _first(_PACKAGE, xml)
    return GuestFacts(flavor=_first(_FLAVOR, xml), name=_first(_NAME, xml),
                      sizes={k: int(v) for k, v in _SIZES.findall(xml)},
                      root_image=_first(_ROOT_IMAGE, xml), disk=_first(_DISK_SOURCE, xml),
                      nova_major=int(package) if package else None)
