"""Usage errors in plain words, for every sub-command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(("argv", "line"), [
    (["replay", "--year", "abc", "x.log"], "nsim replay: --year: 'abc' is not a year (1970-9999)"),
    (["parse", "--year", "99999", "x.log"], "nsim parse: --year: '99999' is not a year (1970-9999)"),
    (["diff", "a", "b", "--year", "1969"], "nsim diff: --year: '1969' is not a year (1970-9999)"),
    (["simulate", "--like", "x", "-o", "-", "--year", "x"],
     "nsim simulate: --year: 'x' is not a year (1970-9999)"),
    (["simulate", "s.toml", "-o", "-", "--seed", "1.5"],
     "nsim simulate: --seed: '1.5' is not a whole number"),
    (["fleet", "replay", "x", "--workers", "0"],
     "nsim fleet replay: --workers: '0' is not a number of workers (at least 1)"),
    (["fleet", "parse", "x", "-o", "d", "--year", "y"],
     "nsim fleet parse: --year: 'y' is not a year (1970-9999)"),
    (["hw", "boot", "--image", "i", "--flavor", "f", "--count", "two"],
     "nsim hw boot: --count: 'two' is not a whole number"),
    (["teach", "--year", "abc"], "nsim teach: --year: 'abc' is not a year (1970-9999)"),
    (["tui", "x.log", "--year", "abc"], "nsim tui: --year: 'abc' is not a year (1970-9999)"),
    (["replay", "--json", "-q", "x.log"], "nsim replay: -q/--quiet: not allowed with argument --json"),
    (["replay"], "nsim replay: the following arguments are required: FILE"),
])
def test_a_usage_error_ends_with_one_plain_line(argv: list[str], line: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("usage: nsim")
    assert err.splitlines()[-1] == line
    assert "error:" not in err and "invalid" not in err


def test_a_bad_host_config_is_named_in_the_same_form(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["replay", "--host-config", "/nonexistent/host.toml", "x.log"], capsys)
    assert code == 2
    assert err.splitlines()[-1].startswith("nsim replay: --host-config: /nonexistent/host.toml: ")


def test_the_installed_command_says_it_the_same_way() -> None:
    out = subprocess.run([sys.executable, "-m", "nsim.cli", "replay", "--year", "abc", "x.log"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == "nsim replay: --year: 'abc' is not a year (1970-9999)"
