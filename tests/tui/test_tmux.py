"""`nsim tui` in a real terminal: tmux runs it, sends keys and reads the screen back."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from tests.tui.helpers import ROOT, SEED, seed_index, seed_records

SOCKET = f"nsim-test-{os.getpid()}"
SESSION = "nsim"


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    assert shutil.which("tmux"), "tmux is needed (make test installs it)"
    return subprocess.run(["tmux", "-L", SOCKET, "-f", os.devnull, *args],
                          capture_output=True, text=True, timeout=10)


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def wait_for(condition: Callable[[str], bool], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen()
        if condition(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"screen never showed what was expected:\n{text}")


def start(*args: str, size: tuple[int, int] = (120, 36)) -> None:
    """`nsim ARGS...` in a tmux session of `size` columns x rows."""
    command = shlex.join([sys.executable, "-m", "nsim.cli", *args])
    started = tmux("new-session", "-d", "-s", SESSION, "-x", str(size[0]), "-y", str(size[1]),
                   "-c", str(ROOT), f"env -u COLUMNS -u LINES TERM=xterm-256color {command}")
    assert started.returncode == 0, started.stderr


@pytest.fixture
def terminal() -> Iterator[None]:
    start("tui", SEED, "--year", "2017")
    try:
        yield
    finally:
        tmux("kill-server")


@pytest.fixture
def small_terminal() -> Iterator[None]:
    start("tui", "sample_logs/failed-spawn.journal", "--year", "2017", size=(80, 24))
    try:
        yield
    finally:
        tmux("kill-server")


def keys(*names: str, literal: bool = False) -> None:
    tmux("send-keys", "-t", SESSION, *(["-l"] if literal else []), *names)


def test_the_viewer_at_80x24(small_terminal: None) -> None:
    wait_for(lambda s: "record 1/" in s and "╭─ Log" in s)
    text = screen()
    assert len(text.splitlines()) <= 24 and all(len(line) <= 80 for line in text.splitlines())
    assert "Instance" not in text  # the side panes wait for p
    keys("/")
    wait_for(lambda s: "search /" in s)
    keys("createWithFlags", literal=True)
    keys("Enter")
    wait_for(lambda s: "record 1/" not in s and "search /" not in s)
    keys("Enter")  # the record whole: its traceback to the innermost frame
    wait_for(lambda s: "Record" in s and "Esc closes" in s)
    keys("G")
    wait_for(lambda s: "╭─ Log" not in s and "virDomainCreateWithFlags" in s and "event spawn_failed" in s)
    keys("Escape")
    wait_for(lambda s: "╭─ Log" in s)  # a key sent right after Esc would read as Alt+key
    keys("f")
    wait_for(lambda s: "filter [!]" in s)
    keys("level ERROR", literal=True)
    keys("Enter")
    text = wait_for(lambda s: "+level ERROR" in s)
    rows = [line for line in text.splitlines() if line.startswith("│") and ":" in line[:12]]
    assert rows and all(" ERROR " in row for row in rows)
    keys("p")
    wait_for(lambda s: "Instance" in s and "vm_state" in s)
    keys("q")
    deadline = time.monotonic() + 10
    while tmux("has-session", "-t", SESSION).returncode == 0:
        assert time.monotonic() < deadline, "nsim tui did not quit on q"
        time.sleep(0.1)


def test_keys_in_a_real_terminal(terminal: None) -> None:
    total = seed_records()
    resumed = seed_index("VM Resumed") + 1  # the status line counts records from 1
    expected = (f"record 1/{total}", "╭─ Log", "Instance", "Image cache", 'Lock "86f71e87')
    wait_for(lambda s: all(e in s for e in expected))

    tmux("send-keys", "-t", SESSION, "/")
    wait_for(lambda s: "search /" in s)
    tmux("send-keys", "-t", SESSION, "-l", "VM Resumed")
    tmux("send-keys", "-t", SESSION, "Enter")
    wait_for(lambda s: f"record {resumed}/{total}" in s and "power_state running" in s
             and "VM Resumed (Lifecycle Event)" in s)

    tmux("send-keys", "-t", SESSION, "k", "k")
    wait_for(lambda s: f"record {resumed - 2}/{total}" in s and "power_state paused" in s)

    tmux("send-keys", "-t", SESSION, "E", "e")  # no problem either way: the cursor stays
    tmux("send-keys", "-t", SESSION, "End")
    wait_for(lambda s: f"record {total}/{total}" in s and "vm_state    active" in s)

    tmux("send-keys", "-t", SESSION, "q")
    deadline = time.monotonic() + 10
    while tmux("has-session", "-t", SESSION).returncode == 0:
        assert time.monotonic() < deadline, "nsim tui did not quit on q"
        time.sleep(0.1)
