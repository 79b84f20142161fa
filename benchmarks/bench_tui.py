"""Time to the first screen of `nsim tui`: a 1,000,000-line journal against a 1,000-line one.

    .venv/bin/python benchmarks/bench_tui.py [--lines N] [--small N] [--repeat K] [--full]

Builds two journald text logs (in a temporary directory) by repeating the seed boot
(sample_logs/seed-boot.journal) with new instance, request, port and image ids (the base
file name is the SHA-1 of the new image id, as nova names it) and stamps moved on by 20 s per
boot. Then, each in a fresh process, it opens the app headless (Textual's `run_test`,
120x36) and times from creating the session to the first screen painted with records: the
indexing of the rest goes on in the background. Each file is measured K times (default 5)
and the medians compared. With --full it also times indexing the whole large file.

The last line printed is `first_screen_ratio R`: large-file time / small-file time
(target: R <= 1.5, i.e. the first screen does not wait for the file to be read).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "sample_logs" / "seed-boot.journal"
YEAR = 2017
BOOT_SPACING = timedelta(seconds=20)
# Ids of the seed boot that each copy gets anew.
_INSTANCE = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
_REQUESTS = ("d9a23179-e16d-4016-9586-e68c3dfdf6a9", "9b9e116b-fa49-46b3-8c41-9bade624c334",
             "5e6f2a7b-3c4d-4e8f-9a0b-1c2d3e4f5a6b")
_PORT = "4c3d3a9e-7d5b-4d5e-9a39-0b3f6c1e2a10"
_IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
_SHA1 = hashlib.sha1(_IMAGE.encode()).hexdigest()


def _template() -> list[tuple[timedelta, str]]:
    """The seed's lines as (offset from the first stamp, text after the stamp)."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    first = datetime.strptime(f"{YEAR} {lines[0][:15]}", "%Y %b %d %H:%M:%S")
    return [(datetime.strptime(f"{YEAR} {line[:15]}", "%Y %b %d %H:%M:%S") - first, line[15:])
            for line in lines]


def write_journal(path: Path, min_lines: int) -> int:
    """Whole seed boots, with new ids and later stamps, until at least `min_lines` lines."""
    template = _template()
    start = datetime(YEAR, 6, 16, 13, 12, 52)
    count = boot = 0
    with open(path, "w", encoding="utf-8") as out:
        while count < min_lines:
            image = str(uuid.uuid4())
            swaps = [(_INSTANCE, str(uuid.uuid4())), (_PORT, str(uuid.uuid4())), (_IMAGE, image),
                     (_SHA1, hashlib.sha1(image.encode()).hexdigest()),
                     *((r, str(uuid.uuid4())) for r in _REQUESTS)]
            at = start + boot * BOOT_SPACING
            chunk = []
            for offset, rest in template:
                for old, new in swaps:
                    rest = rest.replace(old, new)
                chunk.append(f"{at + offset:%b %d %H:%M:%S}{rest}\n")
            out.writelines(chunk)
            count += len(chunk)
            boot += 1
    return count


def first_screen_child(path: str, full: bool) -> None:
    """In a fresh process: seconds from creating the session to the first painted screen."""
    from nsim.tui.app import NsimApp
    from nsim.tui.session import Session

    async def run() -> None:
        started = time.perf_counter()
        session = Session([path], year=YEAR)
        app = NsimApp(session)
        async with app.run_test(size=(120, 36)) as pilot:
            await app.first_screen.wait()
            assert app.first_screen_at is not None
            print(f"first_screen {app.first_screen_at - started:.4f}")
            if full:
                while not session.done.is_set():
                    await pilot.pause(0.5)
                print(f"indexed {len(session.store)} records in {time.perf_counter() - started:.1f}s, "
                      f"{len(session.timeline.checkpoints)} checkpoints "
                      f"({session.timeline.bytes / 2**20:.1f} MiB)")

    asyncio.run(run())


def measure(path: Path, full: bool = False) -> tuple[float, list[str]]:
    out = subprocess.run([sys.executable, __file__, "--child", str(path)] + (["--full"] if full else []),
                         check=True, capture_output=True, text=True).stdout.splitlines()
    seconds = next(float(line.split()[1]) for line in out if line.startswith("first_screen "))
    return seconds, [line for line in out if not line.startswith("first_screen ")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of the large journal")
    ap.add_argument("--small", type=int, default=1_000, help="lines of the small journal")
    ap.add_argument("--repeat", type=int, default=5, help="measurements per file")
    ap.add_argument("--full", action="store_true", help="also time indexing the whole large file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        first_screen_child(args.child, args.full)
        return 0
    with tempfile.TemporaryDirectory(prefix="nsim-bench-tui-") as tmp:
        small, large = Path(tmp) / "small.journal", Path(tmp) / "large.journal"
        t0 = time.perf_counter()
        n_small, n_large = write_journal(small, args.small), write_journal(large, args.lines)
        print(f"generated {n_small:,} and {n_large:,} lines "
              f"({large.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        times: dict[Path, list[float]] = {small: [], large: []}
        for _ in range(args.repeat):
            for path in (small, large):
                times[path].append(measure(path)[0])
        if args.full:
            for line in measure(large, full=True)[1]:
                print(line)
    t_small, t_large = statistics.median(times[small]), statistics.median(times[large])
    for name, path, lines in (("small", small, n_small), ("large", large, n_large)):
        shown = " ".join(f"{t:.3f}" for t in times[path])
        print(f"{name:<6} {lines:>9,} lines: first screen {statistics.median(times[path]):.3f}s "
              f"(runs: {shown})")
    print(f"first_screen_ratio {t_large / t_small:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
