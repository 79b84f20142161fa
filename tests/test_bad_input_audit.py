"""The inputs of the audit (issue 16 part 5) that aborted a whole run: each is now a bad line
named `file:line:` with the rest of the file parsed, or a clear per-file or usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

import nsim
from nsim.logs import reader
from tests.conftest import (
    BOOT_KINDS,
    SEED,
    boot_journal,
    devstack_body,
    diag_at,
    journal_line,
    json_entry,
    parse_all,
    run_cli,
    summary_counts,
    usec_of,
    write_log,
)

NSIM = [sys.executable, "-m", "nsim.cli"]
GOOD = "Took 9.05 seconds to build instance."


def json_log(tmp_path: Path, bad: str) -> Path:
    """Three journal JSON entries, the middle one `bad`."""
    good = [json_entry(devstack_body("INFO", "nova.compute.manager", GOOD),
                       usec_of(datetime(2017, 6, 16, 13, 12, s))) for s in (52, 53)]
    return write_log(tmp_path, "bad.json", [good[0], bad, good[1]])


def entry_with(**fields: object) -> str:
    obj = json.loads(json_entry(devstack_body("INFO", "nova.compute.manager", GOOD),
                                usec_of(datetime(2017, 6, 16, 13, 12, 52))))
    obj.update(fields)
    return json.dumps(obj)


BAD_JSON = {
    "realtime-23-digits": entry_with(__REALTIME_TIMESTAMP="9" * 23),
    "realtime-negative": entry_with(__REALTIME_TIMESTAMP="-1"),
    "realtime-year-10000": entry_with(__REALTIME_TIMESTAMP="253402300800000000"),
    "deep-array": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "hostname-list": entry_with(_HOSTNAME=["compute"]),
    "hostname-number": entry_with(_HOSTNAME=5),
    "identifier-object": entry_with(SYSLOG_IDENTIFIER={"a": 1}),
    "pid-huge": entry_with(_PID="9" * 30),
}


@pytest.mark.parametrize("name", list(BAD_JSON))
def test_bad_json_entry_is_a_bad_line(tmp_path: Path, name: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = json_log(tmp_path, BAD_JSON[name])
    records, run = parse_all(path)
    assert [r.line for r in records] == [1, 3]
    assert run.counts.bad_lines == 1 and diag_at(run, path, 2)
    result = nsim.replay([str(path)])
    assert result.counts.records == 2
    for argv in (["parse", str(path)], ["parse", str(path), "--to", "parquet",
                                        "-o", str(tmp_path / "out.parquet")],
                 ["replay", str(path)]):
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
        assert f"{path}:2: not a journal JSON entry" in err
        assert summary_counts(err)[0] == 2


def seed_with(tmp_path: Path, extra: list[str]) -> Path:
    """The seed boot with `extra` lines after its third line."""
    lines = SEED.read_text().splitlines()
    return write_log(tmp_path, "seed.journal", lines[:3] + extra + lines[3:],
                     mtime=datetime(2017, 7, 1))


BAD_JOURNAL = [
    "9999-12-31T23:59:59-01:00 compute nova-compute[5666]: INFO nova.compute.manager "
    "[None req-1 admin admin] late",
    "0001-01-01T00:00:00+01:00 compute nova-compute[5666]: INFO nova.compute.manager "
    "[None req-1 admin admin] early",
    "Jun 16 13:12:52 compute nova-compute[" + "9" * 30 + "]: INFO nova.compute.manager "
    "[None req-1 admin admin] huge pid",
]


def test_bad_journal_lines_are_bad_lines_in_every_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = seed_with(tmp_path, BAD_JOURNAL)
    records, run = parse_all(path, year=2017)
    assert run.counts.bad_lines == 3
    for n in (4, 5, 6):
        assert diag_at(run, path, n)
    clean, _ = parse_all(SEED, year=2017)
    assert [r.kind for r in records] == [r.kind for r in clean]
    for argv in (["parse", str(path), "--year", "2017", "--to", "parquet",
                  "-o", str(tmp_path / "o.parquet")],
                 ["replay", str(path), "--year", "2017"],
                 ["diff", str(path), str(SEED), "--year", "2017"],
                 ["simulate", "--like", str(path), "--year", "2017",
                  "-o", str(tmp_path / "twin.journal")]):
        code, _, err = run_cli(argv, capsys)
        assert code == 0, (argv, err)
        assert f"{path}:4: impossible timestamp" in err
        assert f"{path}:6: not a journald line" in err


def test_huge_line_number_in_a_debug_suffix_stays_in_the_text(tmp_path: Path) -> None:
    line = journal_line(devstack_body("DEBUG", "nova.compute.manager", "x")
                        + " {{(pid=5666) f /a.py:" + "9" * 30 + "}}")
    path = write_log(tmp_path, "suffix.journal", [line], mtime=datetime(2017, 7, 1))
    records, _ = parse_all(path, year=2017)
    assert records[0].lineno is None and records[0].message.endswith("9}}")


def test_deep_json_in_a_network_info_message_is_kept(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    line = journal_line(devstack_body(
        "DEBUG", "nova.network.neutron",
        f"Updating instance_info_cache with network_info: {deep}",
        instance="8d9b4d4e-1c4a-4b0e-9f5a-3c2d1e0f9a8b"))
    path = write_log(tmp_path, "deep.journal", [*boot_journal(), line],
                     mtime=datetime(2017, 7, 1))
    records, _ = parse_all(path, year=2017)
    assert [r.kind for r in records][:-1] == BOOT_KINDS
    assert records[-1].event is not None and not records[-1].event.complete  # type: ignore[attr-defined]
    assert nsim.replay([str(path)], year=2017).counts.records == len(records)


@pytest.mark.parametrize("fmt", ["journal", "oslo"])
def test_a_record_stops_growing_at_the_cap(tmp_path: Path, fmt: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_RECORD_CHARS", 10_000)
    if fmt == "journal":
        head = journal_line(devstack_body("DEBUG", "nova.virt.libvirt.driver", "start"))
        more = [journal_line("x" * 999)] * 50
        tail = journal_line(devstack_body("INFO", "nova.compute.manager", GOOD))
    else:
        head = "2017-06-16 13:12:52.000 5666 INFO nova.compute.manager [-] start"
        more = ["y" * 999] * 50
        tail = f"2017-06-16 13:12:53.000 5666 INFO nova.compute.manager [-] {GOOD}"
    path = write_log(tmp_path, f"long.{fmt}", [head, *more, tail], mtime=datetime(2017, 7, 1))
    records, run = parse_all(path, year=2017)
    assert len(records) == 2 and records[1].kind == "took_seconds"
    assert len(records[0].message) <= 10_000 + 1000
    dropped = run.counts.bad_lines
    assert dropped == 51 - records[0].lines > 35
    [diag] = diag_at(run, path, 1)
    assert f"its last {dropped} lines" in diag.message


def test_dev_zero_and_a_fifo_are_refused_within_seconds(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "a device"), (str(fifo), "a FIFO")):
        start = time.monotonic()
        done = subprocess.run([*NSIM, "parse", path], capture_output=True, text=True, timeout=60)
        assert time.monotonic() - start < 30
        assert done.returncode == 2
        assert f"nsim: {path}: not a regular file ({kind}" in done.stderr
        assert "Traceback" not in done.stderr


def test_endless_stdin_without_line_ends_stops_with_an_error() -> None:
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run([*NSIM, "parse", "-"], stdin=zero, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 2
    assert "<stdin>:1: no line end in 512 MiB from line 1" in done.stderr


@pytest.mark.parametrize("case", ["deep", "dev-zero", "fifo", "directory", "binary"])
def test_host_config_read_errors_are_usage_errors(tmp_path: Path, case: str) -> None:
    path = tmp_path / "host.toml"
    if case == "deep":
        path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    elif case == "fifo":
        os.mkfifo(path)
    elif case == "directory":
        path.mkdir()
    elif case == "binary":
        path.write_bytes(b"\xff\xfe\x00")
    target = "/dev/zero" if case == "dev-zero" else str(path)
    done = subprocess.run([*NSIM, "replay", str(SEED), "--year", "2017", "--host-config", target],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"--host-config: {target}: " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("where", "count", "message"), [
    ("boots", 10**12, "boots.1.count: Input should be less than or equal to 100000"),
    ("hosts", 10**8, "hosts.0.count: Input should be less than or equal to 10000"),
])
def test_scenario_sizes_are_bounded(tmp_path: Path, where: str, count: int, message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parents[1] / "scenarios" / "seed-host.toml").read_text()
    if where == "hosts":
        text = text.replace('name = "compute"\n', f'name = "compute"\ncount = {count}\n', 1)
    else:
        text += ('\n[[boots]]\nflavor = "m1.tiny"\nimage = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"'
                 f"\ncount = {count}\n")
    scenario = tmp_path / "huge.toml"
    scenario.write_text(text)
    start = time.monotonic()
    code, _, err = run_cli(["simulate", str(scenario), "-o", str(tmp_path / "out.journal")],
                           capsys)
    assert time.monotonic() - start < 10
    assert code == 2 and message in err


def test_many_audits_are_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parents[1] / "scenarios" / "seed-host.toml").read_text()
    text = text.replace('name = "compute"\n', 'name = "compute"\ncount = 5000\n', 1)
    text = text.replace("audit_interval = 0 ", "audit_interval = 1 ")
    text += ('\n[[boots]]\nat = 100000000\nflavor = "m1.tiny"\n'
             'image = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"\n')
    scenario = tmp_path / "audits.toml"
    scenario.write_text(text)
    code, _, err = run_cli(["simulate", str(scenario), "-o", str(tmp_path / "out.journal")],
                           capsys)
    assert code == 2 and "resource audits" in err
