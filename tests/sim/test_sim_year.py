"""Traces nsim writes carry their year: `nsim simulate` gives each written file the trace's
last time as its mtime, so reading it back needs no --year."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

import nsim
from tests.conftest import ROOT, run_cli

SEED_HOST = ROOT / "scenarios" / "seed-host.toml"


def _scenario_in(tmp_path: Path, year: int, hosts: str = "") -> Path:
    text = SEED_HOST.read_text(encoding="utf-8")
    assert "start = 2017-06-16T13:12:52" in text
    path = tmp_path / f"y{year}.toml"
    path.write_text(text.replace("start = 2017-", f"start = {year}-") + hosts, encoding="utf-8")
    return path


def test_a_2023_scenario_reads_back_as_2023_without_year(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "twin.journal"
    code, _, _ = run_cli(["simulate", str(_scenario_in(tmp_path, 2023)), "-o", str(out)], capsys)
    assert code == 0
    records = list(nsim.parse(str(out)))
    stamps = [r.timestamp for r in records if r.timestamp is not None]
    assert stamps and {t.year for t in stamps} == {2023}
    # the mtime is the trace's last time (the clock may run a little past the last line)
    mtime = datetime.fromtimestamp(os.stat(out).st_mtime)
    assert max(stamps) <= mtime < max(stamps).replace(year=2023, hour=23, minute=59)
    code, report, _ = run_cli(["replay", str(out)], capsys)
    assert code == 0 and "Consistent" in report


def test_each_file_of_a_directory_output_is_dated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    oslo_host = ('\n[[hosts]]\nname = "cmp2"\nformat = "oslo"\nmemory_mb = 7983\n'
                 'disk_gb = 47\nvcpus = 4\n')
    scenario = _scenario_in(tmp_path, 2021, oslo_host)
    out = tmp_path / "traces"
    code, _, err = run_cli(["simulate", str(scenario), "-o", str(out)], capsys)
    assert code == 0, err
    journals = sorted(out.glob("*.journal"))
    assert journals and sorted(out.glob("*.log"))
    for path in journals:
        assert datetime.fromtimestamp(os.stat(path).st_mtime).year == 2021
        assert {r.timestamp.year for r in nsim.parse(str(path)) if r.timestamp} == {2021}
