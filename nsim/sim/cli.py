"""`nsim simulate`: write the trace a scenario (or a real log's twin) would produce."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def cmd_simulate(args: argparse.Namespace) -> int:
    from nsim.sim.engine import simulate
    from nsim.sim.like import derive_scenario
    from nsim.sim.scenario import ScenarioError, dump_scenario, load_scenario

    if (args.scenario is None) == (args.like is None):
        print("nsim: simulate needs either SCENARIO or --like REAL_LOG", file=sys.stderr)
        return EXIT_USAGE
    if args.save_scenario and args.like is None:
        print("nsim: --save-scenario goes with --like", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.like is not None:
            scenario = derive_scenario(args.like, year=args.year)
            if args.save_scenario:
                Path(args.save_scenario).write_text(dump_scenario(scenario), encoding="utf-8")
        else:
            scenario = load_scenario(args.scenario)
    except (ScenarioError, ValueError) as exc:
        print(f"nsim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = simulate(scenario, args.output, seed=args.seed, stdout=sys.stdout)
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
    p.add_argument("--year", type=int, help="with --like: year of journald stamps without one")
    p.set_defaults(func=cmd_simulate)
