"""Running `nsim` as a user does: one of its streams on a pseudo-terminal, or piped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from typing import IO, Literal

from tests.conftest import ROOT


def nsim_env(**extra: str) -> dict[str, str]:
    """The environment of a 100-column xterm, without NO_COLOR, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="100", TERM="xterm", **extra)
    return env


def run_nsim(argv: list[str], stream: Literal["stdout", "stderr"], tty: bool,
             env: dict[str, str], other: IO[str] | int = subprocess.DEVNULL) -> str:
    """What `nsim argv` writes to `stream`, which is a pseudo-terminal when `tty`, else a pipe;
    the other stream goes to `other`."""
    cmd = [sys.executable, "-m", "nsim.cli", *argv]
    if not tty:
        done = subprocess.run(cmd, text=True, env=env, timeout=120,
                              stdout=subprocess.PIPE if stream == "stdout" else other,
                              stderr=subprocess.PIPE if stream == "stderr" else other)
        return done.stdout if stream == "stdout" else done.stderr
    parent, child = pty.openpty()
    streams = {"stdout": child, "stderr": other} if stream == "stdout" else \
        {"stdout": other, "stderr": child}
    with subprocess.Popen(cmd, env=env, **streams) as proc:  # type: ignore[call-overload]
        os.close(child)
        chunks = []
        while True:
            try:
                data = os.read(parent, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=120)
    os.close(parent)
    return b"".join(chunks).decode("utf-8", "replace")
