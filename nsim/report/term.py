"""Output on a terminal: colour through rich, and the terminal's width; plain text elsewhere.

Colour is used when the stream is a terminal and NO_COLOR (https://no-color.org) is unset or
empty; rich is imported only then. The width is the terminal's (COLUMNS overrides it), or
None when the stream is not a terminal: nothing is cut for a pipe or a file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.color import ColorSystem
    from rich.style import Style

# Styles of the report elements (rich style definitions).
STYLES: dict[str, str] = {
    "ok": "bold green", "bad": "bold red", "heading": "bold", "violation": "red",
    "rule": "dim", "assumption": "dim", "header": "bold underline",
    "DEBUG": "dim", "WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red",
    "TRACE": "bold red", "AUDIT": "cyan", "faster": "green", "slower": "red",
}


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def wants_colour(stream: IO[str]) -> bool:
    """Colour for `stream`: a terminal, and NO_COLOR unset or empty."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def width(stream: IO[str]) -> int | None:
    """The terminal's width in columns (COLUMNS overrides), None for a pipe or a file."""
    return shutil.get_terminal_size().columns if is_terminal(stream) else None


Paint = Callable[[str, str | None], str]
"""Paints text in a named style: a Painter, or `plain`."""


def plain(text: str, style: str | None) -> str:
    """Text left as it is (what is written to a pipe, a file, JSON's neighbours)."""
    return text


class Painter:
    """Paints text in the named STYLES when the stream wants colour; returns it as is else."""

    def __init__(self, stream: IO[str]) -> None:
        self.colour = wants_colour(stream)
        self._system: ColorSystem | None = None
        self._styles: dict[str, Style] = {}
        if self.colour:
            from rich.console import COLOR_SYSTEMS, Console
            from rich.style import Style

            system = Console(file=stream, force_terminal=True).color_system
            self.colour = system is not None  # a terminal that has no colours (TERM=dumb)
            self._system = COLOR_SYSTEMS.get(system or "")
            self._styles = {name: Style.parse(spec) for name, spec in STYLES.items()}

    def __call__(self, text: str, style: str | None) -> str:
        if not self.colour or style not in self._styles:
            return text
        return self._styles[style].render(text, color_system=self._system)
