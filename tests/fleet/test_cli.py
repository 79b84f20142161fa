"""`nsim fleet` arguments: its own local cluster, a scheduler that is not there, bad options."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from nsim.fleet import tasks
from tests.conftest import run_cli


def test_own_local_cluster_with_workers(fleet_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["fleet", "replay", str(fleet_dir / "alpha.journal"), "--json",
                              "--year", "2017", "--workers", "1"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert list(report["hosts"]) == ["alpha"]
    assert report["fleet"] == {"inputs": 1, "tasks": 1, "retried": [], "apart": [],
                               "unreadable": []}


def test_unreachable_scheduler(fleet_dir: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tasks, "CONNECT_TIMEOUT", "1s")
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    code, out, err = run_cli(["fleet", "replay", str(fleet_dir / "alpha.journal"),
                              "--scheduler", address], capsys)
    assert (code, out) == (2, "")
    assert f"nsim: cannot connect to scheduler {address}" in err


@pytest.mark.parametrize("argv", [
    ["fleet", "replay", "x.journal", "--workers", "0"],
    ["fleet", "replay", "x.journal", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"],
    ["fleet", "parse", "x.journal"],  # -o is required
    ["fleet"],
])
def test_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert "usage: nsim fleet" in err


def test_bad_host_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "host.toml").write_text("memory_mb = -1\n")
    code, _, err = run_cli(["fleet", "replay", "x.journal", "--host-config",
                            str(tmp_path / "host.toml")], capsys)
    assert code == 2
    assert "nsim fleet replay: --host-config: " in err and "host.toml: memory_mb" in err
