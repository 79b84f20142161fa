"""Where `nsim replay`'s time goes, stage by stage, next to lnav's load of the same journal.

    .venv/bin/python benchmarks/bench_stages.py [--boots N] [--journal PATH] [--repeat K]

Builds the journal of benchmarks/bench_vs_lnav.py (N boots, default 2,000; kept at --journal
PATH, and reused when it is there), then measures CPU time (the best of K runs, default 3):
  - lnav: `lnav -n -c ';SELECT count(*) FROM all_logs' FILE` (user + system, a child process);
  - start-up: `python -c "import nsim.replay.run"` less `python -c pass` (child processes);
  - in this process: physical lines (nsim.logs.source), the journal envelope of every line
    (nsim.logs.journal.parse_line), the reader's records (ParseRun: lines, envelope, records
    and the message catalog's events), the message catalog alone over the records' messages
    (its cache cleared first), and the model (replay_records over the records, parsed once);
  - `nsim replay FILE` whole, in a child process.
Each line gives the stage's CPU seconds and its ratio to lnav's; the parts overlap (the reader
includes the envelope and the catalog), so they do not add up to the whole.

Measured (2 cores shared with other jobs, the 188,182-line journal of 2,000 boots, `--repeat 3`):
lnav 0.203 s; start-up 0.254 s (1.2x); physical lines 0.135 s (0.7x); the journal envelope
1.645 s (8.1x); the message catalog 0.411 s (2.0x); the reader 2.706 s (13.3x); the model over
the parsed records 0.475 s (2.3x); `nsim replay` 4.233 s (20.9x). Reader and model in one
stream take 0.6-0.7 s more than each alone (3.9 s against 2.7 + 0.5): the time inside
`apply_record` is the same, the reader's own grows when the model runs between its records.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.bench_vs_lnav import journal_args, lnav_command, scenario
from benchmarks.workload import NSIM, check_exit
from nsim.events import catalog
from nsim.logs import journal
from nsim.logs.reader import ParseRun
from nsim.logs.source import open_source, physical_lines
from nsim.replay.run import replay_records
from nsim.sim.engine import simulate


def child_cpu(cmd: Sequence[str], repeat: int) -> float:
    """The least CPU time (user + system) `cmd` took over `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        check_exit(cmd, done.returncode)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def own_cpu(work: Callable[[], object], repeat: int) -> float:
    """The least CPU time of this process `work()` took over `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    args = journal_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.journal or Path(tmp) / "zed.journal"
        if not path.exists():
            simulate(scenario(args.boots), path)
        file = str(path)
        k = args.repeat
        lnav = child_cpu(lnav_command(file), k)
        bare = child_cpu([sys.executable, "-c", "pass"], k)
        startup = child_cpu([sys.executable, "-c", "import nsim.replay.run"], k) - bare
        texts = [t for _, t in physical_lines(open_source(file), print) if t is not None]
        records = list(ParseRun([file], year=2023))
        messages = [r.message for r in records if r.level is not None]

        def catalog_alone() -> None:
            catalog._cached_classify.cache_clear()  # as a fresh process starts
            for message in messages:
                catalog.classify(message)

        stages = {
            "start-up (imports)": startup,
            "physical lines": own_cpu(lambda: sum(1 for _ in physical_lines(
                open_source(file), print)), k),
            "journal envelope": own_cpu(lambda: [journal.parse_line(t) for t in texts], k),
            "message catalog": own_cpu(catalog_alone, k),
            "reader (records)": own_cpu(lambda: sum(1 for _ in ParseRun([file], year=2023)), k),
            "model (replay_records)": own_cpu(lambda: replay_records(records), k),
            "nsim replay (whole)": child_cpu([NSIM, "replay", "--year", "2023", file], k),
        }
    print(f"journal: {file}: {len(texts)} lines, {len(records)} records; lnav CPU {lnav:.3f} s")
    for name, cpu in stages.items():
        print(f"{name:24} {cpu:7.3f} s  {cpu / lnav:6.1f}x lnav")


if __name__ == "__main__":
    main()
