"""Turning one parsed line (journal.lark / oslo.lark) into envelope parts.

Both grammars end in the same `entry` rule (common.lark pieces): LEVEL LOGGER
[context] [instance: U] text suffix. The transformer here runs inside the LALR
parse, so no tree is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lark import Token, Transformer

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
    extra: dict[str, Any] = field(default_factory=dict)


def split_suffix(token: str) -> tuple[str, str, int]:
    m = _SUFFIX_PARTS.match(token)
    if m is None:
        raise ValueError(token)
    g = m.groups()
    func, path, lineno = (g[0], g[1], g[2]) if g[0] else (g[3], g[4], g[5])
    return func, path, int(lineno)


class EntryTransformer(Transformer):
    """Shared callbacks of the `entry` rule (header and continuation forms)."""

    def _entry(self, children: list[Any]) -> Entry:
        entry = Entry()
        for tok in children:
            kind = tok.type
            if kind == "TEXT":
                entry.text = str(tok)
                continue
            if kind == "SUFFIX":
                entry.suffix = split_suffix(str(tok))
                continue
            entry.prefix_end = tok.end_pos
            if kind == "OSLO_HEAD":
                stamp, _, pid = str(tok).rpartition(" ")
                entry.stamp, entry.pid = stamp, int(pid)
            elif kind == "LEVEL":
                entry.level = str(tok)
            elif kind == "LOGGER":
                entry.logger = str(tok)
            elif kind == "CONTEXT":
                entry.context = str(tok)[1:-1]
            elif kind == "INSTANCE":
                entry.instance = str(tok)[11:-1]
        return entry

    def header(self, children: list[Any]) -> Entry:
        return self._entry(children)

    def continuation(self, children: list[Any]) -> Entry:
        return self._entry(children)

    def entry(self, children: list[Any]) -> Entry:
        return self._entry(children)

    def text(self, children: list[Any]) -> Token:
        return children[0]
