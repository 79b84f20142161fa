"""Layouts that fit: 80x24 (the log keeps the width, the model's panes in panels `p` cycles)
and 200x60 (every pane at once, the log wide enough for loggers and requests)."""

from __future__ import annotations

from nsim.tui.app import NsimApp
from nsim.tui.log_pane import WIDE, LogPane
from nsim.tui.tour import Tour, load
from tests.tui.helpers import UUID, answer, press, running, seed_session, sync

SMALL, LARGE = (80, 24), (200, 60)


def shown(app: NsimApp, *ids: str) -> list[bool]:
    """Whether each pane is on screen (displayed, inside a displayed parent, with some room)."""
    out = []
    for name in ids:
        widget = app.query_one(f"#{name}")
        visible = widget.display and all(a.display for a in widget.ancestors_with_self
                                          if hasattr(a, "display"))
        out.append(bool(visible and widget.region.width > 0 and widget.region.height > 2))
    return out


def claim_row(app: NsimApp) -> str:
    return next(line for line in app.query_one(LogPane).render().plain.splitlines()
                if "Claim successful" in line)


@sync
async def test_at_80x24_the_log_keeps_the_width_and_p_cycles_the_panels() -> None:
    session = seed_session()
    async with running(session, size=SMALL) as (app, pilot):
        await answer(pilot, "/", "Claim successful")
        log = app.query_one(LogPane)
        assert log.content_size.width >= 76 and log.content_size.height >= 15
        assert claim_row(app).rstrip().endswith("Claim successful on node compute")
        assert shown(app, "instance", "host", "cache", "event", "violations") == [False] * 5
        status = str(app.query_one("#status").render())
        assert f"{UUID[:8]} building/-/pending" in status  # the instance's state, pane or not
        await press(pilot, "p")
        assert shown(app, "instance", "host", "cache") == [True] * 3
        assert shown(app, "event", "violations") == [False, False]
        assert "vm_state    building" in app.query_one("#instance").plain  # type: ignore[attr-defined]
        await press(pilot, "p")
        assert shown(app, "instance", "event", "violations") == [False, True, True]
        assert log.content_size.height >= 4
        await press(pilot, "p")
        assert shown(app, "instance", "event") == [False, False]
        assert log.content_size.width >= 76


@sync
async def test_at_200x60_every_pane_shows_and_rows_carry_logger_and_request() -> None:
    session = seed_session()
    async with running(session, size=LARGE) as (app, pilot):
        await answer(pilot, "/", "Claim successful")
        assert shown(app, "instance", "host", "cache", "event", "violations") == [True] * 5
        log = app.query_one(LogPane)
        assert log.content_size.width >= WIDE and log.content_size.height >= 35
        assert "n.c.claims [d9a23179 86f71e87] Claim successful on node compute" in claim_row(app)
        await press(pilot, "p")  # no panels to cycle on a large terminal
        assert shown(app, "instance", "event") == [True, True]


@sync
async def test_teach_at_80x24_keeps_the_lesson_and_the_log() -> None:
    session = seed_session()
    async with running(session, Tour(load("en"), session), size=SMALL) as (app, pilot):
        await press(pilot, "right", "right")
        assert shown(app, "lesson", "log") == [True, True]
        assert "The host's totals" in app.query_one("#lesson").plain  # type: ignore[attr-defined]
        assert app.query_one(LogPane).content_size.width >= 76
