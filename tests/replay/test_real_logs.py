"""Replaying real nova-compute logs (../shared/real-logs/, origins in its README): no false
alarms, and the outcomes a person reading the log would give.

What a person would say is counted here from the files' own text (instance tags next to
nova's wording), independently of nsim's parser and catalog."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

from nsim.replay.run import ReplayResult, replay
from tests.conftest import REAL_LOGS

ROOT = Path(__file__).resolve().parents[2]
REAL = REAL_LOGS
LOGS = sorted(p.name for p in REAL.glob("*.log")) if REAL.is_dir() else []
_TAG = re.compile(r"\[instance: ([0-9a-f-]{36})\]")


def test_the_real_logs_are_there() -> None:
    assert REAL.is_dir(), f"real logs expected at {REAL} (set NSIM_REAL_LOGS)"
    assert len(LOGS) >= 6


def uuids_with(path: Path, *needles: str) -> set[str]:
    """Instances whose tagged lines contain any of `needles`."""
    found = set()
    for line in path.read_text(errors="replace").splitlines():
        m = _TAG.search(line)
        if m and any(n in line for n in needles):
            found.add(m.group(1))
    return found


def replayed(name: str) -> ReplayResult:
    return replay([str(REAL / name)])


def instances(result: ReplayResult) -> dict[str, object]:
    return {u: i for h in result.hosts.values() for u, i in h.instances.items()}


@pytest.mark.parametrize("name", LOGS)
def test_no_false_alarms(name: str) -> None:
    result = replayed(name)
    assert [str(v) for v in result.violations] == []
    assert result.errors == []


def test_havana_boots_and_their_outcomes() -> None:
    path = REAL / "havana-uforia-nova-compute.log"
    started = uuids_with(path, "Starting instance...")
    failed = uuids_with(path, "Instance failed to spawn", "Instance failed block device setup",
                        "] Error: ")
    deleted = uuids_with(path, "Terminating instance")
    found = instances(replayed(path.name))
    boots = {u for u, i in found.items() if i.operation == "boot" and i.boot_seen}
    assert boots == started and len(boots) == 60
    outcomes = Counter()
    for uuid in boots:
        inst = found[uuid]
        outcomes[inst.outcome.value] += 1
        if uuid in failed:
            assert inst.outcome.value == "error", uuid
            assert inst.cause, uuid
            assert inst.vm_state.value in ("error", "deleted"), uuid
        elif uuid in deleted:
            assert (inst.outcome.value, inst.vm_state.value) == ("deleted", "deleted"), uuid
        else:
            assert inst.outcome.value == "active", uuid
            assert (inst.vm_state.value, inst.power_state.value) == ("active", "running"), uuid
        assert inst.phase("build").start is not None, uuid
    assert outcomes["error"] == len(failed & boots) >= 11


def test_havana_spawns_are_timed_from_info_lines() -> None:
    found = instances(replayed("havana-uforia-nova-compute.log"))
    spawned = [i for i in found.values() if i.spawned]
    assert len(spawned) >= 49
    for inst in spawned:
        spawn = inst.phases["spawn"]
        assert spawn.seconds is not None and spawn.seconds >= 0, inst.uuid


def test_train_zh_boot_is_active_with_its_phases() -> None:
    path = REAL / "train-rdo-zh-blog-nova-compute.log"
    (uuid,) = uuids_with(path, "Took ")
    inst = instances(replayed(path.name))[uuid]
    assert (inst.outcome.value, inst.vm_state.value, inst.task_state) == ("active", "active", None)
    assert inst.power_state.value == "running"
    spawn, build = inst.phases["spawn"], inst.phases["build"]
    # Started at "Creating image" and at the claim (the INFO log has nothing earlier):
    # never longer than nova's own timers.
    assert spawn.seconds == pytest.approx(_took(path, "spawn"), abs=0.1)
    assert 0 < build.seconds <= _took(path, "build") + 0.01
    assert inst.build_seconds == _took(path, "build")


def _took(path: Path, step: str) -> float:
    m = re.search(rf"Took ([\d.]+) seconds to {step}", path.read_text())
    assert m is not None
    return float(m.group(1))


@pytest.mark.parametrize("name", ["rocky-vpp-issue-vif-timeout-unwrapped.log",
                                  "rocky-vpp-issue-vif-timeout-snippet.log"])
def test_rocky_vif_timeout_is_an_error_with_its_cause(name: str) -> None:
    found = instances(replayed(name))
    (inst,) = found.values()
    assert (inst.outcome.value, inst.vm_state.value) == ("error", "error")
    assert "Failed to allocate the network(s)" in inst.cause


def test_liberty_resize_claim_is_a_move_not_a_boot() -> None:
    result = replayed("liberty-rdo-blog-resize-claim.log")
    (inst,) = instances(result).values()
    assert inst.operation == "move"
    assert not inst.boot_seen
    # Over-committed (used > total) is what the claim says; the move holds its amounts.
    tracker = next(iter(result.hosts.values())).tracker
    assert tracker.used("memory") == pytest.approx(334848 + 8192)


def test_idle_host_audits_are_consistent() -> None:
    result = replayed("docker-ubuntu-nova-compute.log")
    assert instances(result) == {}
    (host,) = result.hosts.values()
    assert host.tracker.totals["memory"] is not None


def test_readme_table_of_real_logs_is_current() -> None:
    spec = importlib.util.spec_from_file_location("real_logs_table", ROOT / "tools" / "real_logs_table.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    readme = (ROOT / "README.md").read_text()
    assert tool.section(REAL) in readme, "run: .venv/bin/python tools/real_logs_table.py --write"
