"""The questions asked over the panes (nsim.tui.prompt): a prompt or a list shown with the
keys, the app's own keys waiting meanwhile, and once answered the focus back on the log and
the screen drawn at the record it led to."""

from __future__ import annotations

from textual.widgets import Input

from nsim.tui.app import NsimApp
from tests.tui.helpers import answer, index_of, press, running, seed_records, seed_session, sync


def screen_lines(app: NsimApp) -> list[str]:
    """The terminal's rows as they are drawn now."""
    update = app.screen._compositor.render_full_update()
    return ["".join(strip.text for strip in line) for line in update.strips]


def footer_keys(app: NsimApp) -> list[str]:
    return [key.description for key in app.query("FooterKey")]  # type: ignore[attr-defined]


@sync
async def test_a_prompt_takes_the_keys_until_answered_then_the_log_has_them() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        keys = footer_keys(app)
        await press(pilot, "t")
        prompt = app.prompt
        assert prompt.display and app.focused is prompt.field
        assert any("go to time" in line for line in screen_lines(app)[-3:])
        await press(pilot, "j", "pagedown", "G")  # typed, not steps, a page or the end
        assert prompt.field.value == "jG" and app.view.pos == 0
        assert footer_keys(app) == keys  # the app's keys, shown beneath the question
        prompt.field.value = "13:13:01"
        await press(pilot, "enter")
        index = app.view.current
        assert index is not None and f"{session.store.get(index).timestamp:%H:%M:%S}" == "13:13:01"
        assert not prompt.display and app.focused is app.log_pane
        assert footer_keys(app) == keys
        lines = screen_lines(app)
        assert not any("go to time" in line for line in lines)
        assert any(f"record {app.view.pos + 1}/{seed_records()}" in line for line in lines)
        row = app.log_pane.shown_rows.index(app.view.pos)  # the cursor's row, drawn
        assert "13:13:01" in lines[1 + row] and session.store.get(index).message[:20] in lines[1 + row]
        before = app.view.pos
        await press(pilot, "j")  # the log has the keys again
        assert app.view.pos == before + 1


@sync
async def test_esc_closes_a_prompt_and_leaves_the_filters_in_force() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "f", "req-9b9e")
        assert len(app.view) == 3
        for key in ("slash", "f", "t"):
            await press(pilot, key)
            assert isinstance(app.focused, Input)
            await press(pilot, "escape")  # the prompt's: not the app's (which clears the filters)
            assert len(app.view) == 3 and not app.prompt.display and app.focused is app.log_pane
        await press(pilot, "escape")
        assert len(app.view) == seed_records()


@sync
async def test_the_search_prompt_offers_the_last_search() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "slash", "VM Resumed")
        assert app.view.current == index_of(session, "VM Resumed")
        await press(pilot, "slash")
        field = app.prompt.field
        assert field.value == "VM Resumed" and field.cursor_position == len("VM Resumed")
        await press(pilot, "escape")


@sync
async def test_a_click_on_the_log_while_a_prompt_asks_is_an_esc() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "f")
        assert app.prompt.display
        await pilot.click("#log", offset=(5, 3))
        await pilot.pause()
        assert not app.prompt.display and app.focused is app.log_pane
        assert len(app.view) == seed_records()
        await press(pilot, "j")
        assert app.focused is app.log_pane


@sync
async def test_the_histogram_closes_with_its_keys_and_q_does_not_quit() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        keys = footer_keys(app)
        await press(pilot, "j", "j")
        for close in ("escape", "i", "q"):
            await press(pilot, "i")
            assert app.histogram.display and app.focused is app.histogram
            assert footer_keys(app) == keys
            await press(pilot, "end")  # the list's: its last bucket, not the last record
            assert app.view.pos == 2
            assert app.histogram.highlighted == app.histogram.option_count - 1
            await press(pilot, close)
            assert not app.histogram.display and app.focused is app.log_pane
            assert app.is_running and app.view.pos == 2
        assert footer_keys(app) == keys


@sync
async def test_x_lists_the_filters_and_delete_removes_the_highlighted() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "f", "req-9b9e")
        await answer(pilot, "f", "!text paused")
        await press(pilot, "x")
        listed = app.filters
        assert listed.display and app.focused is listed
        assert [str(listed.get_option_at_index(n).prompt) for n in range(listed.option_count)] \
            == ["1  +request 9b9e116b", "2  -text paused"]
        await press(pilot, "down", "delete")
        assert not listed.display and app.focused is app.log_pane
        assert [str(f) for f in app.wanted] == ["+request 9b9e116b"]
        await press(pilot, "x", "x")  # x again closes it, the filters as they were
        assert not listed.display and len(app.wanted) == 1
