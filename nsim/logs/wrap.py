"""Lines a terminal hard-wrapped (a log pasted into a bug report): finding the width, joining."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

# Narrower pastes are ordinary short lines more often than wraps.
MIN_WIDTH = 80


def columns(text: str) -> int:
    """Terminal columns `text` takes (East Asian wide and full-width characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def wraps_at(previous: str, following: str, width: int) -> bool:
    """Whether `following` is the part of `previous`'s line a terminal of `width` columns
    pushed to the next row: `previous` fills the row (or leaves one column a wide character
    could not take)."""
    used = columns(previous)
    return used == width or (used == width - 1 and following != "" and _wide(following[0]))


def wrap_width(sample: Iterable[str | None], stamped: re.Pattern[str]) -> int | None:
    """The width a terminal hard-wrapped these lines at, or None when they show no wrap.

    A wrap shows as lines exactly as wide as the widest line (at least MIN_WIDTH columns),
    each followed by a line that does not open a record (`stamped` does not match it). It
    takes two such places with different continuations, neither indented nor a tag: a
    multi-line message (guest XML, an indented dump) may follow same-width first lines."""
    texts = list(sample)
    widths = [columns(t) if t is not None else 0 for t in texts]
    width = max(widths, default=0)
    if width < MIN_WIDTH:
        return None
    continuations = {nxt for used, nxt in zip(widths, texts[1:], strict=False)
                     if used == width and nxt and not nxt[0].isspace() and nxt[0] != "<"
                     and not stamped.match(nxt)}
    return width if len(continuations) >= 2 else None


def unwrapped(lines: Iterable[tuple[int, str | None]], width: int, stamped: re.Pattern[str]
              ) -> Iterator[tuple[int, str | None, int]]:
    """(number of the first physical line, joined text, physical lines joined) for each line
    of `lines` once the rows a terminal of `width` columns wrapped are glued back together
    (without a space: the wrap may cut a word or an id)."""
    held: tuple[int, str | None, int] | None = None
    last = ""  # the last physical row of `held`
    for lineno, text in lines:
        if (held is not None and held[1] is not None and text and not stamped.match(text)
                and wraps_at(last, text, width)):
            held = (held[0], held[1] + text, held[2] + 1)
            last = text
            continue
        if held is not None:
            yield held
        held = (lineno, text, 1)
        last = text or ""
    if held is not None:
        yield held
