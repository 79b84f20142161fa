"""journald text lines (grammars/journal.lark) into Lines."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Lark
from lark.exceptions import LarkError

from nsim.grammars import load_parser
from nsim.logs.envelope import Entry, EntryTransformer, Line


class _JournalTransformer(EntryTransformer):
    def start(self, children: list[Any]) -> Line:
        stamp, host, ident, pid, entry = children
        return Line(stamp=str(stamp), stamp_kind=stamp.type, pid=int(pid.value), entry=entry,
                    host=str(host), ident=str(ident), body_start=pid.end_pos + 2)

    def stamp(self, children: list[Any]) -> Any:
        return children[0]


@lru_cache(maxsize=1)
def parser() -> Lark:
    return load_parser("journal.lark", transformer=_JournalTransformer(), start=("start", "entry"))


def parse_line(text: str) -> Line | None:
    """A journal line, or None when it does not have journald's shape."""
    try:
        return parser().parse(text, start="start")
    except LarkError:
        return None


def parse_message(text: str) -> Entry | None:
    """The MESSAGE of a journal entry (as in `journalctl -o json`)."""
    try:
        return parser().parse(text, start="entry")
    except LarkError:
        return None
