"""nsim next to lnav on the same journal, and nsim's start-up next to a bare Python.

    .venv/bin/python benchmarks/bench_vs_lnav.py [--boots N] [--journal PATH] [--repeat K]

Builds (in a temporary directory, or at --journal PATH, which is kept) a DEBUG journal of N
simulated boots (default 2,000) on one Zed host with `nsim simulate`'s engine, then times, each
in a fresh process and K times (default 3, the median is kept):
  - `lnav -n -c ';SELECT count(*) FROM all_logs' FILE`: lnav loads, indexes and counts it;
  - `nsim parse --to jsonl FILE` and `nsim replay FILE`;
  - `nsim --help` and `nsim --version` against `python -c pass` (start-up).
NSIM_PLAIN_LARK=1 in the environment times nsim with Lark alone (no derived regex);
NSIM_NO_CACHE=1 without nsim's start-up cache (nsim.diskcache).
Each command's CPU time (user + system) is printed beside its wall time, and the ratios of
CPU times on a line `cpu: ...`: on a machine busy with other jobs they vary less.
The last line printed is `replay_vs_lnav R`: nsim replay's wall time / lnav's.

Measured (2 cores shared with other jobs, `--repeat 3`): lnav 0.22 s; nsim replay 5.6 s
(R 25; 6.9 s, R 31 before the second round of issue 12); parse --to jsonl 6.0 s (27; 7.9 s, 35).
Fourth round (a quiet machine, lnav 0.19 s): nsim replay 2.96 s wall, 4.13 s CPU of both
processes (R 15.8; with -j 1, alternating in the same minutes: 4.02 s, against 3.95 s at the
round's start), parse --to jsonl 3.34 s (17.9).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.workload import NSIM, busy_scenario, check_exit
from nsim.sim.engine import simulate
from nsim.sim.scenario import Scenario


def scenario(boots: int) -> Scenario:
    """One roomy Zed host booting `boots` instances of two images; all are deleted later."""
    return busy_scenario(boots, {"release": "zed", "format": "journal", "memory_mb": 262144,
                                 "disk_gb": 8000, "vcpus": 128}, "2023-03-14T08:00:00")


def lnav_command(file: str) -> list[str]:
    """lnav loading, indexing and counting `file`, headless."""
    lnav = shutil.which("lnav")
    if lnav is None:
        raise SystemExit("lnav is not installed (apt-get install lnav; `make test` installs it)")
    return [lnav, "-n", "-c", ";SELECT count(*) FROM all_logs", file]


def wall(cmd: Sequence[str], repeat: int) -> tuple[float, float]:
    """The median wall time of `cmd` over `repeat` runs (its output discarded), and the median
    CPU time (user + system) it took: on a busy machine the wall time grows, the CPU less."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        check_exit(cmd, done.returncode)
    return statistics.median(walls), statistics.median(cpus)


def journal_args(doc: str) -> argparse.Namespace:
    """--boots N, --journal PATH and --repeat K, as the benchmarks on this journal take them."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--boots", type=int, default=2000)
    ap.add_argument("--journal", type=Path, help="build the journal here and keep it")
    ap.add_argument("--repeat", type=int, default=3)
    return ap.parse_args()


def main() -> None:
    args = journal_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.journal or Path(tmp) / "zed.journal"
        sim = simulate(scenario(args.boots), path)
        print(f"journal: {path}: {sim.summary()}")
        file = str(path)
        lnav_s, lnav_cpu = wall(lnav_command(file), args.repeat)
        parse_s, parse_cpu = wall([NSIM, "parse", "--to", "jsonl", "--year", "2023", file],
                                  args.repeat)
        replay_s, replay_cpu = wall([NSIM, "replay", "--year", "2023", file], args.repeat)
        bare_s = wall([sys.executable, "-c", "pass"], args.repeat * 3)[0]
        help_s = wall([NSIM, "--help"], args.repeat * 3)[0]
        version_s = wall([NSIM, "--version"], args.repeat * 3)[0]
    for name, (took, cpu) in {"lnav -n (load, count):": (lnav_s, lnav_cpu),
                              "nsim parse --to jsonl:": (parse_s, parse_cpu),
                              "nsim replay:": (replay_s, replay_cpu)}.items():
        print(f"{name:23} {took:6.2f} s  ({sim.lines / took:9.0f} lines/s), CPU {cpu:6.2f} s")
    print(f"python -c pass {bare_s:.3f} s, nsim --help {help_s:.3f} s, nsim --version {version_s:.3f} s")
    print(f"startup_over_python help {help_s - bare_s:.3f} s, version {version_s - bare_s:.3f} s "
          "(target <= 0.3)")
    print(f"cpu: parse_vs_lnav {parse_cpu / lnav_cpu:.1f}, replay_vs_lnav {replay_cpu / lnav_cpu:.1f}")
    print(f"parse_vs_lnav {parse_s / lnav_s:.1f}")
    print(f"replay_vs_lnav {replay_s / lnav_s:.1f}")


if __name__ == "__main__":
    main()
