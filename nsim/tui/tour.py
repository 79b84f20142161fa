"""Guided lessons over a boot log: steps anchored to records, text per language in TOML.

steps.toml says which record each teaching moment is about and which pane changes there;
<lang>.toml (en.toml, zh.toml, ...) holds each step's title and Markdown body. `${name}` in a
body is filled with a value read from the log and the model at that step (`VALUES`); one the
log does not give reads as the language's `unknown` ("not in this log"). Each step cites the
nova source it rests on (`sources`). A teacher can edit or translate the text without touching
code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from nsim.events.claim import ClaimAttempt
from nsim.logs.record import Record
from nsim.model.image_cache import cache_filename
from nsim.tui import lessons
from nsim.tui.session import Moment, Session

PANES = ("instance", "host", "cache", "event", "log")
VALUES = (
    "instance", "request", "host", "node", "time", "flavor_memory", "flavor_disk", "flavor_vcpus",
    "flavor_from",
    "reserved_memory", "memory_total", "disk_total", "vcpu_total", "memory_used", "disk_used",
    "vcpu_used", "image_id", "sha1", "instances_path", "base_dir", "base_file", "disk_path",
    "vm_state", "task_state", "power_state", "cache_state", "build_seconds",
)
# A soft line break between two CJK characters is no space in the rendered text.
_CJK_BREAK = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\n(?=[\u3000-\u9fff\uff00-\uffef])")


class LessonError(ValueError):
    """Lesson data that cannot be used; the message names the file and the step."""


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    pane: str
    title: str
    body: str
    match: dict[str, str] = field(default_factory=dict)
    contains: str | None = None
    sources: tuple[str, ...] = ()
    """"VERSION PATH NAME" of the nova source the step rests on."""

    def matches(self, rec: Record) -> bool:
        ev = rec.event
        if ev is None or ev.kind != self.kind:
            return False
        if self.contains is not None and self.contains not in rec.message:
            return False
        return all(str(getattr(ev, k, None)) == v for k, v in self.match.items())


@dataclass(frozen=True)
class Lesson:
    lang: str
    title: str
    progress: str
    keys: str
    missing: str
    unknown: str
    """What a value the log does not give reads as."""
    cites: str
    """The label of a step's nova sources."""
    flavor_from: dict[str, str]
    """Where the flavor's sizes were read: "claim" (the claim's own line) or "xml" (the guest
    XML, when the release no longer logs the claim's sizes), said in the lesson's words."""
    steps: tuple[Step, ...]


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LessonError(f"{path}: {exc}") from None


def load(lang: str) -> Lesson:
    """The boot lesson in `lang`."""
    if lang not in lessons.languages():
        raise LessonError(f"no lesson in {lang!r}; there are: {', '.join(lessons.languages())}")
    layout = _read(lessons.HERE / "steps.toml")
    text_path = lessons.HERE / f"{lang}.toml"
    text = _read(text_path)
    texts = text.get("step", {})
    assert isinstance(texts, dict)
    steps = []
    for raw in layout.get("step", []):  # type: ignore[attr-defined]
        sid = raw["id"]
        if raw.get("pane") not in PANES:
            raise LessonError(f"steps.toml: step {sid}: pane must be one of {', '.join(PANES)}")
        words = texts.get(sid)
        if not isinstance(words, dict) or "title" not in words or "body" not in words:
            raise LessonError(f"{text_path}: [step.{sid}] needs a title and a body")
        steps.append(Step(id=sid, kind=raw["kind"], pane=raw["pane"], title=words["title"],
                          body=_CJK_BREAK.sub("", words["body"].strip()),
                          match={k: str(v) for k, v in raw.get("match", {}).items()},
                          contains=raw.get("contains"),
                          sources=tuple(raw.get("sources", ()))))
    try:
        return Lesson(lang=lang, title=str(text["title"]), progress=str(text["progress"]),
                      keys=str(text["keys"]), missing=str(text["missing"]),
                      unknown=str(text["unknown"]), cites=str(text["cites"]),
                      flavor_from={k: str(v) for k, v in dict(text["flavor_from"]).items()},
                      steps=tuple(steps))
    except KeyError as exc:
        raise LessonError(f"{text_path}: needs a top-level {exc.args[0]}") from None


class _Unknown(dict[str, str]):
    """Values by name; a name without one reads as `unknown`."""

    def __init__(self, values: dict[str, str], unknown: str) -> None:
        super().__init__(values)
        self.unknown = unknown

    def __missing__(self, key: str) -> str:
        return self.unknown


def _num(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


class Tour:
    """A lesson laid over one session: the record each step is about, and its filled-in text.

    Steps are found in order, each after the previous one's record, among the lines of the
    lesson's instance (that of the first step found) and lines that name no instance.
    """

    def __init__(self, lesson: Lesson, session: Session) -> None:
        self.lesson = lesson
        self.session = session
        self._anchors: dict[int, int | None] = {}
        self._end: int | None = None
        self.instance: str | None = None

    def __len__(self) -> int:
        return len(self.lesson.steps)

    def anchor(self, n: int) -> int | None:
        """The record index step `n` is about, or None when the log (so far) has none."""
        if n in self._anchors:
            return self._anchors[n]
        start = 0
        for k in range(n - 1, -1, -1):
            before = self.anchor(k)
            if before is not None:
                start = before + 1
                break
        store, step = self.session.store, self.lesson.steps[n]
        found = None
        for index in range(start, self._scan_end()):
            owner = store.owners[index]
            if self.instance is not None and owner not in (None, self.instance):
                continue
            if step.matches(store.get(index)):
                found = index
                break
        if found is not None and self.instance is None:
            self.instance = store.owners[found]
        if found is not None or self.session.done.is_set():
            self._anchors[n] = found
        return found

    def _scan_end(self) -> int:
        """Past the last record of the lesson's instance, no step of it can be found."""
        if self._end is not None:
            return self._end
        store, size = self.session.store, len(self.session.store)
        if self.instance is None:
            return size
        owners = store.owners
        end = next((i + 1 for i in range(size - 1, -1, -1) if owners[i] == self.instance), size)
        if self.session.done.is_set():
            self._end = end
        return end

    def values(self, n: int) -> dict[str, str]:
        """The `${name}` values of step `n`: the instance's boot as a whole, and the model at the step."""
        out: dict[str, str] = {}
        anchor = self.anchor(n)
        if self.instance is not None:
            self._boot_values(out, self.session.moment(self._scan_end() - 1, self.instance))
        if anchor is not None:
            self._step_values(out, self.session.moment(anchor, self.instance))
        return out

    def _boot_values(self, out: dict[str, str], end: Moment) -> None:
        host, inst = end.host, end.instance
        if host is None or inst is None:
            return
        candidates: dict[str, str | None] = {
            "instance": inst.uuid, "host": host.name, "node": host.node,
            "reserved_memory": _num(host.config.reserved_host_memory_mb),
            "memory_total": _num(host.tracker.totals["memory"]),
            "disk_total": _num(host.tracker.totals["disk"]),
            "vcpu_total": _num(host.tracker.totals["vcpu"]),
            "image_id": inst.image_id,
            "sha1": inst.base_file or (cache_filename(inst.image_id) if inst.image_id else None),
            "instances_path": host.instances_path, "base_dir": host.base_dir,
            "build_seconds": _num(inst.build_seconds),
        }
        if inst.claim is not None:
            candidates |= {"flavor_memory": _num(inst.claim.memory_mb),
                           "flavor_disk": _num(inst.claim.disk_gb),
                           "flavor_vcpus": _num(inst.claim.vcpus),
                           "flavor_from": self.lesson.flavor_from[
                               "claim" if self._claim_logged(inst.uuid) else "xml"]}
        sha1, base_dir, inst_dir = candidates["sha1"], host.base_dir, host.instance_dir(inst.uuid)
        if sha1 and base_dir:
            candidates["base_file"] = f"{base_dir}/{sha1}"
        if inst_dir:
            candidates["disk_path"] = f"{inst_dir}/disk"
        out.update({k: v for k, v in candidates.items() if v is not None})

    def _claim_logged(self, uuid: str) -> bool:
        """Whether the log states the claim's sizes ("Attempting claim …", through Stein)."""
        store = self.session.store
        return any(isinstance(store.get(i).event, ClaimAttempt)
                   for i in store.by_owner.get(uuid, ()))

    def _step_values(self, out: dict[str, str], at: Moment) -> None:
        rec, host, inst = at.record, at.host, at.instance
        assert rec is not None
        if rec.timestamp is not None:
            out["time"] = f"{rec.timestamp:%H:%M:%S}"
        if rec.request_id and "request" not in out:
            out["request"] = rec.request_id
        if host is not None:
            for res, name in (("memory", "memory_used"), ("disk", "disk_used"), ("vcpu", "vcpu_used")):
                used = _num(host.tracker.used(res))
                if used is not None:
                    out[name] = used
            base = host.cache.files.get(out.get("sha1", ""))
            if base is not None:
                out["cache_state"] = base.state.value
        if inst is not None:
            out["vm_state"] = inst.vm_state.value if inst.vm_state else "None"
            out["task_state"] = inst.task_state.value if inst.task_state else "None"
            out["power_state"] = inst.power_state.value

    def text(self, n: int) -> str:
        """Step `n` as Markdown: its title, a note when the log lacks it, its filled-in body."""
        step = self.lesson.steps[n]
        head = Template(self.lesson.progress).safe_substitute(n=n + 1, total=len(self))
        parts = [f"## {step.title}", f"*{head}*"]
        if self.anchor(n) is None:
            parts.append(f"> {self.lesson.missing}")
        parts.append(Template(step.body).safe_substitute(
            _Unknown(self.values(n), self.lesson.unknown)))
        if step.sources:
            cited = "; ".join(f"nova {version} `{path}` {name}" for version, path, name in
                              (source.split() for source in step.sources))
            parts.append(f"*{self.lesson.cites}: {cited}*")
        return "\n\n".join(parts)
