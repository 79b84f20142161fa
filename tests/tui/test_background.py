"""A filter or a search longer than a key should take begins at once and goes on between
keys: the view stays as it was until it is done, keys work meanwhile, and its answer is the
one it gives all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsim.tui import background, view
from nsim.tui.session import Session
from nsim.tui.store import Steps
from nsim.tui.view import Filter, View, compile_pattern
from tests.tui.helpers import YEAR, answer, index_of, press, repeat_seed, running, sync, until


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filters and searches made to take many slices, none of them done before its key answers."""
    monkeypatch.setattr(background, "BUDGET", 0.0)
    monkeypatch.setattr(background, "SLICE_SECONDS", 0.0)
    monkeypatch.setattr(view, "SLICE", 16)
    monkeypatch.setattr(view, "SLICE_SECONDS", 0.0)


def boots(tmp_path: Path) -> Session:
    return Session([repeat_seed(tmp_path, "boots.journal", 8)], year=YEAR, chunk=16)


def test_filtering_a_slice_at_a_time_keeps_the_view_until_done(tmp_path: Path,
                                                               slow: None) -> None:
    store = boots(tmp_path).run().store
    filters = [Filter("text", "lock", pattern=compile_pattern("lock")), Filter("level", "INFO")]
    whole = View(store)
    whole.set_filters(filters)
    sliced = View(store)
    sliced.go_to(len(store) // 2)
    steps = sliced.filtering(filters)
    shares = []
    for share in steps:
        assert sliced.filters == [] and sliced.pos == len(store) // 2
        shares.append(share)
    assert len(shares) > 10 and shares == sorted(shares) and shares[-1] == 1.0
    assert sliced.filters == filters
    assert [sliced.index_at(p) for p in range(len(sliced))] == [
        whole.index_at(p) for p in range(len(whole))]
    assert sliced.current == whole.index_at(whole.position_of(len(store) // 2))


@sync
async def test_a_long_filter_answers_at_once_and_applies_when_done(tmp_path: Path,
                                                                   slow: None) -> None:
    session = boots(tmp_path)
    async with running(session) as (app, pilot):
        store = session.store
        want = View(store)
        want.set_filters([Filter("text", "vm resumed", pattern=compile_pattern("vm resumed"))])
        await answer(pilot, "f", "vm resumed")
        # Done between keys: the status said so, then the filter is in force.
        await until(pilot, lambda: not app.background.busy)
        assert [app.view.index_at(p) for p in range(len(app.view))] == [
            want.index_at(p) for p in range(len(want))]
        assert len(app.view) == 8 and "+text vm resumed" in str(app.log_pane.border_title)
        assert all("VM Resumed" in store.get(i).message for i in map(app.view.index_at,
                                                                       range(len(app.view))))


@sync
async def test_keys_work_while_a_filter_goes_on_and_esc_drops_it(tmp_path: Path,
                                                                 slow: None) -> None:
    session = boots(tmp_path)
    async with running(session) as (app, pilot):
        seen: list[str] = []
        show = app.status_bar.show
        app.status_bar.show = lambda text, *rest: (seen.append(text.plain), show(text, *rest))[1]  # type: ignore[method-assign]
        gate = {"open": False}
        filtering = app.view.filtering

        def held_back(filters: list[Filter]) -> Steps[None]:
            """The filter's slices, once the gate opens (none held back, at once)."""
            while filters and not gate["open"]:
                yield None
            yield from filtering(filters)

        app.view.filtering = held_back  # type: ignore[method-assign]
        app._set_filters([Filter("text", "lock", pattern=compile_pattern("lock"))])
        assert app.background.busy == {"filter": None} and app.view.filters == []
        assert "filtering…" in seen[-1]
        await pilot.press("j")  # the view as it was, all records, until the filter is done
        await pilot.pause()
        assert app.view.pos == 1 and app.view.filters == [] and app.background.busy
        await pilot.press("escape")
        await pilot.pause()
        assert not app.background.busy and app.wanted == []
        gate["open"] = True
        await pilot.pause(0.2)
        assert app.view.filters == [] and len(app.view) == len(session.store)
        assert "filtering…" not in seen[-1] and app.view.pos == 1


@sync
async def test_a_long_search_moves_to_its_hit_when_done(tmp_path: Path, slow: None) -> None:
    session = boots(tmp_path)
    async with running(session) as (app, pilot):
        last_boot = len(session.store) - len(session.store) // 8
        target = index_of(session, "VM Resumed", last_boot)
        app.view.go_to(last_boot)
        app._show()
        await answer(pilot, "slash", "VM Resumed")
        await until(pilot, lambda: not app.background.busy)
        assert app.view.current == target
        await press(pilot, "n")  # the first boot's, from the top: found after wrapping
        await until(pilot, lambda: not app.background.busy)
        assert app.view.current == index_of(session, "VM Resumed")
