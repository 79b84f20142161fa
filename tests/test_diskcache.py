"""nsim's on-disk cache (nsim.diskcache): what comes back from it behaves as what it stands
for, and it is used only in a private directory of the user's, never through a link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lark import Lark, Tree

from nsim import diskcache
from nsim.grammars import load_parser
from tests.conftest import SEED

PATTERN = r"(?P<stamp>\w{3} [ \d]\d [\d:.]+) (?P<host>\S+) (?:(?P<pid>\d+)|x)(?=\s)"
TEXTS = ["Jun 16 13:12:52.1 compute 42 rest", "Jun  6 01:02:03 h x ", "nope", ""]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh cache under tmp_path (the path it is to have)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NSIM_NO_CACHE", raising=False)
    diskcache.cache_dir.cache_clear()
    yield tmp_path / "nsim"
    diskcache.cache_dir.cache_clear()


def _matches(regex: re.Pattern[str]) -> list[object]:
    return [(m.groupdict(), m.span(), m.lastindex) if (m := regex.match(t)) else None
            for t in TEXTS]


def test_a_cached_regex_matches_as_re_compile(cache: Path) -> None:
    expected = _matches(re.compile(PATTERN))
    cold = diskcache.compile_regex(PATTERN)
    assert len(list(cache.glob("re-*"))) == 1
    warm = diskcache.compile_regex(PATTERN)
    assert _matches(cold) == _matches(warm) == expected
    assert warm.groupindex == re.compile(PATTERN).groupindex


def test_a_damaged_entry_is_compiled_anew(cache: Path) -> None:
    diskcache.compile_regex(PATTERN)
    (entry,) = cache.glob("re-*")
    entry.write_bytes(b"\x00garbage")
    assert _matches(diskcache.compile_regex(PATTERN)) == _matches(re.compile(PATTERN))


def test_the_directory_is_private(cache: Path) -> None:
    assert diskcache.cache_dir() == cache
    assert cache.stat().st_mode & 0o777 == 0o700


def test_a_directory_others_may_write_is_not_used(cache: Path) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    assert diskcache.cache_dir() is None
    assert _matches(diskcache.compile_regex(PATTERN)) == _matches(re.compile(PATTERN))
    assert not list(cache.iterdir())


def test_a_linked_directory_is_not_used(cache: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache.symlink_to(elsewhere)
    assert diskcache.cache_dir() is None


def test_an_entry_that_is_a_link_is_not_read(cache: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    diskcache.cache_dir()
    (cache / "entry").symlink_to(target)
    assert diskcache.read("entry") is None
    diskcache.write("entry", b"mine")
    assert diskcache.read("entry") == b"mine"
    assert target.read_bytes() == b"secret"


def test_switched_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSIM_NO_CACHE", "1")
    assert diskcache.cache_dir() is None
    diskcache.compile_regex(PATTERN)
    assert not cache.exists()


def _flat(node: Any) -> object:
    """A parse tree as plain values: (rule name, children), tokens as (type, text, start)."""
    if isinstance(node, Tree):
        return str(node.data), [_flat(child) for child in node.children]
    return node.type, str(node), node.start_pos


def _parses(parser: Lark) -> list[object]:
    return [_flat(parser.parse(line, start="start")) for line in SEED.read_text().splitlines()]


def test_a_parser_from_the_cache_parses_as_one_built_anew(cache: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cold = load_parser("journal.lark")
    assert list(cache.glob("lark-*"))
    warm = load_parser("journal.lark")
    assert warm.source_path == "<deserialized>" != cold.source_path
    monkeypatch.setenv("NSIM_NO_CACHE", "1")
    diskcache.cache_dir.cache_clear()
    built = load_parser("journal.lark")
    assert _parses(warm) == _parses(cold) == _parses(built)
