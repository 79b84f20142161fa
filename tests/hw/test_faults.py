"""Injected and real faults end in nova's failure lines and a clean state, and the trace still
parses with no unknown message and replays with no violation."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nsim.hw import doctor
from nsim.hw.boot import BootOptions, boot
from nsim.hw.errors import PrerequisiteError
from nsim.hw.image_service import ImageStore
from nsim.model.config import HostConfig
from nsim.model.image_cache import cache_filename
from tests.hw.conftest import (
    HwEnv,
    assert_clean,
    make_workdir,
    nsim_cli,
    parse_summary,
    replay_json,
)


def _segment(trace: Path, uuid: str) -> str:
    return "\n".join(ln for ln in trace.read_text().splitlines() if uuid in ln)


def _trace_is_clean(trace: Path) -> None:
    assert ", 0 unknown, 0 bad lines" in parse_summary(trace)
    rc, report = replay_json(trace)
    assert rc == 0, report.get("violations")


@pytest.mark.parametrize(("fault", "outcome", "reason", "summary"), [
    ("image-missing", "rescheduled", "could not be found.", "nova.exception.ImageNotFound: "),
    ("corrupt-transfer", "rescheduled", "Corrupt image download. Hash was", ""),
    ("corrupt-image", "aborted", "is unacceptable: Image content does not match disk_format",
     "nova.exception.ImageUnacceptable: "),
    ("convert-failure", "aborted", "is unacceptable: Unable to convert image to raw:",
     "nova.exception.ImageUnacceptable: "),
])
def test_image_faults(hw_env: HwEnv, fault: str, outcome: str, reason: str,
                      summary: str) -> None:
    result = hw_env.boot(fault=fault)
    (inst,) = result.instances
    assert inst.outcome == outcome
    assert reason in (inst.reason or "")
    assert_clean(hw_env.workdir, result)
    # The throw-away fault image left no base file and is gone from the image service.
    assert not (hw_env.workdir.base_dir / cache_filename(result.image_id)).exists()
    assert ImageStore(hw_env.workdir).get(result.image_id) is None
    text = _segment(hw_env.trace, inst.uuid)
    assert "ERROR nova.compute.manager" in text and "Instance failed to spawn: " in text
    assert f"Instance failed to spawn: {summary}" in text  # the class nova would name
    assert "Terminating instance" in text
    if outcome == "aborted":
        assert f"Build of instance {inst.uuid} aborted: Image {result.image_id} is unacceptable" \
            in text
    else:
        assert "Failed to build and run instance: " in text
    rescheduled = f"Build of instance {inst.uuid} was re-scheduled: "
    assert (rescheduled in hw_env.trace.read_text()) == (outcome == "rescheduled")
    _trace_is_clean(hw_env.trace)


def test_domain_start_failure_leaves_no_domain(hw_env: HwEnv) -> None:
    result = hw_env.boot(fault="domain-start")
    (inst,) = result.instances
    assert inst.outcome == "rescheduled"
    assert "kernel" in (inst.reason or "")
    assert_clean(hw_env.workdir, result)
    text = _segment(hw_env.trace, inst.uuid)
    assert "Failed to start libvirt guest: libvirt.libvirtError: " in text
    assert text.index("Failed to start libvirt guest") < text.index("Instance failed to spawn")
    _trace_is_clean(hw_env.trace)


def test_libvirt_connection_lost(hw_env: HwEnv) -> None:
    result = hw_env.boot(fault="libvirt-lost")
    (inst,) = result.instances
    assert inst.outcome == "rescheduled"
    assert inst.reason and inst.reason.startswith("Connection to the hypervisor is broken")
    assert_clean(hw_env.workdir, result)
    assert "nova.exception.HypervisorUnavailable" in _segment(hw_env.trace, inst.uuid)
    _trace_is_clean(hw_env.trace)


def test_claim_refused_by_the_host_model(hw_env: HwEnv) -> None:
    # 512 MB reserved + 128 MB asked > 600 MB: nsim.model's resource tracker refuses.
    result = hw_env.boot(host_config=HostConfig(memory_mb=600))
    (inst,) = result.instances
    assert inst.outcome == "refused"
    assert re.match(r"Insufficient compute resources: Free memory -?\d+\.\d\d MB < requested 128 MB",
                    inst.reason or ""), inst.reason
    assert_clean(hw_env.workdir, result)
    assert "Failed to claim: Free memory" in _segment(hw_env.trace, inst.uuid)
    _trace_is_clean(hw_env.trace)


def test_disk_full_on_a_real_small_filesystem(hw_env: HwEnv, first_boot_virt: str) -> None:
    # A fresh host whose image cache is a tmpfs big enough for the download, not the raw image.
    wd = make_workdir("nsim-hw-diskfull-")
    try:
        wd.ensure()
        src = ImageStore(hw_env.workdir)
        meta = src.get(hw_env.image_id)
        ImageStore(wd).add(meta["id"], meta["name"], src.data_path(hw_env.image_id), "qcow2")
        result = boot(wd, BootOptions(image=hw_env.image_id, flavor="m1.nano", fault="disk-full",
                                      virt_type=first_boot_virt))
        (inst,) = result.instances
        assert inst.outcome == "aborted"
        if any("tmpfs" in n for n in result.notes):
            assert "No space left on device" in inst.reason
        else:  # no CAP_SYS_ADMIN: RLIMIT_FSIZE instead
            assert "File too large" in inst.reason
        assert_clean(wd, result)
        assert not os.path.ismount(wd.base_dir)
        assert list(wd.base_dir.iterdir()) == []
        _trace_is_clean(wd.default_trace("journal"))
    finally:
        if os.path.ismount(wd.base_dir):
            subprocess.run(["umount", str(wd.base_dir)], capture_output=True, check=False)
        shutil.rmtree(wd.root, ignore_errors=True)


def test_unknown_image_is_refused_before_anything(hw_env: HwEnv) -> None:
    before = hw_env.trace.read_text() if hw_env.trace.exists() else ""
    res = nsim_cli("hw", "boot", "--workdir", str(hw_env.workdir.root), "--image",
                   "00000000-0000-4000-8000-000000000000", "--flavor", "m1.nano")
    assert res.returncode == 1
    assert "Image 00000000-0000-4000-8000-000000000000 could not be found." in res.stderr
    assert "Traceback" not in res.stderr
    assert (hw_env.trace.read_text() if hw_env.trace.exists() else "") == before


def test_libvirtd_down_then_doctor_fix(hw_env: HwEnv) -> None:
    """Real: libvirtd stopped by the pid in its pid file; the boot says so and changes nothing;
    `nsim hw doctor --fix` starts it again."""
    before = hw_env.trace.read_text()
    state_before = sorted(p.name for p in hw_env.workdir.state_dir.iterdir())
    assert doctor.stop_daemon("libvirtd")
    try:
        with pytest.raises(PrerequisiteError, match="libvirtd is not answering"):
            hw_env.boot()
        res = nsim_cli("hw", "boot", "--workdir", str(hw_env.workdir.root), "--image",
                       hw_env.image_id, "--flavor", "m1.nano")
        assert res.returncode == 3
        assert "nsim hw doctor --fix" in res.stderr and "Traceback" not in res.stderr
        assert hw_env.trace.read_text() == before
        assert sorted(p.name for p in hw_env.workdir.state_dir.iterdir()) == state_before
        res = nsim_cli("hw", "doctor", "--workdir", str(hw_env.workdir.root))
        assert res.returncode == 1 and "[FAIL] libvirtd" in res.stdout
    finally:
        res = nsim_cli("hw", "doctor", "--fix", "--workdir", str(hw_env.workdir.root))
    assert res.returncode == 0, res.stdout + res.stderr
    assert doctor.libvirt_answers()


@pytest.fixture(scope="module")
def first_boot_virt(hw_env: HwEnv) -> str:
    cache = hw_env.workdir.path("run", "virt-type.json")
    if not cache.exists():
        hw_env.boot(wait_for_guest=False)
    return json.loads(cache.read_text())["virt_type"]
