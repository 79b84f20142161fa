"""`nsim hw doctor [--fix]`: every prerequisite of the hardware mode, checked, with its fix.

Packages (Debian), the libvirt Python binding, /dev/kvm permissions (without udev it is
root:root 0600 and libvirt re-probes QEMU on every start), virtlogd and libvirtd (started
with `-d`, no systemd; stopped only by the pid in their pid files), KVM or TCG (decided by
booting the guest, see libvirt_host.probe_virt_type), the work directory (qemu runs as
libvirt-qemu and must traverse it; free disk), bridges for VIFs, tmpfs for the disk-full
fault, and whether the guest is prepared.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nsim.hw import safefs
from nsim.hw.errors import HwError
from nsim.hw.workdir import Workdir

PACKAGES = ("qemu-utils", "qemu-system-x86", "libvirt-daemon-system", "libvirt-clients",
            "libvirt-dev", "pkg-config", "busybox-static", "cpio")
BINARIES = ("qemu-img", "qemu-system-x86_64", "libvirtd", "virtlogd", "virsh", "dpkg-deb",
            "apt-get", "ip")
DAEMONS = ("virtlogd", "libvirtd")
PID_FILES = {"virtlogd": Path("/run/virtlogd.pid"), "libvirtd": Path("/run/libvirtd.pid")}
MIN_FREE_BYTES = 1 << 30
CAP_NET_ADMIN, CAP_SYS_ADMIN = 12, 21
LIBVIRT_READY_TIMEOUT = 90.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    required: bool = True
    fixer: Callable[[], None] | None = None

    def line(self) -> str:
        mark = "ok  " if self.ok else ("FAIL" if self.required else "note")
        text = f"[{mark}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f"\n       fix: {self.fix}"
        return text


@dataclass
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok or not c.required for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.required and not c.ok]

    def text(self) -> str:
        return "\n".join(c.line() for c in self.checks)

    def message(self) -> str:
        """What a test or a command prints when prerequisites are missing."""
        return "nsim hw doctor: missing prerequisites:\n" + "\n".join(
            c.line() for c in self.failures())


def _run(argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          env=env)


def capability(bit: int) -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return False


# -- packages ----------------------------------------------------------------------------
def missing_packages() -> list[str]:
    if shutil.which("dpkg-query") is None:
        return list(PACKAGES)
    out = _run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", *PACKAGES]).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}
    return [p for p in PACKAGES if p not in installed]


def install_packages(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise HwError("installing packages needs root")
    update = _run(["apt-get", "update", "-q"])
    if update.returncode != 0:
        raise HwError(f"apt-get update failed: {update.stderr.strip()[-400:]}")
    res = _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages])
    if res.returncode != 0:
        raise HwError(f"apt-get install failed: {res.stderr.strip()[-400:]}")


def _check_packages() -> Check:
    missing = missing_packages()
    if not missing:
        absent = [b for b in BINARIES if shutil.which(b) is None]
        if absent:
            return Check("packages", False, f"binaries not found: {', '.join(absent)}",
                         "apt-get install -y iproute2 (and the packages above)")
        return Check("packages", True, f"{len(PACKAGES)} Debian packages installed")
    cmd = f"apt-get update && apt-get install -y --no-install-recommends {' '.join(missing)}"
    return Check("packages", False, f"not installed: {', '.join(missing)}", cmd,
                 fixer=lambda: install_packages(missing))


def _binding_importable() -> str | None:
    res = _run([sys.executable, "-c", "import libvirt; print(libvirt.getVersion())"], timeout=60)
    return res.stdout.strip() if res.returncode == 0 else None


def _install_binding() -> None:
    res = _run([sys.executable, "-m", "pip", "install", "-q", "libvirt-python"])
    if res.returncode != 0:
        raise HwError(f"pip install libvirt-python failed: {res.stderr.strip()[-400:]}")


def _check_binding() -> Check:
    version = _binding_importable()
    if version:
        return Check("libvirt-python", True, f"binding importable (libvirt {version})")
    return Check("libvirt-python", False, f"`import libvirt` fails in {sys.executable}",
                 f"{sys.executable} -m pip install libvirt-python (needs libvirt-dev, pkg-config)",
                 fixer=_install_binding)


# -- /dev/kvm ---------------------------------------------------------------------------
def _fix_kvm() -> None:
    gid = grp.getgrnam("kvm").gr_gid
    os.chown("/dev/kvm", -1, gid)
    os.chmod("/dev/kvm", 0o660)


def _check_kvm_node() -> Check:
    node = Path("/dev/kvm")
    if not node.exists():
        return Check("/dev/kvm", True, "absent: guests run under TCG (software emulation)")
    st = node.stat()
    try:
        kvm_gid = grp.getgrnam("kvm").gr_gid
    except KeyError:
        return Check("/dev/kvm", False, "group kvm does not exist (qemu-system-x86 creates it)",
                     "apt-get install qemu-system-x86")
    mode = stat.S_IMODE(st.st_mode)
    if st.st_gid == kvm_gid and mode & 0o060 == 0o060:
        return Check("/dev/kvm", True, f"group kvm, mode {mode:04o}")
    return Check("/dev/kvm", False,
                 f"mode {mode:04o} gid {st.st_gid}: libvirt re-probes QEMU on every domain start "
                 "(~48 s each)", "chgrp kvm /dev/kvm; chmod 0660 /dev/kvm", fixer=_fix_kvm)


# -- daemons ----------------------------------------------------------------------------
def daemon_pid(name: str) -> int | None:
    """The pid in the daemon's pid file, when that process is alive and is that daemon."""
    try:
        pid = int(PID_FILES[name].read_text().split()[0])
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return None
    return pid if comm == name else None


def start_daemon(name: str, workdir: Workdir | None = None) -> int:
    """`<name> -d`, then wait for its pid file; the pid is recorded as started by nsim."""
    if (pid := daemon_pid(name)) is not None:
        return pid
    if shutil.which(name) is None:
        raise HwError(f"{name} is not installed")
    if name == "libvirtd" and daemon_pid("virtlogd") is None:
        start_daemon("virtlogd", workdir)
    res = _run([name, "-d"], timeout=60)
    if res.returncode != 0:
        raise HwError(f"{name} -d failed: {res.stderr.strip()[-300:]}")
    deadline = time.monotonic() + 30
    while (pid := daemon_pid(name)) is None:
        if time.monotonic() > deadline:
            raise HwError(f"{name} -d did not write {PID_FILES[name]}")
        time.sleep(0.1)
    if workdir is not None:
        _record_started(workdir, name, pid)
    return pid


def _started_file(workdir: Workdir) -> Path:
    return workdir.path("run", "daemons.json")


def _read_started(workdir: Workdir) -> dict[str, int]:
    path = _started_file(workdir)
    try:
        with workdir.dir_fd("run") as dfd:
            data = json.loads(safefs.read_bytes(dfd, path.name, path))
    except (OSError, ValueError, HwError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in DAEMONS and isinstance(v, int)}


def _record_started(workdir: Workdir, name: str, pid: int) -> None:
    workdir.ensure()
    data = _read_started(workdir)
    data[name] = pid
    with workdir.dir_fd("run") as dfd:
        safefs.write_atomic(dfd, _started_file(workdir).name, json.dumps(data).encode(),
                            _started_file(workdir))


def stop_daemon(name: str, timeout: float = 30) -> bool:
    """SIGTERM the pid from the daemon's pid file (never by name); True when it was running."""
    pid = daemon_pid(name)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            break
        if state == "Z":
            break
        if time.monotonic() > deadline:
            raise HwError(f"{name} (pid {pid}) did not exit after SIGTERM")
        time.sleep(0.1)
    return True


def stop_started_daemons(workdir: Workdir) -> list[str]:
    """Stop the daemons this work directory's doctor started (libvirtd first)."""
    data = _read_started(workdir)
    if not data:
        return []
    stopped = []
    for name in ("libvirtd", "virtlogd"):
        if name in data and daemon_pid(name) == data[name] and stop_daemon(name):
            stopped.append(name)
    with workdir.dir_fd("run") as dfd:
        safefs.clear_stale(dfd, _started_file(workdir).name, _started_file(workdir))
    return stopped


def libvirt_answers(timeout: float = 10) -> str | None:
    """The hypervisor version when `virsh -c qemu:///system version` answers, else None."""
    if shutil.which("virsh") is None:
        return None
    try:
        res = _run(["virsh", "-c", "qemu:///system", "version"], timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if res.returncode != 0:
        return None
    for line in res.stdout.splitlines():
        if line.startswith("Running hypervisor:"):
            return line.split(":", 1)[1].strip()
    return "?"


def wait_for_libvirt(timeout: float = LIBVIRT_READY_TIMEOUT) -> str:
    """Poll until libvirtd answers (its first answer probes QEMU's capabilities, ~8 s)."""
    deadline = time.monotonic() + timeout
    while True:
        version = libvirt_answers(timeout=max(5.0, deadline - time.monotonic()))
        if version:
            return version
        if time.monotonic() > deadline:
            raise HwError(f"libvirtd did not answer within {timeout:.0f}s")
        time.sleep(0.5)


def _check_daemon(name: str, workdir: Workdir) -> Check:
    pid = daemon_pid(name)
    fix = f"{name} -d" + ("  (after virtlogd -d)" if name == "libvirtd" else "")

    def fixer() -> None:
        start_daemon(name, workdir)
        if name == "libvirtd":
            wait_for_libvirt()

    if pid is None:
        return Check(name, False, f"not running (no live pid in {PID_FILES[name]})", fix,
                     fixer=fixer)
    if name == "libvirtd":
        version = libvirt_answers(timeout=LIBVIRT_READY_TIMEOUT)
        if not version:
            return Check(name, False, f"pid {pid} does not answer on qemu:///system",
                         "wait, or stop it by its pid and run libvirtd -d again")
        return Check(name, True, f"pid {pid}, answering ({version})")
    return Check(name, True, f"pid {pid}")


# -- machine ----------------------------------------------------------------------------
def _check_accel(workdir: Workdir) -> Check:
    cache = workdir.path("run", "virt-type.json")
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError, HwError):
        data = None
    if data:
        kind = "kvm" if data.get("virt_type") == "kvm" else "qemu (TCG, software emulation)"
        return Check("accelerator", True, f"domain type {kind}: {data.get('reason', '')}")
    has_node = Path("/dev/kvm").exists()
    return Check("accelerator", True,
                 "not probed yet (the first boot decides by booting the guest under KVM)"
                 + ("" if has_node else "; no /dev/kvm, so TCG"), required=False)


def _check_workdir(workdir: Workdir) -> Check:
    root = workdir.root
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        return Check("workdir", False, f"{existing} is not writable", "use --workdir elsewhere")
    try:
        workdir.check_trusted()
    except HwError as exc:
        return Check("workdir", False, str(exc), "use a root-owned directory nobody else can "
                     "write (e.g. the default /var/lib/nsim/hw)")
    user, bad = workdir.qemu_blockers()
    if bad:
        return Check("workdir", False,
                     f"qemu (user {user}) cannot reach the disks under {root}: "
                     f"{', '.join(map(str, bad))} not searchable by it",
                     f"chmod o+x {' '.join(map(str, bad))}, or use --workdir under /var/lib or "
                     "/var/tmp")
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        return Check("workdir", False, f"only {free >> 20} MiB free under {existing}",
                     "free disk space or use another --workdir")
    return Check("workdir", True, f"{root} ({free >> 30} GiB free)")


def _check_bridge() -> Check:
    if capability(CAP_NET_ADMIN) and shutil.which("ip"):
        return Check("bridges", True, "CAP_NET_ADMIN: VIFs are real taps on a Linux bridge",
                     required=False)
    return Check("bridges", False, "no CAP_NET_ADMIN or no `ip`: boots record VIFs as skipped "
                 "(network_info [] in the trace)", "run as root with CAP_NET_ADMIN",
                 required=False)


def _check_tmpfs() -> Check:
    if capability(CAP_SYS_ADMIN):
        return Check("tmpfs", True, "can mount a small tmpfs (the disk-full fault fills a real one)",
                     required=False)
    return Check("tmpfs", False, "cannot mount: the disk-full fault uses a file-size limit instead",
                 required=False)


def _check_guest(workdir: Workdir) -> Check:
    try:
        manifest = workdir.path("guest", "manifest.json")
    except HwError:
        manifest = None
    if manifest is not None and manifest.is_file():
        return Check("guest", True, f"prepared in {workdir.guest_dir}", required=False)
    return Check("guest", False, "not prepared", f"nsim hw prepare --workdir {workdir.root}",
                 required=False)


def run(workdir: Workdir, fix: bool = False, log: Callable[[str], None] | None = None) -> Report:
    """Check everything; with fix, apply each fix it can, in order, and check again."""
    steps: list[Callable[[], Check]] = [
        _check_packages, _check_binding, _check_kvm_node,
        lambda: _check_daemon("virtlogd", workdir), lambda: _check_daemon("libvirtd", workdir),
        lambda: _check_accel(workdir), lambda: _check_workdir(workdir), _check_bridge,
        _check_tmpfs, lambda: _check_guest(workdir),
    ]
    checks = []
    for step in steps:
        check = step()
        if fix and not check.ok and check.fixer is not None:
            if log:
                log(f"fixing {check.name}: {check.fix}")
            try:
                check.fixer()
            except (HwError, OSError, subprocess.SubprocessError) as exc:
                check.detail += f" (fix failed: {exc})"
                checks.append(check)
                continue
            check = step()
        checks.append(check)
    return Report(checks)
