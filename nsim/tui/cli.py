"""`nsim tui FILE...` and `nsim teach [FILE]`: the sub-commands that open the terminal UI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nsim.cli.common import add_host_config_arg, add_input_args, add_jobs_arg, add_log_options
from nsim.errors import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from nsim.tui.session import Session

SEED_YEAR = 2017
"""The seed boot (devstack, June 2017) has year-less journald stamps."""


def seed_path() -> Path:
    """The bundled seed boot: packaged beside the lessons, or in a source checkout's sample_logs/."""
    packaged = Path(__file__).resolve().parent / "lessons" / "seed-boot.journal"
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "sample_logs" / "seed-boot.journal"


def opened(session: Session) -> bool:
    """Open the session's inputs (nsim.tui.session.Session.open: before the app's threads);
    say on stderr, as `nsim parse` does, why a file cannot be read (missing, a directory, not
    a nova-compute log, stdin), and return whether all could be."""
    if "-" in session.paths:
        print("nsim: the terminal UI reads its keys from the terminal, so it cannot read a log "
              "from stdin; give a file", file=sys.stderr)
        return False
    errors = session.open()
    for error in errors:
        print(f"nsim: {error}", file=sys.stderr)
    return not errors


def cmd_tui(args: argparse.Namespace) -> int:
    from nsim.tui.app import NsimApp
    from nsim.tui.session import Session

    session = Session(args.files, year=args.year, fmt=args.format, config=args.host_config,
                      follow=args.follow, jobs=args.jobs)
    if not opened(session):
        return EXIT_USAGE
    NsimApp(session, lang=args.lang).run()
    return EXIT_OK


def cmd_teach(args: argparse.Namespace) -> int:
    from nsim.tui.app import NsimApp
    from nsim.tui.session import Session
    from nsim.tui.tour import LessonError, Tour, load

    try:
        lesson = load(args.lang)
    except LessonError as exc:
        print(f"nsim: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = args.file or str(seed_path())
    year = args.year if args.year is not None or args.file else SEED_YEAR
    session = Session([path], year=year, fmt=args.format)
    if not opened(session):
        return EXIT_USAGE
    NsimApp(session, Tour(lesson, session)).run()
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `tui` and `teach` to the `nsim` command."""
    from nsim.tui.lessons import languages  # a glob of the lesson folder: no model, no Textual

    p = sub.add_parser("tui", help="step through logs beside the host model (terminal UI)",
                       description="Open nova-compute logs in a terminal UI: the log record by "
                                   "record, and beside it the instance, host, image cache and "
                                   "violations exactly as the model has them at that record. "
                                   "Several files (hosts) are merged by time. Press ? for keys.")
    add_input_args(p)
    add_jobs_arg(p)
    add_host_config_arg(p)
    p.add_argument("--follow", action="store_true",
                   help="read what is appended to the files, as tail -f does (F toggles it)")
    p.add_argument("--lang", choices=languages(), default="en", help="language of the UI")
    p.set_defaults(func=cmd_tui)

    p = sub.add_parser("teach", help="a guided lesson over one boot (terminal UI)",
                       description="A guided lesson, step by step, over the bundled seed boot or "
                                   "your own boot log: each step shows the log line, what nova "
                                   "does then and why, and highlights the pane that changes. "
                                   "Keys: → next step, ← previous, ? all keys.")
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="a boot log (default: the bundled seed boot, a 2017 devstack)")
    p.add_argument("--lang", choices=languages(), default="en",
                   help="language of the lesson and the UI")
    add_log_options(p)
    p.set_defaults(func=cmd_teach)
