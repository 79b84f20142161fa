"""`nsim parse` and `nsim replay`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nsim.cli.common import DiagnosticPrinter
from nsim.errors import EXIT_OK, EXIT_USAGE, EXIT_VIOLATIONS
from nsim.report.outputs import refuse_input_as_output, replacing, replacing_path
from nsim.report.progress import reading
from nsim.report.term import is_terminal

if TYPE_CHECKING:
    from nsim.logs.reader import ParseRun


def cmd_parse(args: argparse.Namespace) -> int:
    from nsim.logs.reader import ParseRun

    if args.to == "parquet" and (not args.output or args.output == "-"):
        print("nsim: --to parquet needs -o FILE", file=sys.stderr)
        return EXIT_USAGE
    refuse_input_as_output([("-o", args.output)], args.files)
    printer = DiagnosticPrinter()
    run = ParseRun(args.files, fmt=args.format, year=args.year, on_diagnostic=printer,
                   jobs=args.jobs)
    # A table streaming to the terminal is its own progress: no bar then.
    to_terminal = (args.output in (None, "-")) and is_terminal(sys.stdout)
    with reading("parse", args.files, enabled=False if to_terminal else None):
        _write_records(args, run)
    printer.close()
    print(run.counts.summary(), file=sys.stderr)
    return EXIT_USAGE if run.errors else EXIT_OK


def _write_records(args: argparse.Namespace, run: ParseRun) -> None:
    """Write the records of `run` in the form `--to` asks, to `-o` or stdout."""
    from nsim.report import records as record_out

    if args.to == "parquet":
        with replacing_path(args.output) as tmp:
            record_out.write_parquet(run, tmp)
    else:
        writer = {"table": record_out.write_table, "jsonl": record_out.write_jsonl,
                  "csv": record_out.write_csv}[args.to]
        if args.output and args.output != "-":
            with replacing(args.output) as out:
                writer(run, out)
        else:
            writer(run, sys.stdout)
            sys.stdout.flush()


def cmd_replay(args: argparse.Namespace) -> int:
    from nsim.replay.run import replay
    from nsim.report import replay as replay_out
    from nsim.report.term import Painter

    printer = DiagnosticPrinter()
    with reading("replay", args.files):
        result = replay(args.files, config=args.host_config, fmt=args.format, year=args.year,
                        on_diagnostic=printer, jobs=args.jobs)
    printer.close()
    if result.errors and not result.counts.records:
        print(result.counts.summary(), file=sys.stderr)
        return EXIT_USAGE
    if args.to == "json":
        replay_out.write_json(result, sys.stdout)
    else:
        replay_out.write_text(result, sys.stdout, quiet=args.quiet, paint=Painter(sys.stdout))
    print(result.counts.summary(), file=sys.stderr)
    if result.errors:
        return EXIT_USAGE
    return EXIT_VIOLATIONS if result.violations else EXIT_OK
