"""Layouts that fit: 80x24 (the log keeps the width, the model's panes in panels `p` cycles)
and 200x60 (every pane at once, the log wide enough for loggers and requests)."""

from __future__ import annotations

import tomllib

from textual.binding import Binding

from nsim.tui import lessons
from nsim.tui.app import NsimApp
from nsim.tui.footer import HelpScreen
from nsim.tui.i18n import table
from nsim.tui.keys import KEYS
from nsim.tui.log_pane import WIDE, LogPane
from nsim.tui.pane import Pane
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


@sync
async def test_lang_zh_translates_titles_status_footer_and_help() -> None:
    session = seed_session()
    async with running(session, size=LARGE, lang="zh") as (app, pilot):
        titles = [str(app.query_one(f"#{n}").border_title) for n in
                  ("log", "instance", "host", "cache", "event", "violations")]
        assert titles == ["日志", "实例", "主机", "镜像缓存", "事件", "违规"]
        status = str(app.query_one("#status").render())
        assert "记录 1/" in status and "暂停" in status and "record" not in status
        footer = {b.binding.description for b in app.active_bindings.values() if b.binding.show}
        assert {"下一条", "搜索", "过滤", "帮助", "退出"} <= footer
        await press(pilot, "end")  # every pane has something to say at the last record
        bodies = {n: app.query_one(f"#{n}", Pane).plain for n in ("host", "cache", "violations")}
        assert "当前申领" in bodies["host"] and "预留" in bodies["host"]
        assert "使用者" in bodies["cache"] and "users" not in bodies["cache"]
        assert "目前没有" in bodies["violations"] or "[" in bodies["violations"]
        assert "命中" in str(app.query_one("#cache").border_subtitle)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert all(any("\u4e00" <= c <= "\u9fff" for c in b.tooltip) for b in app.screen.bindings)
        assert str(app.screen.query_one("VerticalScroll").border_title) == "按键"


def test_every_ui_text_has_a_chinese_translation_in_the_glossary_s_terms() -> None:
    words = table("zh")
    english = {b.description for b in KEYS if isinstance(b, Binding)} | {
        b.tooltip for b in KEYS if isinstance(b, Binding)}
    english |= {"Log", "Event", "Instance", "Host", "Image cache", "Violations", "Keys",
                "Record", "Filters", "record {pos}/{count}", "paused", "following"}
    assert english - set(words) == set()
    glossary = tomllib.loads((lessons.HERE / "glossary.toml").read_text(encoding="utf-8"))
    for entry in glossary.values():
        for wrong in entry["not"]:
            assert not [w for w in words.values() if wrong in w], wrong
    assert words["Instance"] == glossary["instance"]["zh"]
    assert words["Image cache"].startswith(glossary["image"]["zh"])


@sync
async def test_a_pane_s_scroll_range_follows_its_text_at_every_step() -> None:
    session = seed_session()
    async with running(session) as (app, pilot):
        heights = set()
        for _ in range(40):  # texts that grow past a pane and shrink back
            await press(pilot, "j")
            for pane in app.query(Pane):
                body = pane.query_one(".body")
                assert pane.max_scroll_y == max(0, body.outer_size.height
                                                - pane.scrollable_content_region.height), pane.id
                heights.add((pane.id, body.outer_size.height))
        assert len({h for name, h in heights if name == "event"}) > 1
