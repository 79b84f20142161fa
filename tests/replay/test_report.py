"""`nsim replay`'s report: the verdict and a summary first (hosts, boots by outcome, violations
by rule), the details after; `--quiet` prints the verdict and counts only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED, run_cli

SAMPLES = ROOT / "sample_logs"


def _tampered(tmp_path: Path) -> Path:
    """The seed with two falsified timings: one lock-held and one took-seconds violation."""
    text = SEED.read_text(encoding="utf-8")
    assert ":: held 9.061s" in text and "Took 9.05 seconds to build" in text
    text = text.replace(":: held 9.061s", ":: held 2.000s").replace("Took 9.05", "Took 19.05")
    path = tmp_path / "tampered.journal"
    path.write_text(text, encoding="utf-8")
    return path


def test_consistent_report_leads_with_verdict_and_summary(
        capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(SAMPLES / n) for n in ("seed-boot.journal", "second-boot.journal",
                                        "refused-claim.journal")]
    code, out, _ = run_cli(["replay", *files, "--year", "2017"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Consistent: no violations."
    assert lines[1].startswith("Hosts: ") and "compute" in lines[1]
    assert lines[2].startswith("Boots: ")
    assert lines.index("Consistent: no violations.") == 0  # said once, at the top
    first_detail = next(i for i, line in enumerate(lines) if line.startswith("Host "))
    assert all(not line.startswith("  instance ") for line in lines[:first_detail])


def test_violations_are_counted_by_rule_before_the_details(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["replay", str(_tampered(tmp_path)), "--year", "2017"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] in ("Violations: 2 (1 lock-held, 1 took-seconds).",
                        "Violations: 2 (1 took-seconds, 1 lock-held).")
    assert lines[1] == "Hosts: 1 (compute)"
    assert lines[2] == "Boots: 1 (1 active)"
    assert "Violations (2)" in lines[3:]  # the details follow


def test_quiet_prints_the_verdict_and_counts_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, full, _ = run_cli(["replay", str(_tampered(tmp_path)), "--year", "2017"], capsys)
    code_q, quiet, _ = run_cli(["replay", str(_tampered(tmp_path)), "--year", "2017", "-q"],
                               capsys)
    assert code == code_q == 1
    assert full.startswith(quiet) and len(quiet) < len(full)
    assert not any(line.startswith(("Host ", "  ")) for line in quiet.splitlines())
    assert quiet.splitlines()[-1].startswith("Assumptions: ")


def test_quiet_and_json_do_not_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["replay", str(SEED), "--json", "--quiet"], capsys)
    assert code == 2 and out == "" and "not allowed with" in err
