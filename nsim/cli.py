"""The `nsim` command: one sub-command per verb; each parses arguments and calls the API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nsim.logs.schema import FORMATS
from nsim.report.records import OUTPUTS

if TYPE_CHECKING:
    from nsim.logs.record import Diagnostic
    from nsim.model.config import HostConfig

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
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


def year_arg(text: str) -> int:
    value = int(text)
    if not 1970 <= value <= 9999:
        raise argparse.ArgumentTypeError(f"year out of range: {text}")
    return value


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


def add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="log files (.gz read as such; - = stdin)")
    p.add_argument("--format", choices=FORMATS, default="auto",
                   help="input format (default: detected per file)")
    p.add_argument("--year", type=year_arg,
                   help="year of journald stamps that carry none (default: from file mtime)")


def refuse_overwrite(outputs: list[tuple[str, str | None]], inputs: list[str | None]) -> bool:
    """Say so on stderr and return True when an output would overwrite an input."""
    from nsim.report.outputs import OutputError, refuse_input_as_output

    try:
        refuse_input_as_output(outputs, inputs)
    except OutputError as exc:
        print(f"nsim: {exc}", file=sys.stderr)
        return True
    return False


def cmd_parse(args: argparse.Namespace) -> int:
    from nsim.logs.reader import ParseRun
    from nsim.report import records as record_out
    from nsim.report.outputs import replacing, replacing_path

    if args.to == "parquet" and (not args.output or args.output == "-"):
        print("nsim: --to parquet needs -o FILE", file=sys.stderr)
        return EXIT_USAGE
    if refuse_overwrite([("-o", args.output)], args.files):
        return EXIT_USAGE
    printer = DiagnosticPrinter()
    run = ParseRun(args.files, fmt=args.format, year=args.year, on_diagnostic=printer)
    if args.to == "parquet":
        try:
            with replacing_path(args.output) as tmp:
                record_out.write_parquet(run, tmp)
        except OSError as exc:
            print(f"nsim: {args.output}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        writer = {"table": record_out.write_table, "jsonl": record_out.write_jsonl,
                  "csv": record_out.write_csv}[args.to]
        if args.output and args.output != "-":
            with replacing(args.output) as out:
                writer(run, out)
        else:
            writer(run, sys.stdout)
            sys.stdout.flush()
    printer.close()
    print(run.counts.summary(), file=sys.stderr)
    return EXIT_USAGE if run.errors else EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from nsim.replay.run import replay
    from nsim.report import replay as replay_out

    printer = DiagnosticPrinter()
    result = replay(args.files, config=args.host_config, fmt=args.format, year=args.year,
                    on_diagnostic=printer)
    printer.close()
    if result.errors and not result.counts.records:
        print(result.counts.summary(), file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        json.dump(replay_out.to_json(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(replay_out.to_text(result))
    print(result.counts.summary(), file=sys.stderr)
    if result.errors:
        return EXIT_USAGE
    return EXIT_VIOLATIONS if result.violations else EXIT_OK


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; sub-commands import what they run only when they run."""
    parser = argparse.ArgumentParser(
        prog="nsim", description="Understand how nova-compute boots an instance, from its logs.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("parse", help="parse nova-compute logs into typed records",
                       description="Parse nova-compute logs (journald text, oslo.log files, "
                                   "journalctl -o json) into records with typed events.")
    add_input_args(p)
    p.add_argument("--to", choices=OUTPUTS, default="table", help="output form")
    p.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("replay", help="replay logs through the host model and check them",
                       description="Replay nova-compute logs through a model of each compute host "
                                   "(resource tracker, image cache, lifecycle, locks) and report "
                                   "where the log and the model disagree. Exit 0 when consistent, "
                                   "1 on violations, 2 when input is unusable.")
    add_input_args(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_host_config_arg(p)
    p.set_defaults(func=cmd_replay)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
        return 130
    except OSError as exc:
        print(f"nsim: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if os.environ.get("NSIM_DEBUG"):
            raise
        print(f"nsim: internal error: {type(exc).__name__}: {exc} "
              "(set NSIM_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
