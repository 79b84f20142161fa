"""Translated nova messages back to English (nsim/data/nova_translations.json.gz, built from
nova's nova/locale/*/LC_MESSAGES/*.po by tools/nova_log_calls.py).

A translated message is the same event: "VM 已开始 (Lifecycle Event)" is "VM Started (Lifecycle
Event)" (nova/virt/event.py translates the transition's name). Each translation becomes a regex
whose placeholders capture the values; the values are translated back too when they are
translated names, and the English format string is filled with them.
"""

from __future__ import annotations

import re
from functools import cache

from nsim.events.source import load_translations

_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]"
                          r"|%[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]")


class _Pattern:
    """One translated format string and the English one it stands for."""

    def __init__(self, translated: str, english: str) -> None:
        parts, names = [], []
        pos = 0
        for i, m in enumerate(_PLACEHOLDER.finditer(translated)):
            parts.append(re.escape(translated[pos:m.start()].replace("%%", "%")))
            parts.append(f"(?P<g{i}>.+?)")
            names.append(m.group(1) or i)
            pos = m.end()
        parts.append(re.escape(translated[pos:].replace("%%", "%")))
        self.regex = re.compile("".join(parts), re.S)
        self.names = names
        self.english = english

    def apply(self, message: str, values: dict[str, str]) -> str | None:
        m = self.regex.fullmatch(message)
        if m is None:
            return None
        captured: dict[str | int, str] = {}
        for i, name in enumerate(self.names):
            text = m.group(f"g{i}")
            captured[name] = values.get(text, text)
        out, pos = [], 0
        for index, em in enumerate(_PLACEHOLDER.finditer(self.english)):
            out.append(self.english[pos:em.start()].replace("%%", "%"))
            key: str | int = em.group(1) or index
            if key not in captured:
                return None
            out.append(captured[key])
            pos = em.end()
        out.append(self.english[pos:].replace("%%", "%"))
        return "".join(out)


@cache
def _tables() -> tuple[dict[str, list[_Pattern]], list[_Pattern], dict[str, str]]:
    """Patterns by the first character of their translation, patterns that begin with a
    placeholder, and translated names (no placeholder) -> English."""
    by_first: dict[str, list[_Pattern]] = {}
    leading: list[_Pattern] = []
    values: dict[str, str] = {}
    pairs: dict[str, str] = {}
    for table in load_translations().values():
        for english, translated in table.items():
            pairs[translated] = english
            if _PLACEHOLDER.search(english):
                pairs.setdefault(english, english)  # English wording, translated values
            else:
                values[translated] = english
    for translated, english in pairs.items():
        pattern = _Pattern(translated, english)
        first = _PLACEHOLDER.match(translated)
        if first is not None:
            leading.append(pattern)
        else:
            by_first.setdefault(translated[0], []).append(pattern)
    return by_first, leading, values


def to_english(message: str) -> str | None:
    """The English message a translated one stands for, or None."""
    if not message:
        return None
    by_first, leading, values = _tables()
    for pattern in (*by_first.get(message[0], ()), *leading):
        english = pattern.apply(message, values)
        if english is not None and english != message:
            return english
    return None
