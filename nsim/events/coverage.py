"""How the catalog's wordings cover nova's own LOG calls, per release (the README's table).

A call is typed when a wording of its release matches its format string (see
nsim.events.source for the matching rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nsim.events.catalog import KINDS
from nsim.events.source import (
    Call,
    extracts,
    format_skeleton,
    matches,
    skeleton_key,
    template_skeleton,
)
from nsim.nova.releases import NOVA_MAJOR, RELEASES

README_START = "<!-- catalog-coverage:start (tools/nova_log_calls.py --readme) -->"
README_END = "<!-- catalog-coverage:end -->"


@cache
def _templates_by_key(release: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cls in KINDS.values():
        wording = cls.wording_for(release)
        if wording is not None:
            out.setdefault(skeleton_key(template_skeleton(wording.template)), []).append(wording.template)
    return out


def is_typed(fmt: str, release: str) -> bool:
    """True when a catalog wording of `release` matches the format string."""
    skel = format_skeleton(fmt)
    if skel is None:
        return False
    index = _templates_by_key(release)
    key = skeleton_key(skel)
    candidates = (index.get(key, []) + index.get("", []) if key
                  else [t for templates in index.values() for t in templates])
    return any(matches(t, fmt) for t in candidates)


@dataclass(frozen=True)
class Coverage:
    release: str
    nova: str
    calls: int
    typed: int
    untyped: tuple[Call, ...]

    @property
    def share(self) -> float:
        return self.typed / self.calls if self.calls else 0.0


def path_calls(release: str) -> list[Call]:
    """The boot, delete, audit and image-cache LOG calls of a release (one per format string
    and site)."""
    seen = set()
    out = []
    for c in extracts()[release].calls:
        key = (c.fmt, c.file, c.line)
        if c.path and c.level != "msg_fmt" and key not in seen:
            seen.add(key)
            out.append(c)
    return out


def coverage(release: str) -> Coverage:
    """How many of a release's path LOG calls the catalog types."""
    calls = path_calls(release)
    untyped = tuple(c for c in calls if not is_typed(c.fmt, release))
    return Coverage(release, extracts()[release].versions["nova"], len(calls),
                    len(calls) - len(untyped), untyped)


def readme_table() -> str:
    """The README's catalog coverage section body (a Markdown table)."""
    lines = [
        "| release | nova | boot/delete/audit/image-cache LOG calls | typed | % |",
        "|---|---|---:|---:|---:|",
    ]
    for release in RELEASES:
        if release not in extracts():
            continue
        cov = coverage(release)
        lines.append(f"| {release} ({NOVA_MAJOR[release]}) | {cov.nova} | {cov.calls} | "
                     f"{cov.typed} | {100 * cov.share:.0f}% |")
    return "\n".join(lines)


def readme_section(text: str) -> str | None:
    """The table currently between the README markers, or None without markers."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return None
    return text[start + len(README_START):end].strip()


def write_readme_table(readme: Path) -> None:
    """Replace the table between the README markers with the current one."""
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme}: no {README_START!r} ... {README_END!r} markers")
    body = f"{README_START}\n{readme_table()}\n{README_END}"
    readme.write_text(text[:start] + body + text[end + len(README_END):])
