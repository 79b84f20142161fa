"""The regex derived from the grammars (nsim.grammars.derive) never changes an answer: every
sample and real log parses to the same records, counts and diagnostics with it as with Lark
alone (NSIM_PLAIN_LARK=1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nsim
from nsim.events import catalog
from nsim.first_chars import first_chars, first_literals
from nsim.grammars import NO_MATCH, forced_plain_lark, grammar_dir
from nsim.logs import journal, oslo
from nsim.logs.record import Record
from tests.conftest import REAL_LOGS, ROOT

LOGS = sorted(p for p in (ROOT / "sample_logs").iterdir() if p.suffix != ".md") + sorted(
    REAL_LOGS.glob("*.log"))


def _parsed(path: Path, plain: bool) -> tuple[list[dict[str, Any]], str, list[str]]:
    with forced_plain_lark(plain):
        run = nsim.parse(str(path), year=2023)
        records = [rec.to_json() for rec in run]
    return records, run.counts.summary(), [str(d) for d in run.diagnostics]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_fast_path_gives_the_records_lark_gives(path: Path) -> None:
    assert LOGS, "no logs found"
    fast = _parsed(path, plain=False)
    assert fast == _parsed(path, plain=True)
    assert fast[0]


GRAMMARS = [(journal.grammar(), "start"), (journal.grammar(), "entry"), (oslo.grammar(), "start"),
            (catalog._grammar(), "start")]


def test_derived_parsers_exist() -> None:
    """The grammars are within what derive() handles (else the fast path silently is off)."""
    for grammar, start in GRAMMARS:
        assert grammar.derived(start) is not None, (grammar, start)


_LINE_PIECES = ["Jun 16 13:12:52 ", "2017-06-16T13:12:52.1+00:00 ", "compute ", "nova-compute[5666]: ",
                "kernel: ", "2017-06-16 13:12:52.123 5666 ", "DEBUG ", "INFO ", "nova.compute ",
                "[-] ", "[req-1 u p - - -] ", "[instance: 86f71e87-4ae2-48fb-9bcd-c72e3c28e093] ",
                "Took 1.5 seconds to spawn", "{{(pid=5666) f /p.py:12}}", " ", "\t", "{", "x",
                "_spawn /opt/nova/driver.py:42", "Lock \"compute_resources\" acquired by \"a\" ::"
                " waited 0.000s", "[", "]", ":"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=10))
def test_fast_path_agrees_with_lark_on_any_line(pieces: list[str]) -> None:
    """Made-up lines, good and bad: where the derived regex answers, Lark answers the same."""
    text = "".join(pieces)
    for grammar, start in GRAMMARS:
        fast = grammar.derived(start)
        assert fast is not None
        try:
            with forced_plain_lark():
                expected: Any = grammar.parse(text, start)
        except Exception as exc:  # Lark's error, or an event value a kind refuses
            expected = type(exc)
        try:
            got: Any = fast.parse(text)
        except Exception as exc:
            got = type(exc)
        if got is not NO_MATCH:
            assert got == expected, (text, start)


# The TEXT terminals were the lazy /\S(?:.*?\S)??(?=END)/; the grammar now has a form that
# tests for END only where it can hold. Both must match the same text anywhere.
_LAZY_TEXT = {
    "journal.lark": r"\S(?:.*?\S)??(?=\s*\{\{(?:\(pid=\d+\) )?\S+ \S+:\d{1,9}\}\}\s*$|\s*$)",
    "oslo.lark": r"\S(?:.*?\S)??(?= [\w<>.]+ \/\S+\.py:\d{1,9}\s*$|\s*$)",
}


def _grammar_text(name: str) -> re.Pattern[str]:
    line = next(line for line in (grammar_dir() / name).read_text().splitlines()
                if line.startswith("TEXT:"))
    return re.compile(line.split("/", 1)[1].rsplit("/", 1)[0])


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([" ", "\t", "\n", "{", "{{", "}}", "(pid=12) ", "a", "f p:3",
                                 " f /a/b.py:12", "/x.py:1", ".py", ":", "1"]), max_size=12),
       st.integers(0, 2))
def test_text_terminal_matches_what_the_lazy_form_matched(pieces: list[str], pos: int) -> None:
    text = "".join(pieces)
    for name, lazy in _LAZY_TEXT.items():
        old, new = re.compile(lazy).match(text, pos), _grammar_text(name).match(text, pos)
        assert (old and old.group()) == (new and new.group()), (name, text, pos)


def test_records_are_what_model_construct_makes() -> None:
    """The reader's records (nsim.logs.record.unchecked_record) have every field, in order,
    and equal what pydantic's model_construct makes of the same values."""
    for rec in nsim.parse(str(ROOT / "sample_logs" / "seed-boot.journal"), year=2017):
        assert list(rec.__dict__) == list(Record.model_fields)
        twin = Record.model_construct(**rec.__dict__)
        assert rec == twin
        assert rec.model_fields_set == twin.model_fields_set


@pytest.mark.parametrize(("regexp", "may", "may_not"), [
    ("Lock", "L", "lK "), ("(?:Jan|Feb) ", "JF", "M "), ("[0-9a-c]x", "09ac", "dx"),
    (r"(?=a)[ab]", "ab", "c"), (r"(?>\{\{)+", "{", "}"), (r"\S+", "x{", " \t"),
    (r"\d{4}-", "07", "a-"), ("[^a-c]", "dz ", "abc"), (r"[\]\-^]", "]-^", "a")])
def test_first_chars(regexp: str, may: str, may_not: str) -> None:
    """What the derived regex is dispatched on: a pattern of the characters a match can
    begin with (categories and negated sets included)."""
    first = first_chars(regexp, 0)
    assert first is not None
    assert all(first.fullmatch(c) for c in may), may
    assert not any(first.fullmatch(c) for c in may_not), may_not


@pytest.mark.parametrize("regexp", ["x?y", "(?i:a)", r"\b"])
def test_first_chars_unknown(regexp: str) -> None:
    """None where the first character is not simply known (then the alternative is kept
    for every text)."""
    assert first_chars(regexp, 0) is None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from([r"[^\s\[]+:", r"\S(?:x|y)", r"(?:DEBUG|INFO)(?= )", r"[\d_]+", r"\W\w",
                        r"(?:\ |\t)+", r"\[instance: [0-9a-f]{2}\]"]),
       st.text(alphabet="aDI [:x_\t5-é]{", max_size=6))
def test_first_chars_never_rule_out_a_match(regexp: str, text: str) -> None:
    """Where a regexp matches, its first-character pattern matches the text's first one."""
    first = first_chars(regexp, 0)
    if re.match(regexp, text) and text:
        assert first is None or first.match(text[0]), (regexp, text)


@pytest.mark.parametrize(("regexp", "chars"), [
    (r"(?:(?:\ |\t))+", {" ", "\t"}), (r"(?:DEBUG|INFO)(?= )", {"D", "I"}), (r"\[x", {"["}),
    (r"\S+", None), (r"[a-c]x", None), (r"a?b", None), (r"(?i:a)", None)])
def test_first_literals(regexp: str, chars: set[str] | None) -> None:
    """The characters a match begins with where they are few literals (a blank's: the guard
    of a blank drops the terminals that cannot begin with one); None otherwise."""
    assert first_literals(regexp, 0) == (None if chars is None else frozenset(chars))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from([r"(?:\ |\t)+", r"(?:DEBUG|INFO)(?= )", r"\[x", r"(?:ab|c)d", r"x|y+"]),
       st.text(alphabet="aDI [:x\tcdy", max_size=6))
def test_first_literals_hold_every_match(regexp: str, text: str) -> None:
    """Where a regexp matches, the text begins with one of its first literals."""
    chars = first_literals(regexp, 0)
    if re.match(regexp, text) and text:
        assert chars is not None and text[0] in chars, (regexp, text)
