"""A format forced on the wrong file, and unreadable compressed input, are reported, not swallowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsim.cli import main

SEED = Path(__file__).resolve().parents[1] / "sample_logs" / "seed-boot.journal"


def test_oslo_forced_on_a_journal_reports_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(SEED), "--format", "oslo"]) == 0
    err = capsys.readouterr().err
    assert f"{SEED}:1: unstamped line with no record before it" in err
    lines = len(SEED.read_text().splitlines())
    assert err.splitlines()[-1] == f"0 records, 0 events, 0 unknown, {lines} bad lines"


def test_a_broken_gzip_file_cannot_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiny.gz"
    path.write_bytes(b"\x1f\x8b")
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not a readable gzip file" in err and "Traceback" not in err
