"""What a replay keeps of finished instances: the report still lists each, but the objects
it holds do not grow with the number of boots, and packing deleted instances changes
nothing the replay says, even when a line comes about one long after it was packed."""

from __future__ import annotations

import gc
import io
import json
from pathlib import Path

import pytest

from nsim.model.instance import Instance
from nsim.model.instances import Instances
from nsim.replay import state
from nsim.replay.run import ReplayResult, replay
from nsim.report.replay import to_json, to_text, write_json, write_text
from nsim.sim.engine import simulate
from nsim.sim.scenario import load_scenario
from tests.conftest import REAL_LOGS, ROOT
from tests.sim.test_sim_trace import scenario


def _journal(tmp_path: Path, boots: int) -> str:
    """`boots` boots on one host, each deleted 6 s after it started."""
    result = simulate(scenario(boots=boots, interval=0.3, memory_mb=262144, disk_gb=8000,
                               vcpus=128), tmp_path / f"{boots}.journal")
    return result.outputs[0]


def _kept(result: ReplayResult) -> dict[str, int]:
    """Objects the model holds whole: instances (counted in memory, not in the mapping) and
    locks."""
    gc.collect()
    return {"instances": sum(type(o) is Instance for o in gc.get_objects()),
            "locks": sum(len(h.locks.locks) for h in result.hosts.values())}


def test_the_objects_kept_do_not_grow_with_the_boots(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "KEEP_DELETED", 16)  # fewer than the boots, as in long logs
    kept = {}
    for boots in (100, 400):
        result = replay([_journal(tmp_path, boots)], year=2017)
        assert sum(len(h.instances) for h in result.hosts.values()) == boots + 1  # + the nano
        assert to_text(result).count("\n  instance ") == boots + 1  # each still reported
        kept[boots] = _kept(result)
        del result
    assert kept[400]["instances"] <= kept[100]["instances"] <= 16 + 8, kept
    assert kept[400]["locks"] <= kept[100]["locks"] <= 4, kept


def _packing(monkeypatch: pytest.MonkeyPatch, keep: int, paths: list[str]) -> ReplayResult:
    monkeypatch.setattr(state, "KEEP_DELETED", keep)
    return replay(paths, year=2017)


@pytest.mark.parametrize("paths", [
    ["busy"],  # lifecycle events about deleted instances come ~15 s after their delete
    [str(REAL_LOGS / "havana-uforia-nova-compute.log")],  # reboots, restarts, failures
    ["busy-host"],  # two hosts, failed builds re-scheduled between them
], ids=["simulated", "havana", "busy-host"])
def test_packing_deleted_instances_at_once_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: list[str]) -> None:
    """Every deleted instance packed as soon as the next record comes (each later line
    about it unpacks it) against none packed: the same report, violations included."""
    if paths == ["busy"]:
        paths = [_journal(tmp_path, 60)]
    elif paths == ["busy-host"]:
        scenario_path = ROOT / "scenarios" / "busy-host.toml"
        paths = simulate(load_scenario(scenario_path), tmp_path / "busy-host").outputs
    elif not Path(paths[0]).exists():
        pytest.skip(f"{paths[0]} is not here (NSIM_REAL_LOGS)")
    unpacked = _packing(monkeypatch, 10**9, paths)
    packed = _packing(monkeypatch, 0, paths)
    deleted = sum(i.vm_state is not None and i.vm_state.value == "deleted"
                  for h in unpacked.hosts.values() for i in h.instances.values())
    assert deleted > 0
    assert sum(h.instances.packed() for h in packed.hosts.values()
               if isinstance(h.instances, Instances)) > 0
    assert to_json(packed) == to_json(unpacked)
    assert to_text(packed) == to_text(unpacked)


def test_reports_written_a_line_at_a_time_are_the_whole_reports() -> None:
    paths = [str(p) for p in sorted((ROOT / "sample_logs").glob("*.journal"))]
    nothing = [str(REAL_LOGS / "docker-ubuntu-nova-compute.log")]  # no instance at all
    for files in (paths, nothing) if Path(nothing[0]).exists() else (paths,):
        result = replay(files, year=2017)
        out = io.StringIO()
        write_json(result, out, {"fleet": {"hosts": [1, 2]}})
        assert out.getvalue() == json.dumps(to_json(result) | {"fleet": {"hosts": [1, 2]}},
                                            indent=2) + "\n"
        for quiet in (False, True):
            out = io.StringIO()
            write_text(result, out, quiet=quiet)
            assert out.getvalue() == to_text(result, quiet=quiet)
