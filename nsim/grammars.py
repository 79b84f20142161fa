"""Loading the Lark grammars in grammars/ (LALR, contextual lexer, lark-cython when present),
and the regular expression derived from a grammar that stands in for Lark where it matches."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.grammar import Rule
from lark.lexer import PatternStr, TerminalDef, _create_unless
from lark.parsers.lalr_analysis import Shift

# grammars/ sits beside nsim/ in the source tree and is installed inside the package.
_CANDIDATES = (Path(__file__).resolve().parent / "grammars",
               Path(__file__).resolve().parent.parent / "grammars")


def grammar_dir() -> Path:
    for path in _CANDIDATES:
        if (path / "message.lark").is_file():
            return path
    raise FileNotFoundError("nsim's grammars/ directory is missing from the installation")


def _plugins() -> dict[str, Any]:
    try:
        import lark_cython
    except ImportError:
        return {}
    return {"_plugins": lark_cython.plugins}


def load_parser(name: str, transformer: Transformer | None = None,
                start: tuple[str, ...] = ("start",)) -> Lark:
    """An LALR parser for grammars/`name`, applying `transformer` while parsing."""
    return Lark.open(str(grammar_dir() / name), parser="lalr", lexer="contextual",
                     transformer=transformer, start=list(start), **_plugins())


def first_terminals(parser: Lark, start: str = "start") -> list[TerminalDef] | None:
    """The terminals a `start` text can begin with: those Lark's LALR table accepts in
    the start state (ignored terminals such as whitespace not included).

    None when the table is out of reach (another Lark version); callers then skip
    their shortcut and leave the whole decision to the parser.
    """
    try:
        table = parser.parser.parser._parse_table
        accepts = table.states[table.start_states[start]]
    except (AttributeError, KeyError):
        return None
    return [t for t in parser.terminals if t.name in accepts]


def ignored_terminals(parser: Lark) -> list[TerminalDef]:
    """The terminals `parser` skips between tokens (%ignore)."""
    return [t for t in parser.terminals if t.name in parser.ignore_tokens]



# ---------------------------------------------------------------------------- fast path
# Lark's LALR parser with its contextual lexer costs tens of microseconds per line. For a
# grammar without recursion the same decisions fit one Python regular expression, derived
# here from the grammar itself: Lark's parse table gives every sequence of terminals the
# grammar accepts and the parser state before each terminal; that state's lexer (Lark's own
# order of its terminals) decides which terminal a text position yields; the terminals' own
# patterns do the matching. Where the expression does not match, Lark parses as before.

NO_MATCH: Any = object()
"""What DerivedParser.parse returns for a text it leaves to Lark."""

_PLAIN = [os.environ.get("NSIM_PLAIN_LARK", "") not in ("", "0")]
_MAX_TOKENS = 64
_MAX_NODES = 20_000


def plain_lark() -> bool:
    """Whether the fast path is off (NSIM_PLAIN_LARK=1, or inside `forced_plain_lark()`)."""
    return _PLAIN[0]


@contextmanager
def forced_plain_lark(plain: bool = True) -> Iterator[None]:
    """Parse with Lark alone (plain=False: with the fast path) inside the block."""
    before, _PLAIN[0] = _PLAIN[0], plain
    try:
        yield
    finally:
        _PLAIN[0] = before


@dataclass(frozen=True, slots=True)
class _Step:
    """One terminal of an accepted sequence, and the reductions before it is shifted."""

    group: str
    terminal: str
    reduce: tuple[Rule, ...]
    unless: Any
    """Lark's UnlessCallback of the scanned terminal (literals a whole match of it turns
    into), or None."""
    scanned: str
    """The terminal the lexer matches: `terminal`, or the pattern terminal Lark folds the
    literal `terminal` into."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    steps: tuple[_Step, ...]
    end: tuple[Rule, ...]


def _reduce(values: list[Any], rule: Rule, callbacks: dict[Any, Callable[..., Any]]) -> None:
    """Lark's LALR reduction on the value stack."""
    size = len(rule.expansion)
    children = values[-size:] if size else []
    if size:
        del values[-size:]
    values.append(callbacks[rule](children))


class DerivedParser:
    """A Lark LALR parser (contextual lexer) of a grammar without recursion, as one regex.

    `parse(text)` returns what the Lark parser returns (its callbacks are called in the same
    order with tokens of the same type, value, start_pos and end_pos; line and column are
    not set), or NO_MATCH, leaving the text to Lark, which accepts it or says why not.
    """

    def __init__(self, parser: Lark, pattern: str, leaves: dict[str, _Leaf]) -> None:
        self.regex = re.compile(pattern, parser.lexer_conf.g_regex_flags)
        index = self.regex.groupindex
        # By the index of a leaf's end group: its steps as (group index, terminal, rules
        # reduced before it, UnlessCallback, scanned terminal), and the rules reduced at the end.
        self._leaves = {
            index[name]: (tuple((index[s.group], s.terminal, s.reduce, s.unless, s.scanned)
                                for s in leaf.steps), leaf.end)
            for name, leaf in leaves.items()}
        self._callbacks = parser._callbacks

    def parse(self, text: str) -> Any:
        m = self.regex.match(text)
        if m is None:
            return NO_MATCH
        steps, end_rules = self._leaves[m.lastindex]  # type: ignore[index]
        callbacks = self._callbacks
        values: list[Any] = []
        for group, terminal, reduce, unless, scanned in steps:
            for rule in reduce:
                _reduce(values, rule, callbacks)
            start, end = m.span(group)
            value = text[start:end]
            if unless is not None and (unless.scanner.fullmatch(value) or scanned) != terminal:
                return NO_MATCH  # Lark's lexer gives this match another type
            token = Token(terminal, value, start, None, None, None, None, end)
            callback = callbacks.get(terminal)
            values.append(token if callback is None else callback(token))
        for rule in end_rules:
            _reduce(values, rule, callbacks)
        return values[-1]


def _lark_order(t: TerminalDef) -> tuple[int, int, int, str]:
    """The order in which Lark's lexer tries terminals (lark.lexer.BasicLexer)."""
    return (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)


class _Deriver:
    """Walks Lark's parse table from a start state and writes the regex of what it accepts."""

    def __init__(self, parser: Lark, start: str) -> None:
        table = parser.parser.parser._parse_table
        self.states = table.states
        self.start_state = table.start_states[start]
        self.end_state = table.end_states[start]
        self.conf = parser.lexer_conf
        self.terms = {t.name: t for t in parser.terminals}
        self.ignore = set(parser.ignore_tokens)
        self.lexers: dict[frozenset[str], tuple[list[TerminalDef], dict[str, Any]]] = {}
        self.leaves: dict[str, _Leaf] = {}
        self.nodes = 0

    def lexer(self, state: int) -> tuple[list[TerminalDef], dict[str, Any]]:
        """The terminals the contextual lexer of `state` scans, in order, and their
        UnlessCallbacks (as lark.lexer.ContextualLexer builds them)."""
        names = frozenset(n for n in self.states[state] if n in self.terms) | self.ignore
        if names not in self.lexers:
            ordered = sorted((self.terms[n] for n in names), key=_lark_order)
            scanned, unless = _create_unless(ordered, self.conf.g_regex_flags, re, False)
            self.lexers[names] = (scanned, unless)
        return self.lexers[names]

    def feed(self, stack: tuple[int, ...], terminal: str) -> tuple[tuple[int, ...], tuple[Rule, ...]] | None:
        """The state stack after Lark's parser takes `terminal` ('$END': accepts), and the
        rules it reduces first; None when it refuses the terminal."""
        states = list(stack)
        reduced: list[Rule] = []
        while True:
            action = self.states[states[-1]].get(terminal)
            if action is None:
                return None
            kind, arg = action
            if kind is Shift:
                states.append(arg)
                return tuple(states), tuple(reduced)
            size = len(arg.expansion)
            if size:
                del states[-size:]
            reduced.append(arg)
            states.append(self.states[states[-1]][arg.origin.name][1])
            if terminal == "$END" and states[-1] == self.end_state:
                return tuple(states), tuple(reduced)

    @staticmethod
    def guard(scanned: TerminalDef, earlier: list[TerminalDef]) -> str:
        """A lookahead refusing the position when a terminal the lexer tries first matches.
        Two literals match at one position only when one begins the other."""
        alts = []
        for t in earlier:
            if (isinstance(t.pattern, PatternStr) and isinstance(scanned.pattern, PatternStr)
                    and not t.pattern.flags and not scanned.pattern.flags
                    and not (t.pattern.value.startswith(scanned.pattern.value)
                             or scanned.pattern.value.startswith(t.pattern.value))):
                continue
            alts.append(t.pattern.to_regexp())
        return f"(?!{'|'.join(alts)})" if alts else ""

    def node(self, stack: tuple[int, ...], steps: tuple[_Step, ...]) -> str:
        """The regex of the rest of the text, the parser's state stack being `stack`."""
        self.nodes += 1
        if self.nodes > _MAX_NODES or len(steps) > _MAX_TOKENS:
            raise _TooBig
        order, unless = self.lexer(stack[-1])
        names = [t.name for t in order]
        # An ignored terminal's own pattern is tested first: the guard (earlier terminals,
        # TEXT among them) is then tried only where a blank is, not after the last one.
        skip = [f"(?={t.pattern.to_regexp()}){self.guard(t, order[:i])}(?>{t.pattern.to_regexp()})"
                for i, t in enumerate(order) if t.name in self.ignore]
        alts = []
        for terminal in sorted((n for n in self.states[stack[-1]] if n in self.terms),
                               key=lambda n: _lark_order(self.terms[n])):
            if terminal in names:
                scanned = self.terms[terminal]
            else:  # a literal Lark recognises as a whole match of a pattern terminal
                scanned = next((t for t in order if t.name in unless and terminal in
                                unless[t.name].scanner.allowed_types), None)
                if scanned is None:
                    continue
            fed = self.feed(stack, terminal)
            if fed is None:
                continue
            after, reduced = fed
            group = f"t{self.nodes}_{len(alts)}"
            step = _Step(group, terminal, reduced, unless.get(scanned.name), scanned.name)
            regexp = scanned.pattern.to_regexp()
            guard = self.guard(scanned, order[:names.index(scanned.name)])
            if guard and isinstance(scanned.pattern, PatternStr):
                guard = f"(?={regexp}){guard}"  # most positions fail the literal at once
            alts.append(f"{guard}(?P<{group}>(?>{regexp})){self.node(after, (*steps, step))}")
        ended = self.feed(stack, "$END")
        if ended is not None:
            leaf = f"e{len(self.leaves)}"
            self.leaves[leaf] = _Leaf(steps, ended[1])
            alts.append(rf"\Z(?P<{leaf}>)")
        skipped = f"(?:{'|'.join(skip)})*+" if skip else ""
        return f"{skipped}(?:{'|'.join(alts)})" if alts else "(?!)"


class _TooBig(Exception):
    """The grammar accepts too many terminal sequences (or is recursive) for one regex."""


def derive(parser: Lark, start: str = "start") -> DerivedParser | None:
    """The regex stand-in for `parser` from `start`; None when the grammar is recursive or
    too large, uses lexer features it does not model, or Lark's table is out of reach."""
    conf = getattr(parser, "lexer_conf", None)
    if conf is None or conf.postlex is not None or conf.callbacks or conf.use_bytes:
        return None
    try:
        deriver = _Deriver(parser, start)
        pattern = deriver.node((deriver.start_state,), ())
    except (AttributeError, KeyError, _TooBig):
        return None
    return DerivedParser(parser, pattern, deriver.leaves)


_DERIVED: dict[tuple[int, str], DerivedParser | None] = {}


def parse(parser: Lark, text: str, start: str = "start") -> Any:
    """`parser.parse(text, start=start)`, by the regex derived from its grammar where that
    matches (unless `plain_lark()`); raises what Lark raises."""
    if not _PLAIN[0]:
        key = (id(parser), start)
        if key not in _DERIVED:
            _DERIVED[key] = derive(parser, start)
        fast = _DERIVED[key]
        if fast is not None:
            result = fast.parse(text)
            if result is not NO_MATCH:
                return result
    return parser.parse(text, start=start)
