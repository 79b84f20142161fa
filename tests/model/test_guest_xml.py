"""nova's guest XML written and read by one module (nsim.nova.guest_xml): the seed boot's text
exactly, nova's form and the seed's read back for several releases, escaping, a cut XML."""

from __future__ import annotations

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
from nsim.nova.releases import NOVA_MAJOR
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
RELEASES = ("pike", "stein", "ussuri", "victoria", "wallaby", "2025.1", "2025.2")


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
    assert facts.nova_major == NOVA_MAJOR[release]
    sizes = {"memory": g.flavor.memory_mb, "disk": g.flavor.root_gb, "vcpus": g.flavor.vcpus}
    if not g.abridged:
        sizes |= {"swap": 512, "ephemeral": 1}
    assert facts.sizes == sizes and facts.extras is not g.abridged
    root = ET.fromstring(xml)  # well formed
    assert root.get("type") == g.virt_type
    ports = root.findall(".//{*}ports/{*}port")
    wallaby_on = release not in ("pike", "stein", "ussuri", "victoria")
    if g.abridged or not wallaby_on:
        assert "xmlns:nova=\"http://openstack.org/xmlns/libvirt/nova/1.0\"" in xml and not ports
    else:
        assert "xmlns:nova=\"http://openstack.org/xmlns/libvirt/nova/1.1\"" in xml
        assert [p.get("uuid") for p in ports] == [PORT.id]
    boot = (root.findtext("os/kernel"), root.findtext("os/cmdline"), root.find("os/boot"))
    if g.abridged:
        assert boot[:2] == (None, None) and boot[2].get("dev") == "hd"
    else:
        assert boot[:2] == (f"{INSTANCE_DIR}/kernel", "console=ttyS0") and boot[2] is None


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("guest", [SEED_GUEST, HW_GUEST], ids=["seed", "nova"])
def test_the_preamble_follows_the_release(guest: Guest, release: str) -> None:
    text = xml_preamble(replace(guest, release=release))
    python2 = release in ("pike", "stein")
    assert ("'dev': u'vda'" in text) is python2
    assert f"id={IMAGE}," in text and "name='cirros-0.3.5-x86_64-disk'" in text
    assert ("owner=<?>" in text) is not guest.abridged
    share = "" if release in RELEASES[:5] else ("share_info=[]" if guest.abridged
                                                 else "share_info=None")
    # block_device_info in Python 2's key order (the seed's) or nova's under Python 3.
    last = "'block_device_mapping': []}" if guest.abridged or python2 else "'swap': None}"
    assert text.endswith(last + share)


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
