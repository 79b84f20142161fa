"""Real boots through libvirt: a cold-cache boot to the guest's console marker, a second boot
of the same image that is a real cache hit, the trace checked by nsim's parse and replay,
the oslo format, and deletion."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from nsim.hw import guest_image
from nsim.hw.boot import BootResult
from nsim.hw.teardown import delete
from nsim.model.image_cache import cache_filename
from tests.hw.conftest import (
    HwEnv,
    domain_exists,
    domain_state,
    nsim_cli,
    parse_summary,
    replay_json,
)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.fixture(scope="module")
def first_boot(hw_env: HwEnv) -> BootResult:
    return hw_env.boot()


@pytest.fixture(scope="module")
def second_boot(hw_env: HwEnv, first_boot: BootResult) -> tuple[BootResult, list[str], dict]:
    base = hw_env.workdir.base_dir / cache_filename(hw_env.image_id)
    before = len(_lines(hw_env.trace))
    st = base.stat()
    result = hw_env.boot(count=2)
    after = base.stat()
    return result, _lines(hw_env.trace)[before:], {"ino": (st.st_ino, after.st_ino),
                                                   "size": (st.st_size, after.st_size)}


def test_first_boot_reaches_the_guest(hw_env: HwEnv, first_boot: BootResult) -> None:
    (inst,) = first_boot.instances
    assert inst.outcome == "active", inst.reason
    assert inst.guest_ready, inst.console
    assert inst.cache == "miss"
    assert first_boot.downloads == 1
    # The guest read the image's header from /dev/vda: fetch -> convert -> overlay carried it.
    assert f"NSIM-DISK: NSIM-DISK-V1 image={hw_env.image_id}" in "\n".join(inst.console)
    assert domain_state(inst.uuid) == "running"
    assert inst.lifecycle[:1] == ["Started"]
    if inst.vif.startswith("tap"):
        mac = inst.vif.split("(")[1].split(",")[0]
        assert f"NSIM-NIC: eth0 {mac}" in inst.console
        assert inst.lifecycle[:3] == ["Started", "Paused", "Resumed"]
    for phase in ("claim", "image_fetch", "convert", "overlay", "xml", "domain_start", "spawn",
                  "build", "guest_ready"):
        assert inst.phases[phase] >= 0, phase
    print("\nphases of a real cold boot (s):", json.dumps(inst.phases))


def test_first_boot_cache_and_disk_on_disk(hw_env: HwEnv, first_boot: BootResult) -> None:
    (inst,) = first_boot.instances
    wd = hw_env.workdir
    base = wd.base_dir / cache_filename(hw_env.image_id)
    names = sorted(p.name for p in wd.base_dir.iterdir())
    assert names == [base.name], names  # no .part / .converted left
    info = json.loads(subprocess.run(["qemu-img", "info", "--force-share", "--output=json",
                                      str(base)], capture_output=True, text=True,
                                     check=True).stdout)
    assert info["format"] == "raw"
    disk = wd.instances_path / inst.uuid / "disk"
    dinfo = json.loads(subprocess.run(["qemu-img", "info", "--force-share", "--output=json",
                                       str(disk)], capture_output=True, text=True,
                                      check=True).stdout)
    assert dinfo["format"] == "qcow2"
    assert dinfo["full-backing-filename"] == str(base)
    assert dinfo["backing-filename-format"] == "raw"
    assert dinfo["virtual-size"] == 1024 ** 3  # m1.nano's 1 GB root disk
    disk_info = json.loads((wd.instances_path / inst.uuid / "disk.info").read_text())
    assert disk_info == {str(disk): "qcow2"}


def test_second_boot_is_a_cache_hit(hw_env: HwEnv, second_boot: tuple) -> None:
    result, new_lines, stat = second_boot
    assert [i.outcome for i in result.instances] == ["active", "active"]
    assert all(i.guest_ready for i in result.instances), [i.console for i in result.instances]
    assert [i.cache for i in result.instances] == ["hit", "hit"]
    assert result.downloads == 0  # the image service was not asked for the data
    assert stat["ino"][0] == stat["ino"][1] and stat["size"][0] == stat["size"][1]
    text = "\n".join(new_lines)
    assert "qemu-img convert" not in text
    assert ".part" not in text
    assert "fetch_func_sync" not in text
    assert text.count("Running cmd (subprocess): env LC_ALL=C LANG=C qemu-img create -f qcow2") == 2


def test_trace_parses_and_replays_clean(hw_env: HwEnv, second_boot: tuple) -> None:
    summary = parse_summary(hw_env.trace)
    assert ", 0 unknown, 0 bad lines" in summary, summary
    rc, report = replay_json(hw_env.trace)
    assert rc == 0, report.get("violations")
    assert report["violations"] == []


def test_trace_reads_like_nova(hw_env: HwEnv, first_boot: BootResult) -> None:
    uuid = first_boot.instances[0].uuid
    all_lines = _lines(hw_env.trace)
    start = next(ln for ln in all_lines if uuid in ln and "Starting instance..." in ln)
    req = start.split("[None ", 1)[1].split()[0]
    text = "\n".join(ln for ln in all_lines if uuid in ln or req in ln)
    sha1 = cache_filename(hw_env.image_id)
    # nova's check: -t none when the instances path takes O_DIRECT, else -t writeback.
    cache_mode = "writeback" if "does not support direct I/O" in text else "none"
    order = [
        "Starting instance...", "Claim successful on node",
        "Start building networks asynchronously", "Start spawning the instance",
        "Creating image(s)", f'Lock "{sha1}" acquired by "nova.virt.libvirt.imagebackend.Image'
        ".cache.<locals>.fetch_func_sync", f"qemu-img info {hw_env.workdir.base_dir}/{sha1}.part",
        f"{hw_env.image_id} was qcow2, converting to raw", " direct I/O",
        f"qemu-img convert -t {cache_mode} -O raw -f qcow2 {hw_env.workdir.base_dir}/{sha1}.part "
        f"{hw_env.workdir.base_dir}/{sha1}.converted",
        f"backing_file={hw_env.workdir.base_dir}/{sha1},backing_fmt=raw",
        "Ensure instance console log exists", "Start _get_guest_xml", "End _get_guest_xml xml=",
        "VM Started (Lifecycle Event)", "Guest created on hypervisor",
        "Instance spawned successfully.", "seconds to spawn the instance on the hypervisor.",
        "seconds to build instance.",
    ]
    pos = -1
    for needle in order:
        found = text.find(needle, pos + 1)
        assert found > pos, f"{needle!r} missing or out of nova's order"
        pos = found
    assert "<domain type=\"qemu\">" in text or "<domain type=\"kvm\">" in text


def test_oslo_format_trace(hw_env: HwEnv, tmp_path: Path, first_boot: BootResult) -> None:
    trace = tmp_path / "nova-compute.log"
    result = hw_env.boot(fmt="oslo", trace_path=trace, wait_for_guest=False)
    (inst,) = result.instances
    assert inst.outcome == "active", inst.reason
    assert inst.cache == "hit"
    delete(hw_env.workdir, [inst.uuid])
    assert not domain_exists(inst.uuid)
    first = _lines(trace)[0]
    assert first[:4].isdigit() and " DEBUG oslo_concurrency.lockutils [None req-" in first
    assert ", 0 unknown, 0 bad lines" in parse_summary(trace)
    rc, report = replay_json(trace)
    assert rc == 0, report.get("violations")


def test_cli_boot_prints_phases_and_the_trace(hw_env: HwEnv) -> None:
    res = nsim_cli("hw", "boot", "--workdir", str(hw_env.workdir.root), "--image",
                   guest_image.GUEST_IMAGE_NAME, "--flavor", "m1.nano", "--no-wait", "--json")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    out = json.loads(res.stdout)
    (inst,) = out["instances"]
    assert inst["outcome"] == "active" and inst["cache"] == "hit"
    res = nsim_cli("hw", "delete", "--workdir", str(hw_env.workdir.root), inst["uuid"])
    assert res.returncode == 0, res.stderr
    assert not domain_exists(inst["uuid"])


def test_delete_all_tears_everything_down(hw_env: HwEnv, second_boot: tuple,
                                          first_boot: BootResult) -> None:
    uuids = [i.uuid for i in first_boot.instances + second_boot[0].instances]
    results = delete(hw_env.workdir, None)
    assert sorted(r.uuid for r in results) == sorted(uuids)
    for u in uuids:
        assert not domain_exists(u)
        assert not (hw_env.workdir.instances_path / u).exists()
        assert not (hw_env.workdir.instances_path / f"{u}_del").exists()
    assert list(hw_env.workdir.state_dir.glob("*.json")) == []
    # The image cache outlives the instances (the cache manager's job, not delete's).
    assert (hw_env.workdir.base_dir / cache_filename(hw_env.image_id)).exists()
    text = hw_env.trace.read_text()
    assert text.count("Terminating instance") >= 3
    assert "Took " in text and "seconds to destroy the instance on the hypervisor." in text
    rc, report = replay_json(hw_env.trace)
    assert rc == 0, report.get("violations")
