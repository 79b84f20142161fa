"""`journalctl -o json` exports: one JSON object per line, MESSAGE through the journal grammar."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.conftest import (
    COLOR,
    DEVSTACK_CTX,
    DRIVER,
    ESC,
    INST,
    MANAGER,
    REQ,
    RESET,
    XML_LINES,
    devstack_body,
    diag_at,
    dsuffix,
    json_entry,
    parse_all,
    usec_of,
    write_log,
)

T0 = datetime(2017, 6, 16, 13, 12, 52, 123456)
STARTING = devstack_body("DEBUG", "nova.compute.manager", "Starting instance...", instance=INST,
                         suffix=dsuffix("_do_build_and_run_instance", MANAGER, 2175))
SPAWNED = devstack_body("INFO", "nova.virt.libvirt.driver", "Instance spawned successfully.",
                        ctx="-", instance=INST)


def parse_entries(tmp_path: Path, entries: list[str], **kwargs: object):
    return parse_all(write_log(tmp_path, "n-cpu.json", entries), **kwargs)


def test_message_as_string(tmp_path: Path) -> None:
    records, run = parse_entries(tmp_path, [json_entry(STARTING, usec_of(T0))])
    assert run.counts.bad_lines == 0
    r = records[0]
    assert r.timestamp == T0  # __REALTIME_TIMESTAMP, UTC, microseconds kept
    assert r.host == "compute"
    assert r.process == "nova-compute"
    assert r.pid == 5666
    assert r.level == "DEBUG"
    assert r.logger == "nova.compute.manager"
    assert r.context == DEVSTACK_CTX and r.request_id == REQ
    assert r.instance == INST
    assert r.message == "Starting instance..."
    assert (r.func, r.path, r.lineno) == ("_do_build_and_run_instance", MANAGER, 2175)
    assert r.kind == "instance_starting"
    assert r.line == 1


def test_message_as_byte_array_with_colour(tmp_path: Path) -> None:
    """journald exports a MESSAGE holding ESC (devstack colours) as an array of byte values."""
    c = COLOR["INFO"]
    coloured = (f"{c}INFO nova.compute.manager [{ESC}[01;36mNone {REQ} {ESC}[00;36madmin admin{c}] "
                f"{ESC}[01;35m[instance: {INST}] {c}Took 9.05 seconds to build instance.{RESET}")
    as_bytes = list(coloured.encode("utf-8"))
    records, run = parse_entries(tmp_path, [json_entry(as_bytes, usec_of(T0))])
    assert run.counts.bad_lines == 0
    r = records[0]
    assert r.level == "INFO" and r.logger == "nova.compute.manager"
    assert r.context == DEVSTACK_CTX
    assert r.instance == INST
    assert r.message == "Took 9.05 seconds to build instance."
    assert r.kind == "took_seconds" and r.event.seconds == 9.05


def test_byte_array_with_invalid_utf8_does_not_crash(tmp_path: Path) -> None:
    raw = b"INFO nova.compute.manager [-] [instance: " + INST.encode() + b"] VM Started \xff\xfe"
    entries = [json_entry(list(raw), usec_of(T0)), json_entry(SPAWNED, usec_of(T0) + 1000)]
    records, _ = parse_entries(tmp_path, entries)
    assert len(records) == 2
    assert records[0].level == "INFO" and records[0].instance == INST
    assert records[1].kind == "spawned"


def test_continuation_entries_join(tmp_path: Path) -> None:
    """Under devstack (stdout capture) each physical line of a message is its own entry."""
    usec = usec_of(datetime(2017, 6, 16, 13, 12, 57, 500000))
    first = devstack_body("DEBUG", "nova.virt.libvirt.driver",
                          f"End _get_guest_xml xml={XML_LINES[0]}", instance=INST)
    entries = [json_entry(first, usec)]
    entries += [json_entry(x, usec + i) for i, x in enumerate(XML_LINES[1:-1], 1)]
    entries.append(json_entry(f"{XML_LINES[-1]} {dsuffix('_get_guest_xml', DRIVER, 7032)}",
                              usec + 99))
    entries.append(json_entry(SPAWNED, usec + 3_000_000))
    records, _ = parse_entries(tmp_path, entries)
    assert [r.kind for r in records] == ["guest_xml_end", "spawned"]
    assert records[0].lines == len(XML_LINES)
    assert records[0].event.xml == "\n".join(XML_LINES)
    assert records[0].lineno == 7032
    assert records[1].line == len(XML_LINES) + 1


def test_multi_line_message_in_one_entry(tmp_path: Path) -> None:
    """With USE_JOURNAL=True a whole multi-line message is one entry: its envelope still parses."""
    message = devstack_body("DEBUG", "nova.virt.libvirt.driver",
                            "End _get_guest_xml xml=" + "\n".join(XML_LINES), instance=INST,
                            suffix=dsuffix("_get_guest_xml", DRIVER, 7032, pid=None))
    records, _ = parse_entries(tmp_path, [json_entry(message, usec_of(T0))])
    r = records[0]
    assert r.level == "DEBUG"
    assert r.logger == "nova.virt.libvirt.driver"
    assert r.instance == INST
    assert r.kind == "guest_xml_end"
    assert r.event.xml == "\n".join(XML_LINES)


def test_bad_json_lines_between_good_ones(tmp_path: Path) -> None:
    good = json_entry(STARTING, usec_of(T0))
    entries = [good,
               good[: len(good) // 2],                       # truncated object
               json.dumps({"__REALTIME_TIMESTAMP": "1497618772000000", "_PID": "5666"}),  # no MESSAGE
               json.dumps({"MESSAGE": "INFO nova.compute.manager [-] VM Started"}),  # no stamp
               "[1, 2, 3]",                                  # not an object
               json_entry(SPAWNED, usec_of(T0) + 10)]
    path = write_log(tmp_path, "n-cpu.json", entries)
    records, run = parse_all(path)
    assert [r.kind for r in records] == ["instance_starting", "spawned"]
    assert [r.line for r in records] == [1, 6]
    assert run.counts.bad_lines == 4
    for line in (2, 3, 4, 5):
        assert diag_at(run, path, line), f"no diagnostic for line {line}"


def test_auto_detection_and_format_flag(tmp_path: Path) -> None:
    entries = [json_entry(STARTING, usec_of(T0)), json_entry(SPAWNED, usec_of(T0) + 10)]
    path = write_log(tmp_path, "export.txt", entries)
    auto, _ = parse_all(path)
    forced, _ = parse_all(path, format="json")
    assert [r.kind for r in auto] == ["instance_starting", "spawned"]
    assert [r.to_json() for r in auto] == [r.to_json() for r in forced]
