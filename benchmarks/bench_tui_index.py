"""`nsim tui` on a 1,000,000-line journal: the whole background index against lnav's load of
the same file, the time every key takes to answer at the start, middle and end, and memory.

    .venv/bin/python benchmarks/bench_tui_index.py [--lines N] [--journal PATH] [--repeat K]
                                                   [--only KINDS] [--jobs N]

Builds the journal as bench_tui.py does (the seed boot repeated with new ids; at --journal
PATH it is kept, and reused when it is there), then, in the same run:
  - `lnav -n -c ';SELECT count(*) FROM all_logs' FILE`, K times (default 3), the median kept;
  - in a fresh process, the app headless (Textual's `run_test`, 120x36): from creating the
    session (opened before the app starts, as `nsim tui -j N` does: with --jobs 2, the
    default on two cores, a second process reads the lines) to the background index done;
    then keys pressed at the first, middle and last record: step, step back, page, Home,
    End, next/previous problem; `I` and `r` (this
    record's instance or request filter, on and off again); `f` with a level, a hidden level,
    a logger and a text (a regex over every record), then Esc; `t` to the first and the last
    stamp; `i` and Enter on the histogram's first and last bucket; `/` with a text every boot
    has and one no record has, then `n` and `N`; five steps back in a row at the end. A key
    is timed from its arrival until the app has handled it and all it led to and has drawn
    the screen again (a prompt's key: its Enter, the prompt filled in and drawn beforehand;
    the histogram's: Enter, its bucket highlighted and drawn), three times, the median kept.
    A filter or search that goes on between keys (`nsim.tui.background`) is timed until it
    has answered and the screen is drawn, then a step (`j meanwhile`) while it goes on, and
    apart, when it was done. Then the peak RSS. --only times some kinds of keys (GROUPS).
The last lines printed are the ratios (targets of issue #12):
  `index_vs_lnav R` (index wall ÷ lnav wall; target <= 10), `worst_app_ms M` (the slowest
  key's own part: the app's actions and its prompts' answers, the model at the record and the
  panes filled, without Textual's part: its screens, layout and drawing), `worst_key_ms M`
  (the slowest key, all parts; target <= 100) and `memory_vs_file R` (peak RSS of the
  indexing process ÷ the file's size; target <= 2).

Measured on the 2-core machine, shared with other jobs (so each figure moves by tens of per
cent from run to run), 1,000,066 lines (606,423 records), 249 MB, lnav 1.0-2.5 s:
  before (checkpoints: the whole models pickled; keys timed with Pilot.press, which adds about
  40 ms): index 61-137 s (index_vs_lnav 56), a step back at the end 2.3-6.2 s, End from the
  start 10.4 s (worst_key_ms 10420), peak RSS 472-578 MB (memory_vs_file 1.9-2.3);
  then (checkpoints of what changed; host gauges kept within their width): index 99 s
  (index_vs_lnav 70 against lnav's 1.43 s that run; the parser takes about two thirds of it,
  the model a sixth), 1,920 checkpoints; every step, step back, page and problem key at the
  start, middle and end 17-92 ms; End from the start 294 ms (its model part 222 ms);
  peak RSS 355 MB (memory_vs_file 1.42). With every key of this list that run of the code
  measured (index 97 s): an instance or request filter 0.5 s, a level or logger filter
  0.5-2.9 s, a text filter 1.9-3.9 s, a search no record answers 1.0-3.5 s (each `n` too), go
  to the last stamp 1.3-2.0 s, the histogram 0.4-0.6 s to open and 1.3-3.3 s to its last
  bucket, End 1.8-2.0 s from the start or middle and each step back at the end 1.0-2.2 s (the
  last checkpoint had fallen 13,000 records before the end), worst_key_ms 3931, peak RSS
  484 MB (memory_vs_file 1.94);
  after (indexes of the columns kept while indexing, a checkpoint at the end, whole maps at a
  quarter's changes, held locks found undecoded, long filters and searches between keys),
  two runs: index 65-67 s (index_vs_lnav 65-66; the parser's share, unchanged here),
  2,246-2,369 checkpoints; the app's own part of every key 1-65 ms at the median (78 ms once,
  a logger filter at the end in a run where others loaded the machine; a jump from the middle
  to the end costs 45 ms of model restore, the rest of it the panes); all keys at the median
  11-98 ms but those that close a prompt or the histogram, where Textual's part alone is 30-160
  ms: `t` to the last stamp 104-183 ms, Enter on the histogram's last bucket 111-222 ms, a
  logger or hidden-level filter 62-136 ms, `/` with a near hit 51-152 ms; a text filter or a
  search no record answers: answered in 26-105 ms (its app part 21-22 ms), a step meanwhile
  17-147 ms, the filter applied or the search over 0.9-1.2 s after the key; worst_app_ms 78,
  worst_key_ms 222 (`i` last bucket at the middle); peak RSS 413-419 MB (memory_vs_file
  1.66-1.68: the indexes, and the whole maps kept more often);
  then (the prompts, the histogram and the filters list widgets over the panes, not screens
  pushed over them, nsim.tui.prompt; the footer rebuilt only when its keys change; the
  status drawn without a layout; a pane's new height without Textual's second layout a frame
  later; a prompt's text and the highlighted bucket drawn before the Enter is timed), on a
  quiet machine (index 64 s, lnav 1.06 s, 1,980 checkpoints): every key's app part 1-63 ms at
  the median (worst_app_ms 63, `t` to the last stamp from the middle); all keys 13-100 ms at
  the median (half under 37 ms) but the four jumps to the last stamp from the start or the
  middle: `t` 133-144 ms, Enter on the histogram's last bucket 107-111 ms (their app part
  28-63 ms, the model restored at the end; End from the start, the same jump without a
  question, 100 ms); opening a prompt 21-24 ms; closing one: a logger or hidden-level filter
  47-71 ms (app 16-35), `/` with a near hit 37-77 ms, `t` to the first stamp 24-48 ms, Enter on
  the first bucket 26-84 ms, the histogram 48-54 ms to open; a text filter or a search no
  record answers answered in 39-42 ms, a step meanwhile 51-76 ms, done 0.9-1.1 s after the
  key; worst_key_ms 144 (`t` last stamp at the middle); peak RSS 370 MB (memory_vs_file 1.48).
  Under load (others' jobs: index 118 s, lnav 2.6 s) the same code: 18 of 101 keys over
  100 ms, End too (161-202 ms), worst_key_ms 258. On the 200k-line journal (`t` and `i` at the
  middle, 10 runs each, main and this code before the pane change alternating, both under
  that load) the median of the keys that close a question went from 157-179 ms to 103-126 ms
  (`t` on the same second 111 -> 57, Esc on the histogram 70 -> 40), opening a prompt from
  69-76 ms to 43-51 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_tui import YEAR, write_journal
from bench_vs_lnav import lnav_command, wall

from nsim.cli.common import default_jobs

KEYS = ("j", "k", "pagedown", "pageup", "home", "end", "e", "E")
"""Keys pressed at each position (a key that cannot move, as k at the first record, still
answers)."""
FILTERS = ("level WARNING", "!level DEBUG", "logger nova.virt", "lifecycle")
"""Filters set with `f` at each position (then cleared with Esc): a level, a level hidden, a
logger and its children, a text (a regex over every record)."""
SEARCHES = ("VM Resumed", "no such text")
"""Searches at each position, then `n` and `N`: a message every boot has, and a text that no
record has (the whole store is searched)."""
APP_CALLBACKS = ("_show", "_filtered", "_removed", "_timed", "_dated", "_searched",
                 "on_log_pane_moved")
"""The app's methods besides its actions that answer a key (the prompts' and lists' answers)."""
GROUPS = ("moves", "here", "filters", "times", "histogram", "searches", "back")
"""The kinds of keys (--only times some of them): KEYS, `I` and `r`, FILTERS, `t`, `i`,
SEARCHES, the steps back in a row at the end."""
BACK_IN_A_ROW = 5
TRIALS = 3
"""Each key is timed this many times at each place; the median is kept (the machine may be
shared: a single time can be another process's)."""


def _lnav(path: Path, repeat: int) -> float:
    return wall(lnav_command(str(path)), repeat)[0]


def _app_part(app: Any, shown: list[float], handled: list[float]) -> None:
    """Time the app's own part of every key: its actions, the callbacks of its prompts and
    lists, and the model and panes for the record (`_show`); nested calls count once.
    `handled`: when the last of them returned."""
    depth = [0]

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1
                if not depth[0]:
                    handled[0] = time.perf_counter()
                    shown[0] += handled[0] - t0
        return run

    for name in dir(type(app)):
        if name.startswith("action_") or name in APP_CALLBACKS:
            setattr(app, name, timed(getattr(app, name)))


def child(path: str, only: set[str], jobs: int) -> None:
    """In a fresh process: index `path` in the app (opened first, as `nsim tui -j jobs` does),
    press the keys of the `only` groups; one JSON line of figures."""
    import resource

    from textual import events
    from textual.widgets import Input

    from nsim.tui.app import NsimApp
    from nsim.tui.session import Session

    async def run() -> dict[str, object]:
        started = time.perf_counter()
        session = Session([path], year=YEAR, jobs=jobs)
        session.open()
        app = NsimApp(session)
        keys: list[tuple[str, str, float, float]] = []
        done: list[tuple[str, str, float]] = []
        shown, handled = [0.0], [0.0]
        _app_part(app, shown, handled)
        async with app.run_test(size=(120, 36)) as pilot:
            while not session.done.is_set():
                await asyncio.sleep(0.05)
            indexed = time.perf_counter() - started
            await pilot.pause()
            store = session.store

            async def press(where: str, key: str, label: str | None = None,
                            meanwhile: str | None = None, wait: bool = True) -> None:
                """From the key's arrival until the app and its widgets have handled it and
                all it led to, and the screen is drawn again (Pilot.press itself waits for
                20 ms periods of idleness, too coarse to time a key by)."""
                before = app.view.pos
                shown[0] = 0.0
                t0 = time.perf_counter()
                app.post_message(events.Key(key, key if len(key) == 1 else None))
                while True:
                    await pilot._wait_for_screen()
                    pumps = (app, *app.screen.walk_children(with_self=True))
                    if all(pump._message_queue.empty() for pump in pumps):
                        break
                    if app.background.busy and handled[0] > t0:
                        break  # answered; the rest goes on between keys (the status says so)
                app.screen._on_timer_update()
                keys.append((where, label or key, time.perf_counter() - t0, shown[0]))
                if wait and app.background.busy:  # a filter or search going on between keys
                    if meanwhile is not None:  # a key while it goes on
                        await press(where, meanwhile, f"{meanwhile} meanwhile", wait=False)
                    while app.background.busy:
                        await asyncio.sleep(0.005)
                    done.append((where, label or key, time.perf_counter() - t0))
                await pilot.pause()
                moved = {"j": before + 1 < len(app.view), "k": before > 0}.get(key) if wait else None
                assert moved is None or (app.view.pos != before) == moved, (key, before)

            async def answer(where: str, key: str, text: str, label: str) -> None:
                """Open the prompt of `key` (timed as `key`), fill it in, time the Enter (and a
                step while what it asked for goes on between keys)."""
                await press(where, key)
                field = app.focused
                assert isinstance(field, Input), field
                field.value = text
                await pilot.pause()  # drawn as typed: the typing keys' part, not Enter's
                await press(where, "enter", label, meanwhile="j")

            async def at(index: int) -> None:
                app._set_filters([])
                app.view.go_to(index)
                app._show()
                await pilot.pause()

            def stamp(index: int) -> str:
                rec = store.get(index)
                assert rec.timestamp is not None
                return f"{rec.timestamp:%Y-%m-%d %H:%M:%S}"

            count = len(store)
            places = (("start", 0), ("middle", count // 2), ("end", count - 1))
            for _ in range(TRIALS):
                for where, index in places:
                    for key in KEYS if "moves" in only else ():
                        await at(index)
                        await press(where, key)
                    for key, name in (("I", "instance"), ("r", "request")) if "here" in only else ():
                        await at(index)
                        await press(where, key, f"{key} {name} on")
                        await press(where, key, f"{key} {name} off")
                    for text in FILTERS if "filters" in only else ():
                        await at(index)
                        await answer(where, "f", text, f"f {text}")
                        await press(where, "escape", "Esc clears")
                    for target in (0, count - 1) if "times" in only else ():
                        await at(index)
                        await answer(where, "t", stamp(target), f"t {('first', 'last')[bool(target)]}")
                    for bucket in ("first", "last") if "histogram" in only else ():
                        await at(index)
                        await press(where, "i")
                        options = app.histogram
                        assert app.focused is options
                        options.highlighted = 0 if bucket == "first" else options.option_count - 1
                        await pilot.pause()  # drawn as moved: the arrow keys' part
                        await press(where, "enter", f"i {bucket} bucket")
                    for text in SEARCHES if "searches" in only else ():
                        await at(index)
                        await answer(where, "slash", text, f"/ {text}")
                        await press(where, "n", f"n / {text}")
                        await press(where, "N", f"N / {text}")
                await at(count - 1)
                for n in range(1, BACK_IN_A_ROW + 1 if "back" in only else 1):
                    await press(f"end, back #{n}", "k")
        return {"indexed": indexed, "records": count, "keys": keys, "done": done,
                "checkpoints": len(session.timeline.checkpoints),
                "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "reader_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}

    print(json.dumps(asyncio.run(run())))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of the journal")
    ap.add_argument("--journal", type=Path, help="build the journal here and keep it")
    ap.add_argument("--repeat", type=int, default=3, help="lnav runs (the median is kept)")
    ap.add_argument("--only", default=",".join(GROUPS),
                    help=f"time only these kinds of keys, comma-separated (of {','.join(GROUPS)})")
    ap.add_argument("--jobs", type=int, default=default_jobs(),
                    help="as nsim tui -j (default: 2 where there are two cores)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    only = set(args.only.split(","))
    if only - set(GROUPS):
        ap.error(f"--only: not a kind of keys: {','.join(sorted(only - set(GROUPS)))}")
    if args.child:
        child(args.child, only, args.jobs)
        return 0
    with tempfile.TemporaryDirectory(prefix="nsim-bench-tui-") as tmp:
        path = args.journal or Path(tmp) / "large.journal"
        if not path.exists():
            write_journal(path, args.lines)
        size = path.stat().st_size
        with open(path, "rb") as journal:
            lines = sum(block.count(b"\n") for block in iter(lambda: journal.read(1 << 20), b""))
        print(f"journal {path}: {lines:,} lines, {size / 1e6:.0f} MB")
        lnav_s = _lnav(path, args.repeat)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), "--only", args.only,
                              "--jobs", str(args.jobs)],
                             check=True, capture_output=True, text=True).stdout
    got = json.loads(out.splitlines()[-1])
    print(f"lnav -n (load, count): {lnav_s:.2f} s")
    print(f"nsim tui index:        {got['indexed']:.1f} s ({got['records']:,} records, "
          f"{got['checkpoints']:,} checkpoints)")
    trials: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for where, key, seconds, model in got["keys"]:
        trials.setdefault((where, key), []).append((seconds, model))
    medians = {place: statistics.median(t for t, _ in times) for place, times in trials.items()}
    models = {place: statistics.median(m for _, m in times) for place, times in trials.items()}
    print("key at place: median ms (runs); of which the app's own part (the rest: Textual's)")
    for (where, key), seconds in medians.items():
        shown = " ".join(f"{t * 1000:.0f}" for t, _ in trials[where, key])
        print(f"  {key:<20} at {where:<15} {seconds * 1000:7.1f} ms ({shown}); app "
              f"{models[where, key] * 1000:7.1f} ms")
    finished: dict[tuple[str, str], list[float]] = {}
    for where, key, seconds in got["done"]:
        finished.setdefault((where, key), []).append(seconds)
    if finished:
        print("answered at once, done between keys: median ms from the key (runs)")
    for (where, key), times in finished.items():
        shown = " ".join(f"{t * 1000:.0f}" for t in times)
        print(f"  {key:<20} at {where:<15} {statistics.median(times) * 1000:7.1f} ms ({shown})")
    worst = max(medians.items(), key=lambda item: item[1])
    worst_model = max(models.items(), key=lambda item: item[1])
    print(f"peak RSS {got['peak_rss'] / 1e6:.0f} MB (the line reader's process, -j 2: "
          f"{got['reader_rss'] / 1e6:.0f} MB, mostly pages it shares with the index's)")
    print(f"index_vs_lnav {got['indexed'] / lnav_s:.1f}")
    print(f"worst_app_ms {worst_model[1] * 1000:.0f} ({worst_model[0][1]} at {worst_model[0][0]})")
    print(f"worst_key_ms {worst[1] * 1000:.0f} ({worst[0][1]} at {worst[0][0]})")
    print(f"memory_vs_file {got['peak_rss'] / size:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
