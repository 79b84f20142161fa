"""`nsim completion bash|zsh|fish`: the shell script that completes nsim's sub-commands and options.

The script (argcomplete's) asks `nsim` itself: with `_ARGCOMPLETE` set, `nsim.cli.main` answers
from the real parser instead of running a command, so completion follows the parser as it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from nsim.errors import EXIT_OK

SHELLS = ("bash", "zsh", "fish")


def cmd_completion(args: argparse.Namespace) -> int:
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["nsim"], shell=args.shell))
    return EXIT_OK


def complete_if_asked(parser: argparse.ArgumentParser) -> None:
    """When a completion script runs `nsim` (`_ARGCOMPLETE` set), print the completions and exit."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)


def register(subparsers: Any) -> None:
    """Add `nsim completion` to the `nsim` command."""
    p = subparsers.add_parser(
        "completion", help="print the shell completion script for bash, zsh or fish",
        description="Print the script that completes nsim's sub-commands and options in SHELL. "
                    "bash: `eval \"$(nsim completion bash)\"` in ~/.bashrc; zsh: the same in "
                    "~/.zshrc, after compinit; fish: `nsim completion fish > "
                    "~/.config/fish/completions/nsim.fish`.")
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p.set_defaults(func=cmd_completion)
