"""The `nsim` command: one sub-command per verb; each parses arguments and calls the API.

The sub-commands live beside what they run (`nsim.<package>.cli`, `nsim.cli.logs` for parse
and replay) and share `nsim.cli.common`; exit statuses and the error root are `nsim.errors`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from nsim.cli.common import (
    SEE_COMMANDS,
    NsimParser,
    add_host_config_arg,
    add_input_args,
    add_jobs_arg,
    add_report_args,
    exit_epilog,
)
from nsim.cli.completion import complete_if_asked
from nsim.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATIONS,
    NsimError,
)
from nsim.report.records import OUTPUTS


def version() -> str:
    """nsim's version, from the installed package's metadata."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("nsim")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """`--version`: prints `nsim X.Y.Z` and exits 0 (the metadata is read only then)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 help: str = "print nsim's version and exit") -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"nsim {version()}")
        parser.exit()


def _run(command: str) -> Callable[[argparse.Namespace], int]:
    """`nsim parse|replay`, imported only when run."""
    def run(args: argparse.Namespace) -> int:
        from nsim.cli import logs

        return int(getattr(logs, f"cmd_{command}")(args))
    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; sub-commands import what they run only when they run."""
    parser = NsimParser(
        prog="nsim", description="Understand how nova-compute boots an instance, from its logs.",
        epilog=SEE_COMMANDS)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("parse", help="parse nova-compute logs into typed records",
                       description="Parse nova-compute logs (journald text, oslo.log files, "
                                   "journalctl -o json) into records with typed events.")
    add_input_args(p)
    add_jobs_arg(p)
    p.add_argument("--to", choices=OUTPUTS, default="table", help="output form")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    p.set_defaults(func=_run("parse"))

    p = sub.add_parser("replay", help="replay logs through the host model and check them",
                       description="Replay nova-compute logs through a model of each compute host "
                                   "(resource tracker, image cache, lifecycle, locks) and report "
                                   "where the log and the model disagree.",
                       epilog=exit_epilog(EXIT_VIOLATIONS))
    add_input_args(p)
    add_jobs_arg(p)
    add_report_args(p)
    add_host_config_arg(p)
    p.set_defaults(func=_run("replay"))

    from nsim.fleet.cli import register as register_fleet
    register_fleet(sub)

    from nsim.sim.cli import register as register_simulate
    register_simulate(sub)

    from nsim.compare.cli import register as register_diff
    register_diff(sub)

    from nsim.tui.cli import register as register_tui
    register_tui(sub)

    from nsim.hw.cli import register as register_hw
    register_hw(sub)

    from nsim.cli.completion import register as register_completion
    register_completion(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    complete_if_asked(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already explained
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except NsimError as exc:
        print(f"nsim: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"nsim: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if os.environ.get("NSIM_DEBUG"):
            raise
        print(f"nsim: internal error: {type(exc).__name__}: {exc} "
              "(set NSIM_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return EXIT_INTERNAL
