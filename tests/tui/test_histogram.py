"""`i`: records and errors over time (lnav's histogram), and going to a bucket from it."""

from __future__ import annotations

import math
from array import array

from nsim.tui.histogram import TimeCounts, buckets, rows
from nsim.tui.store import ERROR, VIOLATION
from tests.tui.helpers import press, running, seed_session, sync


def counted(times: array[float], flags: bytearray) -> TimeCounts:
    """The counts of records stamped `times` with `flags`, as the store keeps them."""
    counts = TimeCounts()
    for stamp, flag in zip(times, flags, strict=True):
        counts.add(stamp, bool(flag & ERROR))
    return counts


def test_buckets_count_records_and_errors_and_keep_quiet_gaps() -> None:
    times = array("d", [100.0, 100.5, 101.2, 104.9, math.nan, 160.0])
    flags = bytearray([0, ERROR, 0, ERROR | VIOLATION, ERROR, 0])
    counts = counted(times, flags)
    step, found = buckets(counts, max_rows=100)
    assert step == 1  # 61 s of log fits in 100 one-second rows
    assert found[0].start == 100.0 and (found[0].records, found[0].errors) == (2, 1)
    assert (found[4].records, found[4].errors) == (1, 1)
    assert found[30].records == 0  # the quiet half minute is there, empty
    assert sum(b.records for b in found) == 5  # the unstamped record is left out
    step, found = buckets(counts, max_rows=10)
    assert step == 10 and len(found) == 7 and found[0].records == 4


def test_rows_scale_the_bars_and_name_the_errors() -> None:
    step, found = buckets(counted(array("d", [0.0, 0.1, 0.2, 1.0]), bytearray([0, 0, ERROR, 0])))
    first, second = rows(step, found)
    assert first.startswith("00:00:00") and "3" in first and "1 error(s)" in first
    assert first.count("█") == 40 and second.count("█") == 14


@sync
async def test_i_opens_the_histogram_and_enter_goes_to_a_bucket() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "i")
        options = app.histogram
        assert options.display and app.focused is options and options.highlighted == 0
        _, found = buckets(session.store.counts)
        assert options.option_count == len(found) > 1
        assert options.values == [b.start for b in found]
        last = len(found) - 1
        options.highlighted = last
        await press(pilot, "enter")
        assert not options.display and app.focused is app.log_pane
        index = app.view.current
        assert index is not None
        assert session.store.times[index] >= found[last].start
        assert all(session.store.times[i] < found[last].start for i in range(index))
