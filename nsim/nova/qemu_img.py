"""qemu-img command lines as nova runs them (nova/virt/images.py, nova/virt/libvirt/utils.py):
rendered per release (the simulator logs them, hardware mode runs them) and parsed back.

nova wraps `qemu-img info` in `python -m oslo_concurrency.prlimit --as=… --cpu=30 -- env
LC_ALL=C LANG=C` (the address-space limit 1 GiB until Stein, 2 GiB from Train), adds
`--force-share` from Queens and `--output=json` from Ussuri. The overlay on a base file is
`qemu-img create -f qcow2 -o backing_file=BASE DISK` then a resize through Pike,
`-o backing_file=BASE,size=N` in Queens to Stein, and from Train
`env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file=BASE,backing_fmt=FMT DISK N`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pydantic import BaseModel

from nsim.nova.releases import at_least

ENV_C = ("env", "LC_ALL=C", "LANG=C")
PRLIMIT_CPU = 30


def prlimit_helper(python3: bool) -> tuple[str, ...]:
    """How nova starts oslo.concurrency's prlimit wrapper (the service's interpreter)."""
    return ("/usr/bin/python3" if python3 else "/usr/bin/python", "-m", "oslo_concurrency.prlimit")


def info_address_space(release: str) -> int:
    """QEMU_IMG_LIMITS' address space cap for `qemu-img info`, in bytes."""
    return 2 * 1024 ** 3 if at_least(release, "train") else 1024 ** 3


def info_argv(path: str, release: str, helper: Sequence[str]) -> list[str]:
    """`qemu-img info` of `path` under the prlimit `helper` (what starts the wrapper)."""
    argv = [*helper, f"--as={info_address_space(release)}", f"--cpu={PRLIMIT_CPU}", "--",
            *ENV_C, "qemu-img", "info", path]
    if at_least(release, "queens"):
        argv.append("--force-share")
    if at_least(release, "ussuri"):
        argv.append("--output=json")
    return argv


def convert_argv(source: str, target: str, in_fmt: str, out_fmt: str = "raw",
                 cache_mode: str = "none") -> list[str]:
    """fetch_to_raw's conversion (`-t none` when the instances directory takes O_DIRECT)."""
    return ["qemu-img", "convert", "-t", cache_mode, "-O", out_fmt, "-f", in_fmt, source, target]


def resizes_after_create(release: str) -> bool:
    """Through Pike the overlay is created without a size, then resized."""
    return not at_least(release, "queens")


def create_argv(release: str, base: str, disk: str, size: int | None, backing_fmt: str = "raw",
                cluster_size: int | None = None) -> list[str]:
    """The qcow2 overlay `disk` on `base`; `size` None (a flavor without a root disk size)
    leaves it to the backing file, as nova does."""
    if resizes_after_create(release):
        return ["qemu-img", "create", "-f", "qcow2", "-o", f"backing_file={base}", disk]
    if not at_least(release, "train"):
        opts = f"backing_file={base}" + (f",size={size}" if size is not None else "")
        return ["qemu-img", "create", "-f", "qcow2", "-o", opts, disk]
    opts = f"backing_file={base},backing_fmt={backing_fmt}"
    if cluster_size is not None:
        opts += f",cluster_size={cluster_size}"
    return [*ENV_C, "qemu-img", "create", "-f", "qcow2", "-o", opts, disk,
            *([str(size)] if size is not None else [])]


def resize_argv(disk: str, size: int) -> list[str]:
    return ["qemu-img", "resize", disk, str(size)]


class QemuImgCommand(BaseModel):
    """A parsed qemu-img invocation."""

    operation: str
    source: str | None = None
    target: str | None = None
    format: str | None = None
    output_format: str | None = None
    cache: str | None = None
    backing_file: str | None = None
    backing_fmt: str | None = None
    size_bytes: int | None = None
    options: dict[str, str] = {}
    flags: list[str] = []


_WITH_VALUE = {"-f", "-O", "-t", "-T", "-o", "-F", "-b", "--output", "-l", "-s"}


def split_command(cmd: str) -> list[str]:
    """Split a logged command line like a shell would; fall back to whitespace on bad quoting."""
    if not any(c in cmd for c in "'\"\\"):
        return cmd.split()  # what shlex gives, without its per-character cost
    try:
        return shlex.split(cmd)
    except ValueError:
        return cmd.split()


def parse_qemu_img(argv: list[str]) -> QemuImgCommand | None:
    """The qemu-img part of `argv`, or None when the command is not qemu-img."""
    names = [i for i, a in enumerate(argv) if a.rsplit("/", 1)[-1] == "qemu-img"]
    if not names or names[0] + 1 >= len(argv):
        return None
    args = argv[names[0] + 1:]
    op, rest = args[0], args[1:]
    values: dict[str, str] = {}
    flags: list[str] = []
    positional: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg.startswith("--") and "=" in arg:
            key, _, val = arg.partition("=")
            values[key] = val
        elif arg in _WITH_VALUE and i + 1 < len(rest):
            values[arg] = rest[i + 1]
            i += 1
        elif arg.startswith("-") and arg != "-":
            flags.append(arg)
        else:
            positional.append(arg)
        i += 1
    options = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in
                   values.get("-o", "").split(",") if kv)
    source = target = None
    size_bytes = None
    if op == "convert" and len(positional) >= 2:
        source, target = positional[0], positional[-1]
    elif op == "create" and positional:
        target = positional[0]
        if len(positional) > 1 and positional[1].isdigit():
            size_bytes = int(positional[1])
    elif positional:
        source = positional[0]
    if size_bytes is None and options.get("size", "").isdigit():
        size_bytes = int(options["size"])
    return QemuImgCommand(
        operation=op, source=source, target=target, format=values.get("-f"),
        output_format=values.get("-O") or values.get("--output"),
        cache=values.get("-t"), options=options, flags=flags,
        backing_file=options.get("backing_file") or values.get("-b"),
        backing_fmt=options.get("backing_fmt") or values.get("-F"), size_bytes=size_bytes,
    )
