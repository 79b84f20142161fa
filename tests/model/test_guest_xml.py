"""nova's guest XML written and read by one module (nsim.nova.guest_xml): the seed boot's text
exactly, both forms as each release writes them (nova 15..34's driver.py, config.py,
blockinfo.py, vif.py) and read back, escaping, a cut XML."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime

import pytest

import nsim
from nsim.events.guest import GuestXmlEnd, GuestXmlStart
from nsim.nova import guest_xml
from nsim.nova.flavor import Flavor
from nsim.nova.guest_xml import Guest, GuestImage, KernelBoot, domain_xml, xml_preamble
from nsim.nova.network_info import PortInfo
from nsim.nova.releases import NOVA_MAJOR, NOVA_VERSION, RELEASES, at_least, runs_python3
from nsim.sim import like
from tests.conftest import SEED

UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
PORT = PortInfo(id="4c3d3a9e-7d5b-4d5e-9a39-0b3f6c1e2a10", mac="fa:16:3e:5b:2c:91",
                address="10.0.0.5", cidr="10.0.0.0/24", gateway="10.0.0.1",
                dhcp_server="10.0.0.2", network_id="4f28b3ec-cc2d-4a1b-8f3e-6a7b9c0d1e2f",
                tenant_id="0123456789abcdef0123456789abcdef", bridge="brq4f28b3ec-cc",
                devname="tap4c3d3a9e-7d")
INSTANCE_DIR = f"/opt/stack/data/nova/instances/{UUID}"
# The seed boot's guest (sample_logs/seed-boot.journal), in the form the simulator writes.
SEED_GUEST = Guest(
    uuid=UUID, domain="instance-00000001", display_name="vm1",
    flavor=Flavor("m1.tiny", 512, 1, 1),
    image=GuestImage(id=IMAGE, name="cirros-0.3.5-x86_64-disk", disk_format="qcow2",
                     size=13267968),
    release="pike", disk=f"{INSTANCE_DIR}/disk", console_log=f"{INSTANCE_DIR}/console.log",
    ports=(PORT,), abridged=True)
# Hardware mode's: nova's form, direct kernel boot, a flavor with swap and an ephemeral disk.
HW_GUEST = replace(
    SEED_GUEST, flavor=Flavor("m1.extra", 2048, 20, 2, ephemeral_gb=1, swap_mb=512),
    virt_type="qemu", kernel_boot=KernelBoot(f"{INSTANCE_DIR}/kernel",
                                             f"{INSTANCE_DIR}/ramdisk", "console=ttyS0"),
    created=datetime(2025, 6, 1, 12, 0, 0), abridged=False)


def test_the_seed_form_is_what_the_seed_boot_logged() -> None:
    events = [r.event for r in nsim.parse(str(SEED), year=2017)]
    start = next(e for e in events if isinstance(e, GuestXmlStart))
    end = next(e for e in events if isinstance(e, GuestXmlEnd))
    assert xml_preamble(SEED_GUEST) == start.details
    assert domain_xml(SEED_GUEST) == end.xml


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("guest", [SEED_GUEST, HW_GUEST], ids=["seed", "nova"])
def test_what_is_written_reads_back(guest: Guest, release: str) -> None:
    g = replace(guest, release=release)
    xml = domain_xml(g)
    facts = guest_xml.read(xml)
    assert (facts.flavor, facts.name, facts.root_image) == (g.flavor.name, "vm1", IMAGE)
    assert facts.disk == f"{INSTANCE_DIR}/disk"
    # The version's first number: the major from Liberty (12) on, the year before.
    assert facts.nova_major == int(NOVA_VERSION[release].split(".")[0])
    assert release not in NOVA_MAJOR or facts.nova_major == NOVA_MAJOR[release]
    sizes = {"memory": g.flavor.memory_mb, "disk": g.flavor.root_gb, "vcpus": g.flavor.vcpus}
    if not g.abridged:
        sizes |= {"swap": 512, "ephemeral": 1}
    assert facts.sizes == sizes and facts.extras is not g.abridged
    root = ET.fromstring(xml)  # well formed
    assert root.get("type") == g.virt_type
    ports = root.findall(".//{*}ports/{*}port")
    if at_least(release, "wallaby"):  # nova 23: config.py NOVA_NS 1.1, <nova:ports>
        assert "xmlns:nova=\"http://openstack.org/xmlns/libvirt/nova/1.1\"" in xml
        assert [p.get("uuid") for p in ports] == [PORT.id]
        assert [ip.get("address") for ip in ports[0]] == [PORT.address]
    else:
        assert "xmlns:nova=\"http://openstack.org/xmlns/libvirt/nova/1.0\"" in xml and not ports
    boot = (root.findtext("os/kernel"), root.findtext("os/cmdline"), root.find("os/boot"))
    if g.abridged:
        assert boot[:2] == (None, None) and boot[2].get("dev") == "hd"
    else:
        assert boot[:2] == (f"{INSTANCE_DIR}/kernel", "console=ttyS0") and boot[2] is None


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("guest", [SEED_GUEST, HW_GUEST], ids=["seed", "nova"])
def test_the_preamble_follows_the_release(guest: Guest, release: str) -> None:
    text = xml_preamble(replace(guest, release=release))
    python3 = release not in RELEASES[:RELEASES.index("ussuri")]
    assert ("'dev': u'vda'" in text) is not python3
    assert f"id={IMAGE}," in text and "name='cirros-0.3.5-x86_64-disk'" in text
    assert ("owner=<?>" in text) is not guest.abridged
    # nova 31's spawn does not pass share_info: None, right after block_device_info.
    share = "share_info=None" if release in RELEASES[RELEASES.index("2025.1"):] else ""
    assert text.endswith("}" + share) and "share_info=[]" not in text
    # The seed's host imitated with --like: its image read back from the ImageMeta.
    m = like._META.search(text)
    assert m is not None and m.groups() == ("qcow2", IMAGE, "cirros-0.3.5-x86_64-disk",
                                            "13267968")


def _dicts(text: str) -> tuple[dict, dict]:
    """disk_info and block_device_info of a Python 3 preamble, as Python reads them back."""
    disk = re.search(r"disk_info=(\{.*?\}\}\}) image_meta=", text)
    bdi = re.search(r"block_device_info=(\{.*\})(?:share_info=None)?$", text)
    assert disk is not None and bdi is not None
    return ast.literal_eval(disk.group(1)), ast.literal_eval(bdi.group(1))


@pytest.mark.parametrize("release", RELEASES[RELEASES.index("ussuri"):])
def test_python3_dicts_print_in_the_order_nova_builds_them(release: str) -> None:
    disk_info, bdi = _dicts(xml_preamble(replace(SEED_GUEST, release=release)))
    assert list(disk_info) == ["disk_bus", "cdrom_bus", "mapping"]  # blockinfo.get_disk_info
    assert list(disk_info["mapping"]) == ["root", "disk"]  # _get_disk_mapping
    root = disk_info["mapping"]["root"]
    assert root == {"bus": "virtio", "dev": "vda", "type": "disk", "boot_index": "1"}
    zed_on = at_least(release, "zed")
    # get_info_from_bdm (the image's block device, nova 26) or get_root_info (none before).
    assert list(root) == (["bus", "dev", "type", "boot_index"] if zed_on
                          else ["bus", "type", "dev", "boot_index"])
    # nova/virt/driver.py get_block_device_info: 'image' from nova 26.
    assert list(bdi) == ["root_device_name", *(["image"] if zed_on else []), "ephemerals",
                         "block_device_mapping", "swap"]
    if zed_on:
        [image] = bdi["image"]
        assert (image["image_id"], image["device_name"], image["boot_index"]) == (
            IMAGE, "/dev/vda", 0)
        assert list(image)[-1] == "image_id"
    # Both forms share these dicts; only network_info and ImageMeta are cut in the seed's.
    hw = xml_preamble(replace(HW_GUEST, release=release))
    assert _dicts(hw) == (disk_info, bdi)


OVS = replace(PORT, vif_type="ovs", bridge="br-int")


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("port", [PORT, OVS], ids=["bridge", "ovs"])
def test_devices_are_what_the_release_writes(release: str, port: PortInfo) -> None:
    for guest in (SEED_GUEST, HW_GUEST):
        g = replace(guest, release=release, ports=(port,))
        xml = domain_xml(g)
        root = ET.fromstring(xml)
        # nova 20: x86's machine type "pc" (libvirt/utils.py get_default_machine_type).
        assert root.find("os/type").get("machine") == ("pc" if at_least(release, "train")
                                                       else None)
        # etree.Element("target", dev=, bus=): keyword order, hashed by Python 2.
        target = ('<target dev="vda" bus="virtio"/>' if runs_python3(release)
                  else '<target bus="virtio" dev="vda"/>')
        assert target in xml
        # nova 19 always has virtlogd log the console (pty); before, a file without it.
        serial = root.find("devices/serial")
        if at_least(release, "stein"):
            assert serial.get("type") == "pty" and serial.find("source") is None
            assert serial.find("log").attrib == {"file": g.console_log, "append": "off"}
        else:
            assert serial.get("type") == "file" and serial.find("log") is None
            assert serial.find("source").get("path") == g.console_log
        [vif] = root.findall("devices/interface")
        assert vif.find("mac").get("address") == port.mac
        assert vif.find("target").get("dev") == port.devname
        # The MTU from nova 21 (its minimum libvirt and QEMU have it).
        mtu = vif.find("mtu")
        assert (mtu.get("size") if mtu is not None else None) == (
            str(port.mtu) if at_least(release, "ussuri") else None)
        # vif.py get_base_config: driver "qemu" only without KVM.
        driver = vif.find("driver")
        assert (driver is not None) is (g.virt_type == "qemu")
        ethernet = port.vif_type == "ovs" and at_least(release, "xena")
        assert vif.get("type") == ("ethernet" if ethernet else "bridge")
        source, vport = vif.find("source"), vif.find("virtualport")
        if ethernet:  # nova 24 delegates the OVS port to os-vif
            assert source is None and vport is None
        else:
            assert source.get("bridge") == port.bridge
        if port.vif_type == "ovs" and not ethernet:
            assert vport.get("type") == "openvswitch"
            assert vport.find("parameters").get("interfaceid") == port.id
        elif not ethernet:
            assert vport is None
        assert [c.tag for c in vif][-1] in ("target", "virtualport")
        assert guest_xml.read(xml).disk == f"{INSTANCE_DIR}/disk"


def test_names_are_escaped_and_read_back_unescaped() -> None:
    nasty = 'a<b>&"c\'</nova:name>'
    for guest in (SEED_GUEST, HW_GUEST):
        g = replace(guest, display_name=nasty, flavor=replace(guest.flavor, name='m&"1'))
        xml = domain_xml(g)
        assert ET.fromstring(xml).find("metadata/{*}instance/{*}name").text == nasty
        facts = guest_xml.read(xml)
        assert (facts.name, facts.flavor) == (nasty, 'm&"1')


def test_nsim_marks_the_domains_it_defines() -> None:
    xml = guest_xml.with_owner(domain_xml(HW_GUEST), "/work/dir")
    mark = ET.fromstring(xml).find("metadata/{https://nsim.invalid/xmlns/hw/1}owner")
    assert mark is not None and guest_xml.owner_of(ET.tostring(mark, "unicode")) == "/work/dir"
    assert guest_xml.owner_of("<other workdir='/x'/>") is None
    assert guest_xml.owner_of("<owner") is None


def test_a_cut_xml_still_says_what_it_says() -> None:
    xml = domain_xml(replace(SEED_GUEST, release="train"))
    cut = xml[:xml.index("<nova:vcpus>")]
    facts = guest_xml.read(cut)
    assert facts.sizes.get("memory") == 512 and "vcpus" not in facts.sizes
    assert facts.disk is None and facts.root_image is None
    assert guest_xml.read("<nova:ephemeral>1</nova:ephemeral>").extras
