"""The log viewer's habits (lnav's): the record whole, wrap and sideways scroll, regex search with
highlighted hits, marks, follow mode and a help made from the key bindings."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import TextArea

from nsim.tui.app import NsimApp
from nsim.tui.footer import HelpScreen, key_names
from nsim.tui.log_pane import HIT, LogPane
from nsim.tui.record_screen import RecordScreen
from nsim.tui.session import Session
from nsim.tui.store import MARK
from tests.tui.helpers import (
    YEAR,
    answer,
    index_of,
    press,
    running,
    seed_index,
    seed_lines,
    seed_parsed,
    seed_records,
    seed_session,
    sync,
    until,
    write_lines,
)

FAILED = "sample_logs/failed-spawn.journal"


def first_line(needle: str) -> int:
    """The first physical line (1-based) of the seed boot's first record with `needle`."""
    return seed_parsed()[seed_index(needle)].line


def row_number(app: NsimApp, index: int) -> int:
    """The row of the log pane that shows record `index`."""
    return app.log_pane.shown_rows.index(app.view.position_of(index))


def log_text(app: NsimApp) -> str:
    return app.query_one(LogPane).render().plain


@sync
async def test_enter_shows_the_record_whole_with_its_whole_traceback() -> None:
    session = Session([FAILED], year=YEAR)
    async with running(session, size=(80, 24)) as (app, pilot):
        await answer(pilot, "/", "createWithFlags")  # found in the traceback
        index = app.view.current
        assert index is not None
        rec = session.store.get(index)
        assert len(rec.traceback) > 12 and "createWithFlags" not in rec.message
        await press(pilot, "enter")
        assert isinstance(app.screen, RecordScreen)
        area = app.screen.query_one(TextArea)
        text = area.text
        assert all(line in text for line in rec.traceback)
        assert "createWithFlags" in text and f"{FAILED}:{rec.line}-{rec.line + rec.lines - 1}" in text
        assert rec.message in text and f"event {rec.event.kind}" in text  # type: ignore[union-attr]
        assert area.soft_wrap and area.read_only
        await press(pilot, "ctrl+w")
        assert not area.soft_wrap
        await press(pilot, "escape")
        assert not isinstance(app.screen, RecordScreen)


@sync
async def test_rows_scroll_sideways_and_wrap_whole() -> None:
    session = seed_session()
    async with running(session, size=(80, 24)) as (app, pilot):
        claim = index_of(session, "Attempting claim")
        await answer(pilot, "/", "Attempting claim")
        message = session.store.get(claim).message
        row = next(line for line in log_text(app).splitlines() if "Attempting" in line)
        assert row.rstrip().endswith("…") and message not in row
        await press(pilot, "right", "right", "right")  # l/→ scroll the log sideways in nsim tui
        moved = log_text(app).splitlines()[row_number(app, claim)]
        assert app.log_pane.left > 0 and moved != row and message[-10:] in moved
        await press(pilot, "left", "left", "left")
        assert app.log_pane.left == 0
        await press(pilot, "ctrl+w")
        text = log_text(app)
        joined = "".join(line.rstrip() for line in text.splitlines())
        assert message.replace(" ", "") in joined.replace(" ", "")  # the whole message, wrapped
        assert "…" not in text and len(text.splitlines()) <= app.log_pane.rows
        await press(pilot, *["j"] * 30)  # the cursor's record stays in sight while wrapped
        current = session.store.get(app.view.current)  # type: ignore[arg-type]
        assert current.message.split()[0] in log_text(app)
        await press(pilot, "ctrl+w")
        assert all(len(line) <= 80 for line in log_text(app).splitlines())


@sync
async def test_search_hits_are_highlighted_in_every_row() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "/", r"Lock|INFO")  # a capital: case-sensitive, so not "lockutils"
        rendered = app.query_one(LogPane).render()
        hits = [rendered.plain[span.start:span.end] for span in rendered.spans if span.style == HIT]
        assert set(hits) == {"Lock", "INFO"} and hits.count("INFO") > 1
        await answer(pilot, "/", "lock")  # lower case: any case
        rendered = app.query_one(LogPane).render()
        assert "Lock" in {rendered.plain[s.start:s.end] for s in rendered.spans if s.style == HIT}


@sync
async def test_marks_are_set_shown_and_jumped_between() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "j", "j", "m")
        await press(pilot, *["j"] * 10, "m", "G")
        assert [i for i in range(len(session.store)) if session.store.flags[i] & MARK] == [2, 12]
        assert log_text(app).count("▌") == 0  # both are scrolled out of sight at the end
        await press(pilot, "U")
        assert app.view.current == 12 and "▌" in log_text(app)
        await press(pilot, "U")
        assert app.view.current == 2
        await press(pilot, "U")  # no earlier mark: the cursor stays
        assert app.view.current == 2
        await press(pilot, "u", "m", "g", "u", "u")
        assert app.view.current == 2  # 12 is unmarked now


@sync
async def test_follow_reads_what_is_appended_and_stays_at_the_end(tmp_path: Path) -> None:
    lines = seed_lines()
    half = first_line("VM Started") - 1  # a record's first line: the file ends between records
    path = write_lines(tmp_path, "growing.journal", lines[:half])
    session = Session([path], year=YEAR, follow=True)
    async with running(session) as (app, pilot):
        before = len(session.store)
        await press(pilot, "G")
        with open(path, "a", encoding="utf-8") as out:
            out.write("\n".join(lines[half:half + 3]) + "\n")  # a record may come in pieces
            out.flush()
            await pilot.pause(0.7)
            out.write("\n".join(lines[half + 3:]) + "\n")
        await until(pilot, lambda: len(session.store) == seed_records())
        await until(pilot, lambda: app.view.current == seed_records() - 1)
        assert before < seed_records()
        last = session.store.get(seed_records() - 1)
        assert (last.source, last.line) == (path, len(lines))
        assert "following" in str(app.query_one("#status").render())
        assert "vm_state    active" in app.query_one("#instance").plain  # type: ignore[attr-defined]


@sync
async def test_f_starts_and_stops_following(tmp_path: Path) -> None:
    lines = seed_lines()
    path = write_lines(tmp_path, "growing.journal", lines[:first_line("Claim successful") - 1])
    session = Session([path], year=YEAR)
    async with running(session) as (_, pilot):
        count = len(session.store)
        with open(path, "a", encoding="utf-8") as out:
            out.write("\n".join(lines[first_line("Claim successful") - 1:]) + "\n")
        await pilot.pause(1.5)
        assert len(session.store) == count  # not following: the file is not read again
        await press(pilot, "F")
        await until(pilot, lambda: len(session.store) == seed_records())
        await press(pilot, "F")
        assert not session.following.is_set()


@sync
async def test_help_lists_every_key_binding_of_the_app() -> None:
    session = seed_session()
    async with running(session, size=(120, 50)) as (app, pilot):
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {(key_names(b), b.tooltip) for b in app.screen.bindings}
        assert {b.action for b in app.screen.bindings} == {
            b.action for b in NsimApp.BINDINGS}  # type: ignore[union-attr]
        assert ("⏎", NsimApp.BINDINGS[6].tooltip) in rows  # type: ignore[union-attr]
