"""A tiny guest built offline: Debian's kernel, a busybox initramfs, and a small qcow2 disk.

The kernel comes from the `linux-image-<version>-amd64` package (`apt-get download`, unpacked
in Python from `dpkg-deb --fsys-tarfile`), the initramfs is written in the cpio `newc` format
by this module (busybox-static as /bin/busybox, an /init script, the virtio modules), and the
disk image is a raw file with a header naming the image, converted to qcow2 by qemu-img. The
guest prints markers on its serial console: the kernel came up, what it read from /dev/vda,
its NIC's MAC address, then READY_MARKER.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsim.hw import safefs
from nsim.hw.errors import HwError, PrerequisiteError
from nsim.hw.workdir import Workdir
from nsim.nova.names import is_uuid

READY_MARKER = "NSIM-GUEST-READY"
DISK_MAGIC = b"NSIM-DISK-V1"
GUEST_IMAGE_NAME = "nsim-tiny"
KERNEL_META_PACKAGE = "linux-image-amd64"
# Loaded in this order by /init (dependencies first); see MODULE_DIRS for where they live.
MODULES = ("virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
           "virtio_blk", "failover", "net_failover", "virtio_net")
MODULE_DIRS = ("kernel/drivers/virtio/", "kernel/drivers/block/", "kernel/drivers/net/",
               "kernel/net/core/")
BUSYBOX = Path("/bin/busybox")
DISK_VIRTUAL_MB = 64
DISK_PAYLOAD_MB = 4
KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet"

_INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in {modules}; do insmod /lib/modules/$m.ko 2>/dev/null; done
echo "NSIM-GUEST: kernel $(uname -r) up"
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
if [ -b /dev/vda ]; then
  echo "NSIM-DISK: $(head -c 160 /dev/vda | tr -d '\\000' | head -n 1)"
else
  echo "NSIM-DISK: missing"
fi
for nic in /sys/class/net/eth*; do
  [ -e "$nic" ] && echo "NSIM-NIC: ${{nic##*/}} $(cat $nic/address)"
done
echo "{marker}"
while true; do sleep 3600; done
"""


@dataclass(frozen=True)
class GuestArtifacts:
    kernel: Path
    initramfs: Path
    disk_qcow2: Path
    kernel_version: str
    image_id: str
    image_name: str


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise PrerequisiteError(f"{argv[0]} is not installed; run `nsim hw doctor --fix`") from None
    except subprocess.TimeoutExpired:
        raise HwError(f"{' '.join(argv)} did not finish in {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise HwError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return proc.stdout


def kernel_package() -> str:
    """The versioned kernel package the meta-package depends on (linux-image-6.1.0-N-amd64);
    runs `apt-get update` once when the package lists do not know it yet."""
    for attempt in range(2):
        try:
            out = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
        except HwError:
            out = ""
        m = re.search(r"Depends: (linux-image-[0-9][\w.+-]*-amd64)\b", out)
        if m is not None:
            return m.group(1)
        if attempt == 0:
            _run(["apt-get", "update", "-q"])
    raise PrerequisiteError(f"cannot resolve {KERNEL_META_PACKAGE} even after apt-get update")


def download_kernel(build_dir: Path) -> Path:
    """The kernel .deb in build_dir, downloaded with `apt-get download` when missing."""
    package = kernel_package()
    found = sorted(build_dir.glob(f"{package}_*.deb"))
    if not found:
        _run(["apt-get", "download", package], cwd=build_dir)
        found = sorted(build_dir.glob(f"{package}_*.deb"))
    if not found:
        raise HwError(f"apt-get download {package} left no .deb in {build_dir}")
    return found[-1]


def _safe_member(name: str) -> bool:
    parts = Path(name).parts
    return not name.startswith("/") and ".." not in parts


def extract_kernel(deb: Path, out_dir: Path) -> tuple[Path, str, dict[str, Path]]:
    """Take boot/vmlinuz-* and the MODULES .ko files out of the package (nothing else)."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    kernel: Path | None = None
    version = ""
    modules: dict[str, Path] = {}
    wanted = {f"{m}.ko" for m in MODULES}
    mod_dir = out_dir / "modules"
    mod_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if not member.isfile() or not _safe_member(name):
                    continue
                base = name.rsplit("/", 1)[-1]
                if re.fullmatch(r"boot/vmlinuz-[\w.+-]+", name):
                    version = base.removeprefix("vmlinuz-")
                    kernel = out_dir / "vmlinuz"
                    dest = kernel
                elif (base in wanted and name.startswith("lib/modules/")
                      and any(d in name for d in MODULE_DIRS)):
                    dest = mod_dir / base
                    modules[base.removesuffix(".ko")] = dest
                else:
                    continue
                src = tar.extractfile(member)
                assert src is not None
                with open(dest, "xb") as f:
                    shutil.copyfileobj(src, f)
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        rc = proc.wait()
    if rc != 0:
        raise HwError(f"dpkg-deb --fsys-tarfile {deb} failed: {stderr.strip()[-300:]}")
    missing = [m for m in MODULES if m not in modules]
    if kernel is None or missing:
        raise HwError(f"{deb.name} lacks {'the kernel' if kernel is None else ', '.join(missing)}")
    return kernel, version, modules


class _Cpio:
    """A cpio archive in the `newc` format (what the kernel unpacks as initramfs)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1) -> None:
        encoded = name.encode() + b"\x00"
        fields = (self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0)
        header = b"070701" + b"".join(f"{v:08x}".encode() for v in fields)
        self.ino += 1
        self.buf.write(header + encoded)
        self.buf.write(b"\x00" * (-(len(header) + len(encoded)) % 4))
        self.buf.write(data)
        self.buf.write(b"\x00" * (-len(data) % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0, nlink=1)
        self.buf.write(b"\x00" * (-self.buf.tell() % 512))
        return self.buf.getvalue()


def build_initramfs(modules: dict[str, Path], out: Path, busybox: Path = BUSYBOX) -> Path:
    if not busybox.is_file():
        raise PrerequisiteError(f"{busybox} is missing: apt-get install busybox-static")
    archive = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules"):
        archive.directory(d)
    # The kernel opens /dev/console for init before devtmpfs is mounted.
    archive.chardev("dev/console", 5, 1)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    archive.file("init", _INIT.format(modules=" ".join(MODULES), marker=READY_MARKER).encode(),
                 0o755)
    for name in MODULES:
        archive.file(f"lib/modules/{name}.ko", modules[name].read_bytes())
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(gzip.compress(archive.finish(), compresslevel=1))
    tmp.replace(out)
    return out


def disk_header(image_id: str, name: str) -> bytes:
    return DISK_MAGIC + f" image={image_id} name={name}\n".encode()


def build_disk_image(image_id: str, name: str, out_qcow2: Path,
                     payload_mb: int = DISK_PAYLOAD_MB) -> Path:
    """A raw disk (header + deterministic payload, the rest sparse) converted to qcow2."""
    raw = out_qcow2.with_suffix(".raw")
    rng = random.Random(image_id)
    with open(raw, "wb") as f:
        f.write(disk_header(image_id, name).ljust(512, b"\x00"))
        f.seek(1 << 20)
        for _ in range(payload_mb):
            f.write(rng.randbytes(1 << 20))
        f.truncate(DISK_VIRTUAL_MB << 20)
    tmp = out_qcow2.with_name(out_qcow2.name + ".tmp")
    _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(tmp)])
    raw.unlink()
    tmp.replace(out_qcow2)
    return out_qcow2


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ARTIFACTS = ("vmlinuz", "initramfs.img", "disk.qcow2")


def _manifest(workdir: Workdir) -> dict[str, Any] | None:
    try:
        with workdir.dir_fd("guest") as dfd:
            data = json.loads(safefs.read_bytes(dfd, "manifest.json",
                                                workdir.guest_dir / "manifest.json"))
    except (OSError, ValueError, HwError):
        return None
    if not isinstance(data, dict) or not is_uuid(str(data.get("image_id"))):
        return None
    return data


def prepare(workdir: Workdir, force: bool = False) -> GuestArtifacts:
    """Build (or reuse) the guest's kernel, initramfs and qcow2 disk under workdir/guest.

    The image id is a random UUID chosen by the first prepare (kept in the manifest), so the
    base file's name sha1(image id) cannot be known in advance. Everything is built in a fresh
    private directory under run/ and renamed into guest/ (a planted link there is replaced,
    never written through)."""
    workdir.ensure()
    gdir = workdir.guest_dir
    kernel, initrd, disk = (gdir / n for n in ARTIFACTS)
    manifest = _manifest(workdir)
    if not force and manifest is not None:
        try:
            ok = all(_sha256(read_artifact(workdir, f)) == manifest["sha256"][f]
                     for f in ARTIFACTS)
        except (KeyError, TypeError, OSError, HwError):
            ok = False
        if ok:
            return GuestArtifacts(kernel, initrd, disk, str(manifest.get("kernel_version", "?")),
                                  manifest["image_id"], GUEST_IMAGE_NAME)
    image_id = manifest["image_id"] if manifest is not None else str(uuidlib.uuid4())
    with workdir.dir_fd("guest", "build", create=True):
        pass  # a real directory of the work dir, not a link to elsewhere
    deb = download_kernel(gdir / "build")
    scratch = Path(tempfile.mkdtemp(prefix="prepare-", dir=workdir.run_dir))
    try:
        _kernel, version, modules = extract_kernel(deb, scratch)
        build_initramfs(modules, scratch / "initramfs.img")
        build_disk_image(image_id, GUEST_IMAGE_NAME, scratch / "disk.qcow2")
        digests = {}
        with workdir.dir_fd("guest") as gfd, safefs.opened_dir(scratch, ()) as sfd:
            for name in ARTIFACTS:  # built under the same names in scratch
                os.chmod(name, 0o644, dir_fd=sfd)
                digests[name] = _sha256(safefs.read_bytes(sfd, name, scratch / name))
                os.rename(name, name, src_dir_fd=sfd, dst_dir_fd=gfd)
            safefs.write_atomic(gfd, "manifest.json", json.dumps({
                "image_id": image_id, "image_name": GUEST_IMAGE_NAME, "kernel_version": version,
                "kernel_package": deb.name, "sha256": digests}, indent=2).encode(),
                gdir / "manifest.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return GuestArtifacts(kernel, initrd, disk, version, image_id, GUEST_IMAGE_NAME)


def load(workdir: Workdir) -> GuestArtifacts:
    """The prepared guest, or PrerequisiteError naming `nsim hw prepare`."""
    gdir = workdir.guest_dir
    manifest = _manifest(workdir)
    if manifest is None:
        raise PrerequisiteError(f"no guest prepared in {workdir.root}: run `nsim hw prepare"
                                f" --workdir {workdir.root}`")
    arts = GuestArtifacts(gdir / "vmlinuz", gdir / "initramfs.img", gdir / "disk.qcow2",
                          str(manifest.get("kernel_version", "?")), manifest["image_id"],
                          GUEST_IMAGE_NAME)
    with workdir.dir_fd("guest") as dfd:
        for p in (arts.kernel, arts.initramfs):
            try:
                os.close(safefs.open_regular(dfd, p.name, p))
            except FileNotFoundError:
                raise PrerequisiteError(f"{p} is missing: run `nsim hw prepare --workdir "
                                        f"{workdir.root}`") from None
    return arts


def read_artifact(workdir: Workdir, name: str) -> bytes:
    """A file of guest/ (the kernel, the initramfs), read without following a symlink."""
    with workdir.dir_fd("guest") as dfd:
        return safefs.read_bytes(dfd, name, workdir.guest_dir / name)
