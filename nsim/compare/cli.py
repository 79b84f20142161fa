"""`nsim diff`: compare the boots of two traces, as text, JSON or a timeline plot."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nsim.cli.common import DiagnosticPrinter, add_log_options, add_output_form
from nsim.compare import PLOT_SIZES
from nsim.errors import EXIT_OK, EXIT_USAGE
from nsim.report.outputs import refuse_input_as_output, replacing_path


def cmd_diff(args: argparse.Namespace) -> int:
    from nsim.compare.boots import NoBoots, UnreadableLog
    from nsim.compare.pairs import compare, to_text
    from nsim.compare.plot import plot
    from nsim.report.term import Painter

    refuse_input_as_output([("--plot", args.plot)], [args.a, args.b])
    printer = DiagnosticPrinter()
    try:
        result = compare(args.a, args.b, fmt=args.format, year=args.year,
                         on_diagnostic=printer)
    except UnreadableLog:
        return EXIT_USAGE  # the printer said why, as file: message
    except NoBoots as exc:
        for error in exc.errors:
            print(f"nsim: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        printer.close()
    if args.to == "json":
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_text(result, paint=Painter(sys.stdout)))
    if args.plot:
        with replacing_path(args.plot) as tmp:
            plot(result, tmp, size=args.plot_size)
        print(f"nsim: timeline written to {args.plot}", file=sys.stderr)
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add `nsim diff` to the `nsim` command."""
    p = subparsers.add_parser(
        "diff", help="compare the boots of two traces phase by phase",
        description="Pair the boots of two nova-compute logs (by instance uuid, else by order, "
                    "flavor and image) and show each pair's phase durations side by side with "
                    "their deltas, plus missing, extra and reordered events. Problems in the "
                    "logs are reported on stderr as file:line: what; exit 2 when a log cannot "
                    "be read or holds no boot.")
    p.add_argument("a", metavar="A", help="first log (e.g. the real one)")
    p.add_argument("b", metavar="B", help="second log (e.g. the simulated twin)")
    add_output_form(p)
    p.add_argument("--plot", metavar="OUT.png", help="draw the timeline into this PNG")
    p.add_argument("--plot-size", choices=PLOT_SIZES, default="auto",
                   help="auto: the height grows with the boots; slide: 16:9 for a presentation")
    add_log_options(p)
    p.set_defaults(func=cmd_diff)
