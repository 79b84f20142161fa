"""Checkpoints: the model at any record, reached backwards or forwards, is exactly a fresh replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nsim
from nsim.model.config import HostConfig
from nsim.replay.run import apply_record
from nsim.tui.session import Session
from nsim.tui.timeline import Models, Timeline
from tests.tui.helpers import SEED, YEAR, repeat_seed, seed_records, seed_session


def snapshot(models: Models) -> dict[str, Any]:
    """What the panes show of each host's model, as plain data."""
    out: dict[str, Any] = {}
    for key, obs in models.items():
        host = obs.host
        out[key] = {
            "view": host.tracker.view(),
            "claims": dict(host.tracker.claims),
            "cache": {n: (b.state, frozenset(b.users)) for n, b in host.cache.files.items()},
            "hits": (host.cache.hits, host.cache.misses),
            "locks": {n: lk.holder for n, lk in host.locks.locks.items()},
            "instances": {u: (i.vm_state, i.task_state, i.power_state,
                              {p: (ph.start, ph.end) for p, ph in i.phases.items()})
                          for u, i in host.instances.items()},
        }
    return out


def fresh(paths: list[str], upto: int) -> dict[str, Any]:
    """The models after records 0..upto, replayed from nothing."""
    models: Models = {}
    config = HostConfig()
    for i, rec in enumerate(nsim.parse(paths, year=YEAR)):
        if i > upto:
            break
        apply_record(models, rec, config)
    return snapshot(models)


def test_every_record_backwards_equals_a_fresh_replay() -> None:
    session = seed_session(interval=4, chunk=8, cost_factor=0).run()
    timeline = session.timeline
    count = len(session.store)
    assert count % 4 and timeline.checkpoints == [*range(0, count, 4), count]  # and the end
    for index in range(count - 1, -1, -1):
        assert snapshot(timeline.at(index)) == fresh([SEED], index), index


def test_jumps_in_any_order_equal_a_fresh_replay(tmp_path: Path) -> None:
    path = repeat_seed(tmp_path, "boots.journal", 6)
    session = Session([path], year=YEAR, interval=16, chunk=32, cost_factor=0).run()
    timeline = session.timeline
    boot = seed_records()
    assert len(session.store) == 6 * boot > 301
    # Both ends, both sides of the first boot's end, and inside, in no order.
    for index in (6 * boot - 1, 3, 200, 199, boot, boot - 1, 300, 0, 6 * boot - 2):
        assert snapshot(timeline.at(index)) == fresh([path], index), index


def test_a_step_back_restores_a_checkpoint_instead_of_replaying_from_the_start() -> None:
    session = seed_session(interval=4, chunk=8, cost_factor=0).run()
    timeline = session.timeline
    timeline.at(len(session.store) - 1)
    replayed: list[int] = []
    original = timeline._replay
    timeline._replay = lambda rec: (replayed.append(rec.line), original(rec))[1]  # type: ignore[method-assign]
    timeline.at(54)  # the state after 55 records: checkpoint 52, then records 52, 53 and 54
    assert 52 in timeline.checkpoints
    assert replayed == [session.store.get(i).line for i in (52, 53, 54)]
    replayed.clear()
    timeline.at(55)  # one step forward applies one record to the state at hand
    assert replayed == [session.store.get(55).line]


def test_the_end_of_the_inputs_is_a_checkpoint_so_going_there_replays_nothing() -> None:
    session = seed_session(interval=16, chunk=8, cost_factor=0).run()
    timeline = session.timeline
    count = len(session.store)
    assert timeline.checkpoints[-1] == count and count % 16
    timeline.at(0)
    replayed: list[int] = []
    original = timeline._replay
    timeline._replay = lambda rec: (replayed.append(rec.line), original(rec))[1]  # type: ignore[method-assign]
    assert snapshot(timeline.at(count - 1)) == fresh([SEED], count - 1)
    assert replayed == []


def test_thinning_keeps_memory_under_budget_and_states_exact() -> None:
    session = seed_session(interval=2, chunk=8, cost_factor=0).run()
    blobs = session.timeline.checkpoints
    budget = session.timeline.bytes // 3
    timeline = Timeline(session.store, HostConfig(), interval=2, budget=budget, cost_factor=0)
    models: Models = {}
    for index in range(len(session.store)):
        apply_record(models, session.store.get(index), HostConfig())
        timeline.offer(index + 1, models)
    assert timeline.bytes <= budget
    assert timeline.interval > 2
    assert len(timeline.checkpoints) < len(blobs)
    for index in (len(session.store) - 1, 10, 30):
        assert snapshot(timeline.at(index)) == fresh([SEED], index)
