"""The UI's words per language (`--lang`): English is the key; locale/<lang>.toml holds the
translation of each English text (the Chinese uses the lesson glossary's terms)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path

LOCALE = Path(__file__).resolve().parent / "locale"


@cache
def table(lang: str) -> dict[str, str]:
    """English text -> its translation in `lang` (empty for English)."""
    if lang == "en":
        return {}
    return tomllib.loads((LOCALE / f"{lang}.toml").read_text(encoding="utf-8"))


def translator(lang: str) -> Callable[[str], str]:
    """The function that puts an English UI text into `lang` (unknown texts stay English)."""
    words = table(lang)
    return lambda text: words.get(text, text)
