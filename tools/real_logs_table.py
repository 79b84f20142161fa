"""The README's table of real logs tried: source, release, lines, typed %, violations, boots.

Run by hand after a change to the parser, catalog or replay (`tests/replay/test_real_logs.py`
checks that the README's table is current):

    .venv/bin/python tools/real_logs_table.py [--write] [REAL_LOGS_DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from nsim.logs.reader import ParseRun
from nsim.replay.run import replay
from nsim.report.coverage import typed_share

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- real-logs:start -->", "<!-- real-logs:end -->"
_ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \| [^|]* \| ([^|]+) \|")


def origins(real: Path) -> dict[str, tuple[str, str]]:
    """(origin, release) of each log, from the real-logs folder's own README table."""
    out = {}
    for line in (real / "README.md").read_text().splitlines():
        m = _ROW.match(line)
        if m:
            out[m.group(1)] = (m.group(2).strip(), m.group(3).strip())
    return out


def row(path: Path, origin: str, release: str) -> str:
    run = ParseRun([str(path)])
    typed, story = typed_share(run)
    result = replay([str(path)])
    boots = [i for h in result.hosts.values() for i in h.instances.values() if i.built_here]
    outcomes = Counter(i.outcome.value for i in boots)
    told = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "none"
    moves = sum(1 for h in result.hosts.values() for i in h.instances.values()
                if i.operation == "move")
    if moves:
        told += f"; {moves} move claim(s)"
    share = f"{100 * typed / story:.1f}% of {story}" if story else "no story records"
    lines = sum(1 for _ in path.open("rb"))
    return (f"| `{path.name}` | {origin} | {release} | {lines:,} | {share} | "
            f"{len(result.violations)} | {len(boots)} ({told}) |")


def table(real: Path) -> str:
    known = origins(real)
    rows = [row(p, *known.get(p.name, ("?", "?"))) for p in sorted(real.glob("*.log"))]
    head = ["| log | source | release | lines | typed (story records) | violations | boots found |",
            "|---|---|---|---|---|---|---|"]
    return "\n".join(head + rows)


def section(real: Path) -> str:
    return f"{START}\n{table(real)}\n{END}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", default=str(ROOT.parent / "shared" / "real-logs"))
    parser.add_argument("--write", action="store_true", help="rewrite the README's table")
    args = parser.parse_args(argv)
    new = section(Path(args.real))
    if not args.write:
        print(new)
        return 0
    text = README.read_text()
    if START not in text:
        print(f"{README}: no {START} marker", file=sys.stderr)
        return 1
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    README.write_text(before + new + after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
