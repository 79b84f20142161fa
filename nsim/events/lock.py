"""oslo.concurrency lock messages (oslo_concurrency/lockutils.py).

`synchronized` logs acquiring (oslo.concurrency >= 5.0, Zed), acquired with the
wait and released with the hold time; "released" is quoted since 4.5.0 (Xena), which also
logs "unacquired" when the lock was not taken.
The `lock()` context manager logs the bare forms without owner or timings.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from nsim.events.base import Event, Wording, seconds, unquote

LOCKUTILS = "oslo_concurrency.lockutils"


class LockAcquiring(Event):
    kind: ClassVar[str] = "lock_acquiring"
    logger: ClassVar[str] = LOCKUTILS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording('Acquiring lock "{name}" by "{owner}"', since="zed"),
    )
    name: str
    owner: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Event:
        if len(tokens) == 1:  # lockutils.lock(): no owner
            return LockPlain(verb="Acquiring lock", name=unquote(tokens[0]))
        return cls(name=unquote(tokens[0]), owner=unquote(tokens[1]))


class LockAcquired(Event):
    kind: ClassVar[str] = "lock_acquired"
    logger: ClassVar[str] = LOCKUTILS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording('Lock "{name}" acquired by "{owner}" :: waited {waited:.3f}s'),
    )
    name: str
    owner: str
    waited: float

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> LockAcquired:
        return cls(name=unquote(tokens[0]), owner=unquote(tokens[1]), waited=seconds(tokens[2]))


class LockReleased(Event):
    kind: ClassVar[str] = "lock_released"
    logger: ClassVar[str] = LOCKUTILS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording('Lock "{name}" released by "{owner}" :: held {held:.3f}s', until="wallaby"),
        Wording('Lock "{name}" "{action}" by "{owner}" :: held {held:.3f}s', since="xena"),
    )
    name: str
    owner: str
    held: float
    action: Literal["released", "unacquired"] = "released"

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> LockReleased:
        action = str(tokens[1]).strip('"')
        return cls(name=unquote(tokens[0]), action=action, owner=unquote(tokens[2]),
                   held=seconds(tokens[3]))


class LockPlain(Event):
    """`lockutils.lock()` without owner: acquiring, acquired, releasing, external semaphore."""

    kind: ClassVar[str] = "lock_plain"
    logger: ClassVar[str] = LOCKUTILS
    wordings: ClassVar[tuple[Wording, ...]] = (Wording('{verb} "{name}"'),)
    verb: Literal["Acquiring lock", "Acquired lock", "Releasing lock",
                  "Acquired external semaphore", "Acquired semaphore", "Releasing semaphore"]
    name: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> LockPlain:
        return cls(verb=str(tokens[0]), name=unquote(tokens[1]))
