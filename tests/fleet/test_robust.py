"""One bad input costs only itself; endless inputs are refused; long runs say how far they are."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client

import nsim
from nsim.fleet import tasks
from nsim.fleet.jobs import FleetReplay, fleet_parse, fleet_replay
from nsim.fleet.tasks import Task, run_tasks
from nsim.logs.reader import ParseRun
from nsim.logs.record import Record

from .conftest import ROOT, YEAR


def _break_reader(module: str, path: str) -> None:
    """In this worker process: `module`'s ParseRun raises after one record of `path`."""
    mod = importlib.import_module(module)

    class Breaking(ParseRun):
        def __iter__(self) -> Iterator[Record]:
            records = super().__iter__()
            if self.paths == [path]:
                yield next(records)
                raise RuntimeError("reader blew up\nsecond line")
            yield from records

    mod.ParseRun = Breaking  # type: ignore[attr-defined]


def _mend_reader(module: str) -> None:
    importlib.import_module(module).ParseRun = ParseRun  # type: ignore[attr-defined]


def test_a_file_whose_sniff_raises_costs_only_itself(client: Client, fleet_dir: Path) -> None:
    """The old sniff task read 32 files and failed whole: every host in it was lost."""
    bad = str(fleet_dir / "beta.journal")
    files = [str(fleet_dir / n) for n in ("alpha.journal", "beta.journal", "delta.json")]
    client.run(_break_reader, "nsim.fleet.inputs", bad)
    try:
        run = fleet_replay(client, files, year=YEAR)
    finally:
        client.run(_mend_reader, "nsim.fleet.inputs")
    assert set(run.result.hosts) == {"alpha", "delta"}
    assert run.fleet.unreadable == [(bad, "cannot read: RuntimeError: reader blew up")]
    assert run.result.errors == [f"{bad}: cannot read: RuntimeError: reader blew up"]


def test_a_file_whose_parse_raises_costs_only_itself(client: Client, fleet_dir: Path,
                                                     tmp_path: Path) -> None:
    """gamma's two files are one task: the rotated one breaks, the other is still written."""
    bad = str(fleet_dir / "gamma.journal.1")
    files = [str(fleet_dir / n) for n in ("alpha.journal", "gamma.journal", "gamma.journal.1")]
    client.run(_break_reader, "nsim.fleet.partitions", bad)
    try:
        run = fleet_parse(client, files, str(tmp_path / "out"), year=YEAR)
    finally:
        client.run(_mend_reader, "nsim.fleet.partitions")
    rows = pd.read_parquet(tmp_path / "out")
    by_source = rows.groupby("source").size().to_dict()
    whole = {f: len(list(nsim.parse([f], year=YEAR))) for f in files[:2]}
    assert by_source == {**whole, bad: 1}  # the one record read before the failure
    assert run.written.errors == [
        f"{bad}: stopped after 1 record(s): RuntimeError: reader blew up"]


def _within(seconds: float, call: object) -> FleetReplay:
    """The result of `call()`, or a failure if it takes longer than `seconds` (it may hang)."""
    out: list[FleetReplay] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)  # type: ignore[operator]
    worker.start()
    worker.join(seconds)
    assert out, f"still running after {seconds} s"
    return out[0]


def test_fifos_and_devices_are_refused_not_read_forever(client: Client, fleet_dir: Path,
                                                        tmp_path: Path) -> None:
    fifo = tmp_path / "host.journal"
    os.mkfifo(fifo)
    good = str(fleet_dir / "alpha.journal")
    run = _within(90, lambda: fleet_replay(client, [str(fifo), "/dev/zero", good], year=YEAR))
    assert set(run.result.hosts) == {"alpha"}
    assert run.fleet.unreadable == [
        (str(fifo), "not a regular file (a FIFO): fleet reads only regular files"),
        ("/dev/zero", "not a regular file (a device): fleet reads only regular files")]


def test_a_long_run_reports_progress(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "PROGRESS_EVERY", 0.3)
    said: list[str] = []
    outcome = run_tasks(client, [Task("slow", time.sleep, (2,), "slow.journal"),
                                 Task("quick", abs, (-1,), "quick.journal")], progress=said.append)
    assert outcome.results == {"slow": None, "quick": 1}
    assert said and all(m.startswith("fleet: ") for m in said)
    assert "1 of 2 task(s) done" in said[-1] and said[-1].endswith("still reading slow.journal")


def test_cli_stderr_names_each_refused_input_in_one_line_and_nothing_of_dask(
        fleet_dir: Path, tmp_path: Path) -> None:
    """Its own cluster, started and closed: no Dask log line, warning or traceback reaches
    stderr (the worker processes write to it too), only nsim's lines."""
    fifo = tmp_path / "host.journal"
    os.mkfifo(fifo)
    good = str(fleet_dir / "alpha.journal")
    done = subprocess.run([sys.executable, "-m", "nsim.cli", "fleet", "replay", str(fifo), good,
                           "--year", str(YEAR), "--workers", "1", "--json"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2  # an input could not be read; the others are still reported
    assert '"alpha"' in done.stdout
    said, counts = done.stderr.splitlines()
    assert said == f"nsim: {fifo}: not a regular file (a FIFO): fleet reads only regular files"
    assert counts.endswith(" bad lines")
