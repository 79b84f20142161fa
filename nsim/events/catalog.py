"""The message catalog: every event kind, and the message grammar that recognises them."""

from __future__ import annotations

import re
from functools import lru_cache

from lark import Lark
from lark.exceptions import LarkError

from nsim.events import (
    audit,
    build,
    claim,
    failure,
    guest,
    image,
    imagecache,
    lock,
    move,
    power,
    teardown,
)
from nsim.events.base import Event, Tokens
from nsim.events.translate import to_english
from nsim.grammars import Builder, Grammar, first_terminals, ignored_terminals, plain_lark

_MODULES = (lock, build, claim, image, guest, teardown, imagecache, audit, failure, power, move)

KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for module in _MODULES
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Event) and "kind" in cls.__dict__
}


def _builder(start: str, names: tuple[str, ...]) -> Builder:
    """Each kind's rule (the one `start` reduces) builds its Event from its tokens."""
    build = KINDS[names[-2]].from_tokens
    return lambda pieces: build(Tokens(pieces))


@lru_cache(maxsize=1)
def _grammar() -> Grammar:
    return Grammar("message.lark", _builder)


def first_tokens(parser: Lark, start: str = "start") -> re.Pattern[str] | None:
    """A regex for what a text must begin with for `parser` to accept it.

    It is made of the terminals Lark's LALR table accepts in the start state, plus
    the ignored ones (whitespace). When none of them matches at the beginning, the
    contextual lexer cannot produce a first token, so Lark would fail too. None when
    the table is not reachable (another Lark version): then nothing is ruled out early.
    """
    first = first_terminals(parser, start)
    if first is None:
        return None
    patterns = [f"(?:{t.pattern.to_regexp()})" for t in first + ignored_terminals(parser)]
    return re.compile("|".join(patterns), parser.parser.lexer_conf.g_regex_flags)


@lru_cache(maxsize=1)
def _first_tokens() -> re.Pattern[str] | None:
    return first_tokens(_grammar().parser)


def _parse(message: str) -> Event | None:
    try:
        return _grammar().parse(message)
    except (LarkError, ValueError):
        # ValueError covers pydantic's ValidationError: a message of the right shape
        # whose values do not fit the kind is still an unknown message, not a crash.
        return None


def _classify(message: str, plain: bool = False) -> Event | None:
    """The event of `message`; `plain` (whether Lark parses alone) only keys the cache, so
    that a comparison of both paths does not read one path's answers for the other's."""
    first = _first_tokens()
    starts = first is None or first.match(message) is not None
    if starts:
        event = _parse(message)
        if event is not None or message.isascii():
            return event
    # A translated message (nova's .po files) is the event its English original is; tried
    # only for text no English rule can begin, or non-ASCII text the grammar refused.
    english = to_english(message)
    return _parse(english) if english is not None else None


# Many messages repeat verbatim (fixed wordings, periodic tasks, the same command on
# the same base file); events are frozen, so records with equal messages share one.
# Long messages (guest XML, network_info JSON) hardly ever repeat and stay out.
_cached_classify = lru_cache(maxsize=4096)(_classify)
_CACHED_LENGTH = 1024


def classify(message: str) -> Event | None:
    """The event a message text is, or None when it is outside the catalog."""
    if not message:
        return None
    if len(message) > _CACHED_LENGTH:
        return _classify(message)
    return _cached_classify(message, plain_lark())
