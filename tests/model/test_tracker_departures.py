"""Departures of unknown size (instances inside the baseline being deleted) that an
observation cannot tell apart stay possible until a line shows them."""

from __future__ import annotations

from nsim.model.config import HostConfig
from nsim.model.resource_tracker import ResourceTracker

A, B = "aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-0000-0000-0000-000000000000"


def _two_deletes_one_gone() -> ResourceTracker:
    """Reserved 512 MB and two instances from before the window (512 MB each, sizes not
    known to the model), both being deleted; the next usage shows one of them gone."""
    tracker = ResourceTracker(HostConfig())
    assert tracker.observe("memory", 1536).first
    tracker.release(A, "log:2", "deleted")
    tracker.release(B, "log:3", "deleted")
    assert tracker.observe("memory", 1024).outcome.explained
    return tracker


def test_a_departure_not_yet_made_stays_inside_the_baseline() -> None:
    tracker = _two_deletes_one_gone()
    # Which one left is unknown: both are inside the baseline again (amount unknown).
    assert {A, B} <= tracker.absorbed["memory"]
    # B's usage leaves later (its update_usage): the line that shows it explains the drop.
    tracker.release(B, "log:5", "deleted")
    seen = tracker.observe("memory", 512)
    assert seen.outcome.explained, seen
    assert tracker.baseline["memory"] == 512


def test_a_drop_no_line_explains_is_still_caught() -> None:
    tracker = _two_deletes_one_gone()
    # No line of either delete since: nothing may leave.
    assert not tracker.observe("memory", 512).outcome.explained
