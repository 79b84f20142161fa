"""`nsim fleet parse` and `nsim fleet replay`: `nsim parse` / `nsim replay` with one Dask task per host.

Dask is imported only when a fleet command runs, so the rest of `nsim` starts as fast as before.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from nsim.cli.common import (
    SEE_COMMANDS,
    DiagnosticPrinter,
    add_host_config_arg,
    add_log_options,
    add_report_args,
    exit_epilog,
    number_arg,
)
from nsim.errors import EXIT_OK, EXIT_USAGE, EXIT_VIOLATIONS
from nsim.report.progress import showing

if TYPE_CHECKING:
    from distributed import Client

    from nsim.logs.record import Diagnostic


def _add_fleet_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="+", metavar="GLOB",
                   help="log files or quoted GLOBs, expanded by nsim (`**` recurses); "
                        "workers must see them at the same paths")
    add_log_options(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=number_arg("a number of workers", 1), metavar="N",
                       help="worker processes of the local cluster (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="use this Dask scheduler (e.g. tcp://host:8786) instead of a local "
                            "cluster")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `nsim fleet parse` and `nsim fleet replay` to nsim's sub-commands."""
    fleet = subparsers.add_parser(
        "fleet", help="parse or replay many hosts' logs on a Dask cluster",
        description="Run `nsim parse` or `nsim replay` over a fleet's logs on Dask: one task "
                    "per host, on a local cluster (--workers) or an existing one (--scheduler).",
        epilog=SEE_COMMANDS)
    sub = fleet.add_subparsers(dest="fleet_command", required=True, metavar="COMMAND")
    p = sub.add_parser("parse", help="parse logs into Parquet partitioned by host and day",
                       description="Parse logs into DIR/host=H/day=YYYY-MM-DD/part-N.parquet, "
                                   "readable by pandas, DuckDB and Dask. An input that cannot be "
                                   "read is named on stderr; the others are still written.")
    _add_fleet_args(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="directory for the dataset (created; must be empty)")
    p.set_defaults(func=cmd_fleet_parse)
    p = sub.add_parser("replay", help="replay each host's logs through the host model",
                       description="`nsim replay` with one task per host; the report has the same "
                                   "shape, plus a `fleet` section naming inputs that were retried "
                                   "or could not be read. An input that cannot be read is named "
                                   "on stderr; the others are still replayed.",
                       epilog=exit_epilog(EXIT_VIOLATIONS))
    _add_fleet_args(p)
    add_report_args(p)
    add_host_config_arg(p)
    p.set_defaults(func=cmd_fleet_replay)


def _connect(args: argparse.Namespace, stack: ExitStack) -> Client | None:
    """A client of the requested cluster, or None (after saying why in one line) if it cannot be
    had: Dask's errors here are about the cluster, not nsim."""
    from nsim.fleet.cluster import silence_for_good
    from nsim.fleet.inputs import one_line
    from nsim.fleet.tasks import connect

    silence_for_good()  # the process ends with the run: Dask's shutdown says nothing either
    try:
        return stack.enter_context(connect(args.workers, args.scheduler))
    except Exception as exc:
        what = f"connect to scheduler {args.scheduler}" if args.scheduler else "start a local cluster"
        print(f"nsim: cannot {what}: {one_line(exc)}", file=sys.stderr)
        return None


def _progress(message: str) -> None:
    print(f"nsim: {message}", file=sys.stderr, flush=True)


def _lost(exc: BaseException) -> int:
    """The cluster went away mid-run (a connection closed, a timeout): say so in one line."""
    from nsim.fleet.inputs import one_line

    print(f"nsim: fleet: the cluster failed: {one_line(exc)}", file=sys.stderr)
    return EXIT_USAGE


def _print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    printer = DiagnosticPrinter()
    for diag in diagnostics:
        printer(diag)
    printer.close()


def cmd_fleet_parse(args: argparse.Namespace) -> int:
    from nsim.fleet.jobs import fleet_parse

    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"nsim: {out}: exists and is not an empty directory", file=sys.stderr)
        return EXIT_USAGE
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        client = _connect(args, stack)
        if client is None:
            return EXIT_USAGE
        try:
            with showing("fleet parse") as job:  # on a terminal, the 30 s lines are its note
                run = fleet_parse(client, args.patterns, str(out), fmt=args.format, year=args.year,
                                  progress=job.say if job.shown else _progress)
        except (OSError, TimeoutError) as exc:
            return _lost(exc)
    written = run.written
    _print_diagnostics(written.diagnostics)
    sys.stderr.write(run.fleet.to_text(unreadable=False))
    print(f"wrote {len(written.files)} part file(s) under {out}", file=sys.stderr)
    print(written.counts.summary(), file=sys.stderr)
    return EXIT_USAGE if written.errors else EXIT_OK


def cmd_fleet_replay(args: argparse.Namespace) -> int:
    from nsim.fleet.jobs import fleet_replay
    from nsim.report import replay as replay_out
    from nsim.report.term import Painter

    config = args.host_config
    with ExitStack() as stack:
        client = _connect(args, stack)
        if client is None:
            return EXIT_USAGE
        try:
            with showing("fleet replay") as job:  # on a terminal, the 30 s lines are its note
                run = fleet_replay(client, args.patterns, config, fmt=args.format, year=args.year,
                                   progress=job.say if job.shown else _progress)
        except (OSError, TimeoutError) as exc:
            return _lost(exc)
    result = run.result
    _print_diagnostics(result.diagnostics)
    if result.errors and not result.counts.records:
        sys.stderr.write(run.fleet.to_text(unreadable=False))
        print(result.counts.summary(), file=sys.stderr)
        return EXIT_USAGE
    if args.to == "json":
        replay_out.write_json(result, sys.stdout, {"fleet": run.fleet.to_json()})
    else:
        replay_out.write_text(result, sys.stdout, quiet=args.quiet, paint=Painter(sys.stdout))
        sys.stdout.write(run.fleet.to_text())
    print(result.counts.summary(), file=sys.stderr)
    if result.errors:
        return EXIT_USAGE
    return EXIT_VIOLATIONS if result.violations else EXIT_OK
