"""A second process reading a journal's lines and parsing their envelopes (nsim.logs.offload)
gives exactly what one process gives: records, counts, diagnostics in their order, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from nsim.cli.common import default_jobs
from nsim.logs import journal, offload
from nsim.logs.reader import ParseRun
from nsim.logs.sniff import SNIFF_LINES
from nsim.report.progress import PROGRESS_THREAD
from tests.conftest import REAL_LOGS, ROOT, SEED

LOGS = sorted(p for p in (ROOT / "sample_logs").iterdir() if p.suffix != ".md") + sorted(
    REAL_LOGS.glob("*.log"))


PARSE_SPY = """
import json, os, sys
from nsim.logs import journal
parses = 0
parse = journal.parse_line
def spy(text):
    global parses
    parses += 1
    return parse(text)
journal.parse_line = spy
"""
"""The start of a fresh interpreter's script that counts, in `parses`, the envelopes that
process parsed itself."""
_FRESH = PARSE_SPY + """
from nsim.logs.reader import ParseRun
if sys.argv[4:] == ["nofork"]:
    def refuse():
        raise BlockingIOError(11, "Resource temporarily unavailable")
    os.fork = refuse
run = ParseRun([sys.argv[1]], year=2023, jobs=int(sys.argv[2]), min_bytes=int(sys.argv[3]))
records = [rec.to_json() for rec in run]
json.dump({"read": [records, run.counts.summary(), [str(d) for d in run.diagnostics],
                    run.errors], "parent_parses": parses}, sys.stdout, default=str)
"""


def _read(path: Path, jobs: int, min_bytes: int = 0, fork: bool = True) -> dict[str, Any]:
    """What ParseRun gives in a fresh interpreter (one thread: no other test's threads keep it
    from forking; `fork=False`: one where fork fails), and how many envelopes that process
    parsed itself."""
    done = subprocess.run([sys.executable, "-c", _FRESH, str(path), str(jobs), str(min_bytes),
                           *([] if fork else ["nofork"])],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


@pytest.fixture
def parent_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines whose envelope this process parsed (the child's own calls are not seen)."""
    seen: list[str] = []
    parse = journal.parse_line

    def spy(text: str) -> Any:
        seen.append(text)
        return parse(text)

    monkeypatch.setattr(journal, "parse_line", spy)
    return seen


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_two_processes_read_what_one_reads(path: Path) -> None:
    assert LOGS, "no logs found"
    one, two = _read(path, 1), _read(path, 2)
    assert one["read"][0]
    assert two["read"] == one["read"]
    assert two["parent_parses"] <= SNIFF_LINES  # journals: the rest was the child's


def _bad_journal(tmp_path: Path) -> Path:
    """A journal past its sniffed head with every kind of line a reader must say something of."""
    good = (b"Jun 16 13:12:52 compute nova-compute[5666]: DEBUG nova.compute.manager [None "
            b"req-9df4d60f-a531-4125-9531-ae6920e6e66d admin admin] Starting instance... "
            b"{{(pid=5666) _do_build_and_run_instance /opt/nova/manager.py:1}}\n")
    lines = [good] * (SNIFF_LINES + 5) + [
        b"Jun 16 13:12:53 compute nova-compute[5666]:   continued <xml/>\n",
        b"\x00\x00\x00\n",
        b"Jun 16 13:12:53 compute nova-compute[5666]: INFO nova.x [-] caf\xe9 \x00nul\n",
        b"\x1b[31mJun 16 13:12:54 compute nova-compute[5666]: WARNING nova.x [-] red\x1b[0m\n",
        b"\n",
        b"-- Boot 3f2a --\n",
        b"not a journal line at all\n",
        b"Jun 16 13:12:55 compute nova-compute[5666]: ERROR nova.x [-] failed\r\n",
        b"Jun 16 13:12:55 compute nova-compute[5666]: ERROR nova.x Traceback line\n",
        b"Feb 30 13:12:55 compute nova-compute[5666]: INFO nova.x [-] no such day\n",
        b"x" * (offload.BATCH * 3) + b"\n",
    ] + [good] * (offload.BATCH * 2) + [b"Jun 16 13:12:56 compute nova-compute[5666]: INFO nova"]
    path = tmp_path / "bad.journal"
    path.write_bytes(b"".join(lines))
    return path


def test_two_processes_report_bad_lines_as_one_does(tmp_path: Path) -> None:
    path = _bad_journal(tmp_path)
    one, two = _read(path, 1), _read(path, 2)
    assert two["read"] == one["read"]
    assert len(one["read"][2]) >= 6, one  # NUL, UTF-8, garbled, empty, marker, not journald...
    assert two["parent_parses"] == SNIFF_LINES  # the rest was the child's
    assert one["parent_parses"] > SNIFF_LINES


def test_small_inputs_and_one_job_stay_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "three.journal"
    path.write_bytes(SEED.read_bytes() * 3)
    assert _read(path, 2, min_bytes=offload.MIN_BYTES)["parent_parses"] == _lines(path)
    assert _read(path, 1)["parent_parses"] == _lines(path)
    assert _read(path, 2)["parent_parses"] == SNIFF_LINES


def test_a_fork_refused_reads_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "three.journal"
    path.write_bytes(SEED.read_bytes() * 3)
    alone = _read(path, 2, fork=False)
    assert alone["read"] == _read(path, 1)["read"]
    assert alone["parent_parses"] == _lines(path)


def test_no_fork_beside_another_thread(tmp_path: Path, parent_parses: list[str]) -> None:
    path = tmp_path / "three.journal"
    path.write_bytes(SEED.read_bytes() * 3)
    stop = threading.Event()
    forkable = offload.can_fork()
    progress = threading.Thread(target=stop.wait, name=PROGRESS_THREAD)
    progress.start()
    try:
        assert offload.can_fork() == forkable  # the progress line does not count
    finally:
        stop.set()
        progress.join()
    stop.clear()
    other = threading.Thread(target=stop.wait, name="someone-else")
    other.start()
    try:
        assert not offload.can_fork()
        list(ParseRun([str(path)], year=2023, jobs=2, min_bytes=0))
    finally:
        stop.set()
        other.join()
    assert len(parent_parses) == _lines(path)


def _run(code: str, path: Path) -> str:
    """What `code` prints, run in a fresh interpreter (one thread) with sys.argv[1] = path."""
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=True).stdout


_CHILDREN = """
import os
def children():
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # leaves it to reap
    except ChildProcessError:
        return False
    return True
"""


def test_stopping_early_reaps_the_child(tmp_path: Path) -> None:
    path = tmp_path / "long.journal"
    path.write_bytes(SEED.read_bytes() * 200)
    out = _run(_CHILDREN + """
import sys
from nsim.logs.reader import ParseRun
records = iter(ParseRun([sys.argv[1]], year=2023, jobs=2, min_bytes=0))
for _ in range(300):
    next(records)
print(children())
records.close()
print(children())
""", path)
    assert out.split() == ["True", "False"]


def test_a_failing_child_is_said_not_hidden(tmp_path: Path) -> None:
    path = tmp_path / "long.journal"
    path.write_bytes(SEED.read_bytes() * 3)
    out = _run(_CHILDREN + """
import sys
from nsim.logs import journal, offload
from nsim.logs.reader import ParseRun
parent, parse = os.getpid(), journal.parse_line
def broken(text):
    if os.getpid() != parent:
        raise KeyError("a bug")
    return parse(text)
journal.parse_line = broken
try:
    list(ParseRun([sys.argv[1]], year=2023, jobs=2, min_bytes=0))
except offload.OffloadError as exc:
    print(exc)
print(children())
""", path)
    assert out.splitlines() == [
        f"{path}: the process reading its lines failed: KeyError: 'a bug'", "False"]


def test_replay_with_two_jobs_prints_what_one_prints(tmp_path: Path) -> None:
    path = tmp_path / "long.journal"
    path.write_bytes(SEED.read_bytes() * (offload.MIN_BYTES // SEED.stat().st_size + 1))
    nsim = [sys.executable, "-m", "nsim.cli", "replay", "--year", "2023", str(path)]
    one = subprocess.run([*nsim, "-j", "1"], capture_output=True, text=True)
    two = subprocess.run([*nsim, "-j", "2"], capture_output=True, text=True)
    assert one.returncode in (0, 1)
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
    bad = subprocess.run([*nsim, "-j", "0"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "'0' is not a number of processes (1-64)" in bad.stderr


def test_an_ignored_ctrl_c_leaves_the_reader_running(tmp_path: Path) -> None:
    """Started with SIGINT ignored (a background job), the child ignores it too."""
    path = tmp_path / "long.journal"
    path.write_bytes(SEED.read_bytes() * 100)
    out = _run("""
import os, signal, sys
from nsim.logs.reader import ParseRun
signal.signal(signal.SIGINT, signal.SIG_IGN)
run = ParseRun([sys.argv[1]], year=2023, jobs=2, min_bytes=0)
records = iter(run)
for _ in range(300):
    next(records)
with open(f"/proc/self/task/{os.getpid()}/children") as children:
    (child,) = children.read().split()
os.kill(int(child), signal.SIGINT)
print(300 + sum(1 for _ in records), run.errors)
""", path)
    assert out.split() == [str(100 * len(list(ParseRun([str(SEED)], year=2023)))), "[]"]


def test_frames_cut_by_size_read_what_one_reads(tmp_path: Path) -> None:
    path = _bad_journal(tmp_path)
    out = _run("""
import json, sys
from nsim.logs import offload
from nsim.logs.reader import ParseRun
offload.FRAME_CHARS = 300  # a frame a line or two
run = ParseRun([sys.argv[1]], year=2023, jobs=2, min_bytes=0)
records = [rec.to_json() for rec in run]
json.dump([records, run.counts.summary(), [str(d) for d in run.diagnostics], run.errors],
          sys.stdout, default=str)
""", path)
    assert json.loads(out) == _read(path, 1)["read"]


def test_stdin_is_read_by_one_process(tmp_path: Path) -> None:
    """Given twice, stdin is read once: the second `-` is empty, as with -j 1."""
    path = tmp_path / "long.journal"
    path.write_bytes(SEED.read_bytes() * (offload.MIN_BYTES // SEED.stat().st_size + 1))
    said = []
    for jobs in ("1", "2"):
        with path.open("rb") as stdin:
            done = subprocess.run([sys.executable, "-m", "nsim.cli", "parse", "-", "-", "-j", jobs,
                                   "--year", "2023", "--to", "jsonl"], stdin=stdin,
                                  capture_output=True, text=True)
        said.append((done.returncode, done.stdout, done.stderr))
    assert said[1] == said[0]
    assert "<stdin>: empty file" in said[0][2]


def test_the_default_jobs_follow_the_cores_this_process_may_use() -> None:
    narrowed = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                               "from nsim.cli.common import default_jobs; print(default_jobs())"],
                              capture_output=True, text=True, check=True)
    assert narrowed.stdout.split() == ["1"]
    assert default_jobs() == (2 if len(os.sched_getaffinity(0)) >= 2 else 1)
