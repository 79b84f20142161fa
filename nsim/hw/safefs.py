"""Files inside the work directory, opened relative to a directory fd, never through a symlink.

Every directory on the way is opened with O_NOFOLLOW|O_DIRECTORY from the one above it, files
with O_NOFOLLOW (and O_EXCL when created), so a symlink planted anywhere inside the work
directory is refused (UnsafePathError) instead of followed. Paths handed to other programs
(qemu-img, libvirt) are checked with `check_no_symlinks` first; the work directory's trust
check (workdir.py) makes sure nobody but root can replace them afterwards.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nsim.hw.errors import HwError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePathError(HwError):
    """A path inside the work directory is a symlink or not what nsim created there."""


def _refuse(shown: Path | str, what: str = "a symlink or not a regular file") -> UnsafePathError:
    return UnsafePathError(f"refusing {shown}: it is {what} (nsim never follows a link out of "
                           "its work directory; remove it)")


def open_root(root: Path) -> int:
    """An fd on the work directory itself (its last component must not be a symlink)."""
    try:
        return os.open(root, DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(root, "a symlink or not a directory") from None
        raise


def open_subdir(parent_fd: int, name: str, shown: Path, create: bool = False,
                mode: int = 0o755) -> int:
    """Open (with create: make, mode set exactly) directory `name` under parent_fd, no-follow."""
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(shown, "a symlink or not a directory") from None
        raise
    try:
        os.mkdir(name, mode, dir_fd=parent_fd)
        created = True
    except FileExistsError:
        created = False
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _refuse(shown, "a symlink or not a directory") from None
        raise
    if created:
        os.fchmod(fd, mode)  # whatever the umask; only ever on a directory nsim just made
    return fd


@contextmanager
def opened_dir(root: Path, parts: tuple[str, ...], create: bool = False,
               modes: dict[str, int] | None = None) -> Iterator[int]:
    """An fd on root/parts..., each directory opened from the one above without following."""
    fd = open_root(root)
    shown = root
    try:
        for part in parts:
            shown = shown / part
            new = open_subdir(fd, part, shown, create, (modes or {}).get(part, 0o755))
            os.close(fd)
            fd = new
        yield fd
    finally:
        os.close(fd)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def clear_stale(dir_fd: int, name: str, shown: Path) -> bool:
    """Remove a regular file left by an earlier (killed) run; refuse anything else."""
    st = lstat_at(dir_fd, name)
    if st is None:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(shown)
    os.unlink(name, dir_fd=dir_fd)
    return True


def create_exclusive(dir_fd: int, name: str, shown: Path, mode: int = 0o644,
                     flags: int = os.O_WRONLY) -> int:
    """A new file (O_CREAT|O_EXCL|O_NOFOLLOW), mode set exactly; refused if anything is there."""
    try:
        fd = os.open(name, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                     dir_fd=dir_fd)
    except FileExistsError:
        raise _refuse(shown, "already there (nsim creates its files exclusively)") from None
    os.fchmod(fd, mode)
    return fd


def open_regular(dir_fd: int, name: str, shown: Path, flags: int = os.O_RDONLY,
                 mode: int = 0o644) -> int:
    """Open a regular file without following a symlink (O_CREAT in flags creates it)."""
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode,
                     dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            raise _refuse(shown) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _refuse(shown)
    os.set_blocking(fd, True)
    return fd


def read_bytes(dir_fd: int, name: str, shown: Path) -> bytes:
    fd = open_regular(dir_fd, name, shown)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def write_file(fd: int, data: bytes) -> None:
    """Write all of data to fd, fsync and close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(dir_fd: int, name: str, data: bytes, shown: Path, mode: int = 0o644) -> None:
    """Replace `name` by a new file: an exclusive temporary name, then rename (which replaces a
    symlink itself, never its target)."""
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    write_file(create_exclusive(dir_fd, tmp, shown.with_name(tmp), mode), data)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        os.unlink(tmp, dir_fd=dir_fd)
        raise


def check_no_symlinks(root: Path, path: Path) -> None:
    """Every component of `path` below `root` exists and none is a symlink (else refused)."""
    rel = path.relative_to(root)
    current = root
    for part in rel.parts:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            raise UnsafePathError(f"{current} does not exist") from None
        if stat.S_ISLNK(st.st_mode):
            raise _refuse(current, "a symlink")


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
