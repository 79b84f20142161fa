"""Loading the Lark grammars in grammars/ (LALR, contextual lexer, lark-cython when present),
and the regular expression derived from a grammar that stands in for Lark where it matches."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Lark, Transformer
from lark import __version__ as lark_version
from lark.grammar import Rule
from lark.lexer import PatternStr, TerminalDef, _create_unless
from lark.parsers.lalr_analysis import Shift

from nsim.diskcache import cache_file, compile_regex
from nsim.first_chars import first_chars, first_literals

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
    """An LALR parser for grammars/`name`, applying `transformer` while parsing; Lark keeps
    its analysis of the grammar in nsim's cache (it checks the grammar files' digests)."""
    python = "{}.{}".format(*sys.version_info)  # Lark's own digest has it: one entry each
    cache = cache_file(f"lark-{name}-{'-'.join(start)}-{lark_version}-py{python}")
    return Lark.open(str(grammar_dir() / name), parser="lalr", lexer="contextual",
                     transformer=transformer, start=list(start), cache=cache or False,
                     **_plugins())


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
    return [t for t in parser.terminals if t.name in parser.lexer_conf.ignore]



# ---------------------------------------------------------------------------- flat form
# A parse's result is built from its flat form: the names of the rules reduced (in Lark's
# order of reductions) and the terminals the rules keep (Lark drops anonymous literals), in
# text order, as pieces. Lark hands it over through _Flatten; the fast path below reads it
# off a regex match. Both then call the same builder, so they cannot build differently.

Piece = tuple[str, str, int, int]
"""A kept terminal: its name, text, start and end in the parsed text."""
Builder = Callable[[list[Piece]], Any]
"""What turns the pieces of one parse into the grammar's result."""


class _Flat:
    """A rule's flat form while Lark parses."""

    __slots__ = ("names", "pieces")

    def __init__(self, names: list[str], pieces: list[Piece]) -> None:
        self.names = names
        self.pieces = pieces


class _Flatten(Transformer):
    """Applied while Lark parses: every rule becomes its flat form."""

    def __default__(self, data: Any, children: list[Any], meta: Any) -> _Flat:
        names: list[str] = []
        pieces: list[Piece] = []
        for child in children:
            if isinstance(child, _Flat):
                names += child.names
                pieces += child.pieces
            else:  # a Token (lark-cython's are not str: read their parts)
                pieces.append((child.type, child.value, child.start_pos, child.end_pos))
        names.append(str(data))
        return _Flat(names, pieces)


class Grammar:
    """A grammar of grammars/ as Lark's LALR parser, its results built from the flat form
    by `builder(start, rule names)`; where the regex derived from it matches (unless
    `plain_lark()`), that stands in for Lark and feeds the same builders."""

    def __init__(self, name: str, builder: Callable[[str, tuple[str, ...]], Builder],
                 start: tuple[str, ...] = ("start",)) -> None:
        self.parser = load_parser(name, transformer=_Flatten(), start=start)
        self._builder = builder
        self._builders: dict[tuple[str, tuple[str, ...]], Builder] = {}
        self._derived: dict[str, DerivedParser | None] = {}

    def builder(self, start: str, names: tuple[str, ...]) -> Builder:
        key = (start, names)
        if key not in self._builders:
            self._builders[key] = self._builder(start, names)
        return self._builders[key]

    def derived(self, start: str = "start") -> DerivedParser | None:
        """The regex stand-in for the parser from `start` (None: Lark alone)."""
        if start not in self._derived:
            self._derived[start] = derive(self.parser, start,
                                          lambda names: self.builder(start, names))
        return self._derived[start]

    def parse(self, text: str, start: str = "start") -> Any:
        """The built result of `text`; raises what Lark raises (or the builder)."""
        if not _PLAIN[0]:
            fast = self._derived[start] if start in self._derived else self.derived(start)
            if fast is not None:
                result = fast.parse(text)
                if result is not NO_MATCH:
                    return result
        flat = self.parser.parse(text, start=start)
        return self.builder(start, tuple(flat.names))(flat.pieces)


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
_MAX_STARTS = 1024
"""First characters a DerivedParser remembers its expression for (more are looked up)."""
_GROUP = re.compile(r"\(\?P<(t\d+_\d+)>")


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

    def flat(self, keep_all: bool) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The steps whose terminals the rules keep, and the names of the rules reduced:
        Lark's reductions replayed on step numbers."""
        stack: list[list[int]] = []
        names: list[str] = []

        def reduce(rule: Rule) -> None:
            if rule.origin.name.startswith("_") or rule.options.expand1 or \
                    rule.options.template_source:
                raise _Outside  # inlined rules: Lark calls no callback for them
            size = len(rule.expansion)
            children = stack[len(stack) - size:]
            del stack[len(stack) - size:]
            keep = keep_all or rule.options.keep_all_tokens
            stack.append([i for sym, child in zip(rule.expansion, children, strict=True)
                          if keep or not (sym.is_term and sym.filter_out) for i in child])
            names.append(rule.alias or rule.origin.name)

        for i, step in enumerate(self.steps):
            for rule in step.reduce:
                reduce(rule)
            stack.append([i])
        for rule in self.end:
            reduce(rule)
        return tuple(stack[-1]), tuple(names)


_Compiled = tuple[re.Pattern[str], dict[int, tuple[tuple[Any, ...], tuple[tuple[int, str], ...],
                                                     Builder]]]


class DerivedParser:
    """A Lark LALR parser (contextual lexer) of a grammar without recursion, as a regex.

    `parse(text)` returns the builder's result for the pieces Lark would have kept, or
    NO_MATCH, leaving the text to Lark, which accepts it or says why not. The alternatives
    of the first terminal are also compiled apart by the character they can begin with
    (on first use), so that a text is matched against the few that can start it.
    """

    def __init__(self, parser: Lark, root: tuple[str, list[tuple[str | None, str]]],
                 leaves: dict[str, _Leaf], build: Callable[[tuple[str, ...]], Builder]) -> None:
        self.flags = parser.lexer_conf.g_regex_flags
        keep_all = bool(parser.options.keep_all_tokens)
        # By leaf: the steps to check against Lark's literal folding (UnlessCallback), the
        # kept steps as (group, terminal), and the builder of the leaf's rule names.
        self._leaves: dict[str, tuple[list[tuple[str, str, Any, str]], list[tuple[str, str]],
                                      Builder]] = {}
        for name, leaf in leaves.items():
            kept, names = leaf.flat(keep_all)
            self._leaves[name] = (
                [(s.group, s.terminal, s.unless, s.scanned) for s in leaf.steps
                 if s.unless is not None],
                [(leaf.steps[i].group, leaf.steps[i].terminal) for i in kept],
                build(names))
        # Terminals no leaf keeps (literals the rules drop) need no group: fewer groups,
        # less for the regex engine to save and restore as it backtracks.
        used = {group for checks, kept, _ in self._leaves.values()
                for group in [*(c[0] for c in checks), *(k[0] for k in kept)]}
        self._skip, alts = root
        self._alts = [(None if first is None else first_chars(first, self.flags),
                       _GROUP.sub(lambda m: m[0] if m[1] in used else "(?:", alt))
                      for first, alt in alts]
        self._by_start: dict[str, _Compiled] = {}
        self._by_alts: dict[tuple[int, ...], _Compiled] = {}

    def _compile(self, alts: list[str]) -> _Compiled:
        regex = compile_regex(f"{self._skip}(?:{'|'.join(alts)})" if alts else "(?!)",
                              self.flags)
        index = regex.groupindex
        leaves = {index[name]: (
            tuple((index[g], t, u, s) for g, t, u, s in checks),
            tuple((index[g], t) for g, t in kept), build)
            for name, (checks, kept, build) in self._leaves.items() if name in index}
        return regex, leaves

    def _compiled(self, first: str) -> _Compiled:
        """The expression for texts that begin with `first` ("": any text): the alternatives
        that can begin so, compiled once for each such set."""
        picked = tuple(i for i, (chars, _) in enumerate(self._alts)
                       if chars is None or not first or chars.match(first))
        compiled = self._by_alts.get(picked)
        if compiled is None:
            compiled = self._by_alts[picked] = self._compile([self._alts[i][1] for i in picked])
        if len(self._by_start) < _MAX_STARTS:
            self._by_start[first] = compiled
        return compiled

    def parse(self, text: str) -> Any:
        first = text[:1]
        regex, leaves = self._by_start.get(first) or self._compiled(first)
        m = regex.match(text)
        if m is None:
            return NO_MATCH
        checks, kept, build = leaves[m.lastindex]  # type: ignore[index]
        for group, terminal, unless, scanned in checks:
            if (unless.scanner.fullmatch(m.group(group)) or scanned) != terminal:
                return NO_MATCH  # Lark's lexer gives this match another type
        span = m.span
        pieces = []
        append = pieces.append
        for group, terminal in kept:
            start, end = span(group)
            append((terminal, text[start:end], start, end))
        return build(pieces)


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
        self.ignore = set(self.conf.ignore)
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

    def guard(self, scanned: TerminalDef, earlier: list[TerminalDef]) -> str:
        """A lookahead refusing the position when a terminal the lexer tries first matches.
        Two literals match at one position only when one begins the other; a terminal that
        cannot begin with a character `scanned` begins with (when those are few literals, as
        a blank's) cannot match there."""
        alts = []
        flags = self.conf.g_regex_flags
        starts = first_literals(scanned.pattern.to_regexp(), flags)
        for t in earlier:
            if starts is not None and not _may_begin(t, starts, flags):
                continue
            if (isinstance(t.pattern, PatternStr) and isinstance(scanned.pattern, PatternStr)
                    and not t.pattern.flags and not scanned.pattern.flags
                    and not (t.pattern.value.startswith(scanned.pattern.value)
                             or scanned.pattern.value.startswith(t.pattern.value))):
                continue
            alts.append(t.pattern.to_regexp())
        return f"(?!{'|'.join(alts)})" if alts else ""

    def skip(self, ignored: TerminalDef, earlier: list[TerminalDef]) -> str:
        """The regex of one ignored terminal (a blank) where the lexer yields it: its own
        pattern is tested first, so that the guard is tried only where a blank is."""
        regexp = ignored.pattern.to_regexp()
        guard = self.guard(ignored, earlier)
        return f"(?={regexp}){guard}(?>{regexp})" if guard else f"(?>{regexp})"

    def node(self, stack: tuple[int, ...], steps: tuple[_Step, ...]) -> str:
        """The regex of the rest of the text, the parser's state stack being `stack`."""
        skipped, alts = self.branches(stack, steps)
        return f"{skipped}(?:{'|'.join(alt for _, alt in alts)})" if alts else "(?!)"

    def branches(self, stack: tuple[int, ...], steps: tuple[_Step, ...]
                 ) -> tuple[str, list[tuple[str | None, str]]]:
        """The blanks skipped before the next terminal, and the alternatives after them,
        each with its first terminal's regex (None: the end of the text)."""
        self.nodes += 1
        if self.nodes > _MAX_NODES or len(steps) > _MAX_TOKENS:
            raise _Outside
        order, unless = self.lexer(stack[-1])
        names = [t.name for t in order]
        skip = [self.skip(t, order[:i]) for i, t in enumerate(order) if t.name in self.ignore]
        alts: list[tuple[str | None, str]] = []
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
            alts.append((regexp, f"{guard}(?P<{group}>(?>{regexp})){self.node(after, (*steps, step))}"))
        ended = self.feed(stack, "$END")
        if ended is not None:
            leaf = f"e{len(self.leaves)}"
            self.leaves[leaf] = _Leaf(steps, ended[1])
            alts.append((None, rf"\Z(?P<{leaf}>)"))
        return (f"(?:{'|'.join(skip)})*+" if skip else ""), alts


def _may_begin(t: TerminalDef, chars: frozenset[str], flags: int) -> bool:
    """Whether a match of `t` may begin with one of `chars` (True when that is not known)."""
    first = first_chars(t.pattern.to_regexp(), flags)
    return first is None or any(first.match(c) for c in chars)


class _Outside(Exception):
    """The grammar is outside what one regex stands in for: too many terminal sequences
    (or recursion), or rules Lark inlines."""


def derive(parser: Lark, start: str, build: Callable[[tuple[str, ...]], Builder]
           ) -> DerivedParser | None:
    """The regex stand-in for `parser` from `start`, building its results with
    `build(rule names)`; None when the grammar is recursive or too large, uses lexer
    features it does not model, or Lark's table is out of reach."""
    conf = getattr(parser, "lexer_conf", None)
    if conf is None or conf.postlex is not None or conf.callbacks or conf.use_bytes:
        return None
    try:
        deriver = _Deriver(parser, start)
        root = deriver.branches((deriver.start_state,), ())
        return DerivedParser(parser, root, deriver.leaves, build)
    except (AttributeError, KeyError, _Outside):
        return None
