"""kill -9 of `nsim hw boot` (issue 16 part 6): whatever step it dies at, `nsim hw delete --all`
leaves no mount, domain, tap, `.part`, orphan qemu-img, held lock or state file behind."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nsim.hw import guest_image
from nsim.hw.faults import STOP_STEPS
from nsim.hw.image_service import ImageStore
from nsim.hw.recovery import mounts_at
from nsim.hw.workdir import Workdir
from tests.hw.conftest import HwEnv, domain_exists, domain_state, make_workdir, nsim_cli


@pytest.fixture
def wd(hw_env: HwEnv) -> Iterator[Workdir]:
    w = make_workdir("nsim-hw-kill-")
    w.ensure()
    for name in ("manifest.json", "vmlinuz", "initramfs.img"):
        shutil.copyfile(hw_env.workdir.guest_dir / name, w.guest_dir / name)
    src = ImageStore(hw_env.workdir)
    meta = src.get(hw_env.image_id)
    ImageStore(w).add(meta["id"], meta["name"], src.data_path(hw_env.image_id), "qcow2",
                      properties={"os_command_line": guest_image.KERNEL_CMDLINE})
    if (hw_env.workdir.run_dir / "virt-type.json").exists():
        shutil.copyfile(hw_env.workdir.run_dir / "virt-type.json", w.run_dir / "virt-type.json")
    yield w
    if os.path.ismount(w.base_dir):
        subprocess.run(["umount", "-l", str(w.base_dir)], check=False, capture_output=True)
    shutil.rmtree(w.root, ignore_errors=True)


def _qemu_img_procs(root: Path) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"qemu-img") and any(str(root).encode() in a for a in cmd):
                out.append(int(d.name))
    return out


def _nsim_taps() -> set[str]:
    """Taps enslaved to an nsim bridge (brq...)."""
    net = Path("/sys/class/net")
    return {t.name for t in net.iterdir() if t.name.startswith("tap")
            and (t / "master").exists() and (t / "master").resolve().name.startswith("brq")}


def _kill_when(wd: Workdir, hw_env: HwEnv, ready: Callable[[], bool], *extra: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "nsim.cli", "hw", "boot", "--workdir",
                             str(wd.root), "--image", hw_env.image_id, "--flavor", "m1.nano",
                             "--no-wait", *extra], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not ready():
            assert proc.poll() is None, "the boot ended before the step was reached"
            assert time.monotonic() < deadline, "step not reached"
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _assert_all_gone(wd: Workdir, taps_before: set[str]) -> None:
    res = nsim_cli("hw", "delete", "--all", "--workdir", str(wd.root))
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert mounts_at(wd.base_dir) == []
    assert not list(wd.state_dir.glob("*.json"))
    assert not [p for p in wd.base_dir.iterdir() if p.suffix in (".part", ".converted")]
    assert not [p for p in wd.instances_path.iterdir() if len(p.name) >= 36]
    assert not [m for m in ImageStore(wd).list() if m["name"].startswith("fault-")]
    assert not [p for p in wd.run_dir.iterdir() if p.name.startswith("fault-")]
    assert _qemu_img_procs(wd.root) == []
    assert not [u for u in _domains() if domain_exists(u) and _owned(u, wd)]
    for lock in wd.locks_dir.iterdir():  # no lock is still held
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    # the killed boot's tap went with its domain (taps of other runs' domains may come and go)
    assert _nsim_taps() - taps_before <= _taps_of_others(wd)


def _taps_of_others(wd: Workdir) -> set[str]:
    """The taps of domains this work directory does not own (another test run's boots)."""
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--uuid"],
                         capture_output=True, text=True, timeout=60, check=False).stdout
    taps: set[str] = set()
    for uuid in out.split():
        if _owned(uuid, wd):
            continue
        rows = subprocess.run(["virsh", "-c", "qemu:///system", "domiflist", uuid],
                              capture_output=True, text=True, timeout=60, check=False).stdout
        taps.update(f for line in rows.splitlines() for f in line.split()[:1]
                    if f.startswith("tap"))
    return taps


def _owned(uuid: str, wd: Workdir) -> bool:
    res = subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", uuid], capture_output=True,
                         text=True, timeout=60, check=False)
    return f'workdir="{wd.root}"' in res.stdout


def _domain_defined(wd: Workdir) -> Callable[[], bool]:
    def ready() -> bool:
        return any(_owned(u, wd) for u in _domains(check=False))
    return ready


@pytest.mark.parametrize("step", ["fetch", "convert", "define"])
def test_kill_during_a_boot_then_delete_all(hw_env: HwEnv, wd: Workdir, step: str) -> None:
    ready = {
        "fetch": lambda: any(p.suffix == ".part" for p in wd.base_dir.iterdir()),
        "convert": lambda: bool(_qemu_img_procs(wd.root)) or any(
            p.suffix == ".converted" for p in wd.base_dir.iterdir()),
        "define": _domain_defined(wd),
    }[step]
    taps_before = _nsim_taps()
    _kill_when(wd, hw_env, ready)
    time.sleep(0.5)  # PR_SET_PDEATHSIG: the kernel kills qemu-img with its parent
    assert _qemu_img_procs(wd.root) == []
    _assert_all_gone(wd, taps_before)


def test_kill_during_the_disk_full_fault(hw_env: HwEnv, wd: Workdir) -> None:
    taps_before = _nsim_taps()
    _kill_when(wd, hw_env, lambda: any(s.startswith("nsim-fault-")
                                       for s in mounts_at(wd.base_dir)), "--fault", "disk-full")
    assert mounts_at(wd.base_dir)  # what kill -9 leaves
    _assert_all_gone(wd, taps_before)
    # and the next boot works
    res = nsim_cli("hw", "boot", "--workdir", str(wd.root), "--image", hw_env.image_id,
                   "--flavor", "m1.nano", "--no-wait")
    assert res.returncode == 0, res.stdout + res.stderr
    _assert_all_gone(wd, taps_before)


def test_failed_disk_full_plan_leaks_no_fault_image(hw_env: HwEnv, wd: Workdir) -> None:
    (wd.base_dir / "something").write_bytes(b"x")  # populated cache: the plan falls back
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "other", str(wd.base_dir)],
                   check=True)  # someone else's mount: the plan refuses it
    try:
        res = nsim_cli("hw", "boot", "--workdir", str(wd.root), "--image", hw_env.image_id,
                       "--flavor", "m1.nano", "--no-wait", "--fault", "disk-full")
        assert res.returncode == 1 and "already a mount point" in res.stderr, res.stderr
        assert not [m for m in ImageStore(wd).list() if m["name"].startswith("fault-")]
        assert not [p for p in wd.run_dir.iterdir() if p.name.startswith("fault-")]
    finally:
        subprocess.run(["umount", str(wd.base_dir)], check=False)


def _stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP): state T in /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] in "Tt"


@pytest.mark.parametrize("step", STOP_STEPS)
def test_kill_right_after_each_step_then_delete_all(hw_env: HwEnv, wd: Workdir,
                                                     step: str) -> None:
    """`--stop-after STEP` freezes the boot at a known point; kill -9 there leaves nothing
    that `delete --all` does not remove (the paused domain of `start`, the running one of
    `resume`, the base file of `fetch` with its lock released)."""
    taps_before = _nsim_taps()
    proc = subprocess.Popen([sys.executable, "-m", "nsim.cli", "hw", "boot", "--workdir",
                             str(wd.root), "--image", hw_env.image_id, "--flavor", "m1.nano",
                             "--no-wait", "--stop-after", step], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while not _stopped(proc.pid):
            assert proc.poll() is None, f"the boot ended before {step}: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"{step} not reached"
            time.sleep(0.01)
        state = {"define": "shut off", "start": "paused", "resume": "running"}.get(step)
        if state is not None:
            [uuid] = [u for u in _domains() if _owned(u, wd)]
            assert domain_state(uuid) == state
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stderr is not None
        said = proc.stderr.read()
    assert f"stopped after {step} of " in said
    _assert_all_gone(wd, taps_before)


def _domains(check: bool = True) -> list[str]:
    """Every libvirt domain's uuid (`check`: a failing virsh fails the test)."""
    return subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--uuid"],
                          capture_output=True, text=True, timeout=60, check=check).stdout.split()
