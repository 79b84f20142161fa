"""`nsim simulate`: write the trace a scenario (or a real log's twin) would produce."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nsim.cli import EXIT_OK, EXIT_USAGE, DiagnosticPrinter, year_arg


def cmd_simulate(args: argparse.Namespace) -> int:
    from nsim.compare.boots import UnreadableLog
    from nsim.sim.engine import simulate, splits_output
    from nsim.sim.like import derive_scenario
    from nsim.sim.scenario import ScenarioError, dump_scenario, load_scenario

    if (args.scenario is None) == (args.like is None):
        print("nsim: simulate needs either SCENARIO or --like REAL_LOG", file=sys.stderr)
        return EXIT_USAGE
    if args.save_scenario and args.like is None:
        print("nsim: --save-scenario goes with --like", file=sys.stderr)
        return EXIT_USAGE
    printer = DiagnosticPrinter()
    try:
        if args.like is not None:
            notes: list[str] = []
            try:
                scenario = derive_scenario(args.like, year=args.year, on_diagnostic=printer,
                                           notes=notes)
            finally:
                printer.close()
            for note in notes:
                print(f"nsim: --like {args.like}: {note}", file=sys.stderr)
            if args.save_scenario:
                comments = "".join(f"# {note}\n" for note in notes)
                Path(args.save_scenario).write_text(comments + dump_scenario(scenario),
                                                    encoding="utf-8")
        else:
            scenario = load_scenario(args.scenario)
    except UnreadableLog:
        return EXIT_USAGE  # the printer said why, as file: message
    except (ScenarioError, ValueError) as exc:
        print(f"nsim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output == "-" and splits_output(scenario):
        print("nsim: -o -: several hosts with an oslo.log host write one file per host; "
              "give -o DIRECTORY", file=sys.stderr)
        return EXIT_USAGE
    source = args.scenario if args.scenario is not None else f"--like {args.like}"
    try:
        result = simulate(scenario, args.output, seed=args.seed, stdout=sys.stdout)
    except OverflowError:
        print(f"nsim: {source}: the simulated clock ran past the year 9999 (start earlier, "
              "or give shorter durations or fewer attempts); the trace is cut there",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"{result.summary()} -> {', '.join(result.outputs)}", file=sys.stderr)
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add `nsim simulate` to the `nsim` command."""
    p = subparsers.add_parser(
        "simulate", help="write the nova-compute log a scenario would produce",
        description="Simulate boots on compute hosts (a TOML scenario, or the twin of a real "
                    "log with --like) and write the trace each host's nova release would log. "
                    "Several hosts with any oslo.log host: OUT is a directory.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario TOML file")
    p.add_argument("--like", metavar="REAL_LOG", help="derive the scenario from this log")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="trace file (- = stdout), or directory for several oslo hosts")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--save-scenario", metavar="FILE", help="with --like: write the scenario here")
    p.add_argument("--year", type=year_arg, help="with --like: year of journald stamps without one")
    p.set_defaults(func=cmd_simulate)
