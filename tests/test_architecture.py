"""The package's shape: imports flow one way (no cycle, lazy imports included) and every error
nsim raises on purpose shares one root that the command line turns into a message."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nsim import cli
from nsim.errors import EXIT_USAGE, NsimError

PACKAGE = Path(__file__).resolve().parent.parent / "nsim"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The nsim modules `name` imports anywhere in its body (`from pkg import mod` names mod)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[:len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([base] if base else [])])
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            found.update(subs if len(subs) == len(node.names) else [base, *subs])
    return {m for m in found if m in modules and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_in_nsim() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "nsim.cli.common" in graph["nsim.sim.cli"]  # the scan sees lazy and package imports
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_errors_raised_on_purpose_share_one_root() -> None:
    from nsim.compare.boots import NoBoots, UnreadableLog
    from nsim.hw.errors import HwError, PrerequisiteError
    from nsim.logs.source import SourceError
    from nsim.model.config import HostConfigError
    from nsim.report.outputs import OutputError
    from nsim.sim.scenario import ScenarioError

    for cls in (NoBoots, UnreadableLog, HwError, PrerequisiteError, SourceError,
                HostConfigError, OutputError, ScenarioError):
        assert issubclass(cls, NsimError), cls
    assert PrerequisiteError("x").exit_code == 3


def test_main_turns_an_nsim_error_into_its_message_and_status(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from nsim.cli import logs

    def refuse(_args: object) -> int:
        raise NsimError("the log is in a language nsim does not read")

    monkeypatch.setattr(logs, "cmd_parse", refuse)
    assert cli.main(["parse", "whatever.log"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "nsim: the log is in a language nsim does not read\n"


def test_no_module_over_500_lines() -> None:
    """Small modules with one job each: a module past 500 lines holds more than one."""
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text().splitlines())) > 500}
    assert long == {}
