"""`nsim parse`: outputs (table, jsonl, csv, parquet), -o, stdin, --format, the summary line,
exit codes; in-process through nsim.cli.main and as a real subprocess of .venv/bin/nsim."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import nsim
from nsim.logs.schema import JSON_COLUMNS
from tests.conftest import (
    BOOT_KINDS,
    ROOT,
    SEED,
    boot_journal,
    run_cli,
    summary_counts,
    write_log,
)

NSIM = ROOT / ".venv" / "bin" / "nsim"
ISSUE_KEYS = {"source", "line", "timestamp", "host", "process", "pid", "level", "logger",
              "context", "request_id", "global_request_id", "user", "project", "instance",
              "message", "func", "path", "lineno", "event", "fields"}
SEED_LINES = SEED.read_text(encoding="utf-8").splitlines()
# A record starts on each line that carries a level after "nova-compute[PID]: ".
SEED_HEADERS = [i for i, line in enumerate(SEED_LINES, 1)
                if re.match(r"^\w{3} \d\d \d\d:\d\d:\d\d \S+ nova-compute\[\d+\]: "
                            r"(?:DEBUG|INFO|WARNING|ERROR) ", line)]


def jsonl_rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- outputs ----------------------------------------------------------------------------------------

def test_table_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["parse", str(SEED), "--year", "2017"], capsys)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["TIME", "HOST", "LEVEL", "EVENT", "INSTANCE", "MESSAGE"]
    assert len(rows) == len(SEED_HEADERS)
    assert "instance_starting" in rows[1] and "2017-06-16 13:12:52  compute  " in rows[1]
    assert summary_counts(err) == (len(SEED_HEADERS), len(SEED_HEADERS), 0, 0)


def test_jsonl_keys_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["parse", str(SEED), "--year", "2017", "--to", "jsonl"], capsys)
    assert code == 0
    rows = jsonl_rows(out)
    assert [r["line"] for r in rows] == SEED_HEADERS
    for row in rows:
        assert set(row) >= ISSUE_KEYS
        assert row["source"] == str(SEED)
        assert row["event"] is not None  # every seed message is in the event catalog
        raw = SEED_LINES[row["line"] - 1]
        assert row["message"].split("\n")[0] in raw
        assert datetime.fromisoformat(row["timestamp"]).year == 2017
        assert row["host"] == "compute" and row["process"] == "nova-compute" and row["pid"] == 5666
        if row["lineno"] is not None:
            last = SEED_LINES[row["line"] - 1 + row["message"].count("\n")]
            assert last.endswith(f" {row['func']} {row['path']}:{row['lineno']}}}}}")
            assert "{{" not in row["message"]

    first = rows[0]
    assert first["timestamp"] == "2017-06-16T13:12:52"
    assert first["level"] == "DEBUG" and first["logger"] == "oslo_concurrency.lockutils"
    assert first["context"] == "None req-d9a23179-e16d-4016-9586-e68c3dfdf6a9 admin admin"
    assert first["request_id"] == "req-d9a23179-e16d-4016-9586-e68c3dfdf6a9"
    assert first["global_request_id"] is None
    assert first["instance"] is None
    assert first["event"] == "lock_acquired"
    assert first["fields"]["waited"] == 0.0
    assert first["fields"]["owner"] == "nova.compute.manager._locked_do_build_and_run_instance"
    assert (first["func"], first["lineno"]) == ("inner", 273)

    total = next(r for r in rows if r["event"] == "claim_total")
    assert total["fields"] == {"resource": "memory", "total": 7983.0, "used": 512.0}
    assert total["instance"] == "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
    assert total["func"] is None

    xml_line = next(i for i, x in enumerate(SEED_LINES, 1) if "End _get_guest_xml" in x)
    xml_end = next(i for i, x in enumerate(SEED_LINES, 1) if x.endswith("driver.py:5104}}"))
    xml = next(r for r in rows if r["event"] == "guest_xml_end")
    assert xml["line"] == xml_line
    assert xml["message"].count("\n") == xml_end - xml_line
    assert xml["lineno"] == 5104
    assert xml["fields"]["xml"].endswith("</domain>")

    converted = next(r for r in rows if r["event"] == "subprocess_running"
                     and "convert" in r["message"])
    assert converted["fields"]["qemu_img"]["operation"] == "convert"
    assert converted["fields"]["qemu_img"]["output_format"] == "raw"
    took = [r["fields"]["seconds"] for r in rows if r["event"] == "took_seconds"]
    assert took == [8.19, 9.05]
    assert summary_counts(err) == (len(rows), len(rows), 0, 0)


def test_jsonl_lines_are_json_dumps_of_to_json(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Each line is json.dumps(record.to_json(), ensure_ascii=False), columns in JSON_COLUMNS
    order, also for records that share their event (equal messages) and non-ASCII text."""
    log = tmp_path / "twice.journal"
    text = SEED.read_text()
    log.write_text(text + text.replace("Starting instance...", "Starting instance... é"))
    code, out, _ = run_cli(["parse", str(log), "--year", "2017", "--to", "jsonl"], capsys)
    assert code == 0
    records = list(nsim.parse(str(log), year=2017))
    lines = out.splitlines()
    assert len(lines) == len(records) > 2 * len(SEED_HEADERS) - 1
    assert any("é" in line for line in lines)
    for line, rec in zip(lines, records, strict=True):
        assert line == json.dumps(rec.to_json(), ensure_ascii=False)
        assert list(json.loads(line)) == list(JSON_COLUMNS)


def test_csv_output(capsys: pytest.CaptureFixture[str]) -> None:
    _, jl, _ = run_cli(["parse", str(SEED), "--year", "2017", "--to", "jsonl"], capsys)
    code, out, err = run_cli(["parse", str(SEED), "--year", "2017", "--to", "csv"], capsys)
    assert code == 0
    reader = csv.DictReader(io.StringIO(out, newline=""))
    assert set(reader.fieldnames or []) >= ISSUE_KEYS
    rows = list(reader)
    expected = jsonl_rows(jl)
    assert len(rows) == len(expected) == summary_counts(err)[0]
    for got, want in zip(rows, expected, strict=True):
        assert got["message"] == want["message"]  # multi-line XML survives CSV quoting
        assert int(got["line"]) == want["line"]
        assert got["event"] == want["event"]
        if want["fields"]:
            assert json.loads(got["fields"]) == want["fields"]


def test_csv_fields_of_a_kind_without_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """`Starting instance...` is an event with no fields: {} in JSON, not the empty cell of
    a record outside the catalog."""
    _, jl, _ = run_cli(["parse", str(SEED), "--year", "2017", "--to", "jsonl"], capsys)
    _, out, _ = run_cli(["parse", str(SEED), "--year", "2017", "--to", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    expected = jsonl_rows(jl)
    starting = [i for i, r in enumerate(expected) if r["event"] == "instance_starting"]
    assert starting and expected[starting[0]]["fields"] == {}
    for got, want in zip(rows, expected, strict=True):
        assert json.loads(got["fields"]) == want["fields"], want["event"]


def test_parquet_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, jl, _ = run_cli(["parse", str(SEED), "--year", "2017", "--to", "jsonl"], capsys)
    out_path = tmp_path / "seed.parquet"
    code, out, err = run_cli(["parse", str(SEED), "--year", "2017", "--to", "parquet",
                              "-o", str(out_path)], capsys)
    assert code == 0 and out == ""
    frame = pd.read_parquet(out_path)
    expected = jsonl_rows(jl)
    assert len(frame) == len(expected) == summary_counts(err)[0]
    assert set(frame.columns) >= ISSUE_KEYS
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2017-06-16 13:12:52")
    assert list(frame["event"]) == [r["event"] for r in expected]
    assert list(frame["line"]) == [r["line"] for r in expected]
    assert json.loads(frame["fields"].iloc[0]) == expected[0]["fields"]


def test_parquet_needs_output_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(["parse", str(SEED), "--to", "parquet"], capsys)
    assert code == 2
    assert "-o" in err


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    out_path = tmp_path / f"out.{fmt}"
    code, out, err = run_cli(["parse", str(SEED), "--year", "2017", "--to", fmt, "-o",
                              str(out_path)], capsys)
    assert code == 0
    assert out == ""
    written = out_path.read_text(encoding="utf-8")
    n = summary_counts(err)[0]
    if fmt == "jsonl":
        assert len(jsonl_rows(written)) == n
    elif fmt == "csv":
        assert len(list(csv.DictReader(io.StringIO(written, newline="")))) == n
    else:
        assert len(written.splitlines()) == n + 1  # the header


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = ("\n".join(boot_journal()) + "\n").encode()
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    code, out, err = run_cli(["parse", "-", "--year", "2017", "--to", "jsonl"], capsys)
    assert code == 0
    rows = jsonl_rows(out)
    assert [r["event"] for r in rows] == BOOT_KINDS
    assert rows[0]["timestamp"] == "2017-06-16T13:12:52"
    assert summary_counts(err) == (len(BOOT_KINDS), len(BOOT_KINDS), 0, 0)


def test_several_files(tmp_path: Path, boot_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["parse", str(boot_file), str(SEED), "--year", "2017",
                              "--to", "jsonl"], capsys)
    assert code == 0
    rows = jsonl_rows(out)
    sources = [r["source"] for r in rows]
    assert sources == [str(boot_file)] * len(BOOT_KINDS) + [str(SEED)] * len(SEED_HEADERS)
    assert summary_counts(err)[0] == len(BOOT_KINDS) + len(SEED_HEADERS)


# -- --format -------------------------------------------------------------------------------------

def test_format_override_reads_past_a_foreign_head(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A journal preceded by 250 lines of something else: --format journal reads it anyway."""
    head = [f"+ echo step {i}: configuring devstack" for i in range(250)]
    path = write_log(tmp_path, "console.txt", head + boot_journal())
    code, out, err = run_cli(["parse", str(path), "--format", "journal", "--year", "2017",
                              "--to", "jsonl"], capsys)
    assert code == 0
    assert [r["event"] for r in jsonl_rows(out)] == BOOT_KINDS
    assert jsonl_rows(out)[0]["line"] == 251
    assert summary_counts(err) == (len(BOOT_KINDS), len(BOOT_KINDS), 0, 250)


def test_format_mismatch_counts_every_line(tmp_path: Path, boot_file: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["parse", str(boot_file), "--format", "json"], capsys)
    assert code == 0
    assert out == ""
    assert summary_counts(err) == (0, 0, 0, len(boot_journal()))
    assert f"{boot_file}:1:" in err


def test_format_journal_same_as_auto(boot_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, auto, _ = run_cli(["parse", str(boot_file), "--year", "2017", "--to", "jsonl"], capsys)
    _, forced, _ = run_cli(["parse", str(boot_file), "--year", "2017", "--to", "jsonl",
                            "--format", "journal"], capsys)
    assert auto == forced and auto


# -- arguments and exit codes -------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["parse"],
    ["parse", str(SEED), "--format", "xml"],
    ["parse", str(SEED), "--to", "html"],
    ["parse", str(SEED), "--year", "twenty"],
    ["parse", str(SEED), "--year", "17000"],
    ["frobnicate", str(SEED)],
    [],
])
def test_wrong_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(argv, capsys)
    assert code == 2
    assert out == ""


def test_bad_lines_still_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_log(tmp_path, "mixed.journal",
                     [*boot_journal()[:3], "garbage garbage", *boot_journal()[3:]])
    code, _, err = run_cli(["parse", str(path), "--year", "2017"], capsys)
    assert code == 0
    assert f"{path}:4:" in err
    assert summary_counts(err) == (len(BOOT_KINDS), len(BOOT_KINDS), 0, 1)


# -- a real process --------------------------------------------------------------------------------

def nsim_process(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(NSIM), *args], input=stdin, capture_output=True, timeout=60,
                          check=False)


def test_subprocess_jsonl() -> None:
    proc = nsim_process("parse", str(SEED), "--year", "2017", "--to", "jsonl")
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    rows = jsonl_rows(proc.stdout.decode())
    assert len(rows) == len(SEED_HEADERS)
    assert summary_counts(err) == (len(rows), len(rows), 0, 0)


def test_subprocess_stdin_and_errors(tmp_path: Path) -> None:
    data = ("\n".join(boot_journal()) + "\n").encode()
    proc = nsim_process("parse", "-", "--year", "2017", "--to", "jsonl", stdin=data)
    assert proc.returncode == 0
    assert [r["event"] for r in jsonl_rows(proc.stdout.decode())] == BOOT_KINDS

    missing = nsim_process("parse", str(tmp_path / "nope.journal"))
    assert missing.returncode == 2
    assert b"Traceback" not in missing.stderr
    assert str(tmp_path / "nope.journal").encode() in missing.stderr

    wrong = nsim_process("parse", str(SEED), "--to", "xml")
    assert wrong.returncode == 2 and b"Traceback" not in wrong.stderr


def test_subprocess_reader_goes_away(tmp_path: Path) -> None:
    """`nsim parse big | head -1`: a closed pipe ends nsim quietly."""
    big = write_log(tmp_path, "big.journal", SEED.read_bytes() * 60)
    proc = subprocess.Popen([str(NSIM), "parse", str(big), "--year", "2017", "--to", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    json.loads(proc.stdout.readline())
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err
    assert proc.returncode in (0, 1, -13, 141)


def test_subprocess_gzip_on_stdin() -> None:
    """`zcat` is optional: a gzip stream on stdin is recognised by its magic bytes."""
    proc = nsim_process("parse", "-", "--year", "2017", "--to", "jsonl",
                        stdin=gzip.compress(SEED.read_bytes()))
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(jsonl_rows(proc.stdout.decode())) == len(SEED_HEADERS)
    junk = nsim_process("parse", "-", stdin=b"hello\n")
    assert junk.returncode == 2
    assert b"<stdin>: not a nova-compute log" in junk.stderr
