"""The Python API: nsim.parse streams Records with typed events; nsim.to_dataframe."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import nsim
from nsim.events import Event
from nsim.events.claim import ClaimTotal
from nsim.events.lock import LockReleased
from tests.conftest import BOOT_KINDS, INST, SEED, boot_journal, parse_all, write_log

ISSUE_KEYS = ["source", "line", "timestamp", "host", "process", "pid", "level", "logger",
              "context", "request_id", "global_request_id", "user", "project", "instance",
              "message", "func", "path", "lineno", "event", "fields"]


def test_parse_yields_records_with_typed_events() -> None:
    run = nsim.parse(str(SEED), year=2017)
    assert isinstance(run, nsim.ParseRun)
    records = list(run)
    assert records and all(isinstance(r, nsim.Record) for r in records)
    assert all(isinstance(r.event, Event) for r in records)
    totals = [r.event for r in records if r.kind == "claim_total"]
    assert [type(e) for e in totals] == [ClaimTotal] * 3
    assert [(e.resource, e.total, e.used) for e in totals] == [
        ("memory", 7983.0, 512.0), ("disk", 47.0, 0.0), ("vcpu", 4.0, 0.0)]
    released = [r.event for r in records if r.kind == "lock_released"]
    assert all(isinstance(e, LockReleased) and isinstance(e.held, float) for e in released)
    assert [e.held for e in released] == [0.182, 3.874, 0.163, 9.061]
    assert run.counts.records == len(records)
    assert run.counts.unknown == 0 and run.counts.bad_lines == 0
    assert run.counts.summary() == f"{len(records)} records, {len(records)} events, 0 unknown, 0 bad lines"


def test_parse_is_lazy_and_counts_fill_in(boot_file: Path) -> None:
    run = nsim.parse(str(boot_file), year=2017)
    assert run.counts.records == 0 and run.counts.physical_lines == 0
    stream = iter(run)
    first = next(stream)
    assert first.kind == "lock_acquired"
    rest = list(stream)
    assert [first.kind, *(r.kind for r in rest)] == BOOT_KINDS
    assert run.counts.records == len(BOOT_KINDS)
    assert run.counts.physical_lines == len(boot_journal())


def test_parse_several_paths(boot_file: Path) -> None:
    records, run = parse_all([boot_file, SEED], year=2017)
    assert [r.source for r in records[:len(BOOT_KINDS)]] == [str(boot_file)] * len(BOOT_KINDS)
    assert {r.source for r in records[len(BOOT_KINDS):]} == {str(SEED)}
    assert run.counts.records == len(records)


def test_record_fields(boot_file: Path) -> None:
    records, _ = parse_all(boot_file, year=2017)
    claim = records[2]
    assert claim.kind == "claim_successful"
    assert claim.instance == INST
    assert claim.timestamp == datetime(2017, 6, 16, 13, 12, 52)
    assert claim.to_json()["event"] == "claim_successful"
    assert claim.to_json()["fields"] == {"node": "compute"}
    assert claim.to_json()["timestamp"] == "2017-06-16T13:12:52"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        nsim.parse(str(SEED), format="syslog")


def test_diagnostics_are_objects(tmp_path: Path) -> None:
    path = write_log(tmp_path, "x.journal", [*boot_journal()[:2], "garbage", *boot_journal()[2:]])
    records, run = parse_all(path, year=2017)
    assert [r.kind for r in records] == BOOT_KINDS
    (diag,) = run.diagnostics
    assert isinstance(diag, nsim.Diagnostic)
    assert (diag.source, diag.line, diag.bad_lines) == (str(path), 3, 1)
    assert str(diag).startswith(f"{path}:3: ")
    assert run.errors == []


def test_to_dataframe_from_path() -> None:
    frame = nsim.to_dataframe(str(SEED), year=2017)
    assert isinstance(frame, pd.DataFrame)
    assert set(ISSUE_KEYS) <= set(frame.columns)
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2017-06-16 13:12:52")
    assert frame["timestamp"].is_monotonic_increasing
    records = list(nsim.parse(str(SEED), year=2017))
    assert len(frame) == len(records)
    assert list(frame["event"]) == [r.kind for r in records]
    assert list(frame["line"]) == [r.line for r in records]
    total = frame[frame["event"] == "claim_total"].iloc[0]
    assert total["fields"] == {"resource": "memory", "total": 7983.0, "used": 512.0}


def test_to_dataframe_from_records_and_paths(boot_file: Path) -> None:
    records = list(nsim.parse(str(boot_file), year=2017))
    from_records = nsim.to_dataframe(records)
    from_list = nsim.to_dataframe([str(boot_file)], year=2017)
    assert list(from_records["event"]) == BOOT_KINDS
    pd.testing.assert_frame_equal(from_records, from_list)
    assert pd.api.types.is_datetime64_any_dtype(from_records["timestamp"])


def test_to_dataframe_of_nothing(tmp_path: Path) -> None:
    frame = nsim.to_dataframe(str(write_log(tmp_path, "empty.journal", b"")))
    assert len(frame) == 0
    assert set(ISSUE_KEYS) <= set(frame.columns)
