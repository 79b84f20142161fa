"""journald text lines (grammars/journal.lark) into Lines."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Lark
from lark.exceptions import LarkError

from nsim import grammars
from nsim.grammars import load_parser
from nsim.logs.envelope import Entry, EntryTransformer, Line


class _JournalTransformer(EntryTransformer):
    def start(self, children: list[Any]) -> Line:
        stamp, origin, entry = children
        if origin.type == "ORIGIN_NOPID":
            host, ident = origin.value[:-1].split()
            return Line(stamp=str(stamp), stamp_kind=stamp.type, pid=None, entry=entry,
                        host=host, ident=ident, body_start=origin.end_pos)
        host, ident, pid, pid_end = split_origin(origin.value)
        return Line(stamp=str(stamp), stamp_kind=stamp.type, pid=pid, entry=entry,
                    host=host, ident=ident, body_start=origin.start_pos + pid_end + 2)

    def stamp(self, children: list[Any]) -> Any:
        return children[0]


def split_origin(origin: str) -> tuple[str, str, int, int]:
    """HOST, IDENT, PID and the end of PID in an ORIGIN token ("compute nova-compute[5666]:").

    The grammar has matched it already: HOST and IDENT hold no whitespace and no "[",
    only blanks separate them, and blanks may surround PID inside the brackets.
    """
    who, _, rest = origin.partition("[")
    host, ident = who.split()
    pid = rest[:rest.index("]")].strip(" \t")
    return host, ident, int(pid), len(who) + 1 + rest.index(pid) + len(pid)


@lru_cache(maxsize=1)
def parser() -> Lark:
    return load_parser("journal.lark", transformer=_JournalTransformer(), start=("start", "entry"))


def parse_line(text: str) -> Line | None:
    """A journal line, or None when it does not have journald's shape."""
    try:
        return grammars.parse(parser(), text, "start")
    except LarkError:
        return None


def parse_message(text: str) -> Entry | None:
    """The MESSAGE of a journal entry (as in `journalctl -o json`)."""
    try:
        return grammars.parse(parser(), text, "entry")
    except LarkError:
        return None
