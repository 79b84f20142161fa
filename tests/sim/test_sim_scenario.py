"""Scenario files: validation with file:field errors, and the TOML round trip."""

from __future__ import annotations

import tomllib
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
