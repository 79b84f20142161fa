"""`nsim fleet replay` gives what `nsim replay` gives on the same inputs, plus a fleet section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distributed import Client

from nsim.fleet.inputs import expand, group, sniff
from nsim.fleet.jobs import fleet_replay
from nsim.model.config import HostConfig
from nsim.replay.run import replay
from nsim.report.replay import to_json
from tests.conftest import run_cli

from .conftest import YEAR


def _sorted(report: dict) -> dict:
    """The report with its lists in a canonical order (hosts are already keyed)."""
    out = dict(report)
    out["instances"] = sorted(report["instances"], key=lambda i: (i["host"], i["uuid"]))
    out["image_cache"] = {**report["image_cache"], "entries": sorted(
        report["image_cache"]["entries"], key=lambda e: (e["host"], e["filename"]))}
    out["assumptions"] = sorted(report["assumptions"],
                                key=lambda a: (a["source"], a["line"] or 0, a["message"]))
    return out


def test_same_result_as_single_machine_replay(client: Client, fleet_dir: Path) -> None:
    files = expand([f"{fleet_dir}/*"]).files
    single = to_json(replay(files, year=YEAR))
    run = fleet_replay(client, [f"{fleet_dir}/*"], year=YEAR)
    fleet = to_json(run.result)
    assert _sorted(fleet) == _sorted(single)
    assert set(fleet["hosts"]) == {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta",
                                   "theta", "iota"}
    assert {v["rule"] for v in fleet["violations"]} >= {"claim-used"}  # gamma's and iota's 2nd boot
    assert run.fleet.retried == [] and run.fleet.unreadable == []
    assert run.fleet.inputs == files


def test_same_order_too_when_each_file_holds_one_host(client: Client, fleet_dir: Path) -> None:
    names = ("epsilon.log", "alpha.journal", "beta.journal", "gamma.journal", "gamma.journal.1",
             "delta.json", "iota.journal")
    files = [str(fleet_dir / n) for n in names]
    single = to_json(replay(files, year=YEAR))
    fleet = to_json(fleet_replay(client, files, year=YEAR).result)
    assert fleet == single
    assert list(fleet["hosts"]) == list(single["hosts"]) == [
        "gamma", "alpha", "delta", "iota", "beta", "epsilon"]


def test_a_host_found_late_in_a_file_is_replayed_with_its_other_files(
        client: Client, fleet_dir: Path) -> None:
    files = [str(fleet_dir / n) for n in ("late.journal", "iota.journal", "alpha.journal")]
    assert len(group(sniff(files, year=YEAR))) == 3
    run = fleet_replay(client, files, year=YEAR)
    assert run.fleet.tasks == 4  # three, then late + iota again together
    assert to_json(run.result) == to_json(replay(files, year=YEAR))
    assert len(run.result.hosts["iota"].instances) == 2


def test_sample_logs_and_host_config(client: Client, fleet_dir: Path) -> None:
    config = HostConfig(ram_allocation_ratio=1.5, memory_mb=7983)
    pattern = f"{fleet_dir}/samples/*"
    single = replay(expand([pattern]).files, config=config, year=YEAR)
    run = fleet_replay(client, [pattern], config=config, year=YEAR)
    assert to_json(run.result) == to_json(single)
    # `compute` (journal and JSON exports name it, the oslo.log files name it as their node)
    # and `vm` (the hardware trace)
    assert set(run.result.hosts) == {"compute", "vm"}


def test_cli_json_matches_nsim_replay_json(scheduler: str, fleet_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    files = expand([f"{fleet_dir}/*.journal", f"{fleet_dir}/*.log"]).files
    code, out, err = run_cli(["replay", "--json", "--year", str(YEAR), *files], capsys)
    fcode, fout, ferr = run_cli(["fleet", "replay", f"{fleet_dir}/*.journal", f"{fleet_dir}/*.log",
                                 "--json", "--year", str(YEAR),
                                 "--scheduler", scheduler], capsys)
    assert (fcode, code) == (1, 1)  # violations
    report = json.loads(fout)
    assert report.pop("fleet") == {"inputs": len(files), "tasks": 8, "retried": [],
                                   "apart": [], "unreadable": []}
    assert _sorted(report) == _sorted(json.loads(out))
    assert ferr.splitlines()[-1] == err.splitlines()[-1]  # N records, N events, ...


def test_cli_text_report_ends_with_the_fleet_section(scheduler: str, fleet_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["fleet", "replay", str(fleet_dir / "alpha.journal"), "--year", "2017",
                            "--scheduler", scheduler], capsys)
    assert code == 0
    assert "Consistent: no violations." in out
    assert out.endswith("Fleet: 1 input(s), 1 task(s)\n")


def test_unreadable_inputs_are_reported(client: Client, scheduler: str, fleet_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("not a log\n")
    patterns = [str(fleet_dir / "alpha.journal"), str(tmp_path / "notes.txt"),
                str(tmp_path / "missing.journal"), f"{tmp_path}/nothing-*.log"]
    run = fleet_replay(client, patterns, year=YEAR)
    assert set(run.result.hosts) == {"alpha"}
    assert dict(run.fleet.unreadable) == {
        f"{tmp_path}/nothing-*.log": "no file matches this pattern",
        str(tmp_path / "notes.txt"):
            "not a nova-compute log (no line looks like journald, oslo.log or journalctl JSON)",
        str(tmp_path / "missing.journal"): "no such file",
    }
    # The CLI still prints the report, names them, and exits 2 as `nsim replay` does.
    code, out, err = run_cli(["fleet", "replay", *patterns, "--json", "--year", "2017",
                              "--scheduler", scheduler], capsys)
    assert code == 2
    assert len(json.loads(out)["fleet"]["unreadable"]) == 3
    assert f"{tmp_path}/missing.journal: no such file" in err


def test_nothing_readable_exits_2_without_a_report(scheduler: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["fleet", "replay", f"{tmp_path}/*.journal",
                              "--scheduler", scheduler], capsys)
    assert (code, out) == (2, "")
    assert "no file matches this pattern" in err
