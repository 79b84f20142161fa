"""Peak memory of nsim parse, replay and simulate at two sizes of the same journal.

    .venv/bin/python benchmarks/bench_memory.py [--boots N] [--factor F]

Writes (in a temporary directory) the scenario of benchmarks/bench_vs_lnav.py at N boots
(default 500) and at F times as many (default 4), simulates each into a journal with
`nsim simulate`, then runs `nsim parse --to jsonl` and `nsim replay` on each journal, every
command in a fresh process whose peak RSS (ru_maxrss) is read when it ends. Memory is flat in
the file's size when each ratio (large / small) stays near 1 while the files grow F times;
the last line printed is `memory_ratio R` (the largest of the three ratios).

Measured (N=500; peak RSS small -> large; 2 cores shared with other jobs): at main before
issue 12's replay memory work, replay 53.3 -> 63.0 MB at F=4 (1.18) and -> 101.1 MB at F=16
(1.90): every deleted instance was kept whole (~2.3 KB with its phases), with its idle uuid
lock, and the report was built whole before it was written. Since (deleted instances
packed, nsim.model.instances; idle locks dropped; the report written a line at a time):
F=4 simulate 44.4 -> 44.5 MB, parse 50.5 -> 50.6 MB, replay 52.6 -> 54.1 MB (1.03); F=16
replay 52.6 -> 62.6 MB (1.19). What still grows, about 1.3 KB a boot: the packed instance
the report lists (~0.4 KB), the request ties that let a later untagged line find its
instance (~0.5 KB), the instance's key and the tracker's set of instances that hold
nothing (nsim.model.resource_tracker `uncounted`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.bench_vs_lnav import scenario
from benchmarks.workload import NSIM, check_exit
from nsim.sim.scenario import dump_scenario


def peak_rss_mb(cmd: Sequence[str]) -> float:
    """The peak resident memory (MB) of `cmd`, run to its end (its output discarded)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    check_exit(cmd, proc.returncode)
    return usage.ru_maxrss / 1024


def measure(tmp: Path, boots: int) -> tuple[int, dict[str, float]]:
    """The journal's size in bytes and each command's peak RSS at `boots` boots."""
    toml = tmp / f"{boots}.toml"
    toml.write_text(dump_scenario(scenario(boots)))
    journal = tmp / f"{boots}.journal"
    rss = {"simulate": peak_rss_mb([NSIM, "simulate", str(toml), "-o", str(journal)])}
    rss["parse"] = peak_rss_mb([NSIM, "parse", "--to", "jsonl", "--year", "2023", "-o",
                                os.devnull, str(journal)])
    rss["replay"] = peak_rss_mb([NSIM, "replay", "--year", "2023", str(journal)])
    return journal.stat().st_size, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--boots", type=int, default=500)
    ap.add_argument("--factor", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small_size, small = measure(Path(tmp), args.boots)
        large_size, large = measure(Path(tmp), args.boots * args.factor)
    print(f"journal {small_size / 1e6:.1f} MB and {large_size / 1e6:.1f} MB "
          f"({large_size / small_size:.1f}x)")
    ratios = []
    for name in small:
        ratio = large[name] / small[name]
        ratios.append(ratio)
        print(f"nsim {name:8s} peak RSS {small[name]:7.1f} MB -> {large[name]:7.1f} MB  "
              f"ratio {ratio:.2f}")
    print(f"memory_ratio {max(ratios):.2f}")


if __name__ == "__main__":
    main()
