"""Checkpoints of entry versions: the whole model at any record, reached by restoring a
checkpoint (backwards, or by jumps), is exactly the model replayed forwards from the start;
and what a checkpoint or a restore costs follows what changed, not the model's size."""

from __future__ import annotations

import functools
import pickle
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from nsim.model.config import HostConfig
from nsim.replay.run import apply_record
from nsim.sim.engine import simulate
from nsim.tui import timeline as timeline_module
from nsim.tui.entities import LOCKS, Entities, Pickled, marked
from nsim.tui.session import Session
from nsim.tui.timeline import Models
from tests.tui.helpers import ROOT, YEAR, repeat_seed


def plain(obj: Any) -> Any:
    """`obj` as plain data, every attribute of every object, dicts in their order."""
    if obj is None or isinstance(obj, str | int | float | bool | Enum | date | datetime):
        return obj
    if isinstance(obj, Mapping):  # a dict, or a host's instances (nsim.model.instances)
        return ("dict", [(plain(k), plain(v)) for k, v in obj.items()])
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, set | frozenset):
        return ("set", sorted(map(repr, map(plain, obj))))
    if callable(obj):  # the observer's handlers: its bound methods
        return None
    fields = vars(obj) if hasattr(obj, "__dict__") else {s: getattr(obj, s) for s in obj.__slots__}
    return (type(obj).__name__, {name: plain(v) for name, v in fields.items()})


def forward(paths: list[str], session: Session) -> list[Any]:
    """The models after each record, replayed from nothing in one pass, as plain data."""
    models: Models = {}
    config = HostConfig()
    states = []
    for index in range(len(session.store)):
        obs = apply_record(models, session.store.get(index), config)
        if obs is not None:
            obs.violations.clear()
            obs.assumptions.clear()
        states.append(plain(models))
    return states


@functools.cache
def busy_journal(directory: str) -> str:
    """Two hosts under a burst of boots with failures, re-schedules and deletes."""
    path = Path(directory) / "busy.journal"
    simulate(ROOT / "scenarios" / "busy-host.toml", path)
    return str(path)


INPUTS = ["seed-boot.journal", "seed-boot.oslo.log", "failed-spawn.journal", "refused-claim.oslo.log",
          "second-boot.journal", "hw-boot.journal", "busy"]


@pytest.mark.parametrize("walk", [True, False], ids=["through deltas", "by whole maps"])
@pytest.mark.parametrize("name", INPUTS)
def test_every_record_backwards_is_exactly_the_forward_model(name: str, walk: bool, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Restores walk the deltas in between, or compare whole maps (each forced here)."""
    monkeypatch.setattr(timeline_module, "_WALK_SHARE", 0 if walk else 10**9)
    path = busy_journal(str(tmp_path)) if name == "busy" else str(ROOT / "sample_logs" / name)
    session = Session([path], year=YEAR, interval=3, chunk=8, cost_factor=0).run()
    states = forward([path], session)
    timeline = session.timeline
    assert len(timeline.checkpoints) > len(states) // 4
    for index in range(len(states) - 1, -1, -1):
        assert plain(timeline.at(index)) == states[index], index
    # Jumps both ways, each from wherever the one before left the state.
    count = len(states)
    for index in (count // 2, 1, count - 1, count // 3, count // 3 - 1, 0, 2 * count // 3, count - 2):
        assert plain(timeline.at(index)) == states[index], index


def test_the_app_steps_back_through_the_busy_hosts_as_it_stepped_forward(tmp_path: Path) -> None:
    """The panes of the model; the instance pane where it shows the record's own instance
    (else it shows the instance shown before, which depends on the way the cursor came)."""
    from tests.tui.helpers import running, sync
    from tests.tui.test_app import pane

    def panes(app: Any, index: int) -> tuple[str, ...]:
        shown = app._moment.instance
        named = shown is not None and shown.uuid == app.session.store.owners[index]
        return tuple(pane(app, p) for p in ("host", "cache", "event", *(["instance"] * named)))

    @sync
    async def run() -> None:
        session = Session([busy_journal(str(tmp_path))], year=YEAR, interval=8, cost_factor=0)
        async with running(session) as (app, _):
            seen = []
            for index in range(len(session.store)):
                seen.append(panes(app, index))
                app.action_step(1)
            for index in range(len(session.store) - 1, -1, -1):
                assert app.view.current == index
                assert panes(app, index) == seen[index], index
                app.action_step(-1)
            assert len(set(seen)) > 100

    run()


def test_a_checkpoint_holds_what_changed_not_the_model(tmp_path: Path) -> None:
    """Sixteen boots in a row: the last checkpoints are no bigger than those of the second
    boot, though the model then holds eight times the instances."""
    session = Session([repeat_seed(tmp_path, "boots.journal", 16)], year=YEAR, interval=32,
                      cost_factor=0).run()
    cps = session.timeline._cps
    per_boot = len(session.store) // 16
    second = [cp for cp in cps if per_boot <= cp.count < 2 * per_boot]
    last = [cp for cp in cps if cp.count >= 15 * per_boot]
    assert second and last

    def entries(cp: Any) -> int:
        return sum(len(d.changed) + len(d.appended) for d in cp.deltas.values())

    assert max(map(entries, last)) <= max(map(entries, second))
    assert max(len(cp.rest) for cp in last) <= 1.2 * max(len(cp.rest) for cp in second)
    models = session.timeline.at(len(session.store) - 1)
    assert len(models["compute"].host.instances) == 16


def test_a_step_back_keeps_the_entries_that_did_not_change(tmp_path: Path) -> None:
    session = Session([repeat_seed(tmp_path, "boots.journal", 6)], year=YEAR, interval=16,
                      cost_factor=0).run()
    timeline = session.timeline
    last = len(session.store) - 1
    host = timeline.at(last)["compute"].host
    before = {uuid: host.instances[uuid] for uuid in host.instances}  # all decoded
    timeline.at(last - 20)  # a restore: the checkpoint is more than one step back
    assert timeline._count - 1 == last - 20
    after = timeline.at(last - 20)["compute"].host.instances
    assert type(after) is Entities
    # The five earlier boots are over: the very same objects, not decoded again.
    kept = [uuid for uuid in list(before)[:5] if dict.__getitem__(after, uuid) is before[uuid]]
    assert len(kept) == 5
    assert plain(after) == plain(Session([str(tmp_path / "boots.journal")], year=YEAR, interval=10**9)
                                 .run().timeline.at(last - 20)["compute"].host.instances)


def test_entities_note_what_they_hand_out_and_add() -> None:
    entities = Entities({"a": [1], "b": Pickled([2])}, touched=set(), added=set())
    assert entities["b"] == [2] and type(dict.__getitem__(entities, "b")) is list  # decoded once
    entities.get("missing")
    entities["c"] = [3]
    entities.setdefault("a", [9]).append(4)
    assert entities.touched == {"a", "b", "c"} and entities.added == {"c"}
    assert entities.pop("b") == [2] and "b" not in entities
    entities.touched = None
    entities.added = None
    entities["d"] = [5]  # not noted
    assert list(entities.values()) == [[1, 4], [3], [5]]
    assert pickle.loads(pickle.dumps(entities)) == {"a": [1, 4], "c": [3], "d": [5]}
    assert type(pickle.loads(pickle.dumps(entities))) is dict


def test_values_decode_and_note_every_entry() -> None:
    entities = Entities({"a": Pickled({"x": 1}), "b": Pickled({"y": 2})}, touched=set())
    assert [dict(v) for v in entities.values()] == [{"x": 1}, {"y": 2}]
    assert entities.touched == {"a", "b"}
    assert not any(type(v) is Pickled for v in dict.values(entities))


def test_the_held_locks_of_a_restored_model_are_found_without_decoding_the_others(
        tmp_path: Path) -> None:
    """A pickled lock keeps whether it is held: after far jumps, the locks the host pane lists
    are exactly those a forward replay holds, and only they are decoded."""
    path = busy_journal(str(tmp_path))
    session = Session([path], year=YEAR, interval=8, chunk=64, cost_factor=0).run()
    models: Models = {}
    held_forward = []
    for index in range(len(session.store)):
        apply_record(models, session.store.get(index), HostConfig())
        held_forward.append({host: [(lk.name, lk.holder) for lk in obs.host.locks.locks.values()
                                    if lk.holder is not None] for host, obs in models.items()})
    count = len(session.store)
    timeline = session.timeline
    cps = timeline.checkpoints
    targets = [cps[-2] - 1, cps[1] - 1, cps[len(cps) // 2] - 1, count - 1, cps[len(cps) // 3] - 1]
    decoded_less = 0
    for index in targets + list(range(0, count, 37)):
        for host, obs in timeline.at(index).items():
            locks = obs.host.locks.locks
            pickled = sum(type(v) is Pickled for v in dict.values(locks))
            held = marked(locks, LOCKS)
            assert [(lk.name, lk.holder) for lk in held] == held_forward[index][host], index
            left = sum(type(v) is Pickled for v in dict.values(locks))
            assert pickled - left <= len(held)
            decoded_less += left
    assert decoded_less > 0 and any(any(h.values()) for h in held_forward)
