"""The boot lesson: data files complete in every language, steps anchored to the right records."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from nsim.model.instance import PHASES
from nsim.tui import lessons
from nsim.tui.instance_pane import phase_strip
from nsim.tui.lessons import languages
from nsim.tui.session import Session
from nsim.tui.tour import VALUES, LessonError, Tour, load
from tests.tui.helpers import IMAGE, ROOT, SHA1, UUID, YEAR, seed_lines, seed_session, write_lines

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
    for word in ("为实例准备资源", "磁盘文件", "backing file", "SHA1 哈希值", "转换成 raw 格式",
                 "以提高 IO 性能", "虚拟网卡", "生命周期事件", "同步电源状态", "实例创建成功"):
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


CITATION = re.compile(r"^(\d+\.\d+\.\d+) (nova/\S+\.py) (\w+)$")


def _verified() -> set[str]:
    """The "VERSION PATH NAME" lines of nova_sources.txt (each found in that release's wheel)."""
    text = (lessons.HERE / "nova_sources.txt").read_text(encoding="utf-8")
    return {line for line in text.splitlines() if line and not line.startswith("#")}


def test_every_step_cites_nova_sources_that_were_found_in_nova() -> None:
    verified = _verified()
    assert all(CITATION.match(line) for line in verified)
    for step in load("en").steps:
        assert step.sources, f"step {step.id} cites no nova source"
        for source in step.sources:
            assert source in verified, f"step {step.id}: {source!r} is not in nova_sources.txt"
    releases = {line.split()[0] for line in verified}
    assert releases == {"16.1.8", "34.0.0"}  # Pike, and the newest release (2026.2)


def test_cited_files_are_files_of_that_release_in_the_extract_of_nova_s_log_calls() -> None:
    """Where nsim/data/nova_log_calls.json.gz holds a release's file, the citation names it."""
    data = json.loads(gzip.decompress((ROOT / "nsim/data/nova_log_calls.json.gz").read_bytes()))
    strings = data["strings"]
    by_version = {r["versions"]["nova"]: {strings[c[2]] for c in r["calls"]}
                  for r in data["releases"].values()}
    checked = 0
    for line in _verified():
        version, path, _ = line.split()
        files = by_version.get(version)
        if files is not None and path.startswith(("nova/compute/", "nova/virt/")) \
                and path not in ("nova/virt/libvirt/utils.py",):
            assert path in files, line
            checked += 1
    assert checked >= 10


def _nova_wheels(versions: set[str]) -> Path:
    """A folder with nova's wheel of each version: NSIM_NOVA_WHEELS, else one next to the
    venv, filled with `pip download nova==V --no-deps` from the project's package index."""
    folder = Path(os.environ.get("NSIM_NOVA_WHEELS") or Path(sys.prefix) / "nova-wheels")
    for version in sorted(versions):
        if not list(folder.glob(f"nova-{version}-*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d",
                            str(folder), f"nova=={version}"], check=True, capture_output=True,
                           timeout=600)
    return folder


def test_nova_sources_against_the_wheels() -> None:
    """Each listed name is in that file of that release (nova's own wheel, read here)."""
    lines = _verified()
    folder = _nova_wheels({line.split()[0] for line in lines})
    for line in lines:
        version, path, name = line.split()
        (wheel,) = folder.glob(f"nova-{version}-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            assert re.search(rf"\b{name}\b", archive.read(path).decode()), line


def test_the_lessons_say_what_nova_does_not_what_it_does_not() -> None:
    en = (lessons.HERE / "en.toml").read_text(encoding="utf-8")
    zh = (lessons.HERE / "zh.toml").read_text(encoding="utf-8")
    for text in (en, zh):
        assert "base_dir_name" not in text and "image_cache_subdirectory_name" in text
        assert "Violations" not in text and "**e**" not in text  # teach has no such pane
        assert "_update_instance_after_spawn" in text and "NOSTATE" in text
        assert "[-]" in text  # VM Started and Instance spawned successfully carry no request
    assert "nova takes the\npower_state from the event" not in en
    assert "Every line of this build carries the request id" not in en


def test_one_glossary_for_every_language() -> None:
    glossary = tomllib.loads((lessons.HERE / "glossary.toml").read_text(encoding="utf-8"))
    texts = {lang: (lessons.HERE / f"{lang}.toml").read_text(encoding="utf-8")
             for lang in languages()}
    for term, entry in glossary.items():
        for lang, text in texts.items():
            body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
            if lang in entry:
                assert entry[lang] in body, f"{lang}.toml never says {entry[lang]!r} ({term})"
            if lang == "zh":
                for wrong in entry["not"]:
                    assert wrong not in body, f"zh.toml says {wrong!r} for {term}"


def test_teach_on_a_modern_log_prints_no_question_mark_and_says_what_it_lacks() -> None:
    session = Session(["sample_logs/hw-boot.journal"]).run()
    for lang in languages():
        tour = Tour(load(lang), session)
        for n in range(len(tour)):
            text = tour.text(n)
            step = tour.lesson.steps[n]
            assert text.count("?") == (step.title + step.body).count("?"), (lang, step.id)
            assert tour.lesson.cites in text
        totals = tour.text(STEP_IDS.index("totals"))
        assert tour.lesson.missing in totals and tour.lesson.unknown in totals


def test_durations_are_shown_at_the_log_s_resolution() -> None:
    """As `nsim replay` and `nsim diff` print them (nsim.report.numbers): milliseconds from
    finer stamps, whole seconds from whole-second ones."""
    session = Session(["sample_logs/hw-boot.journal"]).run()  # stamps in microseconds
    end = session.moment(len(session.store) - 1)
    assert end.instance is not None
    strip = phase_strip(end.instance).plain
    assert re.search(r" \d+\.\d{3}s ", strip), strip
    done = [p for p in end.instance.ordered_phases() if p.seconds is not None and p.name in PHASES]
    assert done
    for phase in done:
        assert phase.seconds is not None
        assert f" {phase.name} {phase.seconds:.3f}s " in strip, (phase.name, strip)
    seed = seed_session().run()  # journald stamps: whole seconds
    strip = phase_strip(seed.moment(len(seed.store) - 1).instance).plain  # type: ignore[arg-type]
    assert re.search(r" \d+s ", strip) and not re.search(r"\d\.\d+s", strip), strip


def test_the_lesson_says_where_the_flavor_was_read() -> None:
    """A modern log states no claim sizes: the lesson says they come from the guest XML."""
    modern = Session(["sample_logs/hw-boot.journal"]).run()
    seed = Session(["sample_logs/seed-boot.journal"], year=2017).run()
    for lang in languages():
        lesson = load(lang)
        claim = STEP_IDS.index("claim")
        assert lesson.flavor_from["xml"] in Tour(lesson, modern).text(claim)
        assert lesson.flavor_from["claim"] in Tour(lesson, seed).text(claim)
