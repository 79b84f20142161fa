"""nova's guest XML, written and read in one place: the guest as the libvirt driver describes
it (one `Guest` for the simulator and hardware mode), the `Start _get_guest_xml` preamble, the
domain XML (nova/virt/libvirt/config.py LibvirtConfigGuest*, logged by driver.py
`_get_guest_xml`), nsim's owner mark on the domains it defines, and the facts read back from a
logged XML.

Two forms. nova's (`abridged=False`, hardware mode): what nova under Python 3 renders and
libvirt is given: sysinfo, features, clock, cpu, creation time, owner and ports in
<nova:instance> (namespace 1.1 and <nova:ports> from Wallaby, nova 23), a pty console that
virtlogd writes to the console log, a memory balloon; direct kernel boot when the guest has a
kernel. The seed's (`abridged=True`, the simulator): what the seed boot (nova 16 under
Python 2) logs: the instance's identity, sizes, root image, disk, VIFs and a file console, in
Python 2's key order, namespace 1.0. The simulator writes it for every release, keeping its
traces as they were: only `u''` goes from Ussuri on and `share_info=[]` comes in 2025.1 (where
nova 31 logs None at spawn).

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
from nsim.nova.releases import NOVA_VERSION, at_least

NSIM_NS = "https://nsim.invalid/xmlns/hw/1"
"""The namespace of nsim's owner mark (`<nsim:owner workdir="..."/>`)."""
SEED_RELEASE = "pike"
"""The seed boot's release, whose metadata namespace the seed's form keeps."""
PORTS_SINCE = "wallaby"
"""nova 23 put the ports in <nova:instance> and moved its namespace to 1.1."""
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


def xml_preamble(guest: Guest) -> str:
    """The text after `Start _get_guest_xml ` (nova/virt/libvirt/driver.py _get_guest_xml)."""
    python3 = at_least(guest.release, "ussuri")  # nova runs under Python 3 from Ussuri
    if guest.abridged:
        net = json.dumps([{"id": p.id, "address": p.mac, "type": p.vif_type} for p in guest.ports])
    else:
        net = network_info_json(list(guest.ports), python3)
    if guest.abridged or not python3:  # Python 2's key order (the seed's)
        u = "" if python3 else "u"
        vda = f"{{'bus': 'virtio', 'boot_index': '1', 'type': 'disk', 'dev': {u}'vda'}}"
        disk = f"{{'disk_bus': 'virtio', 'cdrom_bus': 'ide', 'mapping': {{'disk': {vda}, 'root': {vda}}}}}"
        bdi = (f"{{'swap': None, 'root_device_name': {u}'/dev/vda', 'ephemerals': [], "
               f"'block_device_mapping': []}}")
    else:
        root = {"bus": "virtio", "dev": "vda", "type": "disk", "boot_index": "1"}
        disk = repr({"disk_bus": "virtio", "cdrom_bus": "ide", "mapping": {"root": root,
                                                                            "disk": root}})
        bdi = repr({"root_device_name": "/dev/vda", "image": [], "ephemerals": [],
                    "block_device_mapping": [], "swap": None})
    share = "[]" if guest.abridged else "None"
    text = (f"network_info={net} disk_info={disk} "
            f"image_meta={image_meta_repr(guest.image, guest.abridged)} rescue=None "
            f"block_device_info={bdi}")
    # nova 31 (2025.1) adds share_info, with no space before it.
    return text + (f"share_info={share}" if at_least(guest.release, "2025.1") else "")


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
    ns = nova_namespace(SEED_RELEASE if guest.abridged else guest.release)
    lines = [f'    <nova:instance xmlns:nova="{ns}">',
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
    if full and at_least(guest.release, PORTS_SINCE):
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
    lines = ["    <type>hvm</type>" if guest.abridged else '    <type machine="pc">hvm</type>']
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


def _devices(guest: Guest) -> list[str]:
    full = not guest.abridged
    lines = []
    if guest.disk is not None:
        # The seed shows Python 2's attribute order; nova under Python 3 writes dev first.
        target = 'bus="virtio" dev="vda"' if guest.abridged else 'dev="vda" bus="virtio"'
        lines += ['    <disk type="file" device="disk">',
                  f'      <driver name="qemu" type="qcow2" cache="{_a(guest.disk_cache)}"/>',
                  f'      <source file="{_a(guest.disk)}"/>', f"      <target {target}/>",
                  "    </disk>"]
    for p in guest.ports:
        lines += ['    <interface type="bridge">', f'      <mac address="{_a(p.mac)}"/>',
                  '      <model type="virtio"/>']
        if full:
            lines.append('      <driver name="qemu"/>')
        lines.append(f'      <source bridge="{_a(p.bridge)}"/>')
        if full:
            lines.append(f'      <mtu size="{p.mtu}"/>')
        lines += [f'      <target dev="{_a(p.devname)}"/>', "    </interface>"]
    if guest.abridged:
        lines += ['    <serial type="file">', f'      <source path="{_a(guest.console_log)}"/>',
                  "    </serial>"]
    else:
        lines += ['    <serial type="pty">',
                  f'      <log file="{_a(guest.console_log)}" append="off"/>', "    </serial>",
                  '    <memballoon model="virtio">', '      <stats period="10"/>',
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


def read(xml: str) -> GuestFacts:
    """The facts of a logged guest XML (whole or cut short); text and attribute values
    unescaped."""
    def first(rx: re.Pattern[str]) -> str | None:
        m = rx.search(xml)
        return unescape(m.group(1), _ENTITIES) if m else None

    package = first(_PACKAGE)
    return GuestFacts(flavor=first(_FLAVOR), name=first(_NAME),
                      sizes={k: int(v) for k, v in _SIZES.findall(xml)},
                      root_image=first(_ROOT_IMAGE), disk=first(_DISK_SOURCE),
                      nova_major=int(package) if package else None)
