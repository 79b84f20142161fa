"""journald text lines (grammars/journal.lark) into Lines."""

from __future__ import annotations

import re
from functools import lru_cache

from lark.exceptions import LarkError

from nsim.grammars import Builder, Grammar, Piece
from nsim.logs.envelope import Entry, Line, build_entry


def _line(pieces: list[Piece]) -> Line:
    """A `start` parse: stamp, origin, then the entry's pieces."""
    (stamp_kind, stamp, _, _), (origin_kind, origin, origin_start, origin_end), *rest = pieces
    entry = build_entry(rest)
    if origin_kind == "ORIGIN_NOPID":
        host, ident = origin[:-1].split()
        return Line(stamp, stamp_kind, None, entry, host, ident, origin_end)
    host, ident, pid, pid_end = split_origin(origin)
    return Line(stamp, stamp_kind, pid, entry, host, ident, origin_start + pid_end + 2)


def _builder(start: str, names: tuple[str, ...]) -> Builder:
    return _line if start == "start" else build_entry


@lru_cache(maxsize=1024)  # a host's lines repeat a few origins
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
def grammar() -> Grammar:
    return Grammar("journal.lark", _builder, start=("start", "entry"))


@lru_cache(maxsize=1)
def suffix_at_end() -> re.Pattern[str]:
    """The DEBUG suffix (`{{(pid=N) func path:line}}`, the grammar's SUFFIX terminal) ending a
    text, in group 1: where a multi-line journal entry's last line carries it."""
    suffix = grammar().parser.get_terminal("SUFFIX").pattern.to_regexp()
    return re.compile(rf"\s*({suffix})\s*$")


def parse_line(text: str) -> Line | None:
    """A journal line, or None when it does not have journald's shape."""
    try:
        return grammar().parse(text, "start")
    except LarkError:
        return None


def parse_message(text: str) -> Entry | None:
    """The MESSAGE of a journal entry (as in `journalctl -o json`)."""
    try:
        return grammar().parse(text, "entry")
    except LarkError:
        return None
