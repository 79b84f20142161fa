"""oslo.log file lines (grammars/oslo.lark) into Lines."""

from __future__ import annotations

from functools import lru_cache

from lark.exceptions import LarkError

from nsim.grammars import Builder, Grammar, Piece
from nsim.logs.envelope import Line, build_entry


def _line(pieces: list[Piece]) -> Line:
    """A `start` parse: STAMP PID, then the entry's pieces."""
    (_, stamp, _, _), (_, pid, _, pid_end) = pieces[:2]
    return Line(stamp=stamp, stamp_kind="OSLO_STAMP", pid=int(pid), entry=build_entry(pieces[2:]),
                body_start=pid_end + 1)


def _builder(start: str, names: tuple[str, ...]) -> Builder:
    return _line


@lru_cache(maxsize=1)
def grammar() -> Grammar:
    return Grammar("oslo.lark", _builder)


def parse_line(text: str) -> Line | None:
    """A stamped oslo.log line, or None for a continuation (or garbage) line."""
    if len(text) < 20 or not text[:4].isdigit():
        return None
    try:
        return grammar().parse(text)
    except LarkError:
        return None
