"""Loading the Lark grammars in grammars/ (LALR, contextual lexer, lark-cython when present)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lark import Lark, Transformer

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
