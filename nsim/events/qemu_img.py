"""qemu-img command lines as nova runs them (nova/virt/images.py, nova/virt/libvirt/utils.py).

nova wraps `qemu-img info` in `python -m oslo_concurrency.prlimit ... -- env LC_ALL=C LANG=C`.
"""

from __future__ import annotations

import shlex

from pydantic import BaseModel


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
    cmd = QemuImgCommand(
        operation=op, format=values.get("-f"),
        output_format=values.get("-O") or values.get("--output"),
        cache=values.get("-t"), options=options, flags=flags,
        backing_file=options.get("backing_file") or values.get("-b"),
        backing_fmt=options.get("backing_fmt") or values.get("-F"),
    )
    if op == "convert" and len(positional) >= 2:
        cmd.source, cmd.target = positional[0], positional[-1]
    elif op == "create" and positional:
        cmd.target = positional[0]
        if len(positional) > 1 and positional[1].isdigit():
            cmd.size_bytes = int(positional[1])
    elif positional:
        cmd.source = positional[0]
    if cmd.size_bytes is None and options.get("size", "").isdigit():
        cmd.size_bytes = int(options["size"])
    return cmd
