"""Progress on stderr: a rich line on a terminal (run in a pseudo-terminal, as a user runs
nsim), nothing when stderr is piped; how far the inputs have been read."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nsim.report.progress import InputOffsets, Job, showing
from tests.conftest import ROOT, SEED
from tests.terminal import nsim_env, run_nsim

ESCAPE = re.compile(r"\x1b\[")
SUMMARY = re.compile(r"^\d+ records, \d+ events, \d+ unknown, \d+ bad lines$")


def _stderr(argv: list[str], tty: bool, tmp_path: Path) -> str:
    """stderr of `nsim argv` (a pseudo-terminal of 100 columns when `tty`, else a pipe), with
    progress lines shown at once; stdout goes to a file."""
    with open(tmp_path / "stdout", "w") as out:
        return run_nsim(argv, "stderr", tty, nsim_env(NSIM_PROGRESS_DELAY="0"), other=out)


@pytest.mark.parametrize("argv", [["replay", str(SEED), "--year", "2017"],
                                  ["parse", str(SEED), "--year", "2017", "--to", "jsonl"]])
def test_a_terminal_sees_progress_and_a_pipe_does_not(argv: list[str], tmp_path: Path) -> None:
    shown = _stderr(argv, tty=True, tmp_path=tmp_path)
    assert f"{argv[0]}" in shown and "━" in shown  # the label and its bar
    assert ESCAPE.search(shown)
    piped = _stderr(argv, tty=False, tmp_path=tmp_path)
    assert not ESCAPE.search(piped) and "━" not in piped
    assert SUMMARY.match(piped.splitlines()[-1])


def test_a_table_streaming_to_the_terminal_has_no_bar(tmp_path: Path) -> None:
    """parse's table on the terminal is its own progress; a bar would tear its lines."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="100", TERM="xterm", NSIM_PROGRESS_DELAY="0")
    parent, child = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "nsim.cli", "parse", str(SEED), "--year", "2017"],
                          stdout=child, stderr=child, env=env, timeout=120)
    os.close(child)
    out = os.read(parent, 1 << 20).decode("utf-8", "replace")
    os.close(parent)
    assert proc.returncode == 0 and "━" not in out and "TIME" in out


def test_offsets_of_open_inputs_measure_how_far_they_are_read(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"x" * 10_000)
    b.write_bytes(b"y" * 30_000)
    measure, job = InputOffsets([str(a), str(b), "-"]), Job(shown=True)
    measure(job)
    assert (job.done, job.total) == (0, 40_000)
    with open(a, "rb", buffering=0) as f:
        f.read(4_000)
        measure(job)
        assert job.done == 4_000
    measure(job)  # closed after being read: whole
    assert job.done == 10_000
    with open(b, "rb", buffering=0) as f:
        f.read(1)
        measure(job)
    assert job.done == 10_001


def test_nothing_runs_when_not_shown() -> None:
    calls: list[Job] = []
    with showing("quiet", calls.append, enabled=False) as job:
        job.say("note")
    assert not job.shown and calls == []
