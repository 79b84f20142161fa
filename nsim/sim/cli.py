"""`nsim simulate`: write the trace a scenario (or a real log's twin) would produce."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nsim.cli.common import DiagnosticPrinter, number_arg, year_arg
from nsim.errors import EXIT_OK, EXIT_USAGE
from nsim.report.outputs import refuse_input_as_output, replacing, replacing_path
from nsim.report.progress import reading, showing

if TYPE_CHECKING:
    from nsim.sim.engine import SimulationResult
    from nsim.sim.scenario import Scenario


def cmd_simulate(args: argparse.Namespace) -> int:
    from nsim.compare.boots import UnreadableLog
    from nsim.sim.engine import splits_output
    from nsim.sim.like import derive_scenario
    from nsim.sim.scenario import ScenarioError, dump_scenario, load_scenario

    if (args.scenario is None) == (args.like is None):
        print("nsim: simulate needs either SCENARIO or --like REAL_LOG", file=sys.stderr)
        return EXIT_USAGE
    if args.save_scenario and args.like is None:
        print("nsim: --save-scenario goes with --like", file=sys.stderr)
        return EXIT_USAGE
    inputs = [args.scenario, args.like]
    refuse_input_as_output([("-o", args.output), ("--save-scenario", args.save_scenario)],
                           inputs)
    printer = DiagnosticPrinter()
    notes: list[str] = []
    try:
        if args.like is not None:
            try:
                with reading("simulate --like: reading", [args.like]):
                    scenario = derive_scenario(args.like, year=args.year, on_diagnostic=printer,
                                               notes=notes)
            finally:
                printer.close()
            for note in notes:
                print(f"nsim: --like {args.like}: {note}", file=sys.stderr)
        else:
            scenario = load_scenario(args.scenario)
    except UnreadableLog:
        return EXIT_USAGE  # the printer said why, as file: message
    except (ScenarioError, ValueError) as exc:
        print(f"nsim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    split = splits_output(scenario)
    if args.output == "-" and split:
        print("nsim: -o -: several hosts with an oslo.log host write one file per host; "
              "give -o DIRECTORY", file=sys.stderr)
        return EXIT_USAGE
    if split:
        refuse_input_as_output(
            [("-o", str(Path(args.output) / name)) for name in _host_files(scenario)], inputs)
    if args.save_scenario:
        with replacing(args.save_scenario) as out:
            out.write("".join(f"# {note}\n" for note in notes) + dump_scenario(scenario))
    source = args.scenario if args.scenario is not None else f"--like {args.like}"
    try:
        with showing(f"simulate {source}"):
            result = _simulate_into(scenario, args.output, args.seed, split)
    except OverflowError:
        print(f"nsim: {source}: the simulated clock ran past the year 9999 (start earlier, "
              "or give shorter durations or fewer attempts); nothing written",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"{result.summary()} -> {', '.join(result.outputs)}", file=sys.stderr)
    return EXIT_OK


def _host_files(scenario: Scenario) -> list[str]:
    """The file each host writes into a directory output."""
    from nsim.sim.engine import host_file

    return [host_file(spec, name) for spec in scenario.hosts for name in spec.names()]


def _simulate_into(scenario: Scenario, output: str, seed: int | None,
                   split: bool) -> SimulationResult:
    """Simulate into temporary files beside the outputs, renamed into place once all is written."""
    from nsim.sim.engine import simulate

    if output == "-":
        return simulate(scenario, output, seed=seed, stdout=sys.stdout)
    if not split:
        with replacing_path(output) as tmp:
            result = simulate(scenario, tmp, seed=seed)
        result.outputs = [output]
        return result
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".nsim-", dir=directory) as tmp:
        result = simulate(scenario, tmp, seed=seed)
        for i, written in enumerate(result.outputs):
            final = directory / Path(written).name
            os.replace(written, final)
            result.outputs[i] = str(final)
    return result


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
    p.add_argument("--seed", type=number_arg("a whole number"), help="random seed (default: the scenario's)")
    p.add_argument("--save-scenario", metavar="FILE", help="with --like: write the scenario here")
    p.add_argument("--year", type=year_arg, help="with --like: year of journald stamps without one")
    p.set_defaults(func=cmd_simulate)
