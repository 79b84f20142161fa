"""SVG snapshots of the main screens (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from nsim.tui.app import NsimApp
from nsim.tui.tour import Tour, load
from tests.tui.helpers import SIZE, answer, seed_session, wait_indexed

SnapCompare = Callable[..., bool]


def ready(*keys: str, search: str | None = None) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Before the screenshot: wait for the first screen and the whole index, then act."""
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, NsimApp)
        await app.first_screen.wait()
        await wait_indexed(pilot, app.session)
        if search is not None:
            await answer(pilot, "/", search)
        await pilot.press(*keys)
        await pilot.pause()
    return run_before


def test_first_screen(snap_compare: SnapCompare) -> None:
    assert snap_compare(NsimApp(seed_session()), terminal_size=SIZE, run_before=ready())


def test_after_the_claim(snap_compare: SnapCompare) -> None:
    assert snap_compare(NsimApp(seed_session()), terminal_size=SIZE,
                        run_before=ready(search="Claim successful"))


def test_after_resumed(snap_compare: SnapCompare) -> None:
    assert snap_compare(NsimApp(seed_session()), terminal_size=SIZE,
                        run_before=ready(search="VM Resumed"))


def test_teach_english_at_the_conversion(snap_compare: SnapCompare) -> None:
    session = seed_session()
    app = NsimApp(session, Tour(load("en"), session))
    assert snap_compare(app, terminal_size=SIZE, run_before=ready(*["right"] * 6))


def test_teach_chinese_at_the_overlay(snap_compare: SnapCompare) -> None:
    session = seed_session()
    app = NsimApp(session, Tour(load("zh"), session))
    assert snap_compare(app, terminal_size=SIZE, run_before=ready(*["right"] * 7))


def test_help(snap_compare: SnapCompare) -> None:
    assert snap_compare(NsimApp(seed_session()), terminal_size=SIZE, run_before=ready("question_mark"))
