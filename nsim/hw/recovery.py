"""What a killed `nsim hw` (kill -9 at any step) leaves behind, found and removed.

A boot that is still running holds flocks on what it is using, so only what no live process
holds is removed:

- the disk-full fault's tmpfs over instances/_base (mount source `nsim-fault-<id>`, its owner
  holds run/fault-<id>.lock): unmounted;
- fault images (`fault-*` in the image store) and their scratch directories run/fault-<id>*:
  deleted when their lock is free;
- `_base/<sha1>.part` and `.converted` (the fetch holds the external lock nova-<sha1>):
  removed when that lock is free;
- with `delete --all` also: domains carrying this work directory's owner mark that no state
  record names (the KVM probe's transient domain, a boot killed between record and define),
  and instance directories no record names.

qemu-img does not outlive its nsim: it is started with PR_SET_PDEATHSIG (qemu_img.py).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from nsim.hw import safefs
from nsim.hw.workdir import Workdir
from nsim.nova.names import UUID_RE

FAULT_MOUNT_PREFIX = "nsim-fault-"


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_at(path: Path) -> list[str]:
    """The sources of the mounts on `path` (from /proc/self/mountinfo), innermost last."""
    out = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) > 4 and len(rfields) > 1 and _unescape(fields[4]) == str(path):
            out.append(rfields[1])
    return out


def lock_is_free(workdir: Workdir, parts: tuple[str, ...], name: str) -> bool:
    """Whether nobody holds the flock on parts/name (a missing lock file is free)."""
    try:
        with workdir.dir_fd(*parts) as dfd:
            fd = safefs.open_regular(dfd, name, workdir.root.joinpath(*parts, name),
                                     os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _umount(target: Path) -> bool:
    res = subprocess.run(["umount", str(target)], capture_output=True, text=True, timeout=30,
                         check=False)
    if res.returncode != 0:
        res = subprocess.run(["umount", "-l", str(target)], capture_output=True, text=True,
                             timeout=30, check=False)
    return res.returncode == 0


def stale_fault_mounts(workdir: Workdir, say: Callable[[str], None]) -> None:
    """Unmount fault tmpfs mounts over _base whose boot is gone."""
    for source in reversed(mounts_at(workdir.base_dir)):
        if not source.startswith(FAULT_MOUNT_PREFIX):
            continue  # not ours: leave it
        fault_id = source.removeprefix(FAULT_MOUNT_PREFIX)
        if (re.fullmatch(UUID_RE, fault_id)
                and lock_is_free(workdir, ("run",), f"fault-{fault_id}.lock")
                and _umount(workdir.base_dir)):
            say(f"unmounted a stale disk-full tmpfs ({source}) from {workdir.base_dir}")


def stale_fault_images(workdir: Workdir, say: Callable[[str], None]) -> None:
    """Delete fault images and scratch directories whose boot is gone."""
    from nsim.hw.image_service import ImageStore

    store = ImageStore(workdir)
    ids = {m["id"] for m in store.list() if str(m.get("name", "")).startswith("fault-")}
    with workdir.dir_fd("run") as dfd:
        for name in os.listdir(dfd):
            m = re.fullmatch(rf"fault-({UUID_RE})(\.lock|-.*)?", name)
            if m:
                ids.add(m.group(1))
    for fault_id in sorted(ids):
        if not lock_is_free(workdir, ("run",), f"fault-{fault_id}.lock"):
            continue
        if FAULT_MOUNT_PREFIX + fault_id in mounts_at(workdir.base_dir):
            continue
        if store.get(fault_id) is not None:
            store.delete(fault_id)
            say(f"removed the fault image {fault_id} a killed boot left in the image store")
        with workdir.dir_fd("run") as dfd:
            for name in os.listdir(dfd):
                if name.startswith(f"fault-{fault_id}"):
                    st = safefs.lstat_at(dfd, name)
                    if st is not None and stat.S_ISDIR(st.st_mode):
                        shutil.rmtree(name, dir_fd=dfd)
                    elif st is not None:
                        os.unlink(name, dir_fd=dfd)


def stale_downloads(workdir: Workdir, say: Callable[[str], None]) -> None:
    """Remove .part / .converted files whose fetch (the nova-<sha1> lock holder) is gone."""
    with workdir.dir_fd("instances", "_base") as dfd:
        names = os.listdir(dfd)
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix not in ("part", "converted") or not re.fullmatch(r"[0-9a-f]{40}",
                                                                                   stem):
                continue
            if not lock_is_free(workdir, ("instances", "locks"), f"nova-{stem}"):
                continue
            st = safefs.lstat_at(dfd, name)
            if st is not None and stat.S_ISREG(st.st_mode):
                os.unlink(name, dir_fd=dfd)
                say(f"removed {workdir.base_dir / name} (a killed download or conversion)")
            elif st is not None:
                say(f"left {workdir.base_dir / name} alone: not a regular file (nsim did not "
                    "make it)")


def recover(workdir: Workdir, say: Callable[[str], None]) -> None:
    """Everything a killed boot can leave outside its state record (safe while boots run)."""
    stale_fault_mounts(workdir, say)
    stale_fault_images(workdir, say)
    stale_downloads(workdir, say)


def orphans(workdir: Workdir, host: Any, known: set[str], say: Callable[[str], None]) -> None:
    """`delete --all`: this work directory's domains and instance dirs no record names."""
    for dom in host.owned_domains(workdir.root):
        uuid = dom.UUIDString()
        if uuid in known:
            continue
        with suppress(Exception):
            host.destroy(uuid)
            say(f"destroyed domain {dom.name()} ({uuid}): marked as this work directory's, "
                "no state record")
    with workdir.dir_fd("instances") as dfd:
        for name in os.listdir(dfd):
            m = re.fullmatch(rf"({UUID_RE})(_del)?", name)
            if not m or m.group(1) in known:
                continue
            st = safefs.lstat_at(dfd, name)
            if st is not None and stat.S_ISDIR(st.st_mode):
                shutil.rmtree(name, dir_fd=dfd)
                say(f"removed {workdir.instances_path / name} (no state record)")
