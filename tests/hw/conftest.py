"""The hardware test session: prerequisites through the doctor, a prepared guest, a work directory.

Nothing is skipped: when the doctor cannot provide a prerequisite (not root, no packages, no
daemon), the tests fail with the doctor's message. One session at a time per machine (a lock
file), since the tests start, stop and share libvirtd.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nsim.hw import doctor, guest_image
from nsim.hw.boot import BootOptions, BootResult, boot
from nsim.hw.image_service import ImageStore
from nsim.hw.teardown import delete
from nsim.hw.workdir import Workdir

SESSION_LOCK = Path("/var/tmp/nsim-hw-tests.lock")


@dataclass
class HwEnv:
    workdir: Workdir
    image_id: str
    trace: Path

    def boot(self, **kw: object) -> BootResult:
        opts = BootOptions(image=kw.pop("image", self.image_id),  # type: ignore[arg-type]
                           flavor=kw.pop("flavor", "m1.nano"), **kw)  # type: ignore[arg-type]
        return boot(self.workdir, opts)


def nsim_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real `nsim` command line (a fresh process, as a user would)."""
    return subprocess.run([sys.executable, "-m", "nsim.cli", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def replay_json(trace: Path) -> tuple[int, dict[str, object]]:
    res = nsim_cli("replay", str(trace), "--json")
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode != 70, res.stderr
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else {}


def parse_summary(trace: Path) -> str:
    res = nsim_cli("parse", str(trace), "-o", os.devnull)
    assert res.returncode == 0, res.stderr
    return res.stderr.strip().splitlines()[-1]


def domain_exists(uuid: str) -> bool:
    res = subprocess.run(["virsh", "-c", "qemu:///system", "domstate", uuid], capture_output=True,
                         text=True, timeout=60, check=False)
    return res.returncode == 0


def domain_state(uuid: str) -> str:
    res = subprocess.run(["virsh", "-c", "qemu:///system", "domstate", uuid], capture_output=True,
                         text=True, timeout=60, check=False)
    return res.stdout.strip()


def assert_clean(workdir: Workdir, result: BootResult) -> None:
    """A failed build left nothing: no domain, no instance dir, no record, no cache-like file."""
    for inst in result.instances:
        assert inst.leftovers == [], inst.leftovers
        assert not domain_exists(inst.uuid)
        assert not (workdir.instances_path / inst.uuid).exists()
        assert not (workdir.instances_path / f"{inst.uuid}_del").exists()
        assert not (workdir.state_dir / f"{inst.uuid}.json").exists()
    names = sorted(p.name for p in workdir.base_dir.iterdir())
    assert not [n for n in names if n.endswith((".part", ".converted"))], names


def make_workdir(prefix: str) -> Workdir:
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    root.chmod(0o755)  # qemu runs as libvirt-qemu and must traverse it
    return Workdir(root)


@pytest.fixture(scope="session")
def hw_env() -> Iterator[HwEnv]:
    SESSION_LOCK.touch(exist_ok=True)
    lock_fd = os.open(SESSION_LOCK, os.O_RDWR)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    workdir = make_workdir("nsim-hw-test-")
    # Daemons running before the session keep running after it; the ones it starts stop.
    running_before = {name: doctor.daemon_pid(name) is not None for name in doctor.DAEMONS}
    try:
        report = doctor.run(workdir, fix=True)
        if not report.ok:
            pytest.fail(report.message(), pytrace=False)
        started = time.monotonic()
        res = nsim_cli("hw", "prepare", "--workdir", str(workdir.root))
        if res.returncode != 0:
            pytest.fail(f"nsim hw prepare failed: {res.stderr}", pytrace=False)
        image_id = guest_image.load(workdir).image_id
        assert f"image: {image_id} name {guest_image.GUEST_IMAGE_NAME}" in res.stdout, res.stdout
        assert ImageStore(workdir).get(image_id) is not None
        print(f"\nguest prepared in {time.monotonic() - started:.1f}s under {workdir.root}")
        yield HwEnv(workdir, image_id, workdir.default_trace("journal"))
    finally:
        try:
            if doctor.daemon_pid("libvirtd") is None:
                doctor.run(workdir, fix=True)
            delete(workdir, None)
            for name in ("libvirtd", "virtlogd"):
                if not running_before[name]:
                    doctor.stop_daemon(name)
        finally:
            shutil.rmtree(workdir.root, ignore_errors=True)
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
