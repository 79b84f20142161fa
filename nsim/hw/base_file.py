"""The image cache step of a hardware build (nova/virt/libvirt/imagebackend.py `Image.cache`,
nova/virt/images.py `fetch_to_raw`): the base file fetched, verified and converted under its
lock, then the qcow2 overlay on it."""

from __future__ import annotations

import os
from contextlib import ExitStack, suppress

from nsim.events import image as ev_image
from nsim.hw import qemu_img, safefs
from nsim.hw.context import (
    OWNER_FETCH,
    OWNER_OVERLAY,
    Timer,
    phase,
)
from nsim.hw.novaexc import FlavorDiskSmallerThanImage, ImageUnacceptable
from nsim.hw.state import (
    base_is_ours,
    remember_base,
    sha256_fd,
)


class BaseFileSteps:
    """The instance build's image cache steps (a mixin of nsim.hw.build.InstanceBuild)."""

    def _create_root_disk(self) -> None:
        name = self.base.name
        if not self._base_verified():
            with self.lock(name, OWNER_FETCH, external=True):
                if not self._base_verified():
                    self.result.cache = "miss"
                    self._fetch_to_raw()
        if self.result.cache is None:
            self.result.cache = "hit"
        with phase(self.result, "overlay"):
            with self.ctx.workdir.dir_fd("instances", "_base") as dfd:
                os.utime(name, dir_fd=dfd, follow_symlinks=False)
            safefs.check_no_symlinks(self.ctx.workdir.root, self.base)
            size = self.flavor.root_gb * 1024 ** 3
            base_size = qemu_img.qemu_img_info(self.ex, self.base)["virtual-size"]
            if size < base_size:
                raise FlavorDiskSmallerThanImage(size, base_size)
            with self.lock(name, OWNER_OVERLAY, external=True), \
                    self.ctx.workdir.dir_fd("instances", self.uuid) as dfd:
                os.close(safefs.create_exclusive(dfd, self.disk_path.name, self.disk_path))
                try:
                    qemu_img.create_cow_image(self.ex, self.base, self.disk_path, size)
                except BaseException:
                    os.unlink(self.disk_path.name, dir_fd=dfd)
                    raise
        self.checkpoint("overlay")

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

    def _fetch_to_raw(self) -> None:
        """nova.virt.images.fetch_to_raw with its .part / .converted discipline; every file
        created exclusively in _base (a planted link there is refused, never written through)."""
        part = self.base.with_name(self.base.name + ".part")
        converted = self.base.with_name(self.base.name + ".converted")
        created: list[str] = []
        wd = self.ctx.workdir
        stack = ExitStack()
        dfd = stack.enter_context(wd.dir_fd("instances", "_base"))
        try:
            for p in (part, converted):  # left by a killed fetch (we hold its lock)
                safefs.clear_stale(dfd, p.name, p)
            fd = safefs.create_exclusive(dfd, part.name, part)
            created.append(part.name)
            with phase(self.result, "image_fetch"):
                self.ctx.images.download(self.image_id, fd, self.meta)
            self.checkpoint("fetch")
            fmt = qemu_img.deep_inspect(self.image_id, part, self.meta["disk_format"])
            data = qemu_img.qemu_img_info(self.ex, part)
            fmt = data["format"]
            if data.get("backing-filename"):
                raise ImageUnacceptable(self.image_id,
                                        f"fmt={fmt} backed by: {data['backing-filename']}")
            if fmt != "raw":
                self.log(ev_image.ImageConverting(image_id=self.image_id, disk_format=fmt),
                         instance=False)
                direct = qemu_img.supports_direct_io(self.ctx.trace, self.req,
                                                     self.ctx.workdir)
                self.ctx.direct_io = direct
                cache_mode = "none" if direct else "writeback"
                os.close(safefs.create_exclusive(dfd, converted.name, converted))
                created.append(converted.name)
                t = Timer()
                preexec = self.ctx.fault.convert_preexec if self.ctx.fault else None
                try:
                    qemu_img.convert_image(self.ex, part, converted, fmt, "raw", cache_mode,
                                           preexec_fn=preexec)
                except ImageUnacceptable as exp:
                    raise ImageUnacceptable(self.image_id,
                                            f"Unable to convert image to raw: {exp}") from exp
                finally:
                    self.result.phases["convert"] = round(t.elapsed(), 3)
                self.checkpoint("convert")
                os.unlink(part.name, dir_fd=dfd)
                data = qemu_img.qemu_img_info(self.ex, converted)
                if data["format"] != "raw":
                    raise ImageUnacceptable(self.image_id, "Converted to raw, but format is now "
                                            f"{data['format']}")
                self._into_cache(dfd, converted.name)
            else:
                self._into_cache(dfd, part.name)
        except BaseException:
            # fileutils.remove_path_on_error: never leave a file that looks like a cache entry
            # (and only ever remove what this fetch created).
            for n in created:
                with suppress(OSError):
                    os.unlink(n, dir_fd=dfd)
            raise
        finally:
            stack.close()

    def _into_cache(self, dfd: int, name: str) -> None:
        """Record the file's sha256, then rename it into place as the base file."""
        fd = safefs.open_regular(dfd, name, self.base.with_name(name))
        try:
            digest, size = sha256_fd(fd), os.fstat(fd).st_size
        finally:
            os.close(fd)
        remember_base(self.ctx.workdir, self.base.name, self.image_id, digest, size)
        os.rename(name, self.base.name, src_dir_fd=dfd, dst_dir_fd=dfd)

