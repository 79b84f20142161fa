"""Is the host model ever the bottleneck? Prints `replay_vs_parse R` as its last line.

    .venv/bin/python benchmarks/bench_replay.py [--boots N] [--journal PATH --year Y] [--repeat K]

R = events per second through the model alone (replay over already-parsed records) /
records per second of the parser, both measured in this run on the same trace: a busy
Stein-era host (claim lines with totals to check) simulated by `nsim simulate`, with
boots, deletes, cache hits and misses and periodic audits; or, with --journal, that log
(e.g. the Zed journal of benchmarks/bench_vs_lnav.py). The model's time is the fastest of
K replays (default 1) of the same parsed records: `replay_records`, what `nsim replay`
runs on the parser's records. Target R >= 3.

Measured, the model part (issue 12), on 2 cores shared with other jobs:
  - the 2,000-boot Zed DEBUG journal of bench_vs_lnav.py (188,182 lines, 104,182 records),
    `--journal /tmp/zed2.journal --year 2023 --repeat 5`: 0.47 s (CPU 0.46 s) before, 0.35 s
    (CPU 0.35 s) after; valgrind's instruction count of `replay_records` over the parsed
    records alone (PYTHONHASHSEED=0): 4,128 M before, 2,522 M after (-39%);
  - the default trace (`--repeat 3`, 114,388 records): 0.56 s before, 0.43 s after.
Of the 0.35 s, reading the seven fields every record is dispatched by (service, host, stamp,
instance, request, pid, event) takes 36 ms: a pydantic model's attribute goes through its
__getattr__ hook, and the records of a list that size are out of the caches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nsim
from benchmarks.workload import busy_scenario
from nsim.logs.record import Record
from nsim.replay.run import ReplayResult, replay_records
from nsim.sim.engine import simulate
from nsim.sim.scenario import Scenario


def scenario(boots: int) -> Scenario:
    """Four Stein hosts booting `boots` instances of two images; all are deleted later."""
    return busy_scenario(boots, {"count": 4, "release": "stein", "memory_mb": 65536,
                                 "disk_gb": 2000, "vcpus": 32}, "2019-04-10T08:00:00")


def parsed(path: Path, year: int | None) -> tuple[list[Record], float]:
    """The log's records, and the seconds parsing them took."""
    t0 = time.perf_counter()
    records = list(nsim.parse(str(path), year=year))
    return records, time.perf_counter() - t0


def modelled(records: list[Record], repeat: int) -> tuple[ReplayResult, float, float]:
    """The replay of `records`, and the fewest seconds it took in `repeat` runs: wall and
    CPU (this process's; on a machine busy with other jobs it varies less)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = replay_records(records)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return result, wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--boots", type=int, default=2000)
    ap.add_argument("--journal", type=Path, help="time this log instead of a simulated one")
    ap.add_argument("--year", type=int, help="year of the log's stamps that carry none")
    ap.add_argument("--repeat", type=int, default=1, help="replays of the parsed records")
    args = ap.parse_args()
    if args.journal is not None:
        summary = str(args.journal)
        records, parse_s = parsed(args.journal, args.year)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "busy.journal"
            summary = simulate(scenario(args.boots), path).summary()
            records, parse_s = parsed(path, args.year)
    result, model_s, model_cpu = modelled(records, max(1, args.repeat))
    events = sum(1 for r in records if r.event is not None)
    parse_rate = len(records) / parse_s
    model_rate = events / model_s
    instances = sum(len(h.instances) for h in result.hosts.values())
    print(f"trace: {summary}")
    print(f"records: {len(records)}, events: {events}, instances: {instances}, "
          f"violations: {len(result.violations)}")
    print(f"parser: {parse_rate:10.0f} records/s ({parse_s:.2f} s)")
    print(f"model:  {model_rate:10.0f} events/s  ({model_s:.2f} s; cpu {model_cpu:.2f} s)")
    print(f"replay_vs_parse {model_rate / parse_rate:.2f}")


if __name__ == "__main__":
    main()
