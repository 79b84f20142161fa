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
from nsim.replay.run import replay_records
from nsim.sim.engine import simulate
from nsim.sim.scenario import parse_scenario


def scenario(boots: int) -> object:
    return parse_scenario({
        "seed": 3, "start": "2019-04-10T08:00:00",
        "hosts": [{"name": "compute", "count": 4, "release": "stein", "memory_mb": 65536,
                   "disk_gb": 2000, "vcpus": 32, "audit_interval": 60}],
        "images": [{"id": "3b2f0c7e-9d4a-4e61-8c1b-5a7f2e9d0c14", "name": "cirros",
                    "size_bytes": 21430272},
                   {"id": "8e6a1d25-4b7c-4f0e-9a3d-2c5b7e1f9a60", "name": "ubuntu",
                    "size_bytes": 593494016}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1},
                    {"name": "m1.small", "memory_mb": 2048, "disk_gb": 20, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": boots // 2, "interval": 0.5,
                   "lifetime": {"dist": "uniform", "low": 20, "high": 60}},
                  {"flavor": "m1.small", "image": "ubuntu", "count": boots - boots // 2,
                   "interval": 0.5, "lifetime": {"dist": "uniform", "low": 20, "high": 60}}],
    })


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
