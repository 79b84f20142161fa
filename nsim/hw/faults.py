"""Faults a hardware boot can be made to meet, each triggered for real.

| fault            | how it is triggered                                   | nova's path         |
|------------------|-------------------------------------------------------|---------------------|
| image-missing    | the image is deleted from the image service after the | ImageNotFound:      |
|                  | API accepted it: the download gets HTTP 404           | re-scheduled        |
| corrupt-transfer | the image service flips one byte in transit: the      | IOError: re-sched.  |
|                  | download's hash check fails                           |                     |
| corrupt-image    | the image's content is not the qcow2 it claims to be  | ImageUnacceptable:  |
|                  | (deep inspection)                                     | aborted             |
| convert-failure  | a qcow2 with a valid header but an unaligned L2 table | ImageUnacceptable:  |
|                  | offset: `qemu-img info` passes, `convert` fails (EIO) | aborted             |
| disk-full        | the image cache is a tmpfs just big enough for the    | ImageUnacceptable:  |
|                  | download: the conversion hits ENOSPC (without         | aborted             |
|                  | CAP_SYS_ADMIN: RLIMIT_FSIZE on qemu-img, EFBIG)       |                     |
| libvirt-lost     | the libvirt connection is closed before defineXML     | re-scheduled        |
| domain-start     | the instance's kernel is removed between define and   | re-scheduled        |
|                  | start: libvirt refuses to start the domain            |                     |

Data faults boot a throw-away copy of the image (a fresh id, removed afterwards), so they
never touch the real image's cache entry. While the boot runs it holds an flock on
run/fault-<id>.lock; the tmpfs is mounted with source `nsim-fault-<id>`: after a kill -9,
recovery.py finds both free and removes the image, the scratch files and the mount.
"""

from __future__ import annotations

import fcntl
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import tempfile
import uuid as uuidlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from nsim.hw import safefs
from nsim.hw.errors import HwError, UsageError
from nsim.hw.recovery import FAULT_MOUNT_PREFIX
from nsim.hw.workdir import Workdir

if TYPE_CHECKING:  # the command line imports this module: not the image service's http
    from nsim.hw.image_service import ImageServer, ImageStore

STOP_STEPS = ("fetch", "convert", "overlay", "define", "start", "resume")
"""Steps after which `--stop-after` freezes the boot (SIGSTOP) for a look at the host mid-boot
(here, not in nsim.hw.boot, so that the command line gets them without importing the boot)."""

FAULTS: dict[str, str] = {
    "image-missing": "the image disappears from the image service before the download (404)",
    "corrupt-transfer": "one byte of the image is flipped in transit (hash mismatch)",
    "corrupt-image": "the image's content is not the qcow2 it claims to be",
    "convert-failure": "a qcow2 whose L2 table is broken: qemu-img convert fails",
    "disk-full": "the image cache fills up during the conversion",
    "libvirt-lost": "the libvirt connection is lost before the domain is defined",
    "domain-start": "libvirt cannot start the defined domain (its kernel is gone)",
}
DATA_FAULTS = ("image-missing", "corrupt-transfer", "corrupt-image", "convert-failure", "disk-full")


def validate_fault(name: str | None) -> str | None:
    if name is not None and name not in FAULTS:
        raise UsageError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    return name


def _garbage(path: Path, size: int, seed: str) -> None:
    rng = random.Random(seed)
    with open(path, "xb") as f:
        f.write(rng.randbytes(size))


def _break_l2(src: BinaryIO, dst: Path) -> None:
    """Copy a qcow2 and point its first L1 entry at an unaligned L2 table offset."""
    with open(dst, "xb") as out:
        shutil.copyfileobj(src, out)
    with open(dst, "r+b") as f:
        header = f.read(48)
        (l1_offset,) = struct.unpack(">Q", header[40:48])
        f.seek(l1_offset)
        f.write(struct.pack(">Q", (1 << 63) | 0x12345))


@dataclass
class FaultPlan:
    """What a fault changes in one boot; the boot calls the hooks at nova's points."""

    name: str
    image_id: str | None = None
    """The throw-away image the boot uses instead of the requested one (data faults)."""
    after_show: Callable[[], None] | None = None
    convert_preexec: Callable[[], None] | None = None
    before_define: Callable[[Any], None] | None = None
    after_define: Callable[[Any], None] | None = None
    mounted: Path | None = None
    notes: list[str] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def cleanup(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()


def _fsize_limit(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def _mount_tmpfs(target: Path, size: int, source: str) -> None:
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", source,
                          str(target)], capture_output=True, text=True, timeout=30, check=False)
    if res.returncode != 0:
        raise OSError(res.stderr.strip() or "mount failed")


def _umount(target: Path) -> None:
    subprocess.run(["umount", str(target)], capture_output=True, text=True, timeout=30, check=False)


def _hold_lock(workdir: Workdir, fault_id: str) -> Callable[[], None]:
    """Hold run/fault-<id>.lock while the fault's boot runs; returns its release."""
    name = f"fault-{fault_id}.lock"
    with workdir.dir_fd("run") as dfd:
        fd = safefs.create_exclusive(dfd, name, workdir.run_dir / name, 0o600, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)

    def release() -> None:
        with suppress(OSError), workdir.dir_fd("run") as dfd:
            os.unlink(name, dir_fd=dfd)
        os.close(fd)
    return release


def plan(name: str, workdir: Workdir, store: ImageStore, server: ImageServer,
         source_meta: dict[str, Any]) -> FaultPlan:
    """Set the fault up (fault images, mounts); the caller runs plan.cleanup() afterwards.
    A plan that fails half-way undoes what it did before raising."""
    p = FaultPlan(name)
    try:
        _setup(p, name, workdir, store, server, source_meta)
    except BaseException:
        p.cleanup()
        raise
    return p


def _setup(p: FaultPlan, name: str, workdir: Workdir, store: ImageStore, server: ImageServer,
           source_meta: dict[str, Any]) -> None:
    if name in DATA_FAULTS:
        fault_id = str(uuidlib.uuid4())
        p._cleanups.append(_hold_lock(workdir, fault_id))
        scratch = Path(tempfile.mkdtemp(prefix=f"fault-{fault_id}-", dir=workdir.run_dir))
        p._cleanups.append(lambda: shutil.rmtree(scratch, ignore_errors=True))
        data = scratch / "data"
        if name == "corrupt-image":
            _garbage(data, 1 << 20, fault_id)
        else:
            with store.open_data(source_meta["id"]) as src:
                if name == "convert-failure":
                    _break_l2(src, data)
                else:
                    with open(data, "xb") as out:
                        shutil.copyfileobj(src, out)
        props = {k: v for k, v in source_meta.items() if k.startswith(("os_command_line", "hw_"))}
        p._cleanups.append(lambda: store.delete(fault_id))
        store.add(fault_id, f"fault-{name}", data, source_meta["disk_format"],
                  source_meta.get("container_format", "bare"), props)
        p.image_id = fault_id
        if name == "image-missing":
            p.after_show = lambda: store.delete(fault_id)
        elif name == "corrupt-transfer":
            server.corrupt_transfers(fault_id)
        elif name == "disk-full":
            _plan_disk_full(p, workdir, data.stat().st_size,
                            FAULT_MOUNT_PREFIX + fault_id)
    elif name == "libvirt-lost":
        p.before_define = lambda host: host.drop_connection()
    elif name == "domain-start":
        def remove_kernel(build: Any) -> None:
            build.kernel_path.unlink(missing_ok=True)
        p.after_define = remove_kernel


def _plan_disk_full(p: FaultPlan, workdir: Workdir, part_size: int, source: str) -> None:
    base = workdir.base_dir
    # Room for the download and 256 KiB more: the raw conversion cannot fit.
    size = ((part_size + (256 << 10)) // 4096 + 1) * 4096
    if os.path.ismount(base):
        raise HwError(f"{base} is already a mount point")
    if any(base.iterdir()):
        # Mounting over a populated cache would hide it from other boots meanwhile.
        p.convert_preexec = _fsize_limit(size - part_size)
        p.notes.append(f"image cache not empty: conversion limited to {size - part_size} bytes "
                       "by RLIMIT_FSIZE (EFBIG) instead of a full tmpfs")
        return
    try:
        _mount_tmpfs(base, size, source)
    except OSError as exc:
        p.convert_preexec = _fsize_limit(size - part_size)
        p.notes.append(f"cannot mount a tmpfs ({exc}): conversion limited by RLIMIT_FSIZE (EFBIG)")
        return
    p.mounted = base
    p.notes.append(f"image cache is a {size} byte tmpfs")
    p._cleanups.append(lambda: _umount(base))
