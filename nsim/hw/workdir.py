"""The work directory: every file the hardware mode touches lives under it.

Layout (nova's names where nova has them):

    <root>/guest/                kernel, initramfs, the guest's disk image source
    <root>/images/<id>/          the image service's store: meta.json, file
    <root>/instances/            nova's instances_path
    <root>/instances/_base/      the image cache: sha1(image_id), .part, .converted
    <root>/instances/locks/      external lock files (nova-<sha1>)
    <root>/instances/<uuid>/     disk, disk.info, console.log, kernel, ramdisk
    <root>/state/                what hw knows of its instances and claims
    <root>/run/                  lock files, the virt-type probe result
    <root>/nova-compute.journal  the trace, appended boot after boot (.log for oslo)

Ids, names and paths that come from the command line, a log or a scenario are
validated here; `Workdir.path` refuses anything that resolves outside the root.

The work directory is treated as hostile: unless `--trust-workdir` is given, it and every
directory above it must be owned by root (or the user running nsim) and writable by nobody
else (a root-owned sticky directory such as /tmp is accepted above it), and so must the
layout's directories inside it. nsim never changes the mode of a directory it did not create.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nsim.hw import safefs
from nsim.hw.errors import UsageError
from nsim.nova.names import is_uuid

DEFAULT_WORKDIR = "/var/lib/nsim/hw"
WORKDIR_ENV = "NSIM_HW_WORKDIR"
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
DEFAULT_QEMU_USER = "libvirt-qemu"
# Modes of the directories nsim creates: qemu (libvirt-qemu) must traverse instances/, _base/
# and guest/ (the probe boots guest/vmlinuz); the rest is nsim's alone.
LAYOUT: tuple[tuple[tuple[str, ...], int], ...] = (
    (("guest",), 0o755), (("images",), 0o700), (("instances",), 0o755),
    (("instances", "_base"), 0o755), (("instances", "locks"), 0o700), (("state",), 0o700),
    (("state", "cache"), 0o700), (("run",), 0o700))

# Image names and flavor names: a conservative file-name-safe alphabet.
_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def validate_uuid(value: str, what: str = "id") -> str:
    """A lower-case canonical UUID, or UsageError."""
    if not is_uuid(value):
        raise UsageError(f"invalid {what} {value!r}: expected a UUID like "
                         f"{uuidlib.UUID(int=0)}")
    return value


def validate_name(value: str, what: str = "name") -> str:
    """A name of letters, digits, '.', '_' and '-' (no '/', no '..'), or UsageError."""
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise UsageError(f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-' "
                         "(at most 64, no '..', no '/')")
    return value


def validate_image_ref(value: str) -> str:
    """An image id (UUID) or image name."""
    if is_uuid(value):
        return value
    return validate_name(value, "image id or name")


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class Workdir:
    """The root directory and the paths under it."""

    def __init__(self, root: str | os.PathLike[str] | None = None, trusted: bool = False) -> None:
        raw = os.fspath(root) if root is not None else os.environ.get(WORKDIR_ENV, DEFAULT_WORKDIR)
        if not raw or any(c.isspace() or not c.isprintable() or c == "," for c in raw):
            # Commands are logged space-joined, as nova logs them: a path with blanks in it
            # would make the trace's command lines ambiguous; a comma would end the path in
            # qemu-img's `-o backing_file=...` (and in the trace's reading of it).
            raise UsageError(f"the work directory must be a path without blanks, commas or "
                             f"control characters, not {raw!r}")
        resolved = Path(raw).expanduser().resolve()
        if resolved == Path(resolved.anchor):
            raise UsageError(f"refusing to use {resolved} as the work directory")
        self.root = resolved
        self.trusted = trusted

    # -- confinement --------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        """root/parts..., refused (UsageError) when it would leave the root."""
        for part in parts:
            if not part or "\x00" in part or os.path.isabs(part) or ".." in Path(part).parts:
                raise UsageError(f"path component {part!r} is not allowed in the work directory")
        candidate = self.root.joinpath(*parts)
        # Resolve what exists (symlinks included) and check it stays inside.
        if not _within(candidate.resolve(), self.root):
            raise UsageError(f"{candidate} resolves outside the work directory {self.root}")
        return candidate

    def contains(self, path: str | os.PathLike[str]) -> bool:
        return _within(Path(path).resolve(), self.root)

    # -- layout ------------------------------------------------------------------------
    @property
    def guest_dir(self) -> Path:
        return self.path("guest")

    @property
    def images_dir(self) -> Path:
        return self.path("images")

    @property
    def instances_path(self) -> Path:
        return self.path("instances")

    @property
    def base_dir(self) -> Path:
        return self.path("instances", "_base")

    @property
    def locks_dir(self) -> Path:
        return self.path("instances", "locks")

    @property
    def state_dir(self) -> Path:
        return self.path("state")

    @property
    def run_dir(self) -> Path:
        return self.path("run")

    def instance_dir(self, uuid: str) -> Path:
        return self.path("instances", validate_uuid(uuid, "instance uuid"))

    def default_trace(self, fmt: str) -> Path:
        return self.path("nova-compute.journal" if fmt == "journal" else "nova-compute.log")

    @contextmanager
    def dir_fd(self, *parts: str, create: bool = False) -> Iterator[int]:
        """An fd on root/parts..., opened without following any symlink (safefs)."""
        if parts:
            self.path(*parts)  # validates the names
        modes = {p[-1]: m for p, m in LAYOUT}
        with safefs.opened_dir(self.root, parts, create=create, modes=modes) as fd:
            yield fd

    def check_trusted(self) -> None:
        """UsageError naming the first directory someone else could plant files in."""
        if self.trusted:
            return
        existing = [p for p in (self.root, *self.root.parents) if p.exists()]
        for p in existing:
            reason = untrusted_reason(p, ancestor=p != self.root)
            if reason:
                raise UsageError(f"untrusted work directory {self.root}: {reason}; nsim runs as "
                                 "root and would act on what others plant there (use a "
                                 "root-owned directory, or --trust-workdir if you must)")
        for parts, _mode in LAYOUT:
            p = self.root.joinpath(*parts)
            if os.path.lexists(p):
                reason = untrusted_reason(p, ancestor=False)
                if reason:
                    raise UsageError(f"untrusted work directory {self.root}: {reason} (use "
                                     "--trust-workdir if you must)")

    def ensure(self) -> None:
        """Check trust, then create the missing layout (nsim's directories only get a mode)."""
        self.check_trusted()
        missing = [p for p in self.root.parents if not p.exists()][::-1]
        for p in [*missing, self.root]:
            if not p.exists():
                try:
                    p.mkdir(mode=0o755)
                    os.chmod(p, 0o755)
                except FileExistsError:
                    pass
        for parts, _mode in LAYOUT:
            with self.dir_fd(*parts, create=True):
                pass

    def qemu_blockers(self) -> tuple[str, list[Path]]:
        """The qemu user and the directories on the way to the disks it cannot search."""
        user = qemu_user()
        if user in ("root", "+0"):
            return user, []
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            return user, []
        groups = set(os.getgrouplist(user, pw.pw_gid))
        bad = []
        for p in [*reversed(self.root.parents), self.root, self.instances_path, self.base_dir,
                  self.guest_dir]:
            try:
                st = p.stat()
            except OSError:
                continue
            if st.st_uid == pw.pw_uid:
                ok = st.st_mode & stat.S_IXUSR
            elif st.st_gid in groups:
                ok = st.st_mode & stat.S_IXGRP
            else:
                ok = st.st_mode & stat.S_IXOTH
            if not ok:
                bad.append(p)
        return user, bad

    def require_qemu_reach(self) -> None:
        """PrerequisiteError naming the directory that keeps qemu from the disks."""
        from nsim.hw.errors import PrerequisiteError

        user, bad = self.qemu_blockers()
        if bad:
            first = bad[0]
            st = first.stat()
            raise PrerequisiteError(
                f"qemu (user {user}) cannot reach the disks under {self.root}: {first} "
                f"(mode {stat.S_IMODE(st.st_mode):04o}, owner {_owner(st.st_uid)}, group "
                f"{_group(st.st_gid)}) is not searchable by it; `chmod o+x {first}` or use "
                "another --workdir (nsim does not change directories it did not create)")


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def qemu_user() -> str:
    """The user libvirt runs qemu as (qemu.conf `user = "..."`, Debian's default libvirt-qemu)."""
    try:
        text = QEMU_CONF.read_text()
    except OSError:
        return DEFAULT_QEMU_USER
    m = re.search(r'^\s*user\s*=\s*"([^"]+)"', text, re.M)
    return m.group(1) if m else DEFAULT_QEMU_USER


def untrusted_reason(path: Path, ancestor: bool) -> str | None:
    """Why `path` lets another user plant or replace files, or None when it does not."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symlink"
    if st.st_uid not in (0, os.geteuid()):
        return f"{path} is owned by {_owner(st.st_uid)}, not root"
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        if ancestor and st.st_uid == 0 and mode & stat.S_ISVTX:
            return None  # like /tmp: others cannot rename or remove root's entries in it
        who = "others" if mode & 0o002 else f"group {_group(st.st_gid)}"
        return f"{path} is writable by {who} (mode {mode:04o})"
    return None
