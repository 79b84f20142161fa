"""Turning one parsed line (journal.lark / oslo.lark) into envelope parts.

Both grammars end in the same `entry` rule (common.lark pieces): LEVEL LOGGER
[context] [instance: U] text suffix. `build_entry` makes it from the parse's pieces
(nsim.grammars: the terminals in text order, from Lark or from the derived regex).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from nsim.grammars import Piece

_SUFFIX_PARTS = re.compile(r"^\{\{(?:\(pid=\d+\) )?(\S+) (\S+):(\d+)\}\}$|^(\S+) (\S+):(\d+)$")


@dataclass(slots=True)
class Entry:
    """What follows the stamp/host/pid of a line."""

    level: str | None = None
    logger: str | None = None
    context: str | None = None
    instance: str | None = None
    text: str = ""
    prefix_end: int | None = None
    """End of the last token before the text (to keep a traceback line's indentation)."""
    suffix: tuple[str, str, int] | None = None
    stamp: str | None = None
    """oslo.log's stamp when a journal message is a whole oslo.log line."""
    pid: int | None = None
    """oslo.log's pid beside that stamp."""


@dataclass(slots=True)
class Line:
    """A physical line split by a format grammar."""

    stamp: str
    stamp_kind: str
    pid: int | None
    entry: Entry
    host: str | None = None
    ident: str | None = None
    body_start: int = 0


@lru_cache(maxsize=4096)  # a LOG call's suffix repeats on every line it logs
def split_suffix(token: str) -> tuple[str, str, int]:
    m = _SUFFIX_PARTS.match(token)
    if m is None:
        raise ValueError(token)
    g = m.groups()
    func, path, lineno = (g[0], g[1], g[2]) if g[0] else (g[3], g[4], g[5])
    return func, path, int(lineno)


def build_entry(pieces: list[Piece]) -> Entry:
    """The entry of an `entry` rule's pieces (OSLO_HEAD LEVEL LOGGER CONTEXT INSTANCE TEXT
    SUFFIX, each optional, in this order)."""
    entry = Entry()
    for kind, value, _, end in pieces:
        if kind == "TEXT":
            entry.text = value
        elif kind == "SUFFIX":
            entry.suffix = split_suffix(value)
        else:
            entry.prefix_end = end
            if kind == "LEVEL":
                entry.level = value
            elif kind == "LOGGER":
                entry.logger = value
            elif kind == "CONTEXT":
                entry.context = value[1:-1]
            elif kind == "INSTANCE":
                entry.instance = value[11:-1]
            elif kind == "OSLO_HEAD":
                stamp, _, pid = value.rpartition(" ")
                entry.stamp, entry.pid = stamp, int(pid)
    return entry
