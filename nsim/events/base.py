"""The base of every event kind: typed fields, nova's wording by release, rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from nsim.nova.releases import in_range


@dataclass(frozen=True)
class Wording:
    """One wording of a message, valid from `since` to `until` (inclusive, None = open)."""

    template: str
    level: str = "DEBUG"
    since: str | None = None
    until: str | None = None


class Event(BaseModel):
    """A nova-compute message recognised by the message grammar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    logger: ClassVar[str]
    wordings: ClassVar[tuple[Wording, ...]]

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Event:
        """Build the event from the grammar rule's tokens (rule name == kind); kinds with
        fields override this."""
        return cls()

    @classmethod
    def wording_for(cls, release: str) -> Wording | None:
        """The wording nova `release` logs this event with, or None if it did not log it."""
        for w in cls.wordings:
            if in_range(release, w.since, w.until):
                return w
        return None

    def level(self, release: str) -> str:
        """The level nova logs this event at in `release`."""
        wording = self.wording_for(release)
        if wording is None:
            raise ValueError(f"nova {release} does not log {self.kind}")
        return wording.level

    @classmethod
    def logger_for(cls, release: str) -> str:
        """The logger name in `release` (most kinds never moved)."""
        return cls.logger

    def template_values(self) -> dict[str, Any]:
        """Values the wording templates are formatted with."""
        return dict(self)

    def render(self, release: str) -> str:
        """The message text as nova `release` writes it."""
        wording = self.wording_for(release)
        if wording is None:
            raise ValueError(f"nova {release} does not log {self.kind}")
        return wording.template.format(**self.template_values())


class Tokens(list[str]):
    """The terminals of a message grammar rule as `from_tokens` reads them: their texts in
    order, and their names in `.types` (one list each: no object per token)."""

    __slots__ = ("types",)

    def __init__(self, pieces: list[tuple[str, str, int, int]]) -> None:
        super().__init__([piece[1] for piece in pieces])
        self.types = [piece[0] for piece in pieces]


def text(token: Any) -> str:
    return str(token)


def unquote(token: Any) -> str:
    return str(token)[1:-1]


def seconds(token: Any) -> float:
    return float(str(token).rstrip("s"))


def number(token: Any) -> float:
    return float(str(token))


def plain(value: float) -> str:
    """A number as Python's %s prints nova's values: 1048576, 46.5 (never an exponent)."""
    if value == int(value):
        return str(int(value))
    return repr(value)


class PlainNumbers(Event):
    """Kinds whose numbers nova formats with %s: rendered without exponent or trailing .0."""

    def template_values(self) -> dict[str, Any]:
        return {k: plain(v) if isinstance(v, float) else v for k, v in dict(self).items()}


def by_type(tokens: Tokens) -> dict[str, list[str]]:
    """Group a rule's tokens by terminal name, in order."""
    out: dict[str, list[str]] = {}
    for kind, tok in zip(tokens.types, tokens, strict=True):
        out.setdefault(kind, []).append(tok)
    return out
