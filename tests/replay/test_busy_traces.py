"""Never cry wolf on busy traces: several simulated Stein hosts booting and deleting
hundreds of instances, claims of one interleaved with other lines and deletes under way
at each usage line, replay without a violation (DEBUG and INFO)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.workload import busy_scenario
from nsim.replay.run import replay
from nsim.sim.engine import simulate


@pytest.mark.parametrize(("log_level", "boots"), [
    # DEBUG: other greenthreads log between a claim's attempt and its outcome (the claim
    # holds only the compute_resources lock); main took them as the outcome missing.
    ("DEBUG", 200),
    # INFO: update_usage is not logged; deletes under way at a claim's usage line.
    ("INFO", 160),
])
def test_busy_multi_host_stein_trace_replays_clean(tmp_path: Path, log_level: str,
                                                   boots: int) -> None:
    scenario = busy_scenario(boots, {"count": 4, "release": "stein", "memory_mb": 65536,
                                     "disk_gb": 2000, "vcpus": 32, "log_level": log_level},
                             "2019-04-10T08:00:00")
    out = tmp_path / "busy.journal"
    simulate(scenario, out)
    result = replay([str(out)])
    assert len(result.hosts) == 4
    assert result.violations == [], [str(v) for v in result.violations[:3]]
    # Every claim's outcome is in the trace: none is taken as missing.
    missing = [a for a in result.assumptions if "outcome is not in the log" in str(a)]
    assert missing == []
