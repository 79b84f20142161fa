"""`--like`: a scenario derived from the real seed boot, and its simulated twin."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from nsim.cli import main
from nsim.compare.pairs import PHASES, compare
from nsim.replay.run import replay
from nsim.sim.engine import simulate
from nsim.sim.like import derive_scenario, detect_release
from nsim.sim.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SEED_LOG = str(ROOT / "sample_logs" / "seed-boot.journal")
UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"


def test_derived_scenario_describes_the_seed_host() -> None:
    s = derive_scenario(SEED_LOG, year=2017)
    host = s.hosts[0]
    assert (host.name, host.release, host.format, host.vif) == ("compute", "pike", "journal", "bridge")
    assert (host.memory_mb, host.disk_gb, host.vcpus) == (7983, 47, 4)
    assert host.reserved_host_memory_mb == 512
    assert host.instances_path == "/opt/stack/data/nova/instances"
    assert [(i.id, i.disk_format, i.size_bytes) for i in s.images] == [
        ("f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7", "qcow2", 13267968)]
    assert [(f.name, f.memory_mb, f.disk_gb, f.vcpus) for f in s.flavors] == [("m1.tiny", 512, 1, 1)]
    assert [(b.uuids, b.name, b.at) for b in s.boots] == [([UUID], "vm1", 0.0)]
    d = s.durations
    assert d.claim.mean == pytest.approx(0.182)          # nova's "held 0.182s"
    assert d.overlay.mean == pytest.approx(0.058)        # CMD qemu-img create returned in 0.058s
    assert d.convert_throughput_mb_s.mean == pytest.approx(13267968 / 2**20 / 1.688, rel=1e-4)
    assert (d.vif_plug.mean, d.domain_start.mean) == (1.0, 3.0)


def test_twin_diffs_with_every_phase_paired_and_small_deltas(tmp_path: Path) -> None:
    twin = tmp_path / "twin.journal"
    simulate(derive_scenario(SEED_LOG, year=2017), twin)
    assert replay([str(twin)]).violations == []
    result = compare(SEED_LOG, str(twin), year=2017)
    assert result.unpaired == []
    (pair,) = result.pairs
    assert (pair.by, pair.a.uuid, pair.b.uuid) == ("uuid", UUID, UUID)
    assert [row.name for row in pair.phases] == list(PHASES)
    for row in pair.phases:
        assert row.a_seconds is not None and row.b_seconds is not None, row.name
        # The real log's stamps are whole seconds: that is the resolution of any delta.
        assert abs(row.delta) <= 0.5, row
    assert (pair.missing, pair.extra, pair.reordered) == ([], [], [])


def test_cli_like_saves_a_scenario_that_simulates_the_same(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out, saved, again = tmp_path / "twin.journal", tmp_path / "twin.toml", tmp_path / "again.journal"
    assert main(["simulate", "--like", SEED_LOG, "--year", "2017", "-o", str(out),
                 "--save-scenario", str(saved)]) == 0
    assert main(["simulate", str(saved), "-o", str(again)]) == 0
    assert out.read_text() == again.read_text()
    assert parse_scenario(tomllib.loads(saved.read_text())).hosts[0].release == "pike"
    capsys.readouterr()
    assert main(["diff", SEED_LOG, str(out), "--year", "2017", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["pairs"]) == 1 and data["unpaired"] == []


def test_release_hints_without_a_package_version(tmp_path: Path) -> None:
    import nsim

    lines = [line for line in Path(SEED_LOG).read_text().splitlines()
             if "nova:package" not in line]
    path = tmp_path / "seed.journal"
    path.write_text("\n".join(lines) + "\n")
    records = list(nsim.parse(str(path), year=2017))
    # claim test lines (<= Stein), "Instance is running" (<= Queens), unquoted released.
    assert detect_release(records) == "queens"


def test_like_without_boots_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.journal"
    empty.write_text(Path(SEED_LOG).read_text().splitlines()[3] + "\n")
    assert main(["simulate", "--like", str(empty), "-o", str(tmp_path / "x")]) == 2
    assert "no boot" in capsys.readouterr().err


def test_hardware_trace_diffs_against_its_simulated_twin(tmp_path: Path) -> None:
    """The recorded `nsim hw` trace (a miss, then a hit) and its twin pair boot for boot."""
    hw_log = str(ROOT / "sample_logs" / "hw-boot.journal")
    twin = tmp_path / "twin.journal"
    simulate(derive_scenario(hw_log, year=2026), twin)
    assert replay([str(twin)]).violations == []
    result = compare(hw_log, str(twin), year=2026)
    assert result.unpaired == [] and len(result.pairs) == 2
    miss, hit = result.pairs
    fetch = {row.name: row for row in miss.phases}["image_fetch"]
    assert fetch.a_seconds is not None and fetch.b_seconds is not None  # both download
    fetch = {row.name: row for row in hit.phases}["image_fetch"]
    assert (fetch.a_seconds, fetch.b_seconds) == (None, None)  # both cache hits
    for pair in result.pairs:
        assert pair.by == "uuid"
        for row in pair.phases:
            if row.a_seconds is not None:
                assert row.b_seconds is not None, row.name
                assert abs(row.delta) <= 0.25, row


@pytest.mark.parametrize("kind", ["missing", "directory", "not a log"])
def test_like_reports_an_unreadable_log_as_the_parser_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    from tests.conftest import run_cli

    path = tmp_path / "real.journal"
    if kind == "directory":
        path.mkdir()
    elif kind == "not a log":
        path.write_text("hello\nworld\n")
    expected = {"missing": "no such file", "directory": "is a directory",
                "not a log": "not a nova-compute log"}[kind]
    code, _, err = run_cli(["simulate", "--like", str(path), "-o", str(tmp_path / "t")], capsys)
    assert code == 2
    assert f"nsim: {path}: {expected}" in err
    assert "no boot" not in err
    assert not (tmp_path / "t").exists()
    from nsim.compare.boots import UnreadableLog

    with pytest.raises(UnreadableLog, match=expected):
        derive_scenario(str(path))


def test_like_shows_bad_lines_with_file_and_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    path = tmp_path / "real.journal"
    path.write_text("garbage at the top\n" + Path(SEED_LOG).read_text())
    code, _, err = run_cli(["simulate", "--like", str(path), "--year", "2017",
                            "-o", str(tmp_path / "t.journal")], capsys)
    assert code == 0
    assert f"nsim: {path}:1: " in err
    assert "1 boots: 1 active" in err


def test_like_year_is_checked_like_the_other_commands(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    code, _, err = run_cli(["simulate", "--like", SEED_LOG, "--year", "99999",
                            "-o", str(tmp_path / "t.journal")], capsys)
    assert code == 2 and "is not a year (1970-9999)" in err
    assert not (tmp_path / "t.journal").exists()


def test_like_keeps_the_first_attempt_of_a_rescheduled_boot(tmp_path: Path) -> None:
    """A trace with re-scheduled boots (spawn fault, refused claim) on two Stein hosts: each
    instance is requested once, on the host and at the time of its first attempt."""
    real = tmp_path / "real.journal"
    sim = simulate(parse_scenario({
        "seed": 5,
        "hosts": [{"name": "cmp", "count": 2, "release": "stein", "audit_interval": 3.0}],
        "images": [{"id": "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7", "name": "cirros"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": 3, "interval": 0.5}],
        "faults": [{"kind": "spawn", "boots": [1]},
                   {"kind": "insufficient_resources", "boots": [2]}]}), real)
    assert sim.rescheduled == 2
    from nsim.compare.boots import load

    attempts = load(str(real))
    assert len(attempts) == 5 and len({b.uuid for b in attempts}) == 3
    s = derive_scenario(str(real))
    firsts = {}
    for boot in attempts:
        firsts.setdefault(boot.uuid, boot)
    assert sorted(u for b in s.boots for u in b.uuids) == sorted(firsts)
    for req in s.boots:
        (uuid,) = req.uuids
        assert req.host == firsts[uuid].host
    assert sorted(h.name for h in s.hosts) == ["cmp-1", "cmp-2"]
    twin = tmp_path / "twin.journal"
    result = simulate(s, twin)
    assert (result.boots, result.active) == (3, 3)
    assert replay([str(twin)]).violations == []


@pytest.mark.parametrize("release", ["pike", "stein", "train", "ussuri", "wallaby", "xena", "zed",
                                     "2025.1", "2026.2"])
@pytest.mark.parametrize("vif", ["bridge", "ovs"])
def test_like_reads_each_release_s_guest_xml_and_preamble(tmp_path: Path, release: str,
                                                          vif: str) -> None:
    """A simulated trace of the seed host, as each release writes its guest XML, imitated: the
    release (from <nova:package>), image (ImageMeta), flavor (the XML) and VIF type read back."""
    text = (ROOT / "scenarios" / "seed-host.toml").read_text()
    text = text.replace('release = "pike"', f'release = "{release}"').replace(
        'vif = "bridge"', f'vif = "{vif}"')
    trace = tmp_path / "trace.journal"
    simulate(parse_scenario(tomllib.loads(text)), trace)
    assert replay([str(trace)]).violations == []
    s = derive_scenario(str(trace), year=2017)
    assert (s.hosts[0].release, s.hosts[0].vif) == (release, vif)
    assert [(i.id, i.disk_format, i.size_bytes, i.name) for i in s.images] == [
        ("f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7", "qcow2", 13267968, "cirros-0.3.5-x86_64-disk")]
    assert [(f.memory_mb, f.disk_gb, f.vcpus) for f in s.flavors] == [(512, 1, 1)]


def test_like_times_the_deletes_nova_timed(tmp_path: Path) -> None:
    """"Took N seconds to destroy …" and "… to deallocate network …" give the twin's teardown
    durations (they were nsim's defaults)."""
    real = tmp_path / "real.journal"
    simulate(parse_scenario({
        "seed": 3,
        "hosts": [{"name": "cmp", "release": "zed"}],
        "images": [{"id": "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7", "name": "cirros"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": 3, "interval": 0.5,
                   "lifetime": 5.0}],
        "durations": {"destroy": {"mean": 2.5}, "deallocate": {"mean": 1.25}}}), real)
    notes: list[str] = []
    s = derive_scenario(str(real), notes=notes)
    assert s.durations.destroy.mean == pytest.approx(2.5, abs=0.01)
    assert s.durations.deallocate.mean == pytest.approx(1.25, abs=0.01)
    assert not any("destroy" in n or "deallocate" in n for n in notes)
