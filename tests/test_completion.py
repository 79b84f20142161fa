"""`nsim completion bash|zsh|fish`: the scripts are valid, and bash completes from the real parser."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nsim.cli import build_parser

BIN = Path(sys.executable).parent  # the venv's bin, where the `nsim` the scripts call is


def _script(shell: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nsim.cli", "completion", shell],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sub_commands() -> list[str]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_is_valid_in_its_shell(shell: str, tmp_path: Path) -> None:
    path = tmp_path / f"nsim.{shell}"
    path.write_text(_script(shell))
    program = shutil.which(shell)
    assert program is not None, f"{shell} is missing (make test installs it)"
    done = subprocess.run([program, "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _complete_in_bash(script: Path, line: str) -> list[str]:
    """What bash offers for `line` (the cursor at its end) with the script sourced."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    probe = (f"source {script}\n"
             f"COMP_LINE={line!r}; COMP_POINT={len(line)}; COMP_WORDS=({' '.join(map(repr, words))})\n"
             f"COMP_CWORD={len(words) - 1}\n"
             "_python_argcomplete nsim\n"
             "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return [word.strip() for word in done.stdout.splitlines() if word.strip()]


def test_bash_completes_every_sub_command_and_their_options(tmp_path: Path) -> None:
    script = tmp_path / "nsim.bash"
    script.write_text(_script("bash"))
    offered = _complete_in_bash(script, "nsim ")
    assert set(_sub_commands()) <= set(offered)
    assert "completion" in offered and "fleet" in offered
    assert _complete_in_bash(script, "nsim fleet ") == ["-h", "--help", "parse", "replay"]
    assert set(_complete_in_bash(script, "nsim replay --format ")) == {"auto", "journal", "oslo", "json"}
    assert set(_complete_in_bash(script, "nsim hw boot --f")) == {"--flavor", "--fault"}


def test_fish_completes_every_sub_command(tmp_path: Path) -> None:
    assert shutil.which("fish") is not None, "fish is missing (make test installs it)"
    script = tmp_path / "nsim.fish"
    script.write_text(_script("fish"))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["fish", "-c", f"source {script}; complete -C 'nsim '"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert set(_sub_commands()) <= {line.split("\t")[0] for line in done.stdout.splitlines()}
