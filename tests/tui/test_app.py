"""The app driven by keys (Textual's Pilot): what each pane shows at given records."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from nsim.tui.app import SPEEDS, NsimApp
from nsim.tui.footer import HelpScreen
from nsim.tui.log_pane import LogPane
from nsim.tui.session import Session
from nsim.tui.tour import Tour, load
from tests.tui.helpers import (
    SEED,
    SHA1,
    UUID,
    YEAR,
    answer,
    index_of,
    press,
    running,
    seed_lines,
    seed_records,
    seed_session,
    sync,
    until,
    write_lines,
)


def pane(app: NsimApp, name: str) -> str:
    return app.query_one(f"#{name}").plain  # type: ignore[attr-defined]


def status(app: NsimApp) -> str:
    return str(app.query_one("#status").render())


@sync
async def test_the_first_screen_shows_the_first_record_and_the_keys() -> None:
    session = seed_session()
    async with running(session) as (app, _):
        assert app.view.current == 0
        assert "lock_acquired" in pane(app, "event")
        assert f"record 1/{seed_records()}" in status(app)
        assert "No records yet" not in str(app.query_one(LogPane).render())
        assert app.first_screen_at is not None


@sync
async def test_memory_gauge_after_the_claim_and_before_it() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        claimed = index_of(session, "Claim successful")
        await press(pilot, *["j"] * claimed)
        assert app.view.current == claimed
        host = pane(app, "host")
        assert "1024 / 7983 MB" in host and "claims 512" in host and "reserved 512" in host
        assert f"{UUID[:8]}  512 MB  1 GB  1 vCPU" in host
        assert "compute_resources" in host  # held until the next line releases it
        await press(pilot, "k")
        host = pane(app, "host")
        assert "512 / 7983 MB" in host and "claims 0" in host and "live claims 0" in host


@sync
async def test_cache_state_through_the_conversion() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "/", "qemu-img convert")
        assert app.view.current == index_of(session, "Running cmd (subprocess): qemu-img convert")
        assert f"{SHA1[:12]}… converting" in pane(app, "cache")
        await answer(pilot, "/", "fetch_func_sync\" :: held")
        cache = pane(app, "cache")
        assert f"{SHA1[:12]}… present" in cache and "misses 0" not in cache
        assert app.query_one("#cache").border_subtitle == "hits 0 · misses 0"
        await answer(pilot, "/", "qemu-img create")
        await press(pilot, "j")  # the create command returned
        assert f"users {UUID[:8]}" in pane(app, "cache")
        assert app.query_one("#cache").border_subtitle == "hits 0 · misses 1"


@sync
async def test_power_state_after_resumed_and_back_to_paused() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "/", "VM Resumed")
        instance = pane(app, "instance")
        assert "power_state running" in instance and "task_state  spawning" in instance
        await press(pilot, "k", "k")
        assert "power_state paused" in pane(app, "instance")
        await press(pilot, "end")
        instance = pane(app, "instance")
        assert "vm_state    active" in instance and "task_state  None" in instance


@sync
async def test_stepping_back_shows_exactly_what_stepping_forward_showed() -> None:
    session = seed_session(interval=4, cost_factor=0)
    async with running(session) as (app, _):
        # The step action itself (what j and k run), without waiting for each repaint.
        forward = []
        for _ in range(len(session.store)):
            forward.append((pane(app, "instance"), pane(app, "host"), pane(app, "cache"), pane(app, "event")))
            app.action_step(1)
        for index in range(len(session.store) - 1, -1, -1):
            assert app.view.current == index
            assert (pane(app, "instance"), pane(app, "host"), pane(app, "cache"),
                    pane(app, "event")) == forward[index], index
            app.action_step(-1)
        assert len(set(forward)) > 40  # the panes did change along the way


@sync
async def test_page_home_and_end() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        rows = app.query_one(LogPane).rows
        await press(pilot, "pagedown")
        assert app.view.current == rows - 1
        await press(pilot, "pageup")
        assert app.view.current == 0
        last = len(session.store) - 1
        await press(pilot, "end")
        assert app.view.current == last and f"record {last + 1}/{last + 1}" in status(app)
        await press(pilot, "pagedown")
        assert app.view.current == last
        await press(pilot, "home")
        assert app.view.current == 0


@sync
async def test_play_pause_and_speed() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "space")
        assert app.playing and "playing 1 record/tick" in status(app)
        await until(pilot, lambda: (app.view.current or 0) >= 2)
        await press(pilot, "space")
        stopped = app.view.current
        await pilot.pause(0.7)
        assert not app.playing and app.view.current == stopped
        await press(pilot, "plus", "plus", "plus")
        assert f"paused {SPEEDS[3]:g}x" in status(app)
        await press(pilot, "minus")
        assert f"{SPEEDS[2]:g}x" in status(app)
        # Real time x100: the whole 9 s boot plays in well under a second and stops at the end.
        await press(pilot, *["plus"] * 5, "space")
        await until(pilot, lambda: not app.playing, timeout=5)
        assert app.view.current == len(session.store) - 1 and "paused 100x" in status(app)


@sync
async def test_e_and_shift_e_jump_between_violations_and_errors(tmp_path: Path) -> None:
    lines = seed_lines()
    took = next(i for i, line in enumerate(lines) if "Took 9.05 seconds to build" in line)
    lines[took] = lines[took].replace("Took 9.05", "Took 19.05")
    lines.insert(20, lines[19][:44] + "ERROR nova.compute.manager [None req-x admin admin] "
                 "Instance failed network setup after 3 attempt(s)")
    session = Session([write_lines(tmp_path, "bad.journal", lines)], year=YEAR)
    async with running(session) as (app, pilot):
        error = index_of(session, "failed network setup")
        violation = index_of(session, "Took 19.05")
        await press(pilot, "e")
        assert app.view.current == error
        await press(pilot, "e")
        assert app.view.current == violation
        assert "▶ bad.journal" in pane(app, "violations") and "[took-seconds]" in pane(app, "violations")
        await press(pilot, "e")
        assert app.view.current == violation  # none further
        await press(pilot, "E")
        assert app.view.current == error
        assert "[took-seconds]" not in pane(app, "violations")  # not reached yet


@sync
async def test_search_with_n_and_shift_n() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "/", "lifecycle event")
        first = index_of(session, "VM Started")
        assert app.view.current == first
        await press(pilot, "n")
        assert app.view.current == index_of(session, "VM Paused")
        await press(pilot, "n")
        last = index_of(session, "VM Resumed")
        assert app.view.current == last
        await press(pilot, "n")  # past the last hit: from the top again
        assert app.view.current == first
        await press(pilot, "N")  # before the first: from the bottom
        assert app.view.current == last
        await press(pilot, "N", "N")
        assert app.view.current == first
        assert "/lifecycle event" in status(app)
        await answer(pilot, "/", "no such words")
        assert app.view.current == first


def title(app: NsimApp) -> str:
    return str(app.query_one(LogPane).border_title)


@sync
async def test_filters_stack_are_listed_and_come_off_one_at_a_time() -> None:
    session = seed_session()
    total = seed_records()
    async with running(session) as (app, pilot):
        await answer(pilot, "f", "req-9b9e")
        assert len(app.view) == 3 and "+request 9b9e116b" in title(app)
        assert app.view.current == index_of(session, "VM Paused")
        assert f"record 1/3 of {total}" in status(app)
        await answer(pilot, "f", "!text paused")  # out, and case-insensitive
        assert [session.store.get(i).message[:9] for i in range(total) if app.view.contains(i)] \
            == ["During sy", "VM Resume"]
        assert title(app) == "Log +request 9b9e116b -text paused"
        await press(pilot, "x")
        assert app.focused is app.filters and app.filters.display
        assert app.filters.option_count == 2
        await press(pilot, "enter")  # removes the first: the request
        assert title(app) == "Log -text paused"
        assert not app.filters.display and app.focused is app.log_pane
        assert len(app.view) == total - sum(1 for m in range(total)
                                            if "paused" in session.store.get(m).message.lower())
        await answer(pilot, "f", "!level DEBUG")
        assert len(app.view) == sum(1 for m in range(total) if session.store.get(m).level == "INFO"
                                    and "paused" not in session.store.get(m).message.lower())
        await press(pilot, "escape")
        assert len(app.view) == total and title(app) == "Log"
        await answer(pilot, "f", "level WARNING")  # at least WARNING: none in this boot
        assert len(app.view) == 0
        assert any("No record passes" in str(n.message) for n in app._notifications)
        await press(pilot, "escape")
        await answer(pilot, "f", "logger nova.virt")  # the logger and its children
        loggers = {session.store.get(i).logger for i in range(total) if app.view.contains(i)}
        assert loggers == {"nova.virt.libvirt.driver", "nova.virt.libvirt.imagebackend"} or (
            loggers and all(name.startswith("nova.virt.") for name in loggers))
        await answer(pilot, "f", "-text lock|Lock")
        assert not any("lock" in session.store.get(i).message.lower()
                       for i in range(total) if app.view.contains(i))
        await press(pilot, "escape")
        await answer(pilot, "f", "deadbeef")  # no instance: a regex then, that nothing matches
        assert len(app.view) == 0
        await press(pilot, "escape")
        await answer(pilot, "f", "text claim(")
        assert len(app.view) == total
        assert any("not a regular expression" in str(n.message) for n in app._notifications)


@sync
async def test_the_instance_filter_keeps_the_instance_lock_and_its_request() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "I")
        assert app.view.contains(0) and "acquired by" in session.store.get(0).message
        assert session.store.get(0).instance is None  # named only by the lock
        assert len(app.view) == seed_records() and f"+instance {UUID[:8]}" in title(app)
        await press(pilot, "I")
        assert title(app) == "Log"
        await press(pilot, "r")
        assert len(app.view) == sum(1 for i in range(seed_records())
                                    if session.store.requests[i] == session.store.requests[0])


@sync
async def test_go_to_a_time() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await answer(pilot, "t", "13:13:01")
        index = app.view.current
        assert index is not None and f"{session.store.get(index).timestamp:%H:%M:%S}" == "13:13:01"
        assert f"{session.store.get(index - 1).timestamp:%H:%M:%S}" == "13:12:58"
        await answer(pilot, "t", "2017-06-16 13:12:53")
        assert app.view.current == index_of(session, "Start building networks")
        await answer(pilot, "t", "later")
        assert app.view.current == index_of(session, "Start building networks")


@sync
async def test_help_opens_and_closes_and_q_quits() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)
        await press(pilot, "slash")
        assert isinstance(app.focused, Input)
        await press(pilot, "escape")
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


@sync
async def test_an_unreadable_file_shows_a_notice_and_the_rest_opens(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.journal")
    session = Session([missing, SEED], year=YEAR)
    async with running(session) as (app, _):
        assert len(app.view) == seed_records()
        assert f"notice {missing}: no such file" in pane(app, "violations")
        assert any("no such file" in str(n.message) for n in app._notifications)


@sync
async def test_nothing_readable_still_opens_an_empty_screen(tmp_path: Path) -> None:
    session = Session([str(tmp_path / "gone.journal")], year=YEAR)
    async with running(session) as (app, pilot):
        assert len(app.view) == 0 and "No records yet" in str(app.query_one(LogPane).render())
        await press(pilot, "j", "k", "end", "e", "I", "space")
        assert "record 0/0" in status(app) and pane(app, "instance") == "No instance yet."


@sync
async def test_teach_walks_the_steps_and_highlights_the_pane_that_changes() -> None:
    session = seed_session()
    tour = Tour(load("en"), session)
    async with running(session, tour) as (app, pilot):
        lesson = app.query_one("#lesson")
        assert "## Starting instance..." in lesson.plain  # type: ignore[attr-defined]
        assert app.view.current == tour.anchor(0)
        assert app.query_one("#instance").has_class("lesson-focus")
        await press(pilot, "right", "right")
        assert "Step 3 of 14" in lesson.plain and app.view.current == tour.anchor(2)  # type: ignore[attr-defined]
        assert app.query_one("#host").has_class("lesson-focus")
        assert not app.query_one("#instance").has_class("lesson-focus")
        assert "7983 / 7983" not in pane(app, "host") and "512 / 7983 MB" in pane(app, "host")
        await press(pilot, *["right"] * 12)
        assert "Step 14 of 14" in lesson.plain  # type: ignore[attr-defined]
        assert "vm_state    active" in pane(app, "instance")
        await press(pilot, "left")
        assert "Step 13 of 14" in lesson.plain  # type: ignore[attr-defined]
        assert "◆" in str(app.query_one(LogPane).render())


@sync
async def test_teach_in_chinese() -> None:
    session = seed_session()
    async with running(session, Tour(load("zh"), session)) as (app, pilot):
        await press(pilot, *["right"] * 7)
        text = app.query_one("#lesson").plain  # type: ignore[attr-defined]
        assert "第 8 步\uff0c共 14 步" in text and "磁盘文件" in text and "backing file" in text
        assert app.query_one("#cache").has_class("lesson-focus")


@sync
async def test_lesson_keys_do_nothing_outside_teach() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "right")
        assert app.view.current == 0 and not app.query(".lesson-focus")


@sync
async def test_a_lesson_step_outside_the_filter_clears_it() -> None:
    session = seed_session()
    async with running(session, Tour(load("en"), session)) as (app, pilot):
        await answer(pilot, "f", "req-9b9e")
        assert len(app.view) == 3
        await press(pilot, "right")
        assert len(app.view) == seed_records() and app.view.current == app.tour.anchor(1)  # type: ignore[union-attr]


@sync
async def test_playing_goes_on_under_the_help_and_a_prompt() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        await press(pilot, "space", "question_mark")
        await until(pilot, lambda: (app.view.current or 0) >= 2)
        under_help = app.view.current
        assert isinstance(app.screen, HelpScreen) and under_help is not None
        await press(pilot, "escape", "slash")
        await until(pilot, lambda: (app.view.current or 0) > under_help)
        assert isinstance(app.focused, Input) and app.is_running


@sync
async def test_teach_has_the_violations_pane_and_e_goes_to_the_next_problem() -> None:
    session = Session([str(Path("sample_logs") / "failed-spawn.journal")], year=YEAR)
    async with running(session, Tour(load("en"), session)) as (app, pilot):
        assert app.query_one("#violations").display and "Violations" in str(
            app.query_one("#violations").border_title)
        await press(pilot, "home", "e")
        index = app.view.current
        assert index is not None and session.store.get(index).level == "ERROR"


def test_a_gauge_stays_within_its_width_whatever_the_amounts() -> None:
    """An overcommitted host (claims past the total) or a baseline below zero: the bar keeps
    its width (it drew a row of thousands of cells, laid out at every key)."""
    from nsim.model.config import HostConfig
    from nsim.model.host import Host
    from nsim.tui.host_pane import gauge

    host = Host("compute", HostConfig())
    tracker = host.tracker
    total = tracker.totals["memory"] = 8000.0
    for baseline, claimed in ((-total, 3 * total), (0, 10 * total), (2 * total, total)):
        tracker.baseline["memory"] = baseline
        tracker.known["memory"] = {"one": float(claimed)}
        bar = gauge(host, "memory", width=20).plain.splitlines()[0]
        assert len(bar.split(" ")[1]) == 20, (baseline, claimed, bar)
