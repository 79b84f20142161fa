"""Loading the Lark grammars in grammars/ (LALR, contextual lexer, lark-cython when present)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lark import Lark, Transformer
from lark.lexer import TerminalDef

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
