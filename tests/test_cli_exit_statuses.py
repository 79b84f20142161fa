"""Every command's `--help` lists its exit statuses, and the README's table says the same."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from nsim.cli import build_parser
from nsim.cli.common import SEE_COMMANDS
from nsim.errors import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PREREQUISITE,
    EXIT_USAGE,
    EXIT_VIOLATIONS,
    ExitStatus,
)

README = Path(__file__).resolve().parents[1] / "README.md"
EVERY = (EXIT_OK, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED)
EXPECTED: dict[str, tuple[ExitStatus, ...]] = {
    "parse": EVERY, "replay": (*EVERY, EXIT_VIOLATIONS),
    "fleet parse": EVERY, "fleet replay": (*EVERY, EXIT_VIOLATIONS),
    "simulate": EVERY, "diff": EVERY, "tui": EVERY, "teach": EVERY, "completion": EVERY,
    "hw doctor": (*EVERY, EXIT_FAILED), "hw prepare": (*EVERY, EXIT_FAILED, EXIT_PREREQUISITE),
    "hw boot": (*EVERY, EXIT_FAILED, EXIT_PREREQUISITE),
    "hw delete": (*EVERY, EXIT_FAILED, EXIT_PREREQUISITE),
}


def _commands(parser: argparse.ArgumentParser, name: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every parser under `parser` by its command (`hw boot`); groups too."""
    found = {name: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, child in action.choices.items():
                found |= _commands(child, f"{name} {sub}".strip())
    return found


def _help_statuses(parser: argparse.ArgumentParser) -> dict[int, str]:
    """The `Exit status: 0 success; 1 ...` of a command's --help, as {status: meaning}."""
    text = " ".join(parser.format_help().split())
    listed = text.split("Exit status: ", 1)[1].removesuffix(".")
    return {int(m[1]): m[2] for m in re.finditer(r"(\d+) ([^;]+)", listed)}


COMMANDS = _commands(build_parser())


def test_every_command_is_checked() -> None:
    leaves = {name for name, p in COMMANDS.items()
              if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)}
    assert leaves == set(EXPECTED)


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_help_lists_the_command_s_exit_statuses(command: str) -> None:
    assert _help_statuses(COMMANDS[command]) == {int(s): s.meaning for s in EXPECTED[command]}


@pytest.mark.parametrize("group", ["", "fleet", "hw"])
def test_a_group_s_help_points_to_its_commands(group: str) -> None:
    assert SEE_COMMANDS in " ".join(COMMANDS[group].format_help().split())


def test_the_readme_table_is_the_commands_statuses() -> None:
    rows: dict[tuple[int, str], list[str]] = {}
    for command, statuses in EXPECTED.items():
        for status in statuses:
            rows.setdefault((int(status), status.meaning), []).append(command)
    lines = ["| status | meaning | commands |", "|---|---|---|"]
    for (value, meaning), commands in sorted(rows.items(), key=lambda row: row[0][0]):
        listed = "all" if len(commands) == len(EXPECTED) else ", ".join(commands)
        lines.append(f"| {value} | {meaning} | {listed} |")
    text = README.read_text()
    table = text.split("<!-- exit-statuses:start -->\n", 1)[1].split("<!-- exit-statuses:end -->")[0]
    assert table.splitlines() == lines
