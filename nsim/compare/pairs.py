"""Comparing two traces boot by boot: pairing, phase durations side by side, event sequences.

Boots pair by instance uuid where both traces have it, then in start order: first among
boots of the same flavor sizes and image, then whatever is left. A trace without a boot is
an error (NoBoots), not an empty comparison. Each pair gets its phases (seconds in A, in
B, B - A) and the events A has that B lacks (`missing`), B has that A lacks (`extra`), and
events both have in another order (`reordered`: common events outside the longest common
subsequence).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

import pandas as pd

from nsim.compare.boots import BootTrace, NoBoots, UnreadableLog, event_key, read
from nsim.logs.record import Diagnostic
from nsim.report.numbers import ms, seconds, whole_seconds
from nsim.report.term import Paint, plain

# Rows of the phase table: the boot's steps in the order they start, then the totals.
PHASES: tuple[str, ...] = ("claim", "network", "image_fetch", "convert", "overlay", "xml",
                           "domain_start", "resume", "spawn", "build")


@dataclass(frozen=True)
class PhaseRow:
    name: str
    a_seconds: float | None
    b_seconds: float | None

    @property
    def delta(self) -> float | None:
        if self.a_seconds is None or self.b_seconds is None:
            return None
        return self.b_seconds - self.a_seconds

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "a_seconds": ms(self.a_seconds),
                "b_seconds": ms(self.b_seconds), "delta": ms(self.delta)}


@dataclass
class PairDiff:
    """One boot of A next to its counterpart in B."""

    a: BootTrace
    b: BootTrace
    by: str
    phases: list[PhaseRow]
    missing: list[str]
    extra: list[str]
    reordered: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a.to_json(), "b": self.b.to_json(), "paired_by": self.by,
                "phases": [p.to_json() for p in self.phases], "missing": self.missing,
                "extra": self.extra, "reordered": self.reordered}


@dataclass
class DiffResult:
    a: str
    b: str
    pairs: list[PairDiff]
    unpaired: list[tuple[str, BootTrace]]

    def whole_seconds(self, side: str) -> bool:
        """Whether trace `side` ("a" or "b") stamps whole seconds."""
        boots = [getattr(p, side) for p in self.pairs] + [b for s, b in self.unpaired if s == side]
        return whole_seconds(r.timestamp for boot in boots for r in boot.records)

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "pairs": [p.to_json() for p in self.pairs],
                "unpaired": [{"side": side, **boot.to_json()} for side, boot in self.unpaired]}

    def to_dataframe(self) -> pd.DataFrame:
        """One row per pair and phase: pair, a/b host and uuid, phase, seconds, delta."""
        rows = [{"pair": i, "a_host": p.a.host, "a_uuid": p.a.uuid, "b_host": p.b.host,
                 "b_uuid": p.b.uuid, "phase": row.name, "a_seconds": row.a_seconds,
                 "b_seconds": row.b_seconds, "delta": row.delta}
                for i, p in enumerate(self.pairs) for row in p.phases]
        columns = ["pair", "a_host", "a_uuid", "b_host", "b_uuid", "phase", "a_seconds",
                   "b_seconds", "delta"]
        return pd.DataFrame(rows, columns=columns).astype(
            {"a_seconds": "float64", "b_seconds": "float64", "delta": "float64"})


def _seconds(boot: BootTrace, name: str) -> float | None:
    phase = boot.phases.get(name)
    return None if phase is None else phase.seconds


def _within(keys: list[str], budget: Counter[str]) -> list[str]:
    """`keys` in order, each kept only as often as `budget` allows (first ones first)."""
    left = Counter(budget)
    kept = []
    for key in keys:
        if left[key] > 0:
            left[key] -= 1
            kept.append(key)
    return kept


def sequence_diff(a: list[str], b: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(missing from B, extra in B, reordered) between two event-key sequences."""
    ca, cb = Counter(a), Counter(b)
    missing = list((ca - cb).elements())
    extra = list((cb - ca).elements())
    common = ca & cb
    fa, fb = _within(a, common), _within(b, common)
    matcher = SequenceMatcher(a=fa, b=fb, autojunk=False)
    in_order = Counter(k for block in matcher.get_matching_blocks()
                       for k in fa[block.a:block.a + block.size])
    reordered = list((Counter(fa) - in_order).elements())
    return sorted(missing), sorted(extra), sorted(reordered)


def compare_boots(a: BootTrace, b: BootTrace, by: str) -> PairDiff:
    missing, extra, reordered = sequence_diff([event_key(r) for r in a.records],
                                              [event_key(r) for r in b.records])
    phases = [PhaseRow(name, _seconds(a, name), _seconds(b, name)) for name in PHASES]
    return PairDiff(a, b, by, phases, missing, extra, reordered)


def pair(a: list[BootTrace], b: list[BootTrace]) -> tuple[list[tuple[BootTrace, BootTrace, str]],
                                                            list[tuple[str, BootTrace]]]:
    """Pairs by uuid first, then in order (same flavor and image first, then the rest)."""
    pairs: list[tuple[BootTrace, BootTrace, str]] = []
    b_left = list(b)
    a_left = []
    for boot in a:
        match = next((x for x in b_left if x.uuid == boot.uuid), None)
        if match is None:
            a_left.append(boot)
        else:
            b_left.remove(match)
            pairs.append((boot, match, "uuid"))
    for same in (lambda x, y: x.signature == y.signature, lambda x, y: True):
        rest = []
        for boot in a_left:
            match = next((x for x in b_left if same(boot, x)), None)
            if match is None:
                rest.append(boot)
            else:
                b_left.remove(match)
                pairs.append((boot, match, "order"))
        a_left = rest
    return pairs, [("a", boot) for boot in a_left] + [("b", boot) for boot in b_left]


def compare(a: str, b: str, year: int | None = None,
            on_diagnostic: Callable[[Diagnostic], None] | None = None,
            fmt: str = "auto") -> DiffResult:
    """Compare the boots of log `a` with those of log `b`. Both are read (`on_diagnostic` sees
    each problem of either); UnreadableLog when either cannot be read, NoBoots when either
    holds no boot."""
    boots_a, _, run_a = read(a, year, on_diagnostic, fmt)
    boots_b, _, run_b = read(b, year, on_diagnostic, fmt)
    if run_a.errors or run_b.errors:
        raise UnreadableLog(run_a.errors + run_b.errors)
    empty = list(dict.fromkeys(path for path, boots in ((a, boots_a), (b, boots_b)) if not boots))
    if empty:
        raise NoBoots(empty)
    pairs, unpaired = pair(boots_a, boots_b)
    return DiffResult(a, b, [compare_boots(x, y, by) for x, y, by in pairs], unpaired)


def to_text(result: DiffResult, paint: Paint = plain) -> str:
    """A table per pair, then the events that differ and the unpaired boots. Seconds are
    shown at each trace's resolution (whole seconds from whole-second stamps), B-A at the
    finer of the two. `paint` (nsim.report.term.Painter) styles headings and deltas."""
    whole_a, whole_b = result.whole_seconds("a"), result.whole_seconds("b")
    out = [f"A: {result.a}", f"B: {result.b}"]
    for i, p in enumerate(result.pairs, 1):
        out.append("\n" + paint(f"Pair {i} (by {p.by}): A {p.a.label()}  B {p.b.label()}  "
                                f"flavor {p.a.flavor or '?'}  image {p.a.image or '?'}", "heading"))
        out.append(f"  {'phase':<14}{'A s':>10}{'B s':>10}{'B-A s':>10}")
        for row in p.phases:
            delta = f"{seconds(row.delta, whole_a and whole_b, sign=True):>10}"
            if row.delta:
                delta = paint(delta, "slower" if row.delta > 0 else "faster")
            out.append(f"  {row.name:<14}{seconds(row.a_seconds, whole_a):>10}"
                       f"{seconds(row.b_seconds, whole_b):>10}{delta}")
        for what, keys in (("missing in B", p.missing), ("extra in B", p.extra),
                           ("reordered", p.reordered)):
            if keys:
                out.append(f"  {what}: {', '.join(keys)}")
    for side, boot in result.unpaired:
        out.append(f"\nUnpaired in {side.upper()}: {boot.label()} ({boot.outcome})")
    if result.unpaired:
        out.append(f"\n{len(result.pairs)} pairs, {len(result.unpaired)} unpaired boots.")
    return "\n".join(out) + "\n"
