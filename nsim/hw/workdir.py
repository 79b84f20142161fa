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
"""

from __future__ import annotations

import os
import re
import stat
import uuid as uuidlib
from pathlib import Path

from nsim.hw.errors import UsageError
from nsim.nova_names import is_uuid

DEFAULT_WORKDIR = "/var/lib/nsim/hw"
WORKDIR_ENV = "NSIM_HW_WORKDIR"

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

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        raw = os.fspath(root) if root is not None else os.environ.get(WORKDIR_ENV, DEFAULT_WORKDIR)
        if not raw or any(c.isspace() or not c.isprintable() for c in raw):
            # Commands are logged space-joined, as nova logs them: a path with blanks in it
            # would make the trace's command lines ambiguous.
            raise UsageError(f"the work directory must be a path without blanks or control "
                             f"characters, not {raw!r}")
        resolved = Path(raw).expanduser().resolve()
        if resolved == Path(resolved.anchor):
            raise UsageError(f"refusing to use {resolved} as the work directory")
        self.root = resolved

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

    def ensure(self) -> None:
        """Create the layout (0755: qemu runs as libvirt-qemu and must traverse it)."""
        for d in (self.root, self.guest_dir, self.images_dir, self.instances_path,
                  self.base_dir, self.locks_dir, self.state_dir, self.run_dir):
            d.mkdir(mode=0o755, parents=True, exist_ok=True)
            if d == self.root or self.contains(d):
                mode = stat.S_IMODE(d.stat().st_mode)
                if mode & 0o055 != 0o055:
                    d.chmod(mode | 0o055)

    def untraversable_ancestors(self) -> list[Path]:
        """Ancestors of the root that others cannot search (qemu would not reach the disks)."""
        bad = []
        for p in [self.root, *self.root.parents]:
            try:
                mode = p.stat().st_mode
            except FileNotFoundError:
                continue
            if not mode & stat.S_IXOTH:
                bad.append(p)
        return bad
