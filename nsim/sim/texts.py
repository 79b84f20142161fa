"""qemu-img command lines as a given release prints them inside its messages (network_info
and VIF reprs: nsim.nova.network_info; the guest XML and its preamble: nsim.nova.guest_xml;
lock owner names: nsim.nova.names).

qemu-img details follow docs/nova.md §4 and the seed boot (Pike): `--force-share` from
Queens, `--output=json` from Ussuri. The overlay: through Pike created without a size, then
resized (`copy_qcow2_image`, the seed); Queens to Stein `qemu-img create -f qcow2 -o
backing_file=<base>,size=<bytes> <disk>` (`create_cow_image`); from Train `env LC_ALL=C LANG=C
qemu-img create -f qcow2 -o backing_file=<base>,backing_fmt=raw <disk> <bytes>`.
"""

from __future__ import annotations

from nsim.nova import qemu_img


class QemuImg:
    """qemu-img command lines of one release, as nova logs them (nsim.nova.qemu_img)."""

    def __init__(self, release: str, python3: bool) -> None:
        self.release = release
        self.helper = qemu_img.prlimit_helper(python3)
        self.resize_after_create = qemu_img.resizes_after_create(release)

    def info(self, path: str) -> str:
        return " ".join(qemu_img.info_argv(path, self.release, self.helper))

    @staticmethod
    def convert(source: str, target: str, disk_format: str) -> str:
        return " ".join(qemu_img.convert_argv(source, target, disk_format))

    def create(self, base: str, disk: str, size_bytes: int | None) -> str:
        return " ".join(qemu_img.create_argv(self.release, base, disk, size_bytes))

    @staticmethod
    def resize(disk: str, size_bytes: int) -> str:
        return " ".join(qemu_img.resize_argv(disk, size_bytes))
