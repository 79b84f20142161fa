"""What kind of log a file is, from its first lines: journald text, oslo.log or journal JSON,
a file name before each line (public datasets), and the width a terminal hard-wrapped it at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from nsim.logs.schema import Format
from nsim.logs.wrap import wrap_width

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SNIFF = {
    "journal": re.compile(r"^(?:[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+) "
                          r"\S+ [^\s\[]+\[\d+\]: "),
    "oslo": re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \d+ [A-Z]+ "),
    "json": re.compile(r"^\s*\{\s*\""),
}
SNIFF_LINES = 200
# A file name before each line, as public log datasets ship them (loghub's OpenStack set):
# "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:00:04.500 2931 INFO ...", or grep -H's
# "nova-compute.log:2017-05-16 ...".
PREFIX = re.compile(r"([\w.-]*\.log(?:\.[\w.:-]*?)?)(?: |:(?=\d{4}-\d\d-\d\d ))")
# The start of a line that opens a record (what a terminal's wrap never produces).
STAMPED = {
    "journal": re.compile(_SNIFF["journal"].pattern[1:]),
    "oslo": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
}

Numbered = tuple[int, str | None]
"""A physical line and its number; None for a line already reported as bad."""


def detect_format(sample: list[str]) -> Format | None:
    """The format most of the sampled lines (colour codes already removed) have, or None if
    none matches."""
    scores = {name: sum(1 for line in sample if rx.match(line))
              for name, rx in _SNIFF.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else None  # type: ignore[return-value]


def detect_prefix(sample: list[str]) -> bool:
    """Whether the sampled lines mostly start with a file name before a journald or oslo.log
    stamp (and more of them do so than start with the stamp itself)."""
    plain = prefixed = 0
    for line in sample:
        if any(rx.match(line) for rx in _SNIFF.values()):
            plain += 1
            continue
        m = PREFIX.match(line)
        if m is not None and any(rx.match(line, m.end()) for rx in STAMPED.values()):
            prefixed += 1
    return prefixed > plain


@dataclass(slots=True)
class FileLayout:
    """What sniffing a file's head found besides its format."""

    prefixed: bool = False
    """Each line starts with a file name (the record's source)."""
    wrap: int | None = None
    """The width a terminal hard-wrapped the lines at."""


def read_head(lines: Iterator[Numbered]) -> list[Numbered]:
    """The first SNIFF_LINES lines (the rest stay in `lines`)."""
    head: list[Numbered] = []
    for item in lines:
        head.append(item)
        if len(head) >= SNIFF_LINES:
            break
    return head


def record_start(fmt: str, prefixed: bool) -> re.Pattern[str]:
    """What opens a record in a file of `fmt` (a row a terminal wrapped never does)."""
    rx = STAMPED[fmt]
    return re.compile(f"{PREFIX.pattern}(?:{rx.pattern})") if prefixed else rx


def sniff(head: list[str | None], fmt: str = "auto") -> tuple[Format | None, FileLayout]:
    """The format of a file's first lines (`fmt` unless "auto"), a file-name prefix on them,
    and the width a terminal wrapped them at. None stands for a line already reported."""
    clean = [ANSI.sub("", t) if t and "\x1b" in t else t for t in head]
    texts = [t for t in clean if t and t.strip()]
    prefixed = detect_prefix(texts)
    bare = [t[m.end():] if (m := PREFIX.match(t)) else t for t in texts] if prefixed else texts
    found = detect_format(bare) if fmt == "auto" else fmt
    layout = FileLayout(prefixed=prefixed)
    if found in STAMPED:
        layout.wrap = wrap_width(clean, record_start(found, prefixed))
    return found, layout  # type: ignore[return-value]
