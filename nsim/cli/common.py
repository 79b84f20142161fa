"""What nsim's sub-commands share: the parser (errors in plain words), number, input and
host-config arguments, diagnostics on stderr, the refusal to overwrite an input."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from nsim.errors import EVERY_COMMAND, EXIT_USAGE, ExitStatus
from nsim.logs.schema import FORMATS

if TYPE_CHECKING:
    from nsim.logs.record import Diagnostic
    from nsim.model.config import HostConfig

# Diagnostics printed per input before the rest are only counted.
_SHOWN_PER_FILE = 20


class DiagnosticPrinter:
    """Prints diagnostics to stderr, at most _SHOWN_PER_FILE per input, then a tally."""

    def __init__(self) -> None:
        self.per_file: Counter[str] = Counter()

    def __call__(self, diag: Diagnostic) -> None:
        if diag.line is None:  # about the whole file: always shown
            print(f"nsim: {diag}", file=sys.stderr)
            return
        self.per_file[diag.source] += 1
        if self.per_file[diag.source] <= _SHOWN_PER_FILE:
            print(f"nsim: {diag}", file=sys.stderr)

    def close(self) -> None:
        for source, n in self.per_file.items():
            if n > _SHOWN_PER_FILE:
                print(f"nsim: {source}: {n - _SHOWN_PER_FILE} more problems not shown",
                      file=sys.stderr)


SEE_COMMANDS = "Each command's --help lists its exit statuses."
"""The epilog of `nsim`, `nsim fleet` and `nsim hw`, whose commands end in different ways."""


def exit_epilog(*statuses: ExitStatus) -> str:
    """The `--help` epilog naming a command's exit statuses: its own and every command's."""
    by_value = {int(status): status for status in (*EVERY_COMMAND, *statuses)}
    return "Exit status: " + "; ".join(f"{value} {by_value[value].meaning}"
                                       for value in sorted(by_value)) + "."


class NsimParser(argparse.ArgumentParser):
    """The parser of `nsim` and of every sub-command (argparse gives sub-parsers their parent's
    class): a usage error is the usage, then one line in plain words, `nsim replay: --year: 'abc'
    is not a year (1970-9999)`, and exit status 2. `--help` ends with the exit statuses
    (`exit_epilog()` unless the command gives its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exit_on_error", False)  # parse_known_args words the ArgumentError
        if kwargs.get("epilog") is None:
            kwargs["epilog"] = exit_epilog()
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        try:
            return super().parse_known_args(args, namespace)
        except argparse.ArgumentError as exc:
            name = exc.argument_name
            self.error(f"{name}: {exc.message}" if name else exc.message)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def number_arg(what: str, low: int | None = None, high: int | None = None
               ) -> Callable[[str], int]:
    """An argparse type: a whole number within [low, high], else the usage error
    `'TEXT' is not WHAT (LOW-HIGH)`."""
    bounds = (f" ({low}-{high})" if low is not None and high is not None
              else f" (at least {low})" if low is not None else "")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}{bounds}")
        return value

    return parse


year_arg = number_arg("a year", 1970, 9999)
jobs_arg = number_arg("a number of processes", 1, 64)


def host_config_arg(path: str) -> HostConfig:
    """argparse type of --host-config: the validated file, or a usage error naming it."""
    from nsim.model.config import HostConfigError, load_host_config

    try:
        return load_host_config(path)
    except HostConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_host_config_arg(p: argparse.ArgumentParser,
                        help: str = "TOML file with host totals and nova.conf options (see README)"
                        ) -> None:
    p.add_argument("--host-config", metavar="FILE", type=host_config_arg, help=help)


def add_output_form(p: argparse.ArgumentParser) -> argparse._MutuallyExclusiveGroup:
    """The one spelling of a result's form across commands: `--to text|json` (`--json` is
    short for `--to json`); `parse --to` has its own record forms. Returns the group, so that
    a command may add a form that excludes JSON (replay's --quiet)."""
    form = p.add_mutually_exclusive_group()
    form.add_argument("--to", choices=("text", "json"), default="text",
                      help="the result as text (default) or JSON")
    form.add_argument("--json", dest="to", action="store_const", const="json",
                      help="same as --to json")
    return form


def add_report_args(p: argparse.ArgumentParser) -> None:
    """The forms of a replay report: text, JSON, or --quiet (the verdict and counts only)."""
    add_output_form(p).add_argument(
        "-q", "--quiet", action="store_true",
        help="print only the verdict and the counts (hosts, boots, violations)")


def add_log_options(p: argparse.ArgumentParser) -> None:
    """How the input logs are read, the same in every command that reads logs."""
    p.add_argument("--format", choices=FORMATS, default="auto",
                   help="input format (default: detected per file)")
    p.add_argument("--year", type=year_arg,
                   help="year of journald stamps that carry none (default: from file mtime)")


def default_jobs() -> int:
    """2 where this process may run on two cores or more (its CPU affinity, which a container
    or `taskset` narrows), else 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 if (cores or 1) >= 2 else 1


def add_jobs_arg(p: argparse.ArgumentParser) -> None:
    """-j/--jobs: processes reading each input (2 or more: a second reads a large journal's
    lines and parses their envelopes meanwhile)."""
    default = default_jobs()
    p.add_argument("-j", "--jobs", type=jobs_arg, default=default, metavar="N",
                   help="processes reading each input: with 2 or more, a journal of 2 MiB or "
                        "more has its lines read and their envelopes parsed by a second "
                        f"process (default: {default}, from the cores here)")


def add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="log files (.gz read as such; - = stdin)")
    add_log_options(p)


