"""Simulated traces: nova's wording and order, model-consistent (parse: 0 unknown, 0 bad;
replay: 0 violations) over random scenarios, deterministic per seed, concurrent boots."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nsim
from nsim.model.image_cache import cache_filename
from nsim.nova.releases import RELEASES as ALL_RELEASES
from nsim.nova.releases import release_index
from nsim.replay.run import replay
from nsim.sim.engine import simulate
from nsim.sim.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SEED_LOG = ROOT / "sample_logs" / "seed-boot.journal"
SEED_HOST = ROOT / "scenarios" / "seed-host.toml"
QCOW2 = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
RAW = "0d1f2e3c-4b5a-4968-8776-655443322110"
RELEASES = ("pike", "queens", "stein", "train", "zed", "2025.2")


def scenario(release: str = "zed", fmt: str = "journal", hosts: int = 1, boots: int = 3,
             interval: float = 0.3, faults: list[dict[str, object]] | None = None,
             name: str = "cmp", uuids: list[str] | None = None, **host: object) -> Scenario:
    return parse_scenario({
        "seed": 11,
        "hosts": [{"name": name, "count": hosts, "release": release, "format": fmt,
                   "audit_interval": 4.0, **host}],
        "images": [{"id": QCOW2, "name": "cirros", "disk_format": "qcow2"},
                   {"id": RAW, "name": "plain", "disk_format": "raw"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1},
                    {"name": "m1.nano", "memory_mb": 256, "disk_gb": 0, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": boots, "interval": interval,
                   "lifetime": 6.0, "uuids": (uuids or [])[:boots]},
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


@pytest.mark.parametrize("release", ALL_RELEASES)
@pytest.mark.parametrize("fmt", ["journal", "oslo"])
def test_faults_and_concurrency_stay_consistent(tmp_path: Path, release: str, fmt: str) -> None:
    faults = [{"kind": k, "boots": [n]} for n, k in
              enumerate(("image_download", "spawn", "network"), start=1)]
    if release_index(release) >= release_index("train"):
        faults.append({"kind": "insufficient_resources", "boots": [4]})
    result = simulate(scenario(release, fmt, hosts=2, boots=4, faults=faults), tmp_path / "out")
    assert result.rescheduled >= 3
    check(result.outputs)


# Explicit instance uuids a scenario may give (lower-case canonical).
GIVEN_UUIDS = ["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
               "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", "3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a"]


def check_resource_views(paths: list[str], memory_mb: int) -> None:
    """The audit lines read back as the sim wrote them: the host's total, free <= total."""
    records = [rec for path in paths for rec in nsim.parse(path)]
    views = [r.event for r in records if r.kind == "final_resource_view"]
    assert views and all(v.phys_ram_mb == memory_mb for v in views)
    free = [r.event for r in records if r.kind == "hypervisor_view"]
    assert free and all(0 <= f.free_ram_mb <= memory_mb for f in free)


@settings(max_examples=16, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(release=st.sampled_from(ALL_RELEASES), fmt=st.sampled_from(["journal", "oslo"]),
       hosts=st.integers(1, 2), boots=st.integers(1, 5),
       interval=st.sampled_from([0.0, 0.2, 1.5]), seed=st.integers(0, 10_000),
       faults=st.lists(st.tuples(st.sampled_from(["image_download", "spawn", "network",
                                                  "insufficient_resources"]),
                                 st.floats(0.0, 0.5)), max_size=3),
       limits=st.booleans(), max_attempts=st.integers(1, 3),
       dotted=st.booleans(), memory_mb=st.sampled_from([7983, 1_000_000, 2_097_152]),
       given_uuids=st.booleans())
def test_random_scenarios_parse_and_replay_cleanly(tmp_path_factory: pytest.TempPathFactory,
                                                    release: str, fmt: str, hosts: int, boots: int,
                                                    interval: float, seed: int,
                                                    faults: list[tuple[str, float]], limits: bool,
                                                    max_attempts: int, dotted: bool,
                                                    memory_mb: int, given_uuids: bool) -> None:
    specs = [{"kind": k, "probability": p} for k, p in faults]
    # journald carries the host name, dots and all; oslo.log hosts are named by their file.
    name = "cmp.example.org" if dotted and fmt == "journal" else "cmp"
    s = scenario(release, fmt, hosts=hosts, boots=boots, interval=interval, faults=specs,
                 scheduler_limits=limits, name=name, memory_mb=memory_mb,
                 uuids=GIVEN_UUIDS if given_uuids else None)
    s = s.model_copy(update={"seed": seed, "max_attempts": max_attempts})
    result = simulate(s, tmp_path_factory.mktemp("sim") / "out")
    check(result.outputs)
    check_resource_views(result.outputs, memory_mb)


@pytest.mark.parametrize("release", ["pike", "stein", "train", "2025.2"])
def test_dotted_host_big_totals_and_given_uuids_replay_cleanly(tmp_path: Path,
                                                                release: str) -> None:
    """Each case the property test draws, at least once, with faults and re-scheduling."""
    faults = [{"kind": "spawn", "boots": [1]}, {"kind": "network", "boots": [2]}]
    s = scenario(release, "journal", hosts=2, boots=4, faults=faults, name="cmp.example.org",
                 memory_mb=1_048_576, uuids=GIVEN_UUIDS)
    result = simulate(s, tmp_path / "t.journal")
    assert result.rescheduled >= 2
    check(result.outputs)
    check_resource_views(result.outputs, 1_048_576)
    replayed = replay(result.outputs)
    assert set(replayed.hosts) == {"cmp.example.org-1", "cmp.example.org-2"}
    assert set(GIVEN_UUIDS) <= {u for h in replayed.hosts.values() for u in h.instances}


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
    bad.write_text('[[hosts]]\nname = "x"\nrelease = "diablo"\n')
    assert main(["simulate", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: " in err and "hosts.0.release" in err
    assert main(["simulate", "-o", str(out)]) == 2


def test_stdout_is_refused_when_the_trace_is_a_directory(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from nsim.sim.scenario import dump_scenario
    from tests.conftest import run_cli

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "two.toml"
    path.write_text(dump_scenario(scenario("zed", "oslo", hosts=2, boots=1)))
    code, out, err = run_cli(["simulate", str(path), "-o", "-"], capsys)
    assert code == 2 and out == ""
    assert "-o -" in err and "DIRECTORY" in err
    assert not (tmp_path / "-").exists()
    with pytest.raises(ValueError, match="not stdout"):
        simulate(scenario("zed", "oslo", hosts=2, boots=1), "-")
    assert not (tmp_path / "-").exists()
    # One oslo host (or journald hosts) still go to stdout.
    path.write_text(dump_scenario(scenario("zed", "oslo", hosts=1, boots=1)))
    code, out, err = run_cli(["simulate", str(path), "-o", "-"], capsys)
    assert code == 0 and "Instance spawned successfully." in out


def _stamps(path: Path, kind: str, test: Callable[[Any], bool] = lambda e: True
            ) -> dict[str | None, datetime | None]:
    return {r.instance: r.timestamp for r in nsim.parse(str(path))
            if r.kind == kind and test(r.event)}


@pytest.mark.parametrize("destroy", [0.8, 40.0])
def test_stopped_comes_15_s_after_the_destroy(tmp_path: Path, destroy: float) -> None:
    """nova delays libvirt's STOPPED by 15 s from the domain's stop, not from the delete's end
    (with a 40 s destroy, STOPPED comes in the middle of the delete)."""
    data = scenario("2025.2", boots=3).model_dump()
    data["durations"]["destroy"] = destroy
    s = parse_scenario(data)
    out = tmp_path / "t.journal"
    result = simulate(s, out)
    assert result.deleted == 4  # three by their lifetime, the nano by the delete request
    destroyed = _stamps(out, "destroyed")
    stopped = _stamps(out, "lifecycle_event", lambda e: e.transition == "Stopped")
    assert len(stopped) == 4 and set(stopped) == set(destroyed)
    for uuid, when in stopped.items():
        assert when - destroyed[uuid] == timedelta(seconds=15)
    check([str(out)])


def test_hypervisor_view_counts_free_vcpus_like_free_ram(tmp_path: Path) -> None:
    out = tmp_path / "t.journal"
    simulate(scenario("2025.2", boots=2, vcpus=8), out)
    records = [r for r in nsim.parse(str(out)) if r.kind in ("hypervisor_view",
                                                              "final_resource_view")]
    checked = 0
    for view, final in itertools.pairwise(records):
        if (view.kind, final.kind) != ("hypervisor_view", "final_resource_view"):
            continue
        hv, fv = view.event, final.event
        if hv.free_ram_mb == fv.phys_ram_mb - fv.used_ram_mb:  # nothing claimed in between
            assert hv.free_vcpus == fv.total_vcpus - fv.used_vcpus
            checked += fv.used_vcpus > 0
    assert checked >= 1


@pytest.mark.parametrize(("release", "create", "resize"), [
    ("ocata", "qemu-img create -f qcow2 -o backing_file={base} {disk}", True),
    ("pike", "qemu-img create -f qcow2 -o backing_file={base} {disk}", True),
    ("queens", "qemu-img create -f qcow2 -o backing_file={base},size=1073741824 {disk}", False),
    ("rocky", "qemu-img create -f qcow2 -o backing_file={base},size=1073741824 {disk}", False),
    ("stein", "qemu-img create -f qcow2 -o backing_file={base},size=1073741824 {disk}", False),
    ("train", "env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file={base},"
              "backing_fmt=raw {disk} 1073741824", False),
    ("2025.2", "env LC_ALL=C LANG=C qemu-img create -f qcow2 -o backing_file={base},"
               "backing_fmt=raw {disk} 1073741824", False),
])
def test_overlay_is_created_as_the_release_does(tmp_path: Path, release: str, create: str,
                                                resize: bool) -> None:
    """docs/nova.md §4: create then resize through Pike (the seed), `,size=` from Queens,
    `backing_fmt=raw` with a positional size from Train. A flavor without a root disk size
    gives no size at all."""
    out = tmp_path / "t.journal"
    simulate(scenario(release, boots=1), out)
    records = list(nsim.parse(str(out)))
    tiny, nano = [r.instance for r in records if r.kind == "instance_starting"]
    # m1.tiny (1 GB root disk) boots cirros; m1.nano (no root disk size) the raw image.
    commands = [r.event.command for r in records if r.kind == "subprocess_running"
                and r.event.qemu_img is not None
                and r.event.qemu_img.operation in ("create", "resize")]
    base = f"/var/lib/nova/instances/_base/{cache_filename(QCOW2)}"
    disk = f"/var/lib/nova/instances/{tiny}/disk"
    expected = [create.format(base=base, disk=disk)]
    if resize:
        expected.append(f"qemu-img resize {disk} 1073741824")
    assert [c for c in commands if f"/{tiny}/" in c] == expected
    (nano_cmd,) = [c for c in commands if f"/{nano}/" in c]  # no size: the backing file's
    assert nano_cmd.endswith(f"/{nano}/disk") and "size" not in nano_cmd
    check([str(out)])


def _audit_against_claims(path: str) -> tuple[int, int]:
    """Every audit's used RAM against the reserved RAM plus the instances claimed and not yet
    given back (an aborted claim, or the update_usage of a delete); returns (audits checked,
    audits inside a delete's window between its destroy and its update_usage)."""
    records = list(nsim.parse(path, year=2017))
    instance_of = {r.request_id: r.instance for r in records if r.instance and r.request_id}
    memory: dict[str, float] = {}
    live: dict[str, float] = {}
    deleting: set[str] = set()
    audits = windows = 0
    for r in records:
        e = r.event
        if r.kind == "claim_attempt":
            memory[r.instance] = e.memory_mb
        elif r.kind == "claim_successful":
            live[r.instance] = memory[r.instance]
        elif r.kind == "took_seconds" and e.step == "destroy" and r.instance in live:
            deleting.add(r.instance)
        elif r.kind == "lock_acquired" and e.name == "compute_resources":
            uuid = instance_of.get(r.request_id)
            if e.owner.endswith(("update_usage", "abort_instance_claim")) and uuid in live:
                del live[uuid]
                deleting.discard(uuid)
        elif r.kind == "final_resource_view":
            assert e.used_ram_mb == 512 + sum(live.values()), (r.line, live)
            audits += 1
            windows += bool(deleting)
    return audits, windows


@pytest.mark.parametrize("seed", [32, 34, 35])
def test_a_deleted_instance_counts_until_update_usage(tmp_path: Path, seed: int) -> None:
    """nova drops a deleted instance's usage in update_usage (after the files and the
    networks), so an audit between them still counts it; the replay follows."""
    s = scenario("havana", "journal", hosts=1, boots=2, interval=0.0)
    result = simulate(s.model_copy(update={"seed": seed}), tmp_path / "out")
    audits, windows = _audit_against_claims(result.outputs[0])
    assert audits > 3 and windows >= 1
    check(result.outputs)
