"""nova's own log calls per release (nsim/data/nova_log_calls.json.gz, written by
tools/nova_log_calls.py) and how a wording matches one (nsim.events.coverage counts them).

A wording matches a format string when its template, with each `{field}` as a wildcard, equals
the format string with each of nova's placeholders (`%(name)s`, `%s`, `%0.2f`, `{}`) taken as
one unknown value, or the other way round (nova's `held %(held_secs)s` is the catalog's
`held {held:.3f}s`). Formats with fewer than 3 letters besides placeholders match nothing.
A call's level "*" is a level given by a variable; "msg_fmt" marks an exception's message,
logged by whoever catches it.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

from nsim.nova.releases import release_index

DATA = Path(__file__).resolve().parent.parent / "data"
CALLS_PATH = DATA / "nova_log_calls.json.gz"
TRANSLATIONS_PATH = DATA / "nova_translations.json.gz"
# The first release nova publishes on PyPI; older wordings come from real logs.
FIRST_EXTRACTED = "ocata"



class Call(NamedTuple):
    """One LOG call (or exception msg_fmt, level "msg_fmt") of nova or oslo.concurrency."""

    fmt: str
    level: str
    file: str
    line: int
    function: str
    path: bool  # on the boot, delete, audit or image-cache path


@dataclass
class ReleaseExtract:
    release: str
    versions: dict[str, str]
    calls: list[Call] = field(default_factory=list)


def write_calls(path: Path, extracts: dict[str, ReleaseExtract]) -> None:
    """Write the extracts compactly: one table of strings, rows of indexes per release."""
    strings: dict[str, int] = {}

    def sid(text: str) -> int:
        return strings.setdefault(text, len(strings))

    releases = {}
    for name in sorted(extracts, key=release_index):
        ex = extracts[name]
        releases[name] = {
            "versions": ex.versions,
            "calls": [[sid(c.fmt), sid(c.level), sid(c.file), c.line, sid(c.function),
                       int(c.path)] for c in ex.calls],
        }
    doc = {"strings": list(strings), "releases": releases}
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def load_calls(path: Path = CALLS_PATH) -> dict[str, ReleaseExtract]:
    """release -> its extract."""
    doc = json.loads(gzip.decompress(path.read_bytes()))
    s = doc["strings"]
    return {
        name: ReleaseExtract(name, rel["versions"],
                             [Call(s[f], s[lv], s[fi], line, s[fn], bool(p))
                              for f, lv, fi, line, fn, p in rel["calls"]])
        for name, rel in doc["releases"].items()
    }


@lru_cache(maxsize=1)
def extracts() -> dict[str, ReleaseExtract]:
    """The shipped extracts."""
    return load_calls()


# -- matching templates to format strings ------------------------------------------------------

# One of nova's placeholders: %(name)s, %(x).02f, %s, %d, %0.3f, {} / {name} (str.format).
_NOVA_PLACEHOLDER = re.compile(
    r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]|%[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]"
    r"|\{[^{}]*\}")
_TEMPLATE_FIELD = re.compile(r"\{[^{}]*\}")
HOLE = "\x00"


def skeleton(fmt: str) -> str:
    """A nova format string with every placeholder replaced by HOLE and `%%` by `%`."""
    parts = []
    pos = 0
    for m in _NOVA_PLACEHOLDER.finditer(fmt):
        parts.append(fmt[pos:m.start()])
        parts.append(HOLE)
        pos = m.end()
    parts.append(fmt[pos:])
    return "".join(parts).replace("%%", "%")


@cache
def template_skeleton(template: str) -> str:
    """A catalog template with every `{field}` replaced by HOLE."""
    return _TEMPLATE_FIELD.sub(HOLE, template.replace("{{", "{").replace("}}", "}"))


@cache
def _holes_regex(skel: str) -> re.Pattern[str]:
    """A skeleton as a regex in which each HOLE matches any text."""
    return re.compile(".*?".join(re.escape(part) for part in skel.split(HOLE)), re.S)


@cache
def format_skeleton(fmt: str) -> str | None:
    """The skeleton of a format string, None when it has fewer than 3 letters besides its
    placeholders (`%s` alone would match any template)."""
    skel = skeleton(fmt)
    return skel if sum(ch.isalpha() for ch in skel) >= 3 else None


def matches(template: str, fmt: str) -> bool:
    """True when `template` can be nova's format string `fmt`."""
    skel = format_skeleton(fmt)
    if skel is None:
        return False
    template_skel = template_skeleton(template)
    return (_holes_regex(template_skel).fullmatch(skel) is not None
            or _holes_regex(skel).fullmatch(template_skel) is not None)


def skeleton_key(skel: str) -> str:
    """The first 3 characters of a skeleton's literal prefix ("" when shorter): two skeletons
    can only match when one literal prefix begins the other."""
    prefix = skel.split(HOLE, 1)[0]
    return prefix[:3] if len(prefix) >= 3 else ""


@cache
def _calls_by_key(release: str) -> dict[str, list[Call]]:
    out: dict[str, list[Call]] = {}
    for c in extracts()[release].calls:
        skel = format_skeleton(c.fmt)
        if skel is not None:
            out.setdefault(skeleton_key(skel), []).append(c)
    return out


def matching_calls(template: str, release: str) -> list[Call]:
    """The calls of `release`'s extract a template matches."""
    index = _calls_by_key(release)
    key = skeleton_key(template_skeleton(template))
    if key:
        candidates = index.get(key, []) + index.get("", [])
    else:
        candidates = [c for calls in index.values() for c in calls]
    return [c for c in candidates if matches(template, c.fmt)]


# -- translations ------------------------------------------------------------------------------

def write_translations(path: Path, table: dict[str, dict[str, str]]) -> None:
    """language -> {English msgid: translation}, gzipped JSON."""
    raw = json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def load_translations(path: Path = TRANSLATIONS_PATH) -> dict[str, dict[str, str]]:
    """The shipped translation table (empty when absent)."""
    if not path.exists():
        return {}
    return json.loads(gzip.decompress(path.read_bytes()))
