"""The formats real logs come in: oslo.log lines inside journald (text and JSON), a file-name
prefix on each line (public datasets), several services in one input, lines a terminal
hard-wrapped, journals without a year, Havana's AUDIT/TRACE levels."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from nsim.logs.wrap import unwrapped, wrap_width
from tests.conftest import (
    INST,
    REAL_LOGS,
    XML_LINES,
    assert_accounted,
    boot_journal,
    json_entry,
    oslo_line,
    parse_all,
    run_cli,
    usec_of,
    write_log,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "formats"
OSA = DATA / "osa-compute.journal"
LOGHUB = DATA / "loghub-openstack.log"
REAL = REAL_LOGS
SNIPPET = REAL / "rocky-vpp-issue-vif-timeout-snippet.log"
UNWRAPPED = REAL / "rocky-vpp-issue-vif-timeout-unwrapped.log"
HAVANA = REAL / "havana-uforia-nova-compute.log"

OSA_INST = "3c0e5b1a-9d2f-4e8b-a7c6-5f4e3d2c1b0a"
FAILED_INST = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
_JOURNAL_LINE = re.compile(r"^(\w{3} \d\d \d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$")


# -- oslo.log lines inside journald -----------------------------------------------------------

def test_oslo_lines_inside_journald_text() -> None:
    records, run = parse_all(OSA)
    assert run.counts.bad_lines == 0 and run.counts.records == 18
    first = records[0]
    assert first.timestamp == datetime(2023, 2, 1, 10, 0, 0, 123000)  # the oslo stamp
    assert (first.host, first.process, first.service, first.pid) == (
        "compute1", "nova-compute", "nova-compute", 2345)
    assert (first.level, first.logger, first.instance) == ("INFO", "nova.compute.claims", OSA_INST)
    assert first.request_id == "req-5d8f0c2e-7a41-4f3b-9e8d-1c2b3a4d5e6f"
    assert first.user == "6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
    assert first.project == "3a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
    assert first.message == "Claim successful on node compute1.example.org"
    assert first.kind == "claim_successful"
    took = [r for r in records if r.kind == "took_seconds"]
    assert [r.message[:9] for r in took] == ["Took 5.20", "Took 5.96"]
    assert took[0].timestamp == datetime(2023, 2, 1, 10, 0, 5, 210000)
    # The exception's message lines (raw in the journal) and its traceback attach to it.
    failed = next(r for r in records if r.level == "ERROR")
    assert failed.line == 17 and failed.lines == 10 and failed.instance == FAILED_INST
    assert failed.message.splitlines()[1:3] == [
        "Command: qemu-img convert -t none -O raw -f qcow2 /var/lib/nova/instances/_base/"
        "6c3d1e4f5a.part /var/lib/nova/instances/_base/6c3d1e4f5a.converted", "Exit code: 1"]
    assert failed.traceback[0] == "Traceback (most recent call last):"
    assert len(failed.traceback) == 5
    assert records[-1].message == "Terminating instance" and records[-1].line == 27
    # Every stamp had a year or was anchored by one: nothing inferred from the mtime.
    assert run.inferred_years == {}
    assert not [d for d in run.diagnostics if "year" in d.message]


def test_other_services_in_a_journal_are_their_records() -> None:
    records, run = parse_all(OSA)
    by_line = {r.line: r for r in records}
    neutron = by_line[2]
    assert (neutron.service, neutron.process, neutron.pid) == (
        "neutron-openvswitch-agent", "neutron-openvswitch-agent", 3001)
    assert neutron.logger == "neutron.agent.securitygroups_rpc" and neutron.level == "INFO"
    # sudo and the kernel write no oslo.log line: records of no known service, not bad lines.
    assert (by_line[4].process, by_line[4].service, by_line[4].level) == ("sudo", None, None)
    assert (by_line[8].process, by_line[8].service, by_line[8].pid) == ("kernel", None, None)
    assert by_line[8].timestamp == datetime(2023, 2, 1, 10, 0, 2)  # year of the oslo stamps
    # The privsep daemon (another pid) logs through nova-compute: the compute host's records.
    privsep = [r for r in records if r.pid == 3733]
    assert len(privsep) == 2
    assert all(r.service == "nova-compute" and r.host == "compute1" for r in privsep)
    assert run.counts.bad_lines == 0


def _osa_as_json(tmp_path: Path) -> Path:
    """The OSA journal as kolla's journald driver exports it: SYSLOG_IDENTIFIER is the
    container id, CONTAINER_NAME the service."""
    out = []
    for text in OSA.read_text().splitlines():
        m = _JOURNAL_LINE.match(text)
        assert m is not None, text
        stamp, host, ident, pid, message = m.groups()
        usec = usec_of(datetime.strptime(f"2023 {stamp}", "%Y %b %d %H:%M:%S"))
        extra = {"_SYSTEMD_UNIT": "docker.service"}
        if ident in ("nova-compute", "neutron-openvswitch-agent"):
            extra["CONTAINER_NAME"] = ident.replace("-", "_")
            ident = "2f9c1b0a7d3e" if ident == "nova-compute" else "8e1d2c3b4a59"
        obj = json.loads(json_entry(message, usec, host=host, ident=ident,
                                    pid=int(pid or 0), **extra))
        if pid is None:
            del obj["_PID"]
        if ident in ("sudo", "kernel"):
            del obj["_SYSTEMD_UNIT"]
        out.append(json.dumps(obj))
    return write_log(tmp_path, "kolla.json", out)


def test_oslo_lines_inside_journal_json(tmp_path: Path) -> None:
    text_records, _ = parse_all(OSA)
    records, run = parse_all(_osa_as_json(tmp_path))
    assert run.counts.bad_lines == 0
    assert len(records) == len(text_records) == 18

    def shape(r):  # type: ignore[no-untyped-def]
        return (r.line, r.lines, r.level, r.logger, r.instance, r.request_id, r.message,
                r.traceback, r.kind, r.service)
    assert [shape(r) for r in records] == [shape(r) for r in text_records]
    assert records[0].timestamp == datetime(2023, 2, 1, 10, 0, 0, 123000)
    assert records[0].process == "2f9c1b0a7d3e" and records[0].pid == 2345


def test_a_debug_oslo_line_inside_journald_loses_its_suffix(tmp_path: Path) -> None:
    line = ("Feb 01 10:00:00 compute1 nova-compute[2345]: 2023-02-01 10:00:00.123 2345 DEBUG "
            "oslo_concurrency.lockutils [None req-5d8f0c2e-7a41-4f3b-9e8d-1c2b3a4d5e6f - - - - - -] "
            'Lock "compute_resources" acquired by "nova.compute.resource_tracker.ResourceTracker.'
            'instance_claim" :: waited 0.000s inner /openstack/venvs/nova-26.1.0/lib/python3.10/'
            "site-packages/oslo_concurrency/lockutils.py:386")
    records, run = parse_all(write_log(tmp_path, "debug.journal", [line]))
    assert run.counts.records == 1 and run.counts.bad_lines == 0
    r = records[0]
    assert r.message.endswith(":: waited 0.000s")
    assert (r.func, r.lineno) == ("inner", 386) and r.path.endswith("oslo_concurrency/lockutils.py")
    assert r.kind == "lock_acquired"


# -- a file-name prefix on each line -------------------------------------------------------------

def test_file_name_prefix_is_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    records, run = parse_all(LOGHUB)
    assert run.counts.bad_lines == 0 and run.counts.records == 36
    api = "nova-api.log.1.2017-05-16_13:53:08"
    compute = "nova-compute.log.1.2017-05-16_13:55:31"
    assert records[0].source == api and records[0].line == 1
    assert records[0].message.startswith('10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/'
                                         'servers/detail HTTP/1.1" status: 200 len: 1893')
    assert records[0].timestamp == datetime(2017, 5, 16, 0, 0, 0, 8000)
    assert {r.source for r in records} == {api, compute, "nova-scheduler.log.1.2017-05-16_13:53:09"}
    services = {r.source: r.service for r in records}
    assert services == {api: "nova-api", compute: "nova-compute",
                        "nova-scheduler.log.1.2017-05-16_13:53:09": "nova-scheduler"}
    spawn = next(r for r in records if r.message.startswith("Took 3.19 seconds to spawn"))
    assert spawn.source == compute and spawn.line == 21 and spawn.kind == "took_seconds"
    assert spawn.instance == "127e769a-4fe6-4548-93b1-513ac51e0452" and spawn.pid == 2931
    failed = next(r for r in records if r.level == "ERROR")
    assert failed.line == 34 and failed.lines == 6 and len(failed.traceback) == 5
    assert sum(1 for r in records if r.service == "nova-compute" and r.kind) >= 20


def test_prefixed_file_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["parse", str(LOGHUB), "--to", "jsonl"], capsys)
    assert code == 0 and "not a nova-compute log" not in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 36 and all("service" in row for row in rows)
    assert rows[0]["service"] == "nova-api" and rows[3]["service"] == "nova-compute"
    code, out, _ = run_cli(["parse", str(LOGHUB), "--format", "oslo", "--to", "csv"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("source,line,lines,timestamp,host,process,"
                                                        "service,pid,")


def test_compute_lines_in_the_minority_are_not_a_rejection(tmp_path: Path) -> None:
    lines = LOGHUB.read_text().splitlines()
    others = [x for x in lines if not x.startswith("nova-compute")]
    mixed = [*others[:4], lines[12], *others[4:]]  # one "Creating image" among 12 others
    records, run = parse_all(write_log(tmp_path, "OpenStack_2k.log", mixed))
    assert run.counts.bad_lines == 0 and run.errors == []
    assert [r.service for r in records].count("nova-compute") == 1
    assert next(r for r in records if r.service == "nova-compute").kind == "creating_image"


def test_services_of_an_unprefixed_mixed_oslo_file(tmp_path: Path) -> None:
    lines = [
        oslo_line("INFO", "nova.compute.manager", "VM Started (Lifecycle Event)", instance=INST),
        oslo_line("INFO", "nova.scheduler.host_manager", "Successfully synced instances from "
                  "host 'compute'.", pid=7001),
        oslo_line("INFO", "oslo_service.periodic_task", "Skipping periodic task "
                  "_periodic_update_dns because its interval is negative", pid=7001),
        oslo_line("INFO", "oslo.privsep.daemon", "privsep daemon starting", pid=3733),
        oslo_line("INFO", "nova.scheduler.client.report", "Inventory has not changed for "
                  "provider 5d6a3c0e-8b7f-4e2a-9c1d-0f3e2d1c4b5a"),
    ]
    records, run = parse_all(write_log(tmp_path, "mixed.log", lines))
    assert run.counts.bad_lines == 0
    assert [r.service for r in records] == [
        "nova-compute", "nova-scheduler", "nova-scheduler", "nova-compute", "nova-compute"]
    # A file named after its service: all of its lines are that service's.
    named, _ = parse_all(write_log(tmp_path, "nova-scheduler.log", lines[1:3]))
    assert [r.service for r in named] == ["nova-scheduler", "nova-scheduler"]


# -- lines a terminal hard-wrapped --------------------------------------------------------------

def _essence(records):  # type: ignore[no-untyped-def]
    return [(r.message, r.instance, r.request_id, r.level, r.logger, r.traceback, r.kind)
            for r in records]


def test_wrapped_paste_parses_as_the_unwrapped_file(capsys: pytest.CaptureFixture[str]) -> None:
    wrapped, run = parse_all(SNIPPET)
    plain, _ = parse_all(UNWRAPPED)
    assert run.counts.bad_lines == 0 and run.counts.physical_lines == 11
    assert _essence(wrapped) == _essence(plain)
    assert [r.line for r in wrapped] == [1, 4, 6]
    assert [r.lines for r in wrapped] == [3, 2, 6]
    joins = [d for d in run.diagnostics if "wrapped" in d.message]
    assert len(joins) == 1 and joins[0].line == 1
    assert "joined 5 lines a terminal wrapped at 210 columns" in joins[0].message
    code, _, err = run_cli(["parse", str(SNIPPET)], capsys)
    assert code == 0
    assert f"{SNIPPET}:1: joined 5 lines a terminal wrapped at 210 columns" in err
    assert err.splitlines()[-1] == "3 records, 3 events, 0 unknown, 0 bad lines"


def _hard_wrap(lines: list[str], width: int) -> list[str]:
    return [row for line in lines for row in
            ([line[i:i + width] for i in range(0, len(line), width)] or [""])]


def test_wrapped_journal_parses_as_the_journal(tmp_path: Path) -> None:
    lines = boot_journal()
    plain, _ = parse_all(write_log(tmp_path, "plain.journal", lines), year=2017)
    path = write_log(tmp_path, "wrapped.journal", _hard_wrap(lines, 132))
    wrapped, run = parse_all(path, year=2017)
    assert run.counts.bad_lines == 0
    assert _essence(wrapped) == _essence(plain)
    assert [(r.timestamp, r.line) for r in wrapped] != [(r.timestamp, r.line) for r in plain]
    assert [d.message for d in run.diagnostics if "wrapped" in d.message] == [
        f"joined {len(_hard_wrap(lines, 132)) - len(lines)} lines a terminal wrapped at 132 "
        "columns (the rows of a log pasted from a terminal)"]


def test_multi_line_messages_are_not_taken_for_wraps(tmp_path: Path) -> None:
    # Two guest XML dumps: their first lines are the widest and equally wide (ids have fixed
    # widths), and unstamped lines follow them. They are messages that go on, not wraps.
    lines = []
    for n, inst in enumerate((INST, "5e1f0c2d-3b4a-4c5d-9e8f-7a6b5c4d3e2f")):
        lines.append(oslo_line("DEBUG", "nova.virt.libvirt.driver",
                               f"End _get_guest_xml xml={XML_LINES[0]}", instance=inst,
                               ctx="req-d9a23179-e16d-4016-9586-e68c3dfdf6a9 u p - - -",
                               stamp=f"2017-06-16 13:12:5{n}.123"))
        lines += [x.replace(INST, inst) for x in XML_LINES[1:]]
    records, run = parse_all(write_log(tmp_path, "nova-compute.log", lines))
    assert len(records) == 2 and run.counts.bad_lines == 0
    assert all(r.message.count("\n") == len(XML_LINES) - 1 for r in records)
    assert not [d for d in run.diagnostics if "wrapped" in d.message]


@pytest.mark.parametrize("name", ["docker-ubuntu-nova-compute.log", "havana-uforia-nova-compute.log",
                                  "train-rdo-zh-blog-nova-compute.log",
                                  "rocky-vpp-issue-vif-timeout-unwrapped.log"])
def test_real_logs_are_not_unwrapped(name: str) -> None:
    lines = (REAL / name).read_text(encoding="utf-8").splitlines()
    stamped = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    assert wrap_width(lines[:200], stamped) is None


def test_a_wide_character_cut_short_of_the_edge_is_a_wrap() -> None:
    stamped = re.compile(r"\d{4}-")
    row = "2021-09-19 11:51:03.099 1672 INFO nova.compute.manager [-] " + "x" * 21
    short = row[:-1]  # a column short: the next row starts with a character two columns wide
    rows = [(1, row), (2, "abc"), (3, short), (4, "已开始 (Lifecycle Event)"), (5, short),
            (6, "not a wrap")]
    assert len(row) == 80
    assert list(unwrapped(rows, 80, stamped)) == [
        (1, row + "abc", 2), (3, short + "已开始 (Lifecycle Event)", 2), (5, short, 1),
        (6, "not a wrap", 1)]


# -- the year of year-less journald stamps ------------------------------------------------------

def test_inferred_year_is_said_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_log(tmp_path, "n-cpu.journal", boot_journal(), mtime=datetime(2018, 3, 1))
    records, run = parse_all(path)
    assert records[0].timestamp == datetime(2017, 6, 16, 13, 12, 52)  # June is after March
    assert run.inferred_years == {str(path): (2017, 1)}
    said = [d for d in run.diagnostics if "year" in d.message]
    assert len(said) == 1 and said[0].line == 1 and said[0].bad_lines == 0
    assert "assumed 2017" in said[0].message and "2018-03-01" in said[0].message
    code, _, err = run_cli(["parse", str(path)], capsys)
    assert code == 0 and err.count("carry no year") == 1 and f"{path}:1: " in err
    given, run = parse_all(path, year=2016)
    assert given[0].timestamp.year == 2016 and run.inferred_years == {}
    assert not [d for d in run.diagnostics if "year" in d.message]


# -- Havana: AUDIT and TRACE ---------------------------------------------------------------------

def test_havana_audit_and_trace_levels() -> None:
    records, run = parse_all(HAVANA)
    assert_accounted(records, run)
    assert run.counts.bad_lines == 0
    levels = {r.level for r in records}
    assert levels == {"AUDIT", "INFO", "WARNING", "ERROR"}  # TRACE lines are tracebacks
    assert sum(1 for r in records if r.level == "AUDIT") == 7969
    assert sum(len(r.traceback) for r in records) == 1417
    assert all(r.service == "nova-compute" for r in records)
    audit = next(r for r in records if r.level == "AUDIT")
    assert (audit.logger, audit.message) == ("nova.service", "Starting compute node (version 2013.2.2)")


def test_a_bad_wrapped_line_counts_all_its_rows(tmp_path: Path) -> None:
    rows = _hard_wrap(boot_journal(), 132)
    first_wrapped = next(i for i, row in enumerate(rows[:-1]) if len(row) == 132)
    rows[first_wrapped] = "Jun 16 13:12:5x" + rows[first_wrapped][15:]  # a broken stamp
    records, run = parse_all(write_log(tmp_path, "broken.journal", rows), year=2017)
    assert_accounted(records, run)
    bad = [d for d in run.diagnostics if d.bad_lines]
    assert len(bad) == 1 and bad[0].line == first_wrapped + 1 and bad[0].bad_lines >= 2
    assert "not a journald line" in bad[0].message
    assert len(records) == 11  # 12 records, one of them unreadable
