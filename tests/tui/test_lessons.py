"""The boot lesson: data files complete in every language, steps anchored to the right records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nsim.tui import lessons
from nsim.tui.lessons import languages
from nsim.tui.session import Session
from nsim.tui.tour import VALUES, LessonError, Tour, load
from tests.tui.helpers import IMAGE, SHA1, UUID, YEAR, seed_lines, seed_session, write_lines

STEP_IDS = ["start", "claim", "totals", "claimed", "network", "image-cache", "convert", "overlay",
            "xml", "vif", "paused", "sync", "resumed", "spawned"]


def test_every_language_has_every_step_and_only_known_values() -> None:
    assert languages() == ["en", "zh"]
    for lang in languages():
        lesson = load(lang)
        assert [s.id for s in lesson.steps] == STEP_IDS
        for step in lesson.steps:
            assert step.title and len(step.body) > 200, (lang, step.id)
            names = set(re.findall(r"\$\{(\w+)\}", step.body))
            assert names <= set(VALUES), (lang, step.id, names - set(VALUES))


def test_on_the_seed_boot_each_step_finds_its_record_in_order() -> None:
    session = seed_session().run()
    tour = Tour(load("en"), session)
    anchors = [tour.anchor(n) for n in range(len(tour))]
    assert None not in anchors and anchors == sorted(anchors)
    kinds = [session.store.get(a).kind for a in anchors]  # type: ignore[arg-type]
    assert kinds == [s.kind for s in tour.lesson.steps]
    assert session.store.get(anchors[STEP_IDS.index("convert")]).message.startswith(
        "Running cmd (subprocess): qemu-img convert")
    assert tour.instance == UUID


def test_values_come_from_the_log_and_the_model_at_each_step() -> None:
    tour = Tour(load("en"), seed_session().run())
    cache = tour.values(STEP_IDS.index("image-cache"))
    assert (cache["image_id"], cache["sha1"]) == (IMAGE, SHA1)
    assert cache["base_dir"] == "/opt/stack/data/nova/instances/_base"
    assert cache["disk_path"] == f"/opt/stack/data/nova/instances/{UUID}/disk"
    totals = tour.values(STEP_IDS.index("totals"))
    assert (totals["memory_total"], totals["memory_used"], totals["vcpu_total"]) == ("7983", "512", "4")
    assert tour.values(STEP_IDS.index("claimed"))["memory_used"] == "1024"
    assert tour.values(STEP_IDS.index("convert"))["cache_state"] == "converting"
    assert tour.values(STEP_IDS.index("paused"))["power_state"] == "paused"
    resumed = tour.values(STEP_IDS.index("resumed"))
    assert (resumed["power_state"], resumed["task_state"]) == ("running", "spawning")
    spawned = tour.values(STEP_IDS.index("spawned"))
    assert (spawned["vm_state"], spawned["task_state"]) == ("active", "None")
    assert spawned["build_seconds"] == "9.05"


def test_texts_are_filled_in_and_the_chinese_keeps_the_notes_words() -> None:
    session = seed_session().run()
    en, zh = Tour(load("en"), session), Tour(load("zh"), session)
    for tour in (en, zh):
        for n, step in enumerate(tour.lesson.steps):
            assert "${" not in tour.text(n)
            used = set(re.findall(r"\$\{(\w+)\}", step.body))
            assert used <= set(tour.values(n)), (step.id, used - set(tour.values(n)))
    assert f"sha1(\"{IMAGE}\") = {SHA1}" in en.text(STEP_IDS.index("image-cache"))
    assert "Step 6 of 14" in en.text(STEP_IDS.index("image-cache"))
    whole = "\n".join(zh.text(n) for n in range(len(zh)))
    for word in ("为 instance 准备资源", "镜像文件", "backing file", "SHA1 哈希值", "转换成 raw 格式",
                 "以提高 IO 性能", "虚拟网卡", "生命周期事件", "同步电源状态", "实例成功孵化"):
        assert word in whole, word
    # Soft line breaks between Chinese characters do not become spaces.
    assert "同一台主机一次只做一个 claim" in whole


def test_a_log_without_a_moment_says_so_and_keeps_the_other_steps(tmp_path: Path) -> None:
    lines = [line for line in seed_lines()
             if "qemu-img convert" not in line and "converting to raw" not in line]
    session = Session([write_lines(tmp_path, "noconvert.journal", lines)], year=YEAR).run()
    tour = Tour(load("en"), session)
    n = STEP_IDS.index("convert")
    assert tour.anchor(n) is None
    assert tour.lesson.missing in tour.text(n)
    assert tour.anchor(n + 1) is not None and tour.lesson.missing not in tour.text(n + 1)


def test_a_broken_lesson_file_names_the_file_and_the_step(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "steps.toml").write_text((lessons.HERE / "steps.toml").read_text(encoding="utf-8"))
    text = (lessons.HERE / "en.toml").read_text(encoding="utf-8")
    (tmp_path / "en.toml").write_text(text.replace("[step.overlay]", "[step.overlays]"))
    monkeypatch.setattr(lessons, "HERE", tmp_path)
    with pytest.raises(LessonError, match=r"en.toml: \[step.overlay\] needs a title and a body"):
        load("en")
    with pytest.raises(LessonError, match="no lesson in 'fr'"):
        load("fr")


def test_a_hardware_mode_boot_gets_the_same_lesson() -> None:
    session = Session(["sample_logs/hw-boot.journal"]).run()
    tour = Tour(load("en"), session)
    missing = [s.id for n, s in enumerate(tour.lesson.steps) if tour.anchor(n) is None]
    # A recent nova logs no per-resource claim lines; every other moment is there.
    assert missing == ["claim", "totals"]
    assert tour.lesson.missing in tour.text(STEP_IDS.index("totals"))
    convert = tour.values(STEP_IDS.index("convert"))
    assert convert["cache_state"] == "converting" and convert["sha1"] in convert["base_file"]
    assert tour.values(STEP_IDS.index("spawned"))["vm_state"] == "active"
