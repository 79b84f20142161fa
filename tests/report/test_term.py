"""Colour and width on a terminal, plain text when piped: replay's verdict and violations,
diff's deltas, parse's table (header, host column, messages cut at the terminal's width);
NO_COLOR respected. Commands run in a pseudo-terminal as a user runs them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, SEED
from tests.terminal import nsim_env, run_nsim

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HW = ROOT / "sample_logs" / "hw-boot.journal"


def _nsim(argv: list[str], tty: bool, **env: str) -> str:
    """stdout of `nsim argv`: in a pseudo-terminal of 100 columns when `tty`, else a pipe."""
    return run_nsim(argv, "stdout", tty, nsim_env(**env)).replace("\r\n", "\n")


def _tampered(tmp_path: Path) -> str:
    path = tmp_path / "tampered.journal"
    path.write_text(SEED.read_text(encoding="utf-8").replace(":: held 9.061s", ":: held 2.000s"),
                    encoding="utf-8")
    return str(path)


def test_replay_paints_the_verdict_and_violations_on_a_terminal(tmp_path: Path) -> None:
    out = _nsim(["replay", _tampered(tmp_path), "--year", "2017"], tty=True)
    first = out.splitlines()[0]
    assert ANSI.search(first) and ANSI.sub("", first) == "Violations: 1 (1 lock-held)."
    violation = next(line for line in out.splitlines() if "[lock-held]" in line)
    assert ANSI.search(violation)


def test_no_colour_when_piped_or_with_no_color(tmp_path: Path) -> None:
    argv = ["replay", _tampered(tmp_path), "--year", "2017"]
    piped = _nsim(argv, tty=False)
    assert not ANSI.search(piped) and piped.startswith("Violations: 1 (1 lock-held).")
    no_color = _nsim(argv, tty=True, NO_COLOR="1")
    assert not ANSI.search(no_color) and no_color == piped


def test_parse_table_on_a_terminal_fits_its_width() -> None:
    out = _nsim(["parse", str(SEED), str(HW), "--year", "2017"], tty=True)
    lines = [ANSI.sub("", line) for line in out.splitlines()]
    assert lines[0].split() == ["TIME", "HOST", "LEVEL", "EVENT", "INSTANCE", "MESSAGE"]
    assert all(len(line) <= 100 for line in lines)
    assert any(line.endswith("…") and len(line) == 100 for line in lines)  # cut, not at 90
    hosts = {line.split()[2] for line in lines[1:]}
    assert {"compute", "vm"} <= hosts
    assert ANSI.search(out)


def test_parse_table_piped_keeps_whole_messages() -> None:
    out = _nsim(["parse", str(SEED), "--year", "2017"], tty=False)
    longest = max(out.splitlines(), key=len)
    assert len(longest) > 100 and "…" not in out and not ANSI.search(out)


def test_diff_paints_deltas_on_a_terminal() -> None:
    oslo = str(ROOT / "sample_logs" / "seed-boot.oslo.log")
    out = _nsim(["diff", oslo, str(SEED), "--year", "2017"], tty=True)
    claim = next(line for line in out.splitlines() if line.strip().startswith("claim"))
    assert ANSI.search(claim) and ANSI.sub("", claim).split()[1:] == ["0.182", "0", "-0.182"]
