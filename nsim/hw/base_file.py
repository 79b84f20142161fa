"""The image cache step of a hardware build (nova/virt/libvirt/imagebackend.py `Image.cache`,
nova/virt/images.py `fetch_to_raw`): the base file fetched, verified and converted under its
lock, then the qcow2 overlay on it."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path

from nsim.compute.spawn import BaseLock
from nsim.events import image as ev_image
from nsim.hw import qemu_img, safefs
from nsim.hw.context import (
    OWNER_FETCH,
    OWNER_OVERLAY,
    Timer,
    phase,
)
from nsim.hw.locks import holding
from nsim.hw.novaexc import FlavorDiskSmallerThanImage, ImageUnacceptable
from nsim.hw.state import (
    base_is_ours,
    remember_base,
    sha256_fd,
)


class BaseFileSteps:
    """The instance build's image cache steps (a part of nsim.hw.build.InstanceBuild); the
    order is nsim.compute.spawn's. Every file is created exclusively in _base (a planted link
    there is refused, never written through)."""

    def base_present(self) -> bool:
        return self._base_verified()

    def lock_base(self, owner: BaseLock) -> Iterator[None]:
        yield from ()
        who = OWNER_FETCH if owner is BaseLock.FETCH else OWNER_OVERLAY
        return holding(self.lock(self.base.name, who, external=True))

    def unlock_base(self, held: ExitStack) -> None:
        held.close()

    def fetch(self) -> Generator[None, None, bool]:
        """Into `.part` (stale `.part`/`.converted` of a killed fetch go first: the lock is
        ours), deep inspection, qemu-img info; refused when the image has a backing file."""
        yield from ()
        self.result.cache = "miss"
        part = self._sibling(".part")
        self._fetched = []
        with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
            for p in (part, self._sibling(".converted")):
                safefs.clear_stale(dfd, p.name, p)
            fd = safefs.create_exclusive(dfd, part.name, part)
            self._fetched.append(part.name)
            with phase(self.result, "image_fetch"):
                self.ctx.images.download(self.image_id, fd, self.meta)
        self.checkpoint("fetch")
        qemu_img.deep_inspect(self.image_id, part, self.meta["disk_format"])
        data = qemu_img.qemu_img_info(self.ex, part)
        self._fetched_format = fmt = data["format"]
        if data.get("backing-filename"):
            raise ImageUnacceptable(self.image_id,
                                    f"fmt={fmt} backed by: {data['backing-filename']}")
        return bool(fmt != "raw")

    def convert(self) -> Iterator[None]:
        """qemu-img convert to raw (cache mode after the direct I/O check), checked raw."""
        yield from ()
        part, converted = self._sibling(".part"), self._sibling(".converted")
        fmt = self._fetched_format
        self.log(ev_image.ImageConverting(image_id=self.image_id, disk_format=fmt),
                 instance=False)
        direct = qemu_img.supports_direct_io(self.ctx.trace, self.req, self.ctx.workdir)
        self.ctx.direct_io = direct
        with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
            os.close(safefs.create_exclusive(dfd, converted.name, converted))
            self._fetched.append(converted.name)
        t = Timer()
        preexec = self.ctx.fault.convert_preexec if self.ctx.fault else None
        try:
            qemu_img.convert_image(self.ex, part, converted, fmt, "raw",
                                   "none" if direct else "writeback", preexec_fn=preexec)
        except ImageUnacceptable as exp:
            raise ImageUnacceptable(self.image_id,
                                    f"Unable to convert image to raw: {exp}") from exp
        finally:
            self.result.phases["convert"] = round(t.elapsed(), 3)
        self.checkpoint("convert")
        with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
            os.unlink(part.name, dir_fd=dfd)
        data = qemu_img.qemu_img_info(self.ex, converted)
        if data["format"] != "raw":
            raise ImageUnacceptable(self.image_id, "Converted to raw, but format is now "
                                    f"{data['format']}")

    def into_cache(self) -> Iterator[None]:
        yield from ()
        with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
            self._into_cache(dfd, self._fetched[-1])

    def fetch_aborted(self) -> None:
        """fileutils.remove_path_on_error: nothing left that looks like a cache entry (and only
        what this fetch created is removed)."""
        with suppress(OSError), self.ctx.workdir.dir_fd("instances", "_base") as dfd:
            for name in self._fetched:
                with suppress(OSError):
                    os.unlink(name, dir_fd=dfd)

    def verify_base(self) -> Iterator[None]:
        """The base file in use (its mtime, for the image cache manager), no link on its path,
        and no larger than the flavor's root disk (verify_base_size)."""
        yield from ()
        if self.result.cache is None:
            self.result.cache = "hit"
        self._overlay_timer = Timer()
        with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
            os.utime(self.base.name, dir_fd=dfd, follow_symlinks=False)
        safefs.check_no_symlinks(self.ctx.workdir.root, self.base)
        size = self.flavor.root_gb * 1024 ** 3
        base_size = qemu_img.qemu_img_info(self.ex, self.base)["virtual-size"]
        if size < base_size:
            raise FlavorDiskSmallerThanImage(size, base_size)

    def overlay(self) -> Iterator[None]:
        yield from ()
        with self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
            os.close(safefs.create_exclusive(dfd, self.disk_path.name, self.disk_path))
            try:
                qemu_img.create_cow_image(self.ex, self.base, self.disk_path,
                                          self.flavor.root_gb * 1024 ** 3)
            except BaseException:
                os.unlink(self.disk_path.name, dir_fd=dfd)
                raise

    def disk_created(self) -> Iterator[None]:
        yield from ()
        self.result.phases["overlay"] = round(self._overlay_timer.elapsed(), 3)
        self.checkpoint("overlay")

    def _sibling(self, suffix: str) -> Path:
        return self.base.with_name(self.base.name + suffix)

    def _base_verified(self) -> bool:
        """Whether _base/<sha1> is the file nsim made for this image (its recorded sha256).

        Missing: False. A symlink or other non-file: refused. A regular file nsim has no
        matching record of (planted, or changed since): removed, so it is fetched again."""
        wd, name = self.ctx.workdir, self.base.name
        with wd.dir_fd("instances", "_base") as dfd:
            st = safefs.lstat_at(dfd, name)
            if st is None:
                return False
            fd = safefs.open_regular(dfd, name, self.base)
            try:
                ours = base_is_ours(wd, name, self.image_id, fd)
            finally:
                os.close(fd)
            if not ours:
                os.unlink(name, dir_fd=dfd)
                self.result.notes.append(f"{self.base} did not match nsim's record of it: "
                                         "removed and fetched again")
            return ours

    def _into_cache(self, dfd: int, name: str) -> None:
        """Record the file's sha256, then rename it into place as the base file."""
        fd = safefs.open_regular(dfd, name, self.base.with_name(name))
        try:
            digest, size = sha256_fd(fd), os.fstat(fd).st_size
        finally:
            os.close(fd)
        remember_base(self.ctx.workdir, self.base.name, self.image_id, digest, size)
        os.rename(name, self.base.name, src_dir_fd=dfd, dst_dir_fd=dfd)

