"""qemu-img as nova runs it, each command logged the way oslo.concurrency's processutils logs it.

- `info`: `python -I .../nsim/hw/prlimit.py --as=2147483648 --cpu=30 -- env LC_ALL=C LANG=C
  qemu-img info PATH --force-share --output=json` (nova/virt/images.py QEMU_IMG_LIMITS; nsim's
  prlimit stands in for `python -m oslo_concurrency.prlimit`; the trace shows what really ran).
- `convert`: `qemu-img convert -t none -O raw -f qcow2 SRC DST`, with `-t writeback` when the
  instances path does not support O_DIRECT (nova's supports_direct_io check, logged as nova
  logs it: "Path '...' supports direct I/O").
- `create`: `env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file=B,backing_fmt=raw
  DISK SIZE` (nova/virt/libvirt/utils.py create_image; qemu-img 7.2 needs backing_fmt).

Plus the deep format inspection nova does on a downloaded image before trusting qemu-img
(nova/virt/images.py do_image_deep_inspection, nova/image/format_inspector.py), reduced to
the formats this mode serves: qcow2 (magic, no backing file, no external data file) and raw.

Every command runs with PR_SET_PDEATHSIG(SIGKILL): a qemu-img never outlives a killed nsim.
Files qemu-img writes are created by nsim first (exclusively, no-follow), so qemu-img opens a
regular file nsim made, never a planted link.
"""

from __future__ import annotations

import ctypes
import errno
import json
import mmap
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nsim.events.image import DirectIo, SubprocessReturned, SubprocessRunning
from nsim.events.writer import RequestContext
from nsim.hw import safefs
from nsim.hw.novaexc import ImageUnacceptable, InvalidDiskInfo, ProcessExecutionError
from nsim.hw.trace import RELEASE, Trace
from nsim.hw.workdir import Workdir
from nsim.nova import qemu_img as argv
from nsim.nova.qemu_img import parse_qemu_img


class Executor:
    """processutils.execute for one request: logs Running cmd / CMD returned, raises on failure."""

    def __init__(self, trace: Trace, context: RequestContext | None, timeout: float = 300) -> None:
        self.trace = trace
        self.context = context
        self.timeout = timeout

    def execute(self, argv: list[str], preexec_fn: Callable[[], None] | None = None
                ) -> tuple[str, str]:
        cmd = " ".join(argv)
        parsed = parse_qemu_img(argv)
        self.trace.emit(SubprocessRunning(command=cmd, argv=argv, qemu_img=parsed),
                        context=self.context)
        start = time.monotonic()
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout,
                                  check=False, preexec_fn=die_with_parent(preexec_fn))
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = -signal.SIGKILL, _text(exc.stdout), _text(exc.stderr) + "timed out"
        except FileNotFoundError as exc:
            rc, out, err = 127, "", str(exc)
        self.trace.emit(SubprocessReturned(command=cmd, returncode=rc,
                                           seconds=time.monotonic() - start, qemu_img=parsed),
                        context=self.context)
        if rc != 0:
            raise ProcessExecutionError(cmd, rc, out, err)
        return out, err


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(then: Callable[[], None] | None = None) -> Callable[[], None]:
    """A preexec_fn: SIGKILL this child when nsim dies (even by kill -9), then `then`."""
    parent = os.getpid()

    def preexec() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # nsim died before prctl took effect
            os._exit(1)
        if then is not None:
            then()
    return preexec


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


# Run as a script in isolated mode (-I): importing the nsim package would cost a second.
PRLIMIT = str(Path(__file__).with_name("prlimit.py"))


def info_argv(path: Path) -> list[str]:
    return argv.info_argv(str(path), RELEASE, (sys.executable, "-I", PRLIMIT))


def qemu_img_info(ex: Executor, path: Path) -> dict[str, Any]:
    """nova.virt.images.qemu_img_info: the JSON qemu-img prints, or InvalidDiskInfo."""
    if not path.exists():
        raise InvalidDiskInfo(f"Path does not exist: {path}")
    try:
        out, _ = ex.execute(info_argv(path))
    except ProcessExecutionError as exc:
        raise InvalidDiskInfo(f"qemu-img failed to execute on {path} : {exc}") from exc
    try:
        data = json.loads(out)
    except ValueError:
        data = {}
    if not isinstance(data, dict) or not data.get("format"):
        raise InvalidDiskInfo("'qemu-img info' parsing failed.")
    return data


def supports_direct_io(trace: Trace, context: RequestContext | None, workdir: Workdir) -> bool:
    """nova's supports_direct_io: write one aligned block with O_DIRECT into instances/
    (the test file created exclusively, never through a planted link; a stale regular one
    from a killed run is removed first)."""
    dirpath = workdir.instances_path
    testfile = dirpath / ".directio.test"
    ok, error = False, None
    with workdir.dir_fd("instances") as dfd:
        safefs.clear_stale(dfd, testfile.name, testfile)
        fd = -1
        try:
            fd = safefs.create_exclusive(dfd, testfile.name, testfile, 0o644,
                                         os.O_WRONLY | os.O_DIRECT)
            buf = mmap.mmap(-1, 4096)  # page aligned, as O_DIRECT wants
            buf.write(b"x" * 4096)
            os.write(fd, buf)
            ok = True
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            error = f"'{exc}'"
        finally:
            if fd >= 0:
                os.close(fd)
            safefs.clear_stale(dfd, testfile.name, testfile)  # ours: nothing else can be there
    trace.emit(DirectIo(path=str(dirpath), supported=ok, error=error), context=context)
    return ok


def convert_image(ex: Executor, src: Path, dst: Path, in_fmt: str, out_fmt: str, cache_mode: str,
                  preexec_fn: Callable[[], None] | None = None) -> None:
    """nova.virt.images._convert_image: ImageUnacceptable when qemu-img fails."""
    try:
        ex.execute(argv.convert_argv(str(src), str(dst), in_fmt, out_fmt, cache_mode),
                   preexec_fn=preexec_fn)
    except ProcessExecutionError as exc:
        raise ImageUnacceptable(str(src), f"Unable to convert image to {out_fmt}: {exc}") from exc


def create_cow_image(ex: Executor, backing: Path, disk: Path, size: int | None) -> None:
    """nova.virt.libvirt.utils.create_image(disk, 'qcow2', size, backing_file=backing)."""
    base = qemu_img_info(ex, backing)
    ex.execute(argv.create_argv(RELEASE, str(backing), str(disk), size, base["format"],
                                base.get("cluster-size")))


# -- deep inspection ---------------------------------------------------------------------
QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2


def inspect_format(path: Path) -> str:
    """The format the file's content shows ('qcow2' or 'raw'); ImageUnacceptable when unsafe."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
        header = f.read(112)
    if header[:4] != QCOW2_MAGIC:
        return "raw"
    if len(header) < 72:
        raise ValueError("qcow2 header truncated")
    version, backing_offset = struct.unpack(">IQ", header[4:16])
    if version not in (2, 3):
        raise ValueError(f"qcow2 version {version}")
    if backing_offset:
        raise PermissionError("qcow2 has a backing file")
    if version == 3 and len(header) >= 80:
        (incompatible,) = struct.unpack(">Q", header[72:80])
        if incompatible & _QCOW2_INCOMPAT_DATA_FILE:
            raise PermissionError("qcow2 has an external data file")
    return "qcow2"


def deep_inspect(image_id: str, path: Path, disk_format: str) -> str:
    """nova.virt.images.do_image_deep_inspection: the format to trust, or ImageUnacceptable."""
    if disk_format not in ("qcow2", "raw"):
        raise ImageUnacceptable(image_id, "Image not in a supported format")
    try:
        detected = inspect_format(path)
    except PermissionError:
        raise ImageUnacceptable(image_id, "Image does not pass safety check") from None
    except ValueError:
        raise ImageUnacceptable(image_id, "Image content does not match disk_format") from None
    if detected != disk_format:
        raise ImageUnacceptable(image_id, "Image content does not match disk_format")
    return detected
