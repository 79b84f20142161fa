"""Bad input, through the API and the CLI: each problem is named by file and line, every good
record around it is still emitted, and records + bad lines account for every physical line."""

from __future__ import annotations

import codecs
import gzip
import json
import random
import time
from datetime import datetime
from pathlib import Path

import pytest

import nsim
from tests.conftest import (
    BOOT_KINDS,
    INST,
    NETWORK_INFO,
    SEED,
    boot_journal,
    devstack_body,
    diag_at,
    journal_line,
    oslo_line,
    parse_all,
    run_cli,
    summary_counts,
    write_log,
)


def boot_bytes() -> list[bytes]:
    return [line.encode("utf-8") for line in boot_journal()]


def build(tmp_path: Path, name: str, lines: list[bytes], newline_at_end: bool = True) -> Path:
    data = b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    return write_log(tmp_path, name, data, mtime=datetime(2017, 7, 1))


def check_cli(path: Path, capsys: pytest.CaptureFixture[str], run: nsim.ParseRun,
              lines_named: list[int], expect_code: int | None = 0) -> str:
    """The CLI on the same input: same counts, each bad line named, no traceback."""
    code, out, err = run_cli(["parse", str(path), "--year", "2017", "--to", "jsonl"], capsys)
    if expect_code is not None:
        assert code == expect_code
    c = run.counts
    assert summary_counts(err) == (c.records, c.events, c.unknown, c.bad_lines)
    for line in lines_named:
        assert f"{path}:{line}:" in err, f"line {line} not named in stderr:\n{err}"
    assert len([x for x in out.splitlines() if x.strip()]) == c.records
    return err


def kinds(records: list[nsim.Record]) -> list[str | None]:
    return [r.kind for r in records]


# -- encodings and bytes ---------------------------------------------------------------------------

def test_non_utf8_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = boot_bytes()
    bad = journal_line(devstack_body(
        "INFO", "nova.compute.manager", "Took 9.05 seconds to build instance.",
        instance=INST)).encode().replace(b"9.05 seconds", b"9.05 s\xe9conds\xff")
    lines.insert(2, bad)
    path = build(tmp_path, "latin1.journal", lines)
    records, run = parse_all(path, year=2017)
    diags = diag_at(run, path, 3)
    assert diags and any("UTF-8" in d.message for d in diags)
    assert str(diags[0]).startswith(f"{path}:3:")
    # The damaged record is kept (with U+FFFD), the others are all there.
    assert [r.line for r in records if "\ufffd" in r.message] == [3]
    assert [k for r, k in zip(records, kinds(records), strict=True) if r.line != 3] == BOOT_KINDS
    check_cli(path, capsys, run, [3])


def test_nul_bytes_inside_a_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After a crash a text log can hold a run of NULs before the next line written."""
    lines = boot_bytes()
    lines[2] = b"\0" * 37 + lines[2]
    path = build(tmp_path, "nul.journal", lines)
    records, run = parse_all(path, year=2017)
    assert diag_at(run, path, 3)
    assert kinds(records) == BOOT_KINDS
    check_cli(path, capsys, run, [3])


def test_nul_filled_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = boot_bytes()
    lines.insert(3, b"\0" * 4096)
    path = build(tmp_path, "nulline.journal", lines)
    records, run = parse_all(path, year=2017)
    assert diag_at(run, path, 4)
    assert run.counts.bad_lines == 1
    assert kinds(records) == BOOT_KINDS
    assert records[3].line == 5  # numbering continues past the bad line
    check_cli(path, capsys, run, [4])


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b"\r\n".join(boot_bytes()) + b"\r\n"
    path = write_log(tmp_path, "crlf.journal", data)
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    assert run.counts.bad_lines == 0
    assert all("\r" not in r.message and "\ufeff" not in r.message for r in records)
    assert records[0].timestamp == datetime(2017, 6, 16, 13, 12, 52)


def test_utf16_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join(x.decode() for x in boot_bytes()) + "\n"
    path = write_log(tmp_path, "utf16.journal", text.encode("utf-16"))  # with BOM
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    assert records[6].event.xml.startswith('<domain type="kvm">')
    assert run.counts.bad_lines == 0
    check_cli(path, capsys, run, [])


# -- damaged and foreign lines ---------------------------------------------------------------------

GARBAGE = [
    b"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
    b"\x07\x08\x01\x02\x03 binary \x04\x05",
    b"lorem ipsum dolor sit amet, consectetur adipiscing elit",
    b'{"MESSAGE": "not in a journal text file"}',
    b"Jun 16 13:12:5",                                      # cut inside the stamp
    b"Jun 16 13:12:53 compute nova-compute[5666]",          # cut before the colon
]


def test_garbled_lines_between_good_ones(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    good = boot_bytes()
    lines = good[:3] + GARBAGE + good[3:]
    path = build(tmp_path, "garbled.journal", lines)
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    bad_numbers = list(range(4, 4 + len(GARBAGE)))
    for n in bad_numbers:
        assert diag_at(run, path, n), f"line {n} not reported"
    assert run.counts.bad_lines == len(GARBAGE)
    assert records[3].line == 4 + len(GARBAGE)
    check_cli(path, capsys, run, bad_numbers)


def test_truncated_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [*boot_bytes(), b"Jun 16 13:13:0"]
    path = build(tmp_path, "cut.journal", lines, newline_at_end=False)
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    assert diag_at(run, path, len(lines))
    check_cli(path, capsys, run, [len(lines)])


def test_truncated_message_keeps_the_rest(tmp_path: Path) -> None:
    """A line cut inside its context bracket is still a line of the log, never a crash."""
    good = boot_bytes()
    cut = good[2][:100]  # "... INFO nova.compute.claims [None req-d9a2"
    assert b"[None req-" in cut and b"]" not in cut[50:]
    lines = [*good[:2], cut, *good[2:]]
    path = build(tmp_path, "cutmsg.journal", lines)
    records, _ = parse_all(path, year=2017)
    assert [k for r, k in zip(records, kinds(records), strict=True) if r.line != 3] == BOOT_KINDS


@pytest.mark.parametrize("stamp", ["Feb 30 13:12:52", "Jun 16 25:12:52", "Jun 16 13:61:52",
                                   "Feb 29 10:00:00"])
def test_impossible_journal_stamp(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  stamp: str) -> None:
    """A stamp of the right shape but no real date (Feb 29 in 2017 included) is one bad line."""
    good = boot_bytes()
    bad = journal_line(devstack_body("INFO", "nova.compute.manager",
                                     "VM Paused (Lifecycle Event)", ctx="-", instance=INST),
                       stamp=stamp).encode()
    lines = [*good[:3], bad, *good[3:]]
    path = build(tmp_path, "baddate.journal", lines)
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    assert diag_at(run, path, 4)
    check_cli(path, capsys, run, [4])


def test_impossible_iso_and_oslo_stamps(tmp_path: Path) -> None:
    spawned = devstack_body("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                            ctx="-", instance=INST)
    journal = write_log(tmp_path, "iso.journal", [
        journal_line(spawned, stamp="2017-06-16T13:12:52+0000"),
        journal_line(spawned, stamp="2017-13-45T13:12:52+0000"),
        journal_line(spawned, stamp="2017-06-16T13:12:53+0000")])
    records, run = parse_all(journal)
    assert kinds(records) == ["spawned", "spawned"]
    assert diag_at(run, journal, 2)

    oslo = write_log(tmp_path, "nova-compute.log", [
        oslo_line("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                  instance=INST),
        oslo_line("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                  instance=INST, stamp="2017-06-16 25:12:52.123"),
        oslo_line("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                  instance=INST, stamp="2017-06-16 13:12:53.123")])
    records, run = parse_all(oslo)
    assert [r.line for r in records if r.kind == "spawned"] == [1, 3]
    assert diag_at(run, oslo, 2)


def test_out_of_order_timestamps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = boot_bytes()
    good[4] = good[4].replace(b"Jun 16 13:12:55", b"Jun 16 13:02:55")
    path = build(tmp_path, "order.journal", good)
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    assert records[4].timestamp == datetime(2017, 6, 16, 13, 2, 55)  # kept as written
    diags = diag_at(run, path, 5)
    assert diags and "order" in diags[0].message
    assert run.counts.bad_lines == 0
    check_cli(path, capsys, run, [5])


# -- long lines -------------------------------------------------------------------------------------

def test_one_megabyte_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ports = []
    for i in range(720):
        port = json.loads(json.dumps(NETWORK_INFO[0]))
        port["address"] = f"fa:16:3e:00:{i // 256:02x}:{i % 256:02x}"
        ports.append(port)
    payload = json.dumps(ports)
    assert len(payload) > 1_000_000
    big = journal_line(devstack_body("DEBUG", "nova.compute.manager",
                                     f"Instance network_info: |{payload}|", instance=INST))
    good = boot_bytes()
    lines = [*good[:3], big.encode(), *good[3:]]
    path = build(tmp_path, "big.journal", lines)
    start = time.perf_counter()
    records, run = parse_all(path, year=2017)
    assert time.perf_counter() - start < 10
    assert [r.kind for r in records if r.line != 4] == BOOT_KINDS
    big_record = next(r for r in records if r.line == 4)
    assert big_record.kind == "network_info"
    assert big_record.event.complete and len(big_record.event.vifs) == 720
    check_cli(path, capsys, run, [])


def test_line_over_the_limit_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = boot_bytes()
    huge = journal_line(devstack_body("DEBUG", "nova.compute.manager",
                                      "Instance network_info: |" + "x" * (9 * 1024 * 1024)))
    lines = [*good[:3], huge.encode(), *good[3:]]
    path = build(tmp_path, "huge.journal", lines)
    records, run = parse_all(path, year=2017)
    assert kinds(records) == BOOT_KINDS
    assert diag_at(run, path, 4)
    assert run.counts.bad_lines == 1
    check_cli(path, capsys, run, [4])


# -- whole files -------------------------------------------------------------------------------------

def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_log(tmp_path, "empty.journal", b"")
    records, run = parse_all(path)
    assert records == []
    assert run.counts.physical_lines == 0 and run.counts.bad_lines == 0
    assert any(d.source == str(path) for d in run.diagnostics)
    code, out, err = run_cli(["parse", str(path)], capsys)
    assert code == 0
    assert out == ""
    assert str(path) in err
    assert summary_counts(err) == (0, 0, 0, 0)


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records, run = parse_all(tmp_path)
    assert records == []
    assert run.errors and str(tmp_path) in run.errors[0]
    code, _, err = run_cli(["parse", str(tmp_path)], capsys)
    assert code == 2
    assert str(tmp_path) in err
    assert summary_counts(err) == (0, 0, 0, 0)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such.journal"
    records, run = parse_all(missing)
    assert records == []
    assert run.errors and str(missing) in run.errors[0]
    code, _, err = run_cli(["parse", str(missing)], capsys)
    assert code == 2
    assert str(missing) in err


def test_missing_file_next_to_a_good_one(tmp_path: Path, boot_file: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such.journal"
    records, run = parse_all([missing, boot_file], year=2017)
    assert kinds(records) == BOOT_KINDS
    assert len(run.errors) == 1
    code, out, err = run_cli(["parse", str(missing), str(boot_file), "--year", "2017",
                              "--to", "jsonl"], capsys)
    assert code == 2
    assert [json.loads(x)["event"] for x in out.splitlines()] == BOOT_KINDS
    assert str(missing) in err
    assert summary_counts(err)[0] == len(BOOT_KINDS)


def test_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(20170616)
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00"
           b"\x00\x5c\x72\xa8\x66" + bytes(rng.randrange(256) for _ in range(20000)))
    path = write_log(tmp_path, "screenshot.png", png)
    records, run = parse_all(path)
    assert records == []
    assert run.counts.bad_lines == run.counts.physical_lines > 0
    assert diag_at(run, path, 1)
    code, out, err = run_cli(["parse", str(path)], capsys)
    assert code == 2  # not a log at all: nothing usable was read
    assert out == ""
    assert f"{path}: not a nova-compute log" in err
    assert summary_counts(err)[0] == 0


def test_binary_file_forced_as_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(7)
    path = write_log(tmp_path, "blob.journal",
                     b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(20000)))
    records, run = parse_all(path, format="journal")
    assert records == []
    assert run.counts.bad_lines == run.counts.physical_lines > 0
    code, _, err = run_cli(["parse", str(path), "--format", "journal"], capsys)
    assert code == 0
    assert summary_counts(err)[3] == run.counts.bad_lines


# -- compressed input ---------------------------------------------------------------------------------

def test_gzip_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain, _ = parse_all(SEED, year=2017)
    gz = write_log(tmp_path, "seed-boot.journal.gz", gzip.compress(SEED.read_bytes()))
    records, run = parse_all(gz, year=2017)
    assert [r.to_json() | {"source": None} for r in records] == [
        r.to_json() | {"source": None} for r in plain]
    assert run.counts.bad_lines == 0
    # Recognised by its magic bytes, whatever the name.
    renamed = write_log(tmp_path, "seed-boot.journal.1", gzip.compress(SEED.read_bytes()))
    again, _ = parse_all(renamed, year=2017)
    assert len(again) == len(plain)
    check_cli(gz, capsys, run, [])


def test_truncated_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain, _ = parse_all(SEED, year=2017)
    packed = gzip.compress(SEED.read_bytes())
    path = write_log(tmp_path, "cut.journal.gz", packed[: len(packed) * 2 // 3])
    records, run = parse_all(path, year=2017)
    assert 0 < len(records) < len(plain)
    # What was read before the cut comes out unchanged (the last record may have lost lines).
    for got, want in zip(records[:-1], plain, strict=False):
        assert got.line == want.line and got.message == want.message and got.event == want.event
    assert any(d.source == str(path) and d.line is not None for d in run.diagnostics)
    code, out, err = run_cli(["parse", str(path), "--year", "2017", "--to", "jsonl"], capsys)
    assert code == 0  # the input was read up to the cut; the cut is reported
    assert len(out.splitlines()) == len(records)
    assert str(path) in err


# -- oslo.log files and logs cut at the front ----------------------------------------------------------

def test_oslo_file_with_damaged_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = "req-d9a23179-e16d-4016-9586-e68c3dfdf6a9 8d1b2c3e 1a2b3c4d - - -"
    good = [
        oslo_line("INFO", "nova.compute.claims", "Claim successful on node compute", ctx=ctx,
                  instance=INST).encode(),
        oslo_line("INFO", "nova.virt.libvirt.driver", "Creating image", ctx=ctx, instance=INST,
                  stamp="2017-06-16 13:12:53.001").encode(),
        oslo_line("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.", ctx="-",
                  instance=INST, stamp="2017-06-16 13:13:01.002").encode(),
    ]
    lines = [good[0],
             b"2017-06-16 13:12:52.500 \x00\x00\x00\x00\x00\x00\x00\x00",  # stamp, then NULs
             b"2017-06-16 13:12:52.600 5666",                             # cut after the pid
             good[1],
             oslo_line("INFO", "nova.virt.libvirt.driver",
                       "Deleting instance files /opt/stack/data/nova/instances/caf\udce9_del",
                       ctx="-", instance=INST, stamp="2017-06-16 13:12:55.000"
                       ).encode("utf-8", "surrogateescape"),                # latin-1 byte
             good[2]]
    assert b"caf\xe9_del" in lines[4]
    path = build(tmp_path, "nova-compute.log", lines)
    records, run = parse_all(path)
    assert [r.kind for r in records if r.kind] == ["claim_successful", "creating_image",
                                                   "deleting_files", "spawned"]
    assert [r.line for r in records if r.kind] == [1, 4, 5, 6]
    assert records[-2].event.path.endswith("caf\ufffd_del")
    for n in (2, 3, 5):
        assert diag_at(run, path, n), f"line {n} not reported"
    check_cli(path, capsys, run, [2, 3, 5])


@pytest.mark.parametrize("fmt", ["journal", "oslo"])
def test_log_starting_in_the_middle_of_a_message(tmp_path: Path, fmt: str) -> None:
    """A rotated log can begin with the tail of a multi-line message: never a crash, and the
    records after it are whole."""
    from tests.conftest import XML_LINES

    tail = XML_LINES[-4:]
    if fmt == "journal":
        lines = [journal_line(x, stamp="Jun 16 13:12:57") for x in tail] + boot_journal()
        expected = BOOT_KINDS
    else:
        lines = [*tail,
                 oslo_line("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                           ctx="-", instance=INST, stamp="2017-06-16 13:13:01.002"),
                 oslo_line("INFO", "nova.compute.manager", "Took 9.05 seconds to build instance.",
                           ctx="-", instance=INST, stamp="2017-06-16 13:13:01.100")]
        expected = ["spawned", "took_seconds"]
    path = write_log(tmp_path, f"rotated.{fmt}", lines)
    records, _ = parse_all(path, format=fmt, year=2017)
    whole = [r for r in records if r.line > len(tail)]
    assert [r.kind for r in whole] == expected
    assert whole[0].line == len(tail) + 1
