"""The message catalog: every event kind, and the message grammar that recognises them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Token, Transformer
from lark.exceptions import LarkError

from nsim.events import audit, build, claim, failure, guest, image, imagecache, lock, teardown
from nsim.events.base import Event
from nsim.grammars import load_parser

_MODULES = (lock, build, claim, image, guest, teardown, imagecache, audit, failure)

KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for module in _MODULES
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Event) and "kind" in cls.__dict__
}


class _ToEvent(Transformer):
    """Applied while parsing: each kind's rule becomes its Event."""

    def start(self, children: list[Any]) -> Event:
        return children[0]

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Event:
        # lark-cython tokens are not str; hand the kinds plain lark Tokens.
        return KINDS[data].from_tokens([Token(t.type, t.value) for t in children])


@lru_cache(maxsize=1)
def _parser() -> Any:
    return load_parser("message.lark", transformer=_ToEvent())


def classify(message: str) -> Event | None:
    """The event a message text is, or None when it is outside the catalog."""
    if not message:
        return None
    try:
        return _parser().parse(message)
    except (LarkError, ValueError):
        # ValueError covers pydantic's ValidationError: a message of the right shape
        # whose values do not fit the kind is still an unknown message, not a crash.
        return None
