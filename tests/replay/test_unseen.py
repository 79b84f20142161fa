"""The resource tracker's unknowns: what the log does not show is explained, never flagged,
while a change nothing unseen explains still is."""

from __future__ import annotations

from nsim.model.claims import Claim
from nsim.model.config import HostConfig
from nsim.model.resource_tracker import ResourceTracker
from nsim.model.unseen import Change, Maybe, reconcile


def tracker(memory_used: float = 2048) -> ResourceTracker:
    rt = ResourceTracker(HostConfig(memory_mb=8192, disk_gb=100, vcpus=8))
    for res, used in (("memory", memory_used), ("disk", 10), ("vcpu", 2)):
        assert rt.observe(res, used).first
    return rt


def test_first_observation_binds_the_baseline() -> None:
    rt = tracker()
    assert rt.used("memory") == 2048 and rt.baseline["memory"] == 2048
    assert rt.settled("memory")


def test_a_sized_claim_is_counted_and_a_wrong_total_is_unexplained() -> None:
    rt = tracker()
    rt.instance_claim("a", Claim(512, 1, 1), "log:1")
    assert rt.observe("memory", 2560).outcome.because == ()
    seen = rt.observe("memory", 3000)
    assert not seen.outcome.explained
    # The model follows the log afterwards, so one falsified number is one violation.
    assert rt.used("memory") == 3000


def test_an_instance_of_unknown_size_leaving_explains_a_drop_and_is_sized() -> None:
    rt = tracker()
    rt.release("old", "log:7", "deleted")
    seen = rt.observe("memory", 1024)
    assert seen.outcome.explained
    assert any("old" in why and "1024" in why and "log:7" in why for why in seen.outcome.because)
    # ... but not a rise: an instance leaving never adds usage.
    rt.release("older", "log:9", "deleted")
    assert not rt.observe("memory", 4096).outcome.explained


def test_a_claim_without_amounts_is_sized_by_the_next_observation() -> None:
    rt = tracker()
    rt.instance_claim("new", Claim(None, None, None), "log:3")
    assert not rt.settled("memory")
    seen = rt.observe("memory", 2048 + 2048)
    assert seen.outcome.explained
    assert rt.amount("new", "memory") == 2048
    rt.release("new", "log:20", "deleted")
    # Its size is now known: a later audit without it is explained by the delete.
    assert rt.observe("memory", 2048).outcome.explained
    assert rt.used("memory") == 2048


def test_a_failed_build_may_still_be_counted_by_the_audit() -> None:
    rt = tracker()
    rt.instance_claim("bad", Claim(1024, 10, 1), "log:3")
    rt.abort("bad", "log:9", maybe_counted=True)
    assert rt.used("memory") == 2048
    seen = rt.observe("memory", 3072)
    assert seen.outcome.explained and "failed build bad" in seen.outcome.because[0]
    # Only its own size is explained, not any rise.
    assert not rt.observe("memory", 3072 + 100).outcome.explained


def test_a_rescheduled_build_is_not_counted_again() -> None:
    rt = tracker()
    rt.instance_claim("gone", Claim(1024, 10, 1), "log:3")
    rt.abort("gone", "log:9", maybe_counted=False)
    assert not rt.observe("memory", 3072).outcome.explained


def test_a_move_claim_may_end_without_a_line() -> None:
    rt = tracker()
    rt.move_claim("moving", Claim(4096, 40, 2), "log:5")
    assert rt.observe("memory", 2048 + 4096).outcome.because == ()
    assert rt.observe("memory", 2048).outcome.explained


def test_reconcile_commits_only_to_a_unique_explanation() -> None:
    maybes = [Maybe("a", 100, False, "a", "l:1"), Maybe("b", 200, False, "b", "l:2")]
    out = reconcile(200, [], maybes)
    assert out.explained and out.unique and [m.uuid for m in out.flipped] == ["b"]
    assert not reconcile(50, [], maybes).explained
    # With a change of unknown size beside the maybes, 300 has several explanations.
    out = reconcile(300, [Change("x", +1, "x", "l:3")], maybes)
    assert out.explained and not out.unique and out.flipped == ()
    # ... and a drop cannot come from a change that only adds usage.
    assert not reconcile(-50, [Change("x", +1, "x", "l:3")], []).explained


def test_an_ambiguous_observation_leaves_the_instance_unsized() -> None:
    rt = tracker()
    rt.instance_claim("bad", Claim(1024, 10, 1), "log:3")
    rt.abort("bad", "log:9", maybe_counted=True)
    rt.instance_claim("new", Claim(None, None, None), "log:10")
    # 1024 more: "bad" still counted and "new" 0 MB, or "new" 1024 MB: no guess is kept ...
    assert rt.observe("memory", 3072).outcome.explained
    assert rt.amount("new", "memory") is None
    # ... and either leaving later is explained.
    rt.release("new", "log:20", "deleted")
    assert rt.observe("memory", 2048, audit=True).outcome.explained
