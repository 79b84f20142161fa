"""oslo.log files (grammars/oslo.lark): envelope, request contexts, debug suffix,
multi-line messages, ERROR/TRACE traceback lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import (
    DRIVER,
    GREQ,
    INST,
    LOCKUTILS,
    MANAGER,
    PROJECT_ID,
    REQ,
    SVC_REQ,
    USER_ID,
    XML_LINES,
    oslo_line,
    oslo_trace,
    parse_all,
    write_log,
)

CTX = f"{REQ} {USER_ID} {PROJECT_ID} - - -"


def parse_lines(tmp_path: Path, lines: list[str], **kwargs: object):
    return parse_all(write_log(tmp_path, "nova-compute.log", lines), **kwargs)


def test_debug_line_full_envelope(tmp_path: Path) -> None:
    line = oslo_line("DEBUG", "nova.compute.manager", "Starting instance...", ctx=CTX,
                     instance=INST, suffix=("_do_build_and_run_instance", MANAGER, 1835))
    records, run = parse_lines(tmp_path, [line])
    assert run.counts.records == 1 and run.counts.bad_lines == 0
    r = records[0]
    assert r.line == 1 and r.lines == 1
    assert r.timestamp == datetime(2017, 6, 16, 13, 12, 52, 123000)
    assert r.pid == 5666
    assert r.level == "DEBUG"
    assert r.logger == "nova.compute.manager"
    assert r.context == CTX
    assert r.instance == INST
    assert r.message == "Starting instance..."
    assert (r.func, r.path, r.lineno) == ("_do_build_and_run_instance", MANAGER, 1835)
    assert r.kind == "instance_starting"


def test_debug_suffix_split_from_message(tmp_path: Path) -> None:
    line = oslo_line("DEBUG", "oslo_concurrency.lockutils",
                     'Lock "compute_resources" acquired by '
                     '"nova.compute.resource_tracker.ResourceTracker.instance_claim" :: waited 0.000s',
                     ctx=CTX, suffix=("inner", LOCKUTILS, 359))
    records, _ = parse_lines(tmp_path, [line])
    r = records[0]
    assert r.message.endswith(":: waited 0.000s")
    assert (r.func, r.path, r.lineno) == ("inner", LOCKUTILS, 359)
    assert r.kind == "lock_acquired"
    assert r.event.owner == "nova.compute.resource_tracker.ResourceTracker.instance_claim"


def test_info_line_has_no_suffix(tmp_path: Path) -> None:
    line = oslo_line("INFO", "nova.compute.claims",
                     "Attempting claim: memory 2048 MB, disk 20 GB, vcpus 1 CPU", ctx=CTX,
                     instance=INST, stamp="2016-03-02 08:55:17.005")
    records, _ = parse_lines(tmp_path, [line])
    r = records[0]
    assert r.message == "Attempting claim: memory 2048 MB, disk 20 GB, vcpus 1 CPU"
    assert (r.func, r.path, r.lineno) == (None, None, None)
    assert r.kind == "claim_attempt"
    assert r.event.node is None and r.event.memory_mb == 2048


@pytest.mark.parametrize(("ctx", "request_id", "global_id", "user", "project"), [
    # Before oslo.log 4.8.0: user tenant domain user_domain project_domain.
    (f"{REQ} {USER_ID} {PROJECT_ID} - - -", REQ, None, USER_ID, PROJECT_ID),
    # Periodic tasks / service context.
    (f"{SVC_REQ} - - - - -", SVC_REQ, None, None, None),
    # No context at all (logging_default_format_string).
    ("-", None, None, None, None),
    # devstack-style admin context.
    (f"None {REQ} admin admin", REQ, None, "admin", "admin"),
    # oslo.log >= 4.8.0: global_request_id first, then 6 identity fields.
    (f"None {REQ} {USER_ID} {PROJECT_ID} - - default default", REQ, None, USER_ID, PROJECT_ID),
    (f"{GREQ} {REQ} {USER_ID} {PROJECT_ID} - - default default", REQ, GREQ, USER_ID,
     PROJECT_ID),
])
def test_context_forms(tmp_path: Path, ctx: str, request_id: str | None, global_id: str | None,
                       user: str | None, project: str | None) -> None:
    line = oslo_line("INFO", "nova.compute.manager", "VM Resumed (Lifecycle Event)", ctx=ctx,
                     instance=INST)
    records, _ = parse_lines(tmp_path, [line])
    r = records[0]
    assert r.context == ctx
    assert (r.request_id, r.global_request_id, r.user, r.project) == (
        request_id, global_id, user, project)
    assert r.instance == INST
    assert r.kind == "lifecycle_event" and r.event.transition == "Resumed"


def test_multi_line_message(tmp_path: Path) -> None:
    lines = [
        oslo_line("DEBUG", "nova.virt.libvirt.driver", "Preparing a guest", ctx=CTX,
                  instance=INST, suffix=("_create_guest_with_network", DRIVER, 7120)),
        oslo_line("DEBUG", "nova.virt.libvirt.driver", f"End _get_guest_xml xml={XML_LINES[0]}",
                  ctx=CTX, instance=INST, stamp="2017-06-16 13:12:57.890"),
        *XML_LINES[1:-1],
        f"{XML_LINES[-1]} _get_guest_xml {DRIVER}:5104",
        oslo_line("DEBUG", "nova.compute.manager",
                  "Preparing to wait for external event "
                  "network-vif-plugged-4c3d3a9e-7d5b-4d5e-9a39-0b3f6c1e2a10", ctx=CTX,
                  instance=INST, stamp="2017-06-16 13:12:57.901",
                  suffix=("prepare_for_instance_event", MANAGER, 325)),
    ]
    records, run = parse_lines(tmp_path, lines)
    assert run.counts.bad_lines == 0
    assert [r.kind for r in records] == [None, "guest_xml_end", "event_prepare"]
    xml = records[1]
    assert xml.line == 2 and xml.lines == len(XML_LINES)
    assert xml.message == "End _get_guest_xml xml=" + "\n".join(XML_LINES)
    assert xml.event.xml == "\n".join(XML_LINES)
    assert (xml.func, xml.path, xml.lineno) == ("_get_guest_xml", DRIVER, 5104)
    assert xml.timestamp == datetime(2017, 6, 16, 13, 12, 57, 890000)
    assert records[2].line == 2 + len(XML_LINES)


TRACEBACK = [
    "Traceback (most recent call last):",
    f'  File "{MANAGER}", line 2125, in _build_resources',
    "    yield resources",
    f'  File "{DRIVER}", line 2777, in spawn',
    "    block_device_info=block_device_info)",
    "libvirtError: internal error: process exited while connecting to monitor",
]


@pytest.mark.parametrize("level", ["ERROR", "TRACE"])
def test_traceback_lines_attach(tmp_path: Path, level: str) -> None:
    lines = [
        oslo_line("ERROR", "nova.compute.manager",
                  "Instance failed to spawn: libvirtError: internal error: process exited while "
                  "connecting to monitor", ctx=CTX, instance=INST, stamp="2017-06-16 13:13:01.456"),
        *(oslo_trace("nova.compute.manager", t, instance=INST, level=level) for t in TRACEBACK),
        oslo_line("DEBUG", "nova.compute.manager",
                  f"Build of instance {INST} was re-scheduled: internal error: process exited "
                  "while connecting to monitor", ctx=CTX, instance=INST,
                  stamp="2017-06-16 13:13:01.789",
                  suffix=("_do_build_and_run_instance", MANAGER, 1783)),
    ]
    records, run = parse_lines(tmp_path, lines)
    assert run.counts.bad_lines == 0
    assert [r.kind for r in records] == ["spawn_failed", "rescheduled"]
    failed = records[0]
    assert failed.lines == 1 + len(TRACEBACK)
    assert failed.traceback == TRACEBACK
    assert failed.event.summary == ("libvirtError: internal error: process exited while "
                                    "connecting to monitor")
    assert records[1].line == 2 + len(TRACEBACK)
    assert records[1].event.reason == ("internal error: process exited while connecting to "
                                       "monitor")


def test_traceback_without_instance(tmp_path: Path) -> None:
    trace = ["Traceback (most recent call last):",
             '  File "/usr/lib/python3/dist-packages/oslo_messaging/rpc/server.py", line 165, '
             "in _process_incoming",
             "    res = self.dispatcher.dispatch(message)",
             "MessagingTimeout: Timed out waiting for a reply to message ID 8c3f1b9f6f2a4f0c"]
    lines = [
        oslo_line("ERROR", "oslo_messaging.rpc.server",
                  "Exception during message handling: MessagingTimeout: Timed out waiting for a "
                  "reply to message ID 8c3f1b9f6f2a4f0c", ctx=CTX),
        *(oslo_trace("oslo_messaging.rpc.server", t) for t in trace),
        oslo_line("INFO", "nova.compute.manager", "VM Stopped (Lifecycle Event)", ctx="-",
                  instance=INST, stamp="2017-06-16 13:13:20.000"),
    ]
    records, _ = parse_lines(tmp_path, lines)
    assert len(records) == 2
    assert records[0].traceback == trace
    assert records[0].kind is None
    assert records[1].kind == "lifecycle_event"


def test_auto_detects_oslo_and_format_flag_agrees(tmp_path: Path) -> None:
    lines = [oslo_line("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                       ctx="-", instance=INST),
             oslo_line("INFO", "nova.compute.manager",
                       "Took 9.05 seconds to build instance.", ctx=CTX, instance=INST)]
    auto, _ = parse_lines(tmp_path, lines)
    forced, _ = parse_all(tmp_path / "nova-compute.log", format="oslo")
    assert [r.kind for r in auto] == ["spawned", "took_seconds"]
    assert [r.to_json() for r in auto] == [r.to_json() for r in forced]
