"""Safety: ids, names and paths are validated and confined to the work directory; the XML is
built by an XML library; commands refuse bad input with a message, never a traceback."""

from __future__ import annotations

import gzip
import http.client
import os
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from nsim.hw import guest_image
from nsim.hw.errors import UsageError
from nsim.hw.image_service import ImageClient, ImageServer, ImageStore
from nsim.hw.workdir import Workdir, validate_image_ref, validate_name, validate_uuid
from nsim.nova.flavor import FLAVORS
from nsim.nova.guest_xml import Guest, GuestImage, KernelBoot, domain_xml, nova_namespace
from tests.hw.conftest import nsim_cli

UUID = "0d3c2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a"


@pytest.mark.parametrize("bad", ["..", "../etc", "a/../../b", "/etc/passwd", "a/b", "",
                                 "x\x00y", "a b", "-rf", "." * 3, "é"])
def test_image_refs_and_names_are_validated(bad: str) -> None:
    with pytest.raises(UsageError):
        validate_image_ref(bad)
    with pytest.raises(UsageError):
        validate_name(bad)


@pytest.mark.parametrize("bad", ["../" + UUID, UUID.upper(), UUID + "/..", "not-a-uuid", "",
                                 UUID + "\n", UUID + "\x00", " " + UUID])
def test_uuids_are_validated(bad: str) -> None:
    with pytest.raises(UsageError):
        validate_uuid(bad)
    with pytest.raises(UsageError):
        Workdir("/tmp/nsim-unused").instance_dir(bad)


def test_good_refs_pass() -> None:
    assert validate_image_ref(UUID) == UUID
    assert validate_image_ref("nsim-tiny") == "nsim-tiny"
    assert validate_name("m1.nano") == "m1.nano"


def test_workdir_confines_paths(tmp_path: Path) -> None:
    wd = Workdir(tmp_path / "wd")
    wd.ensure()
    assert wd.path("instances", UUID) == wd.root / "instances" / UUID
    for parts in (("..",), ("instances", "..", ".."), ("/etc",), ("instances", "/etc/passwd"),
                  ("a\x00",), ("",)):
        with pytest.raises(UsageError):
            wd.path(*parts)
    # A symlink inside that points outside is refused too.
    (wd.root / "escape").symlink_to("/etc")
    with pytest.raises(UsageError):
        wd.path("escape", "passwd")
    with pytest.raises(UsageError):
        wd.instance_dir("../../etc")
    with pytest.raises(UsageError):
        Workdir("/")
    with pytest.raises(UsageError):  # logged commands are space-joined, as nova logs them
        Workdir(tmp_path / "a b")


def test_image_store_refuses_bad_ids(tmp_path: Path) -> None:
    store = ImageStore(Workdir(tmp_path))
    src = tmp_path / "src"
    src.write_bytes(b"x" * 10)
    for bad in ("../../x", "/tmp/x", "nsim-tiny"):
        with pytest.raises(UsageError):
            store.add(bad, "n", src, "raw")
    assert store.get("../../etc") is None


def test_image_service_answers_like_glance_and_refuses_traversal(tmp_path: Path) -> None:
    wd = Workdir(tmp_path)
    wd.ensure()
    store = ImageStore(wd)
    src = tmp_path / "img"
    src.write_bytes(os.urandom(200_000))
    meta = store.add(UUID, "blob", src, "raw", properties={"os_command_line": "quiet"})
    with ImageServer(store) as server:
        client = ImageClient(server.url)
        shown = client.show(UUID)
        assert shown["status"] == "active" and shown["size"] == 200_000
        assert shown["os_hash_algo"] == "sha512" and shown["checksum"] == meta["checksum"]
        assert shown["os_command_line"] == "quiet"
        assert client.show("blob")["id"] == UUID
        dest = tmp_path / "dl"
        assert client.download(UUID, os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL),
                                shown) == 200_000
        assert dest.read_bytes() == src.read_bytes()
        host, port = server.url.removeprefix("http://").split(":")
        for raw in ("/v2/images/../../../etc/passwd", "/v2/images/%2e%2e%2f%2e%2e/file",
                    f"/v2/images/{UUID}/../../x", "/etc/passwd"):
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", raw)
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 404, (raw, resp.status)
            assert b"root:" not in body
            conn.close()
        with pytest.raises(UsageError):
            client.show("../../etc/passwd")
        # A byte flipped in transit is caught by the hash check, like glanceclient does.
        server.corrupt_transfers(UUID)
        with pytest.raises(OSError, match="Corrupt image download"):
            client.download(UUID, os.open(tmp_path / "dl2", os.O_WRONLY | os.O_CREAT), shown)


def test_domain_xml_is_escaped_and_well_formed() -> None:
    nasty = 'a<b>&"c\'</name><devices/>'
    spec = Guest(
        uuid=UUID, domain="instance-00000001", display_name=nasty, flavor=FLAVORS["m1.nano"],
        image=GuestImage(id=UUID), release="2025.2", disk="/w/i/disk",
        console_log="/w/i/console.log", virt_type="qemu",
        kernel_boot=KernelBoot("/w/i/kernel", "/w/i/ramdisk", "console=ttyS0"),
        created=datetime(2025, 1, 1))
    text = domain_xml(spec)
    root = ET.fromstring(text)
    assert root.get("type") == "qemu"
    ns = {"nova": nova_namespace("2025.2")}
    assert root.find("metadata/nova:instance/nova:name", ns).text == nasty
    assert root.find("metadata/nova:instance/nova:flavor/nova:memory", ns).text == "128"
    assert len(root.findall("devices")) == 1
    assert root.find("devices/disk/source").get("file") == "/w/i/disk"
    assert root.find("features/acpi") is not None  # lets the guest power off
    assert '<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">' in text
    with pytest.raises(ValueError):
        Guest(**{**spec.__dict__, "virt_type": "xen"})


def test_initramfs_is_a_valid_newc_archive(tmp_path: Path) -> None:
    mods = {}
    for m in guest_image.MODULES:
        mods[m] = tmp_path / f"{m}.ko"
        mods[m].write_bytes(m.encode())
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF fake")
    out = guest_image.build_initramfs(mods, tmp_path / "initrd.img", busybox=busybox)
    data = gzip.decompress(out.read_bytes())
    names, pos = [], 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        pos += filesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            break
        names.append(name)
    assert {"init", "bin/busybox", "dev/console"} <= set(names)
    assert all(not n.startswith("/") and ".." not in n for n in names)


@pytest.mark.parametrize(("argv", "named"), [
    (["hw", "boot", "--image", "../../etc/passwd", "--flavor", "m1.nano"], "../../etc/passwd"),
    (["hw", "boot", "--image", "nsim-tiny", "--flavor", "../m1"], "../m1"),
    (["hw", "boot", "--image", "nsim-tiny", "--flavor", "m1.huge"], "m1.huge"),
    (["hw", "delete", "../../etc"], "../../etc"),
    (["hw", "delete", UUID + "\n"], UUID),
    (["hw", "delete"], "--all"),
])
def test_cli_refuses_bad_input_without_traceback(argv: list[str], named: str,
                                                 tmp_path: Path) -> None:
    res = nsim_cli(*argv[:2], "--workdir", str(tmp_path / "wd"), *argv[2:])
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.startswith("nsim: ")
    assert named in res.stderr  # the message names what was wrong
    assert "Traceback" not in res.stderr
    # Refused before anything is done: not even the work directory is created.
    assert not (tmp_path / "wd").exists(), sorted(p.name for p in (tmp_path / "wd").iterdir())


def test_workdir_with_a_comma_is_refused() -> None:
    # qemu-img's `-o backing_file=PATH,backing_fmt=raw` would split the path at the comma.
    with pytest.raises(UsageError, match="commas"):
        Workdir("/var/tmp/nsim,evil")
    res = nsim_cli("hw", "delete", "--all", "--workdir", "/var/tmp/nsim,evil")
    assert res.returncode == 2 and "commas" in res.stderr and "Traceback" not in res.stderr
