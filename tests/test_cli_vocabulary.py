"""One vocabulary of flags: every command that reads logs takes --format and --year; every
command whose result can be JSON takes --to text|json (and --json for --to json)."""

from __future__ import annotations

import argparse

import pytest

from nsim.cli import build_parser
from tests.conftest import SEED as SEED_PATH

SEED = str(SEED_PATH)


def _sub(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


READERS = [("parse",), ("replay",), ("diff",), ("tui",), ("teach",), ("fleet", "parse"),
           ("fleet", "replay")]
JSON = [("replay",), ("diff",), ("fleet", "replay"), ("hw", "boot")]


@pytest.mark.parametrize("path", READERS, ids=" ".join)
def test_every_log_reader_takes_format_and_year(path: tuple[str, ...]) -> None:
    parser = _sub(build_parser(), *path)
    assert {"--format", "--year"} <= _options(parser)
    (fmt,) = (a for a in parser._actions if "--format" in a.option_strings)
    assert set(fmt.choices or ()) == {"auto", "journal", "oslo", "json"}  # the input's format


@pytest.mark.parametrize("path", JSON, ids=" ".join)
def test_every_json_result_is_asked_for_the_same_way(path: tuple[str, ...]) -> None:
    assert {"--to", "--json"} <= _options(_sub(build_parser(), *path))


def test_json_is_short_for_to_json() -> None:
    parser = build_parser()
    long = parser.parse_args(["diff", SEED, SEED, "--to", "json"])
    short = parser.parse_args(["diff", SEED, SEED, "--json"])
    assert long.to == short.to == "json"
    assert parser.parse_args(["diff", SEED, SEED]).to == "text"


def test_hw_boot_names_its_output_format_apart_from_the_input_format() -> None:
    hw_boot = _options(_sub(build_parser(), "hw", "boot"))
    assert "--trace-format" in hw_boot and "--format" not in hw_boot
