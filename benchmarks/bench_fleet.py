"""Fleet replay on Dask vs one process. Prints `fleet_speedup R` as its last line.

Builds a fleet with `nsim simulate`: 200 hosts (half journald, half oslo.log, one file
each), boots spread over them, each instance deleted after a while. Then, in this run:

- single: `nsim replay` of all files in this process (`nsim.replay.run.replay`);
- dask: `nsim fleet replay` of the same files on a LocalCluster of 2 worker processes
  (started before timing; the time includes sniffing, grouping, every task and the merge).

Each side runs --repeat times, alternating, and its best time counts (other processes on
the machine only ever slow a run down). R = single seconds / dask seconds; every dask
result is checked to be identical to the single-process one. Target R >= 1.6 on a 2-core
machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nsim.fleet.jobs import fleet_replay
from nsim.fleet.tasks import connect
from nsim.replay.run import replay
from nsim.report.replay import to_json

YEAR = 2025
SCENARIO = """\
name = "fleet benchmark"
seed = 8
start = {year}-10-01T08:00:00

[[hosts]]
name = "jcmp"
count = {journal}
format = "journal"
memory_mb = 65536
disk_gb = 1000
vcpus = 32

[[hosts]]
name = "ocmp"
count = {oslo}
format = "oslo"
memory_mb = 65536
disk_gb = 1000
vcpus = 32

[[images]]
id = "3b2f0c7e-9d4a-4e61-8c1b-5a7f2e9d0c14"
name = "cirros-0.6.2-x86_64-disk"

[[flavors]]
name = "m1.small"
memory_mb = 2048
disk_gb = 20
vcpus = 1

[[boots]]
flavor = "m1.small"
image = "cirros-0.6.2-x86_64-disk"
count = {boots}
interval = 0.2
lifetime = {{ dist = "exponential", mean = 60 }}
"""


def build_fleet(directory: Path, hosts: int, boots: int) -> list[str]:
    """`nsim simulate` a fleet into `directory` (one file per host); returns the paths.

    With at least one oslo.log host the simulator writes a file per host.
    """
    scenario = directory / "fleet.toml"
    scenario.write_text(SCENARIO.format(year=YEAR, journal=hosts - hosts // 2, oslo=hosts // 2,
                                        boots=boots))
    logs = directory / "logs"
    done = subprocess.run([sys.executable, "-m", "nsim.cli", "simulate", str(scenario), "-o",
                           str(logs)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"nsim simulate failed:\n{done.stderr}")
    return sorted(str(p) for p in logs.iterdir())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--boots", type=int, default=3000, help="boots over the whole fleet")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2,
                    help="time each side this many times, alternating; the best time counts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_fleet(Path(tmp), args.hosts, args.boots)
        lines = sum(Path(p).read_bytes().count(b"\n") for p in paths)
        print(f"fleet: {args.hosts} hosts, {args.boots} boots, {lines} lines in {len(paths)} files")
        t0 = time.perf_counter()
        with connect(workers=args.workers) as client:
            client.wait_for_workers(args.workers)
            print(f"cluster of {args.workers} workers started in {time.perf_counter() - t0:.2f} s "
                  "(not counted)")
            single_s = dask_s = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                single = replay(paths, year=YEAR)
                single_s = min(single_s, time.perf_counter() - t0)
                t0 = time.perf_counter()
                fleet = fleet_replay(client, [str(Path(tmp) / "logs" / "*")], year=YEAR)
                dask_s = min(dask_s, time.perf_counter() - t0)
                if to_json(fleet.result) != to_json(single):
                    raise SystemExit("fleet result differs from the single-process result")
    print(f"single process:  {single_s:7.2f} s  ({lines / single_s:8.0f} lines/s, "
          f"{len(single.violations)} violations)")
    print(f"dask, {args.workers} workers: {dask_s:7.2f} s  ({lines / dask_s:8.0f} lines/s, "
          f"{fleet.fleet.tasks} tasks)")
    print(f"load average {os.getloadavg()[1]:.2f} over the last 5 min "
          f"(other processes on the {os.cpu_count()} cores slow the dask side most)")
    print(f"fleet_speedup {single_s / dask_s:.2f}")


if __name__ == "__main__":
    main()
