"""No command overwrites one of its inputs, and every output is written to a temporary file
renamed into place, so a failed run leaves the old file as it was (issue 16 part 4)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from nsim.cli import main
from nsim.report import records as record_out
from nsim.report.outputs import replacing_path
from tests.conftest import SEED, run_cli

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "seed-host.toml"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "seed.journal"
    path.write_bytes(SEED.read_bytes())
    return path


def spellings(log: Path) -> dict[str, Path]:
    """Other names of `log`: itself, a symlink, a hard link, a path with `..` in it."""
    link = log.with_name("link.journal")
    link.symlink_to(log.name)
    hard = log.with_name("hard.journal")
    os.link(log, hard)
    sub = log.parent / "sub"
    sub.mkdir()
    return {"same": log, "symlink": link, "hardlink": hard, "dotdot": sub / ".." / log.name}


def assert_refused(code: int, err: str, log: Path, before: str, option: str) -> None:
    assert code == 2
    assert f"nsim: {option} " in err and "refusing to overwrite it" in err, err
    assert digest(log) == before
    assert not [p for p in log.parent.iterdir() if p.name.startswith(".")], "temporary left"


@pytest.mark.parametrize("spelling", ["same", "symlink", "hardlink", "dotdot"])
@pytest.mark.parametrize("to", ["table", "jsonl", "csv", "parquet"])
def test_parse_refuses_to_write_over_its_input(log: Path, spelling: str, to: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = spellings(log)[spelling]
    before = digest(log)
    code, _, err = run_cli(["parse", str(log), "--year", "2017", "--to", to, "-o", str(out)],
                           capsys)
    assert_refused(code, err, log, before, "-o")


def test_parse_refuses_stdin_redirected_from_the_output(log: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    before = digest(log)
    with open(log, "rb") as stdin:
        monkeypatch.setattr("sys.stdin", os.fdopen(os.dup(stdin.fileno()), "r"))
        code, _, err = run_cli(["parse", "-", "--year", "2017", "-o", str(log)], capsys)
    assert_refused(code, err, log, before, "-o")
    assert "is the input <stdin>" in err


def test_parse_of_a_second_input_is_refused_too(log: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.journal"
    other.write_bytes(SEED.read_bytes())
    before = digest(other)
    code, _, err = run_cli(["parse", str(log), str(other), "--year", "2017", "-o", str(other)],
                           capsys)
    assert_refused(code, err, other, before, "-o")


@pytest.mark.parametrize("spelling", ["same", "symlink", "hardlink"])
def test_simulate_like_refuses_to_replace_the_real_log(log: Path, spelling: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = spellings(log)[spelling]
    before = digest(log)
    code, _, err = run_cli(["simulate", "--like", str(log), "--year", "2017", "-o", str(out)],
                           capsys)
    assert_refused(code, err, log, before, "-o")


def test_simulate_like_refuses_save_scenario_over_the_log(log: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = digest(log)
    code, _, err = run_cli(["simulate", "--like", str(log), "--year", "2017",
                            "-o", str(tmp_path / "twin.journal"), "--save-scenario", str(log)],
                           capsys)
    assert_refused(code, err, log, before, "--save-scenario")
    assert not (tmp_path / "twin.journal").exists()


def test_simulate_refuses_to_write_over_its_scenario(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "seed.toml"
    scenario.write_bytes(SCENARIO.read_bytes())
    before = digest(scenario)
    code, _, err = run_cli(["simulate", str(scenario), "-o", str(scenario)], capsys)
    assert_refused(code, err, scenario, before, "-o")


def test_simulate_into_a_directory_refuses_a_host_file_that_is_the_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several hosts with an oslo.log one write DIR/<host>.log: the scenario is DIR/b.log."""
    text = SCENARIO.read_text().replace('name = "compute"', 'name = "a"')
    text += '\n[[hosts]]\nname = "b"\nformat = "oslo"\n'
    scenario = tmp_path / "b.log"
    scenario.write_text(text)
    before = digest(scenario)
    code, _, err = run_cli(["simulate", str(scenario), "-o", str(tmp_path)], capsys)
    assert_refused(code, err, scenario, before, "-o")
    assert not (tmp_path / "a.journal").exists()


def test_simulate_into_a_directory_writes_each_host_file(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    text = SCENARIO.read_text().replace('name = "compute"', 'name = "a"')
    text += '\n[[hosts]]\nname = "b"\nformat = "oslo"\n'
    scenario = tmp_path / "two.toml"
    scenario.write_text(text)
    out = tmp_path / "out"
    code, _, err = run_cli(["simulate", str(scenario), "-o", str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.journal", "b.log"]
    assert f"{out / 'a.journal'}, {out / 'b.log'}" in err


def test_diff_plot_refuses_to_draw_over_an_input(log: Path, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    link = spellings(log)["symlink"]
    before = digest(log)
    code, _, err = run_cli(["diff", str(log), str(log), "--year", "2017", "--plot", str(link)],
                           capsys)
    assert_refused(code, err, log, before, "--plot")


def failing(after: int) -> Callable[[Iterable[object], object], None]:
    """A writer that consumes `after` records, writes something, then fails."""
    def write(records: Iterable[object], out: object) -> None:
        for i, _ in enumerate(records):
            if i == after:
                raise RuntimeError("disk on fire")
            if hasattr(out, "write"):
                out.write("partial\n")  # type: ignore[attr-defined]
    return write


@pytest.mark.parametrize("to", ["jsonl", "parquet"])
def test_a_failed_parse_leaves_the_old_output_intact(log: Path, tmp_path: Path, to: str,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / f"old.{to}"
    out.write_text("the old output\n")
    name = {"jsonl": "write_jsonl", "parquet": "write_parquet"}[to]
    monkeypatch.setattr(record_out, name, failing(10))
    code, _, err = run_cli(["parse", str(log), "--year", "2017", "--to", to, "-o", str(out)],
                           capsys)
    assert code == 70 and "internal error" in err
    assert out.read_text() == "the old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([log.name, out.name])


def test_outputs_replace_the_old_file_whole_with_its_mode(log: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "records.jsonl"
    out.write_text("x" * 1_000_000)
    out.chmod(0o640)
    code, _, err = run_cli(["parse", str(log), "--year", "2017", "--to", "jsonl", "-o", str(out)],
                           capsys)
    assert code == 0, err
    assert out.read_text().startswith('{"source"')
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([log.name, out.name])


def test_an_unwritable_output_names_the_output(log: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing-dir" / "x.jsonl"
    code, _, err = run_cli(["parse", str(log), "--year", "2017", "-o", str(out)], capsys)
    assert code == 2
    assert f"nsim: {out}: No such file or directory" in err


def test_an_output_to_a_device_or_fifo_is_written_in_place(tmp_path: Path) -> None:
    # Replacing /dev/null (as root) with a regular file would break the machine.
    assert main(["parse", str(SEED), "--year", "2017", "--to", "jsonl", "-o", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with replacing_path(fifo) as name:
        assert name == str(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
