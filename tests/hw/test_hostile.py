"""The work directory is hostile (issue 16 part 1) and state records are forged (part 3): each
attack is planted for real, nsim runs as root with real qemu-img and libvirt, and the test
checks the refusal and that the attack's target is untouched (content, owner, mode)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from nsim.hw import guest_image
from nsim.hw.boot import BootOptions, BootResult, boot
from nsim.hw.errors import UsageError
from nsim.hw.image_service import ImageStore
from nsim.hw.safefs import UnsafePathError
from nsim.hw.teardown import delete
from nsim.hw.workdir import Workdir
from nsim.model.image_cache import cache_filename
from tests.hw.conftest import HwEnv, domain_exists, make_workdir, nsim_cli


@pytest.fixture
def victim() -> Iterator[Path]:
    """A root-only file outside the work directory that an attack aims at."""
    path = Path(f"/var/tmp/nsim-victim-{uuidlib.uuid4()}")
    path.write_bytes(b"precious\n")
    path.chmod(0o600)
    yield path
    path.unlink(missing_ok=True)


def _fingerprint(path: Path) -> tuple[bytes, int, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_uid, st.st_gid, st.st_mode


@pytest.fixture
def wd(hw_env: HwEnv) -> Iterator[Workdir]:
    """A fresh work directory with hw_env's guest and image (cold image cache)."""
    w = make_workdir("nsim-hw-hostile-")
    w.ensure()
    for name in ("manifest.json", "vmlinuz", "initramfs.img"):
        shutil.copyfile(hw_env.workdir.guest_dir / name, w.guest_dir / name)
    src = ImageStore(hw_env.workdir)
    meta = src.get(hw_env.image_id)
    ImageStore(w).add(meta["id"], meta["name"], src.data_path(hw_env.image_id), "qcow2",
                      properties={"os_command_line": guest_image.KERNEL_CMDLINE})
    for name in ("virt-type.json",):
        if (hw_env.workdir.run_dir / name).exists():
            shutil.copyfile(hw_env.workdir.run_dir / name, w.run_dir / name)
    yield w
    delete(w, None)
    shutil.rmtree(w.root, ignore_errors=True)


def _boot(w: Workdir, image_id: str) -> BootResult:
    return boot(w, BootOptions(image=image_id, flavor="m1.nano", wait_for_guest=False,
                               network="none"))


@pytest.mark.parametrize("where", ["part", "converted", "base", "directio", "fetch-lock",
                                   "claim-lock", "vmlinuz", "image-file"])
def test_planted_symlink_is_refused(hw_env: HwEnv, wd: Workdir, victim: Path,
                                    where: str) -> None:
    sha1 = cache_filename(hw_env.image_id)
    link = {
        "part": wd.base_dir / f"{sha1}.part",
        "converted": wd.base_dir / f"{sha1}.converted",
        "base": wd.base_dir / sha1,
        "directio": wd.instances_path / ".directio.test",
        "fetch-lock": wd.locks_dir / f"nova-{sha1}",
        "claim-lock": wd.locks_dir / "nova-compute_resources",
        "vmlinuz": wd.guest_dir / "vmlinuz",
        "image-file": wd.images_dir / hw_env.image_id / "file",
    }[where]
    link.unlink(missing_ok=True)
    link.symlink_to(victim)
    before = _fingerprint(victim)
    if where == "vmlinuz":  # refused when the guest is loaded, before any claim
        with pytest.raises(UnsafePathError, match=f"refusing {link}"):
            _boot(wd, hw_env.image_id)
        assert _fingerprint(victim) == before and link.is_symlink()
        assert not list(wd.state_dir.glob("*.json"))
        return
    result = _boot(wd, hw_env.image_id)
    (inst,) = result.instances
    assert inst.outcome != "active"
    reason = inst.reason or ""
    if where == "image-file":
        assert "500" in reason  # the image service refused to serve it
    else:
        assert "refusing" in reason and str(link) in reason, reason
    assert _fingerprint(victim) == before
    assert link.is_symlink()  # left for the admin to see, not followed
    assert not (wd.instances_path / inst.uuid).exists()
    assert not domain_exists(inst.uuid)


def test_planted_regular_base_is_not_a_cache_hit(hw_env: HwEnv, wd: Workdir) -> None:
    base = wd.base_dir / cache_filename(hw_env.image_id)
    base.write_bytes(b"planted, not the image\n" * 1000)
    result = _boot(wd, hw_env.image_id)
    (inst,) = result.instances
    assert inst.outcome == "active", inst.reason
    assert inst.cache == "miss"
    assert any("did not match nsim's record" in n for n in inst.notes)
    assert b"planted" not in base.read_bytes()[:64]
    # Now it is nsim's: the next boot is a verified hit.
    (again,) = _boot(wd, hw_env.image_id).instances
    assert again.outcome == "active" and again.cache == "hit"


def test_trace_symlink_is_refused(hw_env: HwEnv, wd: Workdir, victim: Path) -> None:
    trace = wd.default_trace("journal")
    trace.symlink_to(victim)
    before = _fingerprint(victim)
    res = nsim_cli("hw", "boot", "--workdir", str(wd.root), "--image", hw_env.image_id,
                   "--flavor", "m1.nano", "--no-wait", "--network", "none")
    assert res.returncode in (1, 2) and "Traceback" not in res.stderr
    assert f"{trace} resolves outside the work directory" in res.stderr
    assert _fingerprint(victim) == before


@pytest.mark.parametrize("how", ["other-owner", "world-writable", "group-writable",
                                 "parent-writable", "inner-writable"])
def test_untrusted_workdir_is_refused(tmp_path: Path, how: str) -> None:
    parent = Path(f"/var/tmp/nsim-untrusted-{uuidlib.uuid4()}")
    parent.mkdir(mode=0o755)
    root = parent / "wd"
    root.mkdir(mode=0o755)
    try:
        offender = root
        if how == "other-owner":
            os.chown(root, 65534, 65534)
        elif how == "world-writable":
            root.chmod(0o777)
        elif how == "group-writable":
            root.chmod(0o775)
        elif how == "parent-writable":
            parent.chmod(0o777)  # not sticky: others could swap wd
            offender = parent
        else:
            (root / "instances").mkdir(mode=0o755)
            (root / "instances").chmod(0o757)
            offender = root / "instances"
        mode_before = offender.stat().st_mode
        res = nsim_cli("hw", "boot", "--workdir", str(root), "--image", "nsim-tiny", "--flavor",
                       "m1.nano")
        assert res.returncode == 2, res.stderr
        assert f"untrusted work directory {root}" in res.stderr and str(offender) in res.stderr
        assert "Traceback" not in res.stderr
        assert offender.stat().st_mode == mode_before
        assert not (root / "state").exists()
        with pytest.raises(UsageError):
            delete(Workdir(root), None)
        # --trust-workdir goes past the check (and then finds no guest: exit 3, not 2).
        res = nsim_cli("hw", "prepare", "--help")
        assert "--trust-workdir" in res.stdout
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_private_workdir_is_not_widened_and_qemu_reach_is_checked(hw_env: HwEnv) -> None:
    parent = Path(f"/var/tmp/nsim-private-{uuidlib.uuid4()}")
    parent.mkdir(mode=0o700)
    parent.chmod(0o700)
    try:
        root = parent / "wd"
        res = nsim_cli("hw", "boot", "--workdir", str(root), "--image", hw_env.image_id,
                       "--flavor", "m1.nano", "--no-wait")
        assert res.returncode == 3, res.stderr
        assert f"cannot reach the disks under {root}: {parent} (mode 0700" in res.stderr
        assert "Traceback" not in res.stderr
        assert oct(parent.stat().st_mode & 0o777) == oct(0o700)
        assert not list((root / "state").glob("*.json"))  # refused before any claim
        res = nsim_cli("hw", "doctor", "--workdir", str(root))
        assert "[FAIL] workdir" in res.stdout and str(parent) in res.stdout
        assert oct(parent.stat().st_mode & 0o777) == oct(0o700)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_guest_image_id_is_not_predictable(hw_env: HwEnv) -> None:
    image_id = guest_image.load(hw_env.workdir).image_id
    assert uuidlib.UUID(image_id).version == 4
    assert image_id != str(uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                         "https://nsim.invalid/hw/nsim-tiny/1"))


def _define_foreign_domain(uuid: str, tmp: Path) -> None:
    xml = tmp / "foreign.xml"
    xml.write_text(f"<domain type='qemu'><name>foreign-{uuid[:8]}</name><uuid>{uuid}</uuid>"
                   "<memory>65536</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type>"
                   "</os></domain>")
    subprocess.run(["virsh", "-c", "qemu:///system", "define", str(xml)], check=True,
                   capture_output=True, timeout=60)


def test_forged_state_records_are_reported_and_skipped(hw_env: HwEnv, wd: Workdir,
                                                       victim: Path, tmp_path: Path) -> None:
    (real,) = _boot(wd, hw_env.image_id).instances
    assert real.outcome == "active", real.reason
    foreign = str(uuidlib.uuid4())
    _define_foreign_domain(foreign, tmp_path)
    try:
        good = (wd.state_dir / f"{real.uuid}.json").read_text()
        forged = {
            foreign: good.replace(real.uuid, foreign),  # names a domain nsim never defined
            str(uuidlib.uuid4()): "{}",
            str(uuidlib.uuid4()): "not json",
        }
        u_nl, u_trace, u_noflavor = (str(uuidlib.uuid4()) for _ in range(3))
        forged[u_nl] = good.replace(real.uuid, u_nl).replace(
            '"node": "', '"node": "x\\nINJECTED ', 1)
        forged[u_trace] = good.replace(real.uuid, u_trace).replace(
            '"trace": "nova-compute.journal"', f'"trace": "../../..{victim}"')
        import json
        data = json.loads(good.replace(real.uuid, u_noflavor))
        del data["flavor"]
        forged[u_noflavor] = json.dumps(data)
        for u, text in forged.items():
            (wd.state_dir / f"{u}.json").write_text(text)
        before = _fingerprint(victim)
        # A later boot is not broken by them (they are skipped, and said so).
        later = _boot(wd, hw_env.image_id)
        assert later.instances[0].outcome == "active", later.instances[0].reason
        assert sum("skipped" in n for n in later.notes) == len(forged) - 1  # foreign: valid
        res = nsim_cli("hw", "delete", "--all", "--workdir", str(wd.root))
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        for u in forged:
            lines = [ln for ln in res.stderr.splitlines() if f"{u}.json" in ln]
            assert len(lines) == 1, (u, res.stderr)
        assert "nsim did not define" in res.stderr
        assert domain_exists(foreign)  # left alone
        assert not domain_exists(real.uuid) and not domain_exists(later.instances[0].uuid)
        assert _fingerprint(victim) == before
        assert "INJECTED" not in wd.default_trace("journal").read_text()
    finally:
        subprocess.run(["virsh", "-c", "qemu:///system", "undefine", foreign],
                       capture_output=True, timeout=60, check=False)
