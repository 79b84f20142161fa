"""`nsim tui` and `nsim teach` on the command line (the app's run is replaced by a recorder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nsim.cli import main
from nsim.tui.app import NsimApp
from nsim.tui.cli import SEED_YEAR, seed_path
from tests.tui.helpers import SEED

OTHER = "sample_logs/failed-spawn.journal"


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[NsimApp]:
    """The apps the commands would have run."""
    apps: list[NsimApp] = []
    monkeypatch.setattr(NsimApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


def test_tui_opens_every_file_with_the_year(opened: list[NsimApp]) -> None:
    assert main(["tui", SEED, OTHER, "--year", "2017"]) == 0
    (app,) = opened
    assert app.session.paths == [SEED, OTHER] and app.session.year == 2017
    assert app.tour is None


@pytest.mark.parametrize("command", ["tui", "teach"])
@pytest.mark.parametrize("path", ["missing.log", "/etc/passwd", "README.md", "sample_logs"])
def test_an_unreadable_file_is_refused_as_parse_refuses_it(
        opened: list[NsimApp], capsys: pytest.CaptureFixture[str], command: str, path: str) -> None:
    assert main(["parse", path]) == 2
    said = capsys.readouterr().err.splitlines()[0]
    assert said.startswith(f"nsim: {path}: ")
    assert main([command, path]) == 2
    assert capsys.readouterr().err.splitlines() == [said]
    assert opened == []


def test_one_unreadable_file_among_good_ones_is_refused(
        opened: list[NsimApp], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", SEED, "missing.log", "--year", "2017"]) == 2
    assert capsys.readouterr().err == "nsim: missing.log: no such file\n"
    assert opened == []


def test_registering_the_commands_loads_no_model_lesson_or_textual() -> None:
    probe = ("import sys, nsim.cli; nsim.cli.build_parser(); "
             "print(' '.join(m for m in sys.modules if m.startswith(('nsim.tui', 'textual'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert sorted(out.stdout.split()) == ["nsim.tui", "nsim.tui.cli", "nsim.tui.lessons"]


def test_tui_refuses_stdin_and_a_bad_host_config(opened: list[NsimApp], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", "-"]) == 2
    assert "cannot read a log from stdin" in capsys.readouterr().err
    bad = tmp_path / "host.toml"
    bad.write_text("memory_mb = -1\n")
    assert main(["tui", SEED, "--host-config", str(bad)]) == 2
    assert "--host-config" in capsys.readouterr().err
    assert opened == []


def test_teach_defaults_to_the_seed_boot_of_2017_in_english(opened: list[NsimApp]) -> None:
    assert seed_path().is_file()
    assert main(["teach"]) == 0
    (app,) = opened
    assert app.session.paths == [str(seed_path())] and app.session.year == SEED_YEAR
    assert app.tour is not None and app.tour.lesson.lang == "en"


def test_teach_a_file_of_ones_own_in_chinese(opened: list[NsimApp]) -> None:
    assert main(["teach", SEED, "--lang", "zh"]) == 0
    (app,) = opened
    assert app.session.paths == [SEED] and app.session.year is None
    assert app.tour is not None and app.tour.lesson.lang == "zh"


def test_teach_knows_only_the_lessons_it_has(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teach", "--lang", "fr"]) == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["tui", "teach"])
def test_without_a_terminal_the_ui_is_refused_not_left_waiting(command: str) -> None:
    """`nsim teach < /dev/null | cat` used to draw into the pipe and never return."""
    done = subprocess.run([sys.executable, "-m", "nsim.cli", command, SEED, "--year", "2017"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == ("nsim: nsim tui and nsim teach need a terminal on standard input and "
                           "output; in a pipe, use nsim parse or nsim replay\n")
