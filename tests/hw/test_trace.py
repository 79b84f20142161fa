"""A hardware trace is dated by its last line, as `nsim simulate` dates its own (no libvirt)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

import nsim
from nsim.events.build import InstanceStarting
from nsim.hw import trace as hw_trace

UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
WHEN = datetime(2023, 3, 1, 9, 30, 15, 250000)


class _Then(datetime):
    """datetime whose now() is WHEN: the trace's lines stamped in 2023."""

    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        return WHEN


@pytest.mark.parametrize("fmt", ["journal", "oslo"])
def test_a_closed_trace_has_its_last_line_s_time(tmp_path: Path, fmt: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hw_trace, "datetime", _Then)
    path = tmp_path / f"nova-compute.{fmt}"
    trace = hw_trace.Trace(path, fmt, host="compute")  # type: ignore[arg-type]
    assert trace.emit(InstanceStarting(), instance=UUID) == WHEN
    trace.close()
    assert os.stat(path).st_mtime == pytest.approx(WHEN.timestamp())
    assert [r.timestamp for r in nsim.parse(str(path))] == [WHEN]  # no --year: read from the mtime


def test_a_trace_closed_unwritten_keeps_its_mtime(tmp_path: Path) -> None:
    path = tmp_path / "nova-compute.journal"
    path.write_text("")
    os.utime(path, (1_000_000_000, 1_000_000_000))
    hw_trace.Trace(path).close()
    assert os.stat(path).st_mtime == 1_000_000_000
