"""Times and durations at the log's resolution: whole seconds from 1-second stamps,
milliseconds otherwise; JSON durations rounded to the millisecond."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from nsim.logs.record import Record
from nsim.report.numbers import LOOKAHEAD, ms, seconds, stamp, with_resolution
from tests.conftest import ROOT, SEED, run_cli

SEED_OSLO = ROOT / "sample_logs" / "seed-boot.oslo.log"


def _rec(source: str, second: int, micro: int) -> Record:
    return Record(source=source, line=second + 1,
                  timestamp=datetime(2017, 6, 16, 13, second // 60, second % 60, micro))


def test_formatting() -> None:
    assert seconds(9.0, whole=True) == "9" and seconds(9.061, whole=False) == "9.061"
    assert seconds(-0.011, whole=False, sign=True) == "-0.011"
    assert seconds(2.0, whole=True, sign=True) == "+2" and seconds(None, whole=True) == "-"
    when = datetime(2017, 6, 16, 13, 12, 52, 412000)
    assert stamp(when, whole=False) == "2017-06-16 13:12:52.412"
    assert stamp(when.replace(microsecond=0), whole=True, date=False) == "13:12:52"
    assert ms(-0.010999999999999982) == -0.011 and ms(None) is None


def test_a_source_is_whole_only_when_no_stamp_has_a_fraction() -> None:
    # A millisecond log whose first stamps fall on .000 is still a millisecond log.
    fine = [_rec("a.log", 0, 0), _rec("a.log", 1, 0), _rec("a.log", 2, 5000)]
    coarse = [_rec("b.journal", s, 0) for s in range(LOOKAHEAD + 3)]
    out = list(with_resolution(fine + coarse))
    assert [r for r, _ in out] == fine + coarse  # order kept
    assert [w for r, w in out if r.source == "a.log"] == [False] * 3
    assert all(w for r, w in out if r.source == "b.journal")


def test_replay_shows_whole_seconds_for_one_second_stamps(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["replay", str(SEED), "--year", "2017"], capsys)
    assert code == 0
    assert re.search(r"^ +build +9s +from 13:12:52$", out, re.M), out
    assert ".000" not in out


def test_replay_shows_milliseconds_for_oslo_stamps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["replay", str(SEED_OSLO)], capsys)
    assert code == 0
    assert re.search(r"^ +build +\d+\.\d{3}s +from 13:12:52\.414$", out, re.M), out


def test_parse_table_stamps_at_the_log_resolution(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(["parse", str(SEED), "--year", "2017"], capsys)
    rows = out.splitlines()[1:]
    assert rows and all(re.match(r"2017-06-16 \d\d:\d\d:\d\d  compute ", row) for row in rows)
    _, out, _ = run_cli(["parse", str(SEED_OSLO)], capsys)
    assert "2017-06-16 13:12:52.412 " in out


def _floats(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


@pytest.mark.parametrize("argv", [["replay", str(SEED_OSLO), "--json"],
                                  ["diff", str(SEED_OSLO), str(SEED), "--year", "2017", "--json"]])
def test_json_durations_are_rounded_to_the_millisecond(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(argv, capsys)
    values = _floats(json.loads(out))
    assert values  # the output has durations at all
    assert all(v == round(v, 3) for v in values), values


def test_diff_text_shows_each_trace_at_its_resolution(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["diff", str(SEED_OSLO), str(SEED), "--year", "2017"], capsys)
    assert code == 0
    build = next(line.split() for line in out.splitlines() if line.strip().startswith("build"))
    a, b, delta = build[1:]
    assert re.fullmatch(r"\d+\.\d{3}", a) and re.fullmatch(r"\d+", b)
    assert re.fullmatch(r"[+-]\d+\.\d{3}", delta)
