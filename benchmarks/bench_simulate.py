"""How fast `nsim simulate` writes a trace, next to how fast `nsim.parse` reads one.

    .venv/bin/python benchmarks/bench_simulate.py [--scenario PATH] [--parse-lines N] [--keep DIR]

In the same run it measures:
  (a) simulating the scenario (default scenarios/fleet-10k.toml: 10,000 boots over 100
      hosts) in a child process: trace lines written per second, and peak RSS before and
      after the run;
  (b) the same scenario cut to a tenth of its boots, in another child: peak RSS again, so
      that (a) vs (b) shows memory staying flat while ten times more boots stream out;
  (c) `nsim.parse` of the first N lines (default 200,000) of the trace (a): lines/s.
The last line printed is `simulate_vs_parse R`, R = simulate lines/s / parse lines/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "fleet-10k.toml"


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def simulate_child(scenario_path: str, out: str, fraction: float) -> None:
    """Run in a fresh process: simulate, print lines, seconds and peak RSS as JSON."""
    from nsim.sim.engine import simulate
    from nsim.sim.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    if fraction < 1:
        boots = [b.model_copy(update={"count": max(1, int(b.count * fraction))})
                 for b in scenario.boots]
        scenario = scenario.model_copy(update={"boots": boots})
    before = _maxrss_mib()
    started = time.perf_counter()
    result = simulate(scenario, out)
    seconds = time.perf_counter() - started
    print(json.dumps({"boots": result.boots, "lines": result.lines, "seconds": seconds,
                      "before": before, "after": _maxrss_mib(), "summary": result.summary()}))


def run_child(scenario: Path, out: Path, fraction: float) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", str(scenario), str(out),
                           str(fraction)], check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def head(src: Path, dst: Path, lines: int) -> int:
    """Copy the first `lines` lines; returns how many were copied."""
    n = 0
    with open(src, encoding="utf-8") as inp, open(dst, "w", encoding="utf-8") as out:
        for line in inp:
            if n >= lines:
                break
            out.write(line)
            n += 1
    return n


def measure_parse(path: Path) -> tuple[int, float]:
    """Physical lines and seconds of streaming every record of `path` through nsim.parse."""
    import nsim

    started = time.perf_counter()
    run = nsim.parse(str(path))
    for _ in run:
        pass
    return run.counts.physical_lines, time.perf_counter() - started


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        simulate_child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    ap.add_argument("--parse-lines", type=int, default=200_000)
    ap.add_argument("--keep", type=Path, help="keep the traces in this directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        full = run_child(args.scenario, work / "full.journal", 1.0)
        tenth = run_child(args.scenario, work / "tenth.journal", 0.1)
        sample = work / "sample.journal"
        head(work / "full.journal", sample, args.parse_lines)
        parsed_lines, parse_seconds = measure_parse(sample)
    sim_rate = full["lines"] / full["seconds"]
    parse_rate = parsed_lines / parse_seconds
    print(f"scenario: {args.scenario}")
    print(f"  {full['summary']}")
    print(f"{'run':<32}{'boots':>8}{'lines':>10}{'seconds':>9}{'lines/s':>10}"
          f"{'RSS before MiB':>16}{'after MiB':>11}")
    for name, r in (("simulate (full)", full), ("simulate (a tenth of the boots)", tenth)):
        print(f"{name:<32}{r['boots']:>8}{r['lines']:>10}{r['seconds']:>9.2f}"
              f"{r['lines'] / r['seconds']:>10.0f}{r['before']:>16.1f}{r['after']:>11.1f}")
    print(f"{'nsim.parse (trace sample)':<32}{'':>8}{parsed_lines:>10}{parse_seconds:>9.2f}"
          f"{parse_rate:>10.0f}")
    growth = (full["after"] - full["before"]) / max(tenth["after"] - tenth["before"], 1e-9)
    print(f"memory: peak RSS growth {full['after'] - full['before']:.1f} MiB for "
          f"{full['boots']} boots vs {tenth['after'] - tenth['before']:.1f} MiB for "
          f"{tenth['boots']} (x{growth:.2f} for x{full['boots'] / tenth['boots']:.0f} the boots)")
    print(f"simulate_vs_parse {sim_rate / parse_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
