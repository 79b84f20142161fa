"""The characters a match of a regular expression can begin with, as a pattern of one
character: what nsim.grammars dispatches a text to the alternatives that can begin it by."""

from __future__ import annotations

import re
import re._parser as sre_parse
from typing import Any


def first_chars(regexp: str, flags: int) -> re.Pattern[str] | None:
    """A pattern of one character that matches every character a match of `regexp` can
    begin with (and maybe more), or None when that is not simply known (a possibly empty
    match, case folding, local flags)."""
    if flags & re.IGNORECASE:
        return None
    try:
        parsed = sre_parse.parse(regexp, flags)
    except re.error:
        return None
    classes = _first_of(list(parsed))
    return re.compile("|".join(classes), flags) if classes is not None else None


def first_literals(regexp: str, flags: int) -> frozenset[str] | None:
    """The characters a match of `regexp` can begin with when they are all written out as
    literals (WS_INLINE's blank and tab), else None."""
    if flags & re.IGNORECASE:
        return None
    try:
        classes = _first_of(list(sre_parse.parse(regexp, flags)))
    except re.error:
        return None
    if classes is None:
        return None
    chars: set[str] = set()
    for cls in classes:
        for op, av in sre_parse.parse(cls, flags):
            items = av if op is sre_parse.IN else [(op, av)]
            if any(kind is not sre_parse.LITERAL for kind, _ in items):
                return None  # a range, a category, a negated set: not written out
            chars.update(chr(value) for _, value in items)
    return frozenset(chars)


_CATEGORIES = {sre_parse.CATEGORY_DIGIT: r"\d", sre_parse.CATEGORY_NOT_DIGIT: r"\D",
               sre_parse.CATEGORY_SPACE: r"\s", sre_parse.CATEGORY_NOT_SPACE: r"\S",
               sre_parse.CATEGORY_WORD: r"\w", sre_parse.CATEGORY_NOT_WORD: r"\W"}


def _first_of(items: list[Any]) -> list[str] | None:
    """Character classes (regex source) the first character of `items` is in, or None."""
    c = sre_parse
    for op, av in items:
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue  # zero-width: the next item begins the match
        if op is c.LITERAL:
            return [re.escape(chr(av))]
        if op is c.SUBPATTERN:
            return None if av[1] or av[2] else _first_of(list(av[3]))  # local flags: None
        if op is c.ATOMIC_GROUP:
            return _first_of(list(av))
        if op is c.BRANCH:
            firsts = [_first_of(list(branch)) for branch in av[1]]
            if any(f is None for f in firsts):
                return None
            return [cls for first in firsts for cls in first]  # type: ignore[union-attr]
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, _, sub = av
            return _first_of(list(sub)) if low >= 1 else None
        if op is c.IN:
            return _char_class(av)
        return None
    return None


def _char_class(items: list[tuple[Any, Any]]) -> list[str] | None:
    """The source of a parsed character set [...], or None for what it does not rebuild."""
    parts = []
    for kind, value in items:
        if kind is sre_parse.NEGATE:
            parts.append("^")
        elif kind is sre_parse.LITERAL:
            parts.append(re.escape(chr(value)))
        elif kind is sre_parse.RANGE:
            parts.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        elif kind is sre_parse.CATEGORY and value in _CATEGORIES:
            parts.append(_CATEGORIES[value])
        else:
            return None
    return [f"[{''.join(parts)}]"]
