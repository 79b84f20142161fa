"""oslo.log file lines (grammars/oslo.lark) into Lines."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Lark
from lark.exceptions import LarkError

from nsim import grammars
from nsim.grammars import load_parser
from nsim.logs.envelope import EntryTransformer, Line


class _OsloTransformer(EntryTransformer):
    def start(self, children: list[Any]) -> Line:
        stamp, pid, entry = children
        return Line(stamp=str(stamp), stamp_kind="OSLO_STAMP", pid=int(pid.value), entry=entry,
                    body_start=pid.end_pos + 1)


@lru_cache(maxsize=1)
def parser() -> Lark:
    return load_parser("oslo.lark", transformer=_OsloTransformer())


def parse_line(text: str) -> Line | None:
    """A stamped oslo.log line, or None for a continuation (or garbage) line."""
    if len(text) < 20 or not text[:4].isdigit():
        return None
    try:
        return grammars.parse(parser(), text)
    except LarkError:
        return None
