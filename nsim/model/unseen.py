"""What the log does not show about usage: changes of unknown size and instances nova may count.

A replay starts with usage it cannot see (reserved amounts, instances booted before the
window) and meets changes the log does not size: a claim logged without amounts (INFO
logs from Train on), an instance first seen mid-life and then deleted, a failed build
whose aborted claim the periodic audit may count again until the instance is deleted
(nova before Newton kept `instance.host` on an aborted build). Each observed usage is
reconciled against these; only a difference nothing unseen can explain is a violation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

# Exhaustive search over which uncertain instances nova counts, up to this many of them.
_MAX_SEARCH = 10
EPSILON = 0.01


@dataclass(frozen=True)
class Change:
    """A change of one resource's usage whose amount the log does not state."""

    uuid: str
    direction: int
    """+1: usage grows (a claim without amounts); -1: it shrinks (an instance of unknown
    size leaves); 0: either (a restart may change the reserved amounts; a claim the tracker
    may count differently from its logged amount)."""
    what: str
    where: str


@dataclass
class Maybe:
    """An instance of known size that nova may or may not count at the next observation."""

    uuid: str
    amount: float
    counted: bool
    what: str
    where: str
    leaving: bool = False
    """Being deleted: once an audit no longer counts it, it is gone for good."""


@dataclass(frozen=True)
class Reconciled:
    """The outcome of comparing a logged usage with the model.

    `explained` says whether something unseen accounts for the difference (else it is a
    violation) and `because` lists what. When the explanation is `unique`, `flipped` are
    the maybes whose counting changes and `residual` what is left for the pending changes
    (a single one takes it as its size); otherwise nothing is committed."""

    residual: float
    explained: bool
    because: tuple[str, ...]
    unique: bool = True
    flipped: tuple[Maybe, ...] = ()


def reconcile(difference: float, changes: list[Change], maybes: list[Maybe]) -> Reconciled:
    """Explain `difference` (logged - model) by the pending changes and the maybes.

    Tries every choice of which maybes are counted. A choice that leaves nothing over is an
    exact explanation; otherwise a remainder whose sign some pending change allows. The
    explanation is unique when there is one exact choice and no pending change, or one
    pending change and no maybe."""
    ups = [c for c in changes if c.direction >= 0]
    downs = [c for c in changes if c.direction <= 0]
    if len(maybes) > _MAX_SEARCH:
        return Reconciled(difference, True, (f"{len(maybes)} instances nova may or may not "
                                             "count",), unique=False)
    exact: list[tuple[Maybe, ...]] = []
    loose: list[tuple[tuple[Maybe, ...], float]] = []
    for flips in range(len(maybes) + 1):
        for chosen in itertools.combinations(maybes, flips):
            shift = sum(m.amount if not m.counted else -m.amount for m in chosen)
            rest = difference - shift
            if abs(rest) <= EPSILON:
                exact.append(chosen)
            elif ups if rest > 0 else downs:
                loose.append((chosen, rest))
    if not exact and not loose:
        return Reconciled(difference, False, ())
    if exact and not changes:
        chosen = exact[0]
        return Reconciled(0.0, True, tuple(_flip_text(m) for m in chosen), len(exact) == 1,
                          chosen)
    chosen, rest = (exact[0], 0.0) if exact else loose[0]
    movers = ups if rest > 0 else downs if rest < 0 else changes
    why = tuple(_flip_text(m) for m in chosen) + tuple(
        _size_text(c, abs(rest), len(movers)) for c in movers)
    unique = len(changes) == 1 and not maybes
    return Reconciled(rest, True, why, unique, chosen if unique else ())


def _flip_text(m: Maybe) -> str:
    state = "no longer counts" if m.counted else "counts"
    return f"nova {state} {m.what} ({m.amount:g}) [{m.where}]"


def _size_text(c: Change, amount: float, among: int) -> str:
    if among == 1:
        return f"{c.what}: {amount:g} [{c.where}]"
    return f"{c.what}: part of {amount:g} shared by {among} changes [{c.where}]"
