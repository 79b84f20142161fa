"""Is the host model ever the bottleneck? Prints `replay_vs_parse R` as its last line.

R = events per second through the model alone (replay over already-parsed records) /
records per second of the parser, both measured in this run on the same trace: a busy
Stein-era host (claim lines with totals to check) simulated by `nsim simulate`, with
boots, deletes, cache hits and misses and periodic audits. Target R >= 3.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nsim
from benchmarks.workload import busy_scenario
from nsim.replay.run import replay_records
from nsim.sim.engine import simulate
from nsim.sim.scenario import Scenario


def scenario(boots: int) -> Scenario:
    """Four Stein hosts booting `boots` instances of two images; all are deleted later."""
    return busy_scenario(boots, {"count": 4, "release": "stein", "memory_mb": 65536,
                                 "disk_gb": 2000, "vcpus": 32}, "2019-04-10T08:00:00")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--boots", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "busy.journal"
        sim = simulate(scenario(args.boots), path)
        t0 = time.perf_counter()
        records = list(nsim.parse(str(path)))
        parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = replay_records(records)
    model_s = time.perf_counter() - t0
    events = sum(1 for r in records if r.event is not None)
    parse_rate = len(records) / parse_s
    model_rate = events / model_s
    instances = sum(len(h.instances) for h in result.hosts.values())
    print(f"trace: {sim.summary()}")
    print(f"records: {len(records)}, events: {events}, instances: {instances}, "
          f"violations: {len(result.violations)}")
    print(f"parser: {parse_rate:10.0f} records/s ({parse_s:.2f} s)")
    print(f"model:  {model_rate:10.0f} events/s  ({model_s:.2f} s)")
    print(f"replay_vs_parse {model_rate / parse_rate:.2f}")


if __name__ == "__main__":
    main()
