"""Simulated traces: nova's wording and order, model-consistent (parse: 0 unknown, 0 bad;
replay: 0 violations) over random scenarios, deterministic per seed, concurrent boots."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nsim
from nsim.events.release import release_index
from nsim.model.image_cache import cache_filename
from nsim.replay.run import replay
from nsim.sim.engine import simulate
from nsim.sim.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SEED_LOG = ROOT / "sample_logs" / "seed-boot.journal"
SEED_HOST = ROOT / "scenarios" / "seed-host.toml"
QCOW2 = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
RAW = "0d1f2e3c-4b5a-4968-8776-655443322110"
RELEASES = ("pike", "stein", "train", "zed", "2025.2")


def scenario(release: str = "zed", fmt: str = "journal", hosts: int = 1, boots: int = 3,
             interval: float = 0.3, faults: list[dict[str, object]] | None = None,
             **host: object) -> Scenario:
    return parse_scenario({
        "seed": 11,
        "hosts": [{"name": "cmp", "count": hosts, "release": release, "format": fmt,
                   "audit_interval": 4.0, **host}],
        "images": [{"id": QCOW2, "name": "cirros", "disk_format": "qcow2"},
                   {"id": RAW, "name": "plain", "disk_format": "raw"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1},
                    {"name": "m1.nano", "memory_mb": 256, "disk_gb": 0, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": boots, "interval": interval,
                   "lifetime": 6.0},
                  {"at": 0.5, "flavor": "m1.nano", "image": "plain", "count": 1}],
        "deletes": [{"at": 30.0, "count": 1}],
        "faults": faults or [],
    })


def check(paths: list[str]) -> None:
    """The trace parses completely and the host model finds nothing inconsistent."""
    result = replay(paths)
    assert result.counts.records > 0
    assert (result.counts.unknown, result.counts.bad_lines) == (0, 0)
    assert result.violations == [], [str(v) for v in result.violations]


def kinds(path: Path | str) -> list[str | None]:
    return [rec.kind for rec in nsim.parse(str(path), year=2017)]


def test_seed_host_trace_follows_the_seed_boot_line_for_line(tmp_path: Path) -> None:
    out = tmp_path / "sim.journal"
    result = simulate(SEED_HOST, out)
    assert result.lines == len(SEED_LOG.read_text().splitlines())
    assert kinds(out) == kinds(SEED_LOG)
    check([str(out)])


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("fmt", ["journal", "oslo"])
def test_faults_and_concurrency_stay_consistent(tmp_path: Path, release: str, fmt: str) -> None:
    faults = [{"kind": k, "boots": [n]} for n, k in
              enumerate(("image_download", "spawn", "network"), start=1)]
    if release_index(release) >= release_index("train"):
        faults.append({"kind": "insufficient_resources", "boots": [4]})
    result = simulate(scenario(release, fmt, hosts=2, boots=4, faults=faults), tmp_path / "out")
    assert result.rescheduled >= 3
    check(result.outputs)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(release=st.sampled_from(RELEASES), fmt=st.sampled_from(["journal", "oslo"]),
       hosts=st.integers(1, 2), boots=st.integers(1, 5),
       interval=st.sampled_from([0.0, 0.2, 1.5]), seed=st.integers(0, 10_000),
       faults=st.lists(st.tuples(st.sampled_from(["image_download", "spawn", "network",
                                                  "insufficient_resources"]),
                                 st.floats(0.0, 0.5)), max_size=3),
       limits=st.booleans(), max_attempts=st.integers(1, 3))
def test_random_scenarios_parse_and_replay_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                                    release: str, fmt: str, hosts: int, boots: int,
                                                    interval: float, seed: int,
                                                    faults: list[tuple[str, float]], limits: bool,
                                                    max_attempts: int) -> None:
    specs = [{"kind": k, "probability": p} for k, p in faults]
    s = scenario(release, fmt, hosts=hosts, boots=boots, interval=interval, faults=specs,
                 scheduler_limits=limits)
    s = s.model_copy(update={"seed": seed, "max_attempts": max_attempts})
    result = simulate(s, tmp_path_factory.mktemp("sim") / "out")
    check(result.outputs)


def test_same_seed_same_trace(tmp_path: Path) -> None:
    s = scenario("2025.2", hosts=2, boots=5, faults=[{"kind": "spawn", "probability": 0.3}])
    simulate(s, tmp_path / "a")
    simulate(s, tmp_path / "b")
    simulate(s, tmp_path / "c", seed=12)
    a = (tmp_path / "a").read_text()
    assert a == (tmp_path / "b").read_text()
    assert a != (tmp_path / "c").read_text()


def test_second_boot_of_an_image_waits_for_the_first_download(tmp_path: Path) -> None:
    out = tmp_path / "t.journal"
    simulate(scenario("zed", boots=2, interval=0.0), out)
    records = list(nsim.parse(str(out)))
    cirros = cache_filename(QCOW2)
    fetches = [r.event for r in records if r.kind == "lock_acquired"
               and r.event.name == cirros and r.event.owner.endswith("fetch_func_sync")]
    downloads = [r for r in records if r.kind == "subprocess_running"
                 and r.event.qemu_img.operation == "info" and f"{cirros}.part" in r.event.command]
    assert [f.waited > 0 for f in fetches] == [False, True]
    assert len(downloads) == 1
    cache = replay([str(out)]).hosts["cmp"].cache
    assert (cache.misses, cache.hits) == (2, 1)  # cirros and the raw image missed once each


def test_network_runs_beside_image_creation_and_domain_resumes_after_plug(tmp_path: Path) -> None:
    out = tmp_path / "t.journal"
    simulate(scenario("train", boots=1), out)
    seq = [r.kind if r.kind != "lifecycle_event" else r.event.transition
           for r in nsim.parse(str(out)) if r.instance or r.kind == "lock_acquired"]
    first = seq.index("network_allocating")
    assert first < seq.index("spawn_start") < seq.index("creating_image")
    assert seq.index("vif_plugged") < seq.index("Started") < seq.index("Paused")
    assert seq.index("Paused") < seq.index("external_event") < seq.index("Resumed")
    assert seq.index("Resumed") < seq.index("spawned")


@pytest.mark.parametrize(("release", "present", "absent"), [
    ("pike", {"claim_attempt", "claim_total", "overhead"}, {"lock_acquiring", "claim_failed"}),
    ("train", {"claim_successful"}, {"claim_attempt", "overhead", "lock_acquiring"}),
    ("zed", {"lock_acquiring", "claim_successful"}, {"claim_total"}),
])
def test_wording_follows_the_release(tmp_path: Path, release: str, present: set[str],
                                     absent: set[str]) -> None:
    out = tmp_path / "t.journal"
    simulate(scenario(release, boots=1), out)
    seen = {rec.kind for rec in nsim.parse(str(out))}
    assert present <= seen
    assert not absent & seen
    text = out.read_text()
    assert ("Creating image(s)" in text) == (release == "zed")
    assert ('"released"' in text) == (release == "zed")
    assert (" --force-share" in text) == (release != "pike")


def test_several_oslo_hosts_write_one_file_each(tmp_path: Path) -> None:
    result = simulate(scenario("2025.2", "oslo", hosts=3, boots=3), tmp_path / "dir")
    assert sorted(Path(p).name for p in result.outputs) == ["cmp-1.log", "cmp-2.log", "cmp-3.log"]
    check(result.outputs)
    assert "stats={'failed_builds'" in (tmp_path / "dir" / "cmp-1.log").read_text()


def test_cli_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nsim.cli import main

    out = tmp_path / "t.journal"
    assert main(["simulate", str(SEED_HOST), "-o", str(out), "--seed", "3"]) == 0
    assert "1 boots: 1 active" in capsys.readouterr().err
    assert out.stat().st_size > 10_000
    bad = tmp_path / "bad.toml"
    bad.write_text('[[hosts]]\nname = "x"\nrelease = "kilo"\n')
    assert main(["simulate", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: " in err and "hosts.0.release" in err
    assert main(["simulate", "-o", str(out)]) == 2
