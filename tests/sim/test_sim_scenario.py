"""Scenario files: validation with file:field errors, and the TOML round trip."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from nsim.sim.durations import Distribution, DurationModel
from nsim.sim.scenario import ScenarioError, dump_scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"


def minimal(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "hosts": [{"name": "compute", "release": "pike"}],
        "images": [{"id": IMAGE, "name": "cirros"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros"}],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_bundled_scenarios_load_and_round_trip(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.hosts and scenario.boots
    assert parse_scenario(tomllib.loads(dump_scenario(scenario))) == scenario


def test_seed_host_scenario_is_the_seed_devstack_host() -> None:
    s = load_scenario(ROOT / "scenarios" / "seed-host.toml")
    host = s.hosts[0]
    assert (host.memory_mb, host.disk_gb, host.vcpus, host.release) == (7983, 47, 4, "pike")
    assert s.image("cirros-0.3.5-x86_64-disk").id == IMAGE
    assert s.image(IMAGE).disk_format == "qcow2"
    assert s.flavor("m1.tiny").memory_mb == 512


@pytest.mark.parametrize(("change", "field"), [
    ({"hosts": [{"name": "compute", "release": "pyke"}]}, "hosts.0.release"),
    ({"hosts": [{"name": "compute", "memroy_mb": 1}]}, "hosts.0.memroy_mb"),
    ({"hosts": [{"name": "compute", "instances_path": "relative/path"}]}, "hosts.0.instances_path"),
    ({"boots": [{"flavor": "m1.huge", "image": "cirros"}]}, "boots.0.flavor"),
    ({"boots": [{"flavor": "m1.tiny", "image": "nope"}]}, "boots.0.image"),
    ({"boots": [{"flavor": "m1.tiny", "image": "cirros", "host": "other"}]}, "boots.0.host"),
    ({"faults": [{"kind": "meteor"}]}, "faults.0.kind"),
    ({"durations": {"network": {"dist": "lognormal", "mean": 0}}}, "durations.network"),
    ({"images": [{"id": "not-a-uuid"}]}, "images.0.id"),
])
def test_errors_name_the_file_and_field(tmp_path: Path, change: dict[str, object], field: str) -> None:
    import tomli_w

    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(minimal(**change)))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).startswith(f"{path}: ")
    assert field in str(err.value)


def test_unreadable_files_are_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("hosts = [")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(tmp_path / "broken.toml")


def test_distributions_are_seeded_and_non_negative() -> None:
    import random

    for dist in (Distribution(dist="normal", mean=0.1, sd=1.0),
                 Distribution(dist="lognormal", mean=2.0, sd=0.5),
                 Distribution(dist="uniform", low=1.0, high=2.0),
                 Distribution(dist="exponential", mean=3.0), Distribution.model_validate(1.5)):
        a = [dist.sample(random.Random(5)) for _ in range(3)]
        assert a == [dist.sample(random.Random(5)) for _ in range(3)]
        assert all(x >= 0 for x in a)
    draws = [Distribution(dist="lognormal", mean=2.0, sd=0.5).sample(random.Random(i))
             for i in range(2000)]
    assert sum(draws) / len(draws) == pytest.approx(2.0, rel=0.05)
    steps = DurationModel().sample(random.Random(1))
    assert steps.download(60.0) > steps.download_latency


def test_host_count_names_hosts() -> None:
    s = parse_scenario(minimal(hosts=[{"name": "cmp", "count": 3}]))
    assert s.hosts[0].names() == ["cmp-1", "cmp-2", "cmp-3"]
    with pytest.raises(ScenarioError, match="unique"):
        parse_scenario(minimal(hosts=[{"name": "cmp-1"}, {"name": "cmp", "count": 2}]))


@pytest.mark.parametrize("fmt", ["oslo", "journal"])
def test_dotted_host_names_are_refused_with_an_oslo_host(fmt: str) -> None:
    hosts = [{"name": "cmp.a", "format": fmt}, {"name": "cmp.b"}]
    if fmt == "journal":  # journald carries the host name: dots are fine
        assert [h.name for h in parse_scenario(minimal(hosts=hosts)).hosts] == ["cmp.a", "cmp.b"]
        return
    with pytest.raises(ScenarioError, match=r"hosts\.0\.name: 'cmp\.a' has a '\.'"):
        parse_scenario(minimal(hosts=hosts), "s.toml")
    # The oslo host itself need not be the dotted one.
    with pytest.raises(ScenarioError, match=r"hosts\.1\.name"):
        parse_scenario(minimal(hosts=[{"name": "cmp-a", "format": "oslo"}, {"name": "cmp.b"}]))


@pytest.mark.parametrize("bad", ["my-vm", "86F71E87-4AE2-48FB-9BCD-C72E3C28E093",
                                 "86f71e87-4ae2-48fb-9bcd-c72e3c28e093\n", ""])
def test_boot_uuids_must_be_uuids(bad: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(minimal(boots=[{"flavor": "m1.tiny", "image": "cirros", "uuids": [bad]}]),
                       "s.toml")
    assert "boots.0.uuids.0" in str(err.value) and "not an instance uuid" in str(err.value)
    good = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
    s = parse_scenario(minimal(boots=[{"flavor": "m1.tiny", "image": "cirros", "uuids": [good]}]))
    assert s.boots[0].uuids == [good]


@pytest.mark.parametrize(("change", "field"), [
    ({"boots": [{"flavor": "m1.tiny", "image": "cirros", "at": 1e20}]}, "boots.0.at"),
    ({"boots": [{"flavor": "m1.tiny", "image": "cirros", "count": 3, "interval": 2e8}]}, "boots.0"),
    ({"boots": [{"flavor": "m1.tiny", "image": "cirros", "lifetime": 1e12}]}, "boots.0.lifetime"),
    ({"start": "9999-12-31T23:59:59"}, "start"),
    ({"durations": {"network": 1e12}}, "durations.network"),
    ({"durations": {"destroy": {"dist": "uniform", "low": 0, "high": 1e12}}}, "durations.destroy"),
    ({"deletes": [{"at": 1e20}]}, "deletes.0.at"),
    ({"hosts": [{"name": "compute", "audit_interval": 1e12}]}, "hosts.0.audit_interval"),
])
def test_huge_times_are_scenario_errors(tmp_path: Path, change: dict[str, object], field: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import tomli_w

    from tests.conftest import run_cli

    data = minimal(**change)
    if "start" in change:  # a TOML local date-time, as a user writes it
        data["start"] = datetime.fromisoformat(str(change["start"]))
    path = tmp_path / "huge.toml"
    path.write_text(tomli_w.dumps(data))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).startswith(f"{path}: ") and field in str(err.value)
    code, _, stderr = run_cli(["simulate", str(path), "-o", str(tmp_path / "t.journal")], capsys)
    assert code == 2
    assert "internal error" not in stderr and field in stderr


def test_largest_allowed_times_still_simulate(tmp_path: Path) -> None:
    from nsim.sim.durations import MAX_SECONDS
    from nsim.sim.engine import simulate

    s = parse_scenario(minimal(start="9000-12-31T23:59:59",
                               boots=[{"flavor": "m1.tiny", "image": "cirros", "at": MAX_SECONDS,
                                       "lifetime": MAX_SECONDS}],
                               hosts=[{"name": "compute", "release": "pike", "audit_interval": 0}]))
    result = simulate(s, tmp_path / "t.journal")
    assert (result.boots, result.deleted) == (1, 1)


def test_a_clock_past_year_9999_is_a_named_error(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Each time is bounded, but 60 re-scheduled attempts of 20 years each still overflow."""
    import tomli_w

    from nsim.sim.durations import MAX_SECONDS
    from tests.conftest import run_cli

    path = tmp_path / "long.toml"
    path.write_text(tomli_w.dumps(minimal(
        start=datetime(9000, 6, 1), max_attempts=60,
        hosts=[{"name": "cmp", "count": 60, "release": "pike", "audit_interval": 0}],
        durations={"domain_start": MAX_SECONDS, "reschedule": MAX_SECONDS},
        faults=[{"kind": "spawn", "probability": 1.0}])))
    code, _, stderr = run_cli(["simulate", str(path), "-o", str(tmp_path / "t.journal")], capsys)
    assert code == 2
    assert f"nsim: {path}: the simulated clock ran past the year 9999" in stderr
    assert "internal error" not in stderr
