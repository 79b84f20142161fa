"""Dask's own noise never reaches the user of `nsim fleet`, its shutdown included."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.fleet.conftest import ROOT

SAMPLES = sorted(str(p) for p in (ROOT / "sample_logs").glob("*.journal"))


def _dask_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "distributed" in line or "Traceback" in line or "Warning" in line]


def test_fleet_replay_of_the_sample_logs_says_only_nsim_s_lines() -> None:
    done = subprocess.run([sys.executable, "-m", "nsim.cli", "fleet", "replay", *SAMPLES,
                           "--year", "2017", "--workers", "2", "--quiet"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.startswith(("Violations: ", "Consistent: "))
    assert _dask_lines(done.stderr) == []
    assert done.stderr.splitlines() == ["323 records, 323 events, 0 unknown, 0 bad lines"]


def test_a_missing_input_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    missing = tmp_path / "gone.journal"
    done = subprocess.run([sys.executable, "-m", "nsim.cli", "fleet", "replay", SAMPLES[0],
                           str(missing), "--year", "2017", "--workers", "1", "--quiet"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2
    said, counts = done.stderr.splitlines()
    assert said.startswith(f"nsim: {missing}: ") and counts.endswith(" bad lines")


def test_a_worker_process_writes_nothing_to_stderr_even_at_exit() -> None:
    """What a worker process writes to stderr (a log record, a warning, a traceback printed at
    interpreter exit) goes nowhere; the client's process keeps its stderr."""
    probe = textwrap.dedent("""
        import atexit, logging, sys, warnings
        from nsim.fleet.cluster import silence_for_good
        from nsim.fleet.tasks import connect

        def noisy():
            logging.getLogger("distributed.worker").critical("distributed.worker CRITICAL")
            warnings.warn("a worker UserWarning")
            atexit.register(lambda: print("Traceback (at worker exit)", file=sys.stderr))
            print("worker stderr", file=sys.stderr, flush=True)

        silence_for_good()
        with connect(workers=1) as client:
            client.run(noisy)
        print("client stderr", file=sys.stderr)
        atexit.register(lambda: logging.getLogger("distributed.client").error("distributed at exit"))
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "client stderr\n"
