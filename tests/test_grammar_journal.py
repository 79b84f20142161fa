"""journald text (grammars/journal.lark): stamps, envelope, suffix, colours, continuations,
tracebacks, request contexts, and the year of year-less stamps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import (
    BOOT_KINDS,
    COLOR,
    DEVSTACK_CTX,
    DRIVER,
    ESC,
    GREQ,
    INST,
    LOCKUTILS,
    MANAGER,
    REQ,
    RESET,
    XML_LINES,
    devstack_body,
    diag_at,
    dsuffix,
    journal_line,
    parse_all,
    write_log,
)

STARTING = devstack_body("DEBUG", "nova.compute.manager", "Starting instance...", instance=INST,
                         suffix=dsuffix("_do_build_and_run_instance", MANAGER, 2175))


def parse_lines(tmp_path: Path, lines: list[str], **kwargs: object):
    path = write_log(tmp_path, "n-cpu.journal", lines, mtime=datetime(2017, 7, 1))
    return parse_all(path, **kwargs)


# -- stamps -----------------------------------------------------------------------------------

def test_short_stamp_full_envelope(tmp_path: Path) -> None:
    records, run = parse_lines(tmp_path, [journal_line(STARTING, stamp="Jun 16 13:12:52")],
                               year=2017)
    assert run.counts.records == 1 and run.counts.bad_lines == 0
    r = records[0]
    assert r.source == str(tmp_path / "n-cpu.journal")
    assert r.line == 1 and r.lines == 1
    assert r.timestamp == datetime(2017, 6, 16, 13, 12, 52)
    assert r.host == "compute"
    assert r.process == "nova-compute"
    assert r.pid == 5666
    assert r.level == "DEBUG"
    assert r.logger == "nova.compute.manager"
    assert r.context == DEVSTACK_CTX
    assert r.request_id == REQ
    assert r.global_request_id is None
    assert r.instance == INST
    assert r.message == "Starting instance..."
    assert (r.func, r.path, r.lineno) == ("_do_build_and_run_instance", MANAGER, 2175)
    assert r.kind == "instance_starting"


def test_short_stamp_zero_padded_day(tmp_path: Path) -> None:
    records, _ = parse_lines(tmp_path, [journal_line(STARTING, stamp="Jun 06 09:02:06")],
                             year=2017)
    assert records[0].timestamp == datetime(2017, 6, 6, 9, 2, 6)


def test_short_precise_stamp(tmp_path: Path) -> None:
    records, _ = parse_lines(tmp_path, [journal_line(STARTING, stamp="Jun 16 13:12:52.123456")],
                             year=2017)
    assert records[0].timestamp == datetime(2017, 6, 16, 13, 12, 52, 123456)
    assert records[0].kind == "instance_starting"


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2017-06-16T13:12:52+0000", datetime(2017, 6, 16, 13, 12, 52)),
    ("2017-06-16T13:12:52+00:00", datetime(2017, 6, 16, 13, 12, 52)),
    ("2017-06-16T13:12:52.123456+0000", datetime(2017, 6, 16, 13, 12, 52, 123456)),
    # short-iso prints local time with its offset; nsim keeps UTC.
    ("2017-06-16T15:12:52+0200", datetime(2017, 6, 16, 13, 12, 52)),
])
def test_short_iso_stamp(tmp_path: Path, stamp: str, expected: datetime) -> None:
    # The year comes from the stamp itself, whatever --year or the mtime say.
    records, _ = parse_lines(tmp_path, [journal_line(STARTING, stamp=stamp)], year=2011)
    assert records[0].timestamp == expected
    assert records[0].message == "Starting instance..."
    assert records[0].lineno == 2175


# -- message and suffix -------------------------------------------------------------------------

def test_line_without_suffix(tmp_path: Path) -> None:
    body = devstack_body("INFO", "nova.compute.claims", "Claim successful on node compute",
                         instance=INST)
    records, _ = parse_lines(tmp_path, [journal_line(body)], year=2017)
    r = records[0]
    assert r.message == "Claim successful on node compute"
    assert (r.func, r.path, r.lineno) == (None, None, None)
    assert r.kind == "claim_successful"
    assert r.event.node == "compute"


def test_suffix_without_pid(tmp_path: Path) -> None:
    """USE_JOURNAL=True drops "(pid=N) " from the suffix."""
    body = devstack_body("DEBUG", "nova.compute.manager", "Starting instance...", instance=INST,
                         suffix=dsuffix("_do_build_and_run_instance", MANAGER, 2175, pid=None))
    records, _ = parse_lines(tmp_path, [journal_line(body)], year=2017)
    r = records[0]
    assert r.message == "Starting instance..."
    assert (r.func, r.path, r.lineno) == ("_do_build_and_run_instance", MANAGER, 2175)


def test_line_without_instance(tmp_path: Path) -> None:
    body = devstack_body("DEBUG", "oslo_concurrency.lockutils",
                         'Lock "compute_resources" acquired by '
                         '"nova.compute.resource_tracker.ResourceTracker.instance_claim" :: waited 0.002s',
                         suffix=dsuffix("inner", LOCKUTILS, 359))
    records, _ = parse_lines(tmp_path, [journal_line(body)], year=2017)
    r = records[0]
    assert r.instance is None
    assert r.message.startswith('Lock "compute_resources" acquired by')
    assert r.message.endswith(":: waited 0.002s")
    assert r.kind == "lock_acquired"
    assert r.event.waited == pytest.approx(0.002)


def test_host_with_dots_and_other_pid(tmp_path: Path) -> None:
    host = "cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us"
    records, _ = parse_lines(tmp_path, [journal_line(STARTING, host=host, pid=15144)], year=2017)
    assert records[0].host == host
    assert records[0].pid == 15144


def test_message_outside_catalog_is_kept(tmp_path: Path) -> None:
    body = devstack_body(
        "DEBUG", "oslo_service.periodic_task",
        "Running periodic task ComputeManager._poll_rebooting_instances", ctx=f"None {REQ} None None",
        suffix=dsuffix("run_periodic_tasks",
                       "/usr/local/lib/python3.10/dist-packages/oslo_service/periodic_task.py", 210))
    records, run = parse_lines(tmp_path, [journal_line(STARTING), journal_line(body)], year=2017)
    assert [r.kind for r in records] == ["instance_starting", None]
    assert records[1].message == "Running periodic task ComputeManager._poll_rebooting_instances"
    assert records[1].logger == "oslo_service.periodic_task"
    assert run.counts.unknown == 1 and run.counts.events == 1


# -- colours ------------------------------------------------------------------------------------

def colour_context_line(level: str, logger: str, message: str, instance: str | None,
                        suffix: str | None) -> str:
    """devstack's logging_context_format_string with its literal ESC bytes (docs/nova.md §2)."""
    c = COLOR[level]
    inst = f"[instance: {instance}] " if instance else ""
    text = (f"{c}{level} {logger} [{ESC}[01;36mNone {REQ} {ESC}[00;36madmin admin{c}] "
            f"{ESC}[01;35m{inst}{c}{message}{RESET}")
    if suffix:
        text += f" {ESC}[00;33m{suffix}{RESET}"
    return text


def colour_default_line(level: str, logger: str, message: str, instance: str) -> str:
    c = COLOR[level]
    return (f"{c}{level} {logger} [{ESC}[00;36m-{c}] {ESC}[01;35m[instance: {instance}] "
            f"{c}{message}{RESET}")


def test_ansi_colour_escapes_are_stripped(tmp_path: Path) -> None:
    lines = [
        journal_line(colour_context_line(
            "DEBUG", "nova.compute.manager", "Starting instance...", INST,
            dsuffix("_do_build_and_run_instance", MANAGER, 2175))),
        journal_line(colour_default_line("INFO", "nova.compute.manager",
                                         "VM Started (Lifecycle Event)", INST),
                     stamp="Jun 16 13:13:01"),
        journal_line(colour_context_line("INFO", "nova.compute.manager",
                                         "Took 9.05 seconds to build instance.", INST, None),
                     stamp="Jun 16 13:13:01"),
    ]
    records, run = parse_lines(tmp_path, lines, year=2017)
    assert run.counts.bad_lines == 0
    assert [r.kind for r in records] == ["instance_starting", "lifecycle_event", "took_seconds"]
    for r in records:
        assert ESC not in r.message
        assert ESC not in (r.context or "")
        assert r.instance == INST
    first, second, third = records
    assert first.level == "DEBUG" and first.logger == "nova.compute.manager"
    assert first.context == DEVSTACK_CTX and first.request_id == REQ
    assert first.message == "Starting instance..."
    assert (first.func, first.path, first.lineno) == ("_do_build_and_run_instance", MANAGER, 2175)
    assert second.context == "-" and second.request_id is None
    assert second.event.transition == "Started"
    assert third.message == "Took 9.05 seconds to build instance."
    assert third.event.seconds == 9.05


def test_detected_as_journal_despite_colours(tmp_path: Path) -> None:
    lines = [journal_line(colour_context_line(
        "INFO", "nova.compute.claims", "Claim successful on node compute", INST, None))] * 3
    records, run = parse_lines(tmp_path, lines, year=2017)
    assert [r.kind for r in records] == ["claim_successful"] * 3
    assert run.counts.bad_lines == 0


# -- continuation lines --------------------------------------------------------------------------

def test_continuation_lines_join_one_record(boot_file: Path) -> None:
    records, run = parse_all(boot_file, year=2017)
    assert [r.kind for r in records] == BOOT_KINDS
    assert run.counts.physical_lines == 24 and run.counts.bad_lines == 0
    xml = records[6]
    assert xml.line == 7
    assert xml.lines == len(XML_LINES)
    assert xml.message == "End _get_guest_xml xml=" + "\n".join(XML_LINES)
    assert xml.event.xml == "\n".join(XML_LINES)
    # Indentation of the continuation entries is kept; the suffix on the last one is the record's.
    assert "\n  <uuid>" in xml.message and "\n      <driver " in xml.message
    assert (xml.func, xml.path, xml.lineno) == ("_get_guest_xml", DRIVER, 7032)
    assert "{{" not in xml.message
    # The record after it starts on the line after the XML.
    assert records[7].line == 7 + len(XML_LINES)
    assert records[7].kind == "lifecycle_event"
    # Line numbers are 1-based physical line numbers.
    assert [r.line for r in records[:6]] == [1, 2, 3, 4, 5, 6]


def test_continuation_lines_with_colour(tmp_path: Path) -> None:
    first = colour_context_line("DEBUG", "nova.virt.libvirt.driver",
                                f"End _get_guest_xml xml={XML_LINES[0]}", INST, None)
    # The colour reset of the first line's format ends the last physical line.
    first = first.removesuffix(RESET)
    lines = [journal_line(first, stamp="Jun 16 13:12:57")]
    lines += [journal_line(x, stamp="Jun 16 13:12:57") for x in XML_LINES[1:-1]]
    lines.append(journal_line(f"{XML_LINES[-1]}{RESET} {ESC}[00;33m"
                              f"{dsuffix('_get_guest_xml', DRIVER, 7032)}{RESET}",
                              stamp="Jun 16 13:12:57"))
    records, _ = parse_lines(tmp_path, lines, year=2017)
    assert len(records) == 1
    assert records[0].event.xml == "\n".join(XML_LINES)
    assert records[0].lineno == 7032


# -- tracebacks ----------------------------------------------------------------------------------

TRACEBACK = [
    "Traceback (most recent call last):",
    f'  File "{MANAGER}", line 2640, in _build_resources',
    "    yield resources",
    f'  File "{DRIVER}", line 3531, in spawn',
    "    destroy_disks_on_failure=True)",
    "libvirt.libvirtError: internal error: process exited while connecting to monitor",
]
ERROR_SUMMARY = "libvirt.libvirtError: internal error: process exited while connecting to monitor"


def failure_lines(colour: bool) -> list[str]:
    stamp = "Jun 16 13:13:01"
    if colour:
        head = colour_context_line("ERROR", "nova.compute.manager",
                                   f"Instance failed to spawn: {ERROR_SUMMARY}", INST, None)
        trace = [f"ERROR nova.compute.manager {ESC}[01;35m[instance: {INST}] {RESET}{t}"
                 for t in TRACEBACK]
    else:
        head = devstack_body("ERROR", "nova.compute.manager",
                             f"Instance failed to spawn: {ERROR_SUMMARY}", instance=INST)
        trace = [f"ERROR nova.compute.manager [instance: {INST}] {t}" for t in TRACEBACK]
    after = devstack_body(
        "DEBUG", "nova.compute.manager",
        f"Build of instance {INST} was re-scheduled: internal error: process exited while "
        "connecting to monitor", instance=INST,
        suffix=dsuffix("_do_build_and_run_instance", MANAGER, 2240))
    return [journal_line(x, stamp=stamp) for x in (head, *trace, after)]


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_traceback_lines_attach_to_previous_record(tmp_path: Path, colour: bool) -> None:
    records, run = parse_lines(tmp_path, failure_lines(colour), year=2017)
    assert run.counts.bad_lines == 0
    assert [r.kind for r in records] == ["spawn_failed", "rescheduled"]
    failed, resched = records
    assert failed.lines == 1 + len(TRACEBACK)
    assert failed.traceback == TRACEBACK  # indentation kept
    assert failed.message == f"Instance failed to spawn: {ERROR_SUMMARY}"
    assert failed.event.summary == ERROR_SUMMARY
    assert failed.level == "ERROR" and failed.instance == INST
    assert resched.line == 2 + len(TRACEBACK)
    assert resched.event.instance_uuid == INST
    assert resched.traceback == []


def test_traceback_without_instance(tmp_path: Path) -> None:
    head = devstack_body("ERROR", "oslo_messaging.rpc.server",
                         "Exception during message handling: oslo_messaging.exceptions."
                         "MessagingTimeout: Timed out waiting for a reply to message ID "
                         "8c3f1b9f6f2a4f0c9d7e5b3a1c2d4e6f", ctx=f"None {REQ} admin admin")
    trace = ["Traceback (most recent call last):",
             '  File "/usr/local/lib/python3.10/dist-packages/oslo_messaging/rpc/server.py", '
             "line 165, in _process_incoming",
             "    res = self.dispatcher.dispatch(message)",
             "oslo_messaging.exceptions.MessagingTimeout: Timed out waiting for a reply to "
             "message ID 8c3f1b9f6f2a4f0c9d7e5b3a1c2d4e6f"]
    lines = [journal_line(head)] + [journal_line(f"ERROR oslo_messaging.rpc.server {t}")
                                    for t in trace]
    lines.append(journal_line(STARTING))
    records, _ = parse_lines(tmp_path, lines, year=2017)
    assert len(records) == 2
    assert records[0].traceback == trace
    assert records[0].lines == 1 + len(trace)
    assert records[1].kind == "instance_starting"


# -- request contexts (devstack order: project_name, then user_name) -----------------------------

@pytest.mark.parametrize(("ctx", "request_id", "global_id", "user", "project"), [
    (f"None {REQ} demo alice", REQ, None, "alice", "demo"),
    (f"{GREQ} {REQ} demo alice", REQ, GREQ, "alice", "demo"),
    (f"None {REQ} None None", REQ, None, None, None),
    ("-", None, None, None, None),
])
def test_journal_context_forms(tmp_path: Path, ctx: str, request_id: str | None,
                               global_id: str | None, user: str | None,
                               project: str | None) -> None:
    body = devstack_body("INFO", "nova.compute.claims", "Claim successful on node compute",
                         ctx=ctx, instance=INST)
    records, _ = parse_lines(tmp_path, [journal_line(body)], year=2017)
    r = records[0]
    assert r.context == ctx
    assert (r.request_id, r.global_request_id, r.user, r.project) == (
        request_id, global_id, user, project)
    assert r.instance == INST and r.kind == "claim_successful"


# -- year inference -----------------------------------------------------------------------------

def stamped(stamps: list[str]) -> list[str]:
    return [journal_line(STARTING, stamp=s) for s in stamps]


def test_year_from_file_mtime(tmp_path: Path) -> None:
    path = write_log(tmp_path, "a.journal", stamped(["Jun 16 13:12:52"]),
                     mtime=datetime(2019, 7, 1, 12, 0))
    records, _ = parse_all(path)
    assert records[0].timestamp == datetime(2019, 6, 16, 13, 12, 52)


def test_year_option_overrides_mtime(tmp_path: Path) -> None:
    path = write_log(tmp_path, "a.journal", stamped(["Jun 16 13:12:52"]),
                     mtime=datetime(2019, 7, 1, 12, 0))
    records, _ = parse_all(path, year=2017)
    assert records[0].timestamp == datetime(2017, 6, 16, 13, 12, 52)


def test_month_after_mtime_month_is_previous_year(tmp_path: Path) -> None:
    path = write_log(tmp_path, "a.journal", stamped(["Jun 16 13:12:52"]),
                     mtime=datetime(2019, 3, 1, 12, 0))
    records, _ = parse_all(path)
    assert records[0].timestamp == datetime(2018, 6, 16, 13, 12, 52)


def test_december_to_january_rolls_over_with_year_option(tmp_path: Path) -> None:
    path = write_log(tmp_path, "a.journal",
                     stamped(["Dec 31 23:59:58", "Dec 31 23:59:59.500000", "Jan 01 00:00:03"]))
    records, run = parse_all(path, year=2017)
    assert [r.timestamp for r in records] == [
        datetime(2017, 12, 31, 23, 59, 58), datetime(2017, 12, 31, 23, 59, 59, 500000),
        datetime(2018, 1, 1, 0, 0, 3)]
    assert not [d for d in run.diagnostics if "out of order" in d.message]


def test_december_to_january_rolls_over_from_mtime(tmp_path: Path) -> None:
    path = write_log(tmp_path, "a.journal", stamped(["Dec 31 23:59:58", "Jan 01 00:00:03"]),
                     mtime=datetime(2018, 1, 2, 8, 0))
    records, _ = parse_all(path)
    assert [r.timestamp for r in records] == [
        datetime(2017, 12, 31, 23, 59, 58), datetime(2018, 1, 1, 0, 0, 3)]


def test_out_of_order_by_a_month_is_not_a_new_year(tmp_path: Path) -> None:
    path = write_log(tmp_path, "a.journal", stamped(["Jun 16 13:12:52", "May 16 13:12:52"]))
    records, run = parse_all(path, year=2017)
    assert [r.timestamp.year for r in records] == [2017, 2017]
    assert diag_at(run, path, 2), "a stamp a month back is reported as out of order"
