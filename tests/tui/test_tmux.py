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


@pytest.fixture
def terminal() -> Iterator[None]:
    command = shlex.join([sys.executable, "-m", "nsim.cli", "tui", SEED, "--year", "2017"])
    started = tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36", "-c", str(ROOT),
                   f"env -u COLUMNS -u LINES TERM=xterm-256color {command}")
    assert started.returncode == 0, started.stderr
    try:
        yield
    finally:
        tmux("kill-server")


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
