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
    size leaves); 0: either (a restart of the service may change the reserved amounts)."""
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
    """Being deleted: once nova no longer counts it, it is gone for good."""


@dataclass(frozen=True)
class Reconciled:
    """The outcome of comparing a logged usage with the model.

    `residual` is what the model moves its baseline by to agree with the log; `explained`
    says whether something unseen accounts for it (else it is a violation), and `because`
    lists what (empty when the model already agreed)."""

    residual: float
    explained: bool
    because: tuple[str, ...]
    flipped: tuple[Maybe, ...] = ()
    sized: tuple[tuple[Change, float], ...] = ()


def reconcile(difference: float, changes: list[Change], maybes: list[Maybe]) -> Reconciled:
    """Explain `difference` (logged - model) by the pending changes and the maybes.

    Tries every choice of which maybes are counted (fewest flips first); what remains must
    be zero, or have a sign some pending change allows. A single pending change takes the
    remainder as its size."""
    ups = [c for c in changes if c.direction >= 0]
    downs = [c for c in changes if c.direction <= 0]
    options = maybes[:_MAX_SEARCH]
    best: Reconciled | None = None
    for flips in range(len(options) + 1):
        for chosen in itertools.combinations(options, flips):
            shift = sum(m.amount if not m.counted else -m.amount for m in chosen)
            rest = difference - shift
            if abs(rest) <= EPSILON:
                why = tuple(_flip_text(m) for m in chosen)
                return Reconciled(0.0, True, why + tuple(_zero_text(c) for c in changes),
                                  chosen, tuple((c, 0.0) for c in changes))
            movers = ups if rest > 0 else downs
            if movers and best is None:
                sized = ((movers[0], abs(rest)),) if len(changes) == 1 else ()
                why = tuple(_flip_text(m) for m in chosen) + tuple(
                    _size_text(c, abs(rest), len(movers)) for c in movers)
                best = Reconciled(rest, True, why, chosen, sized)
        if best is not None:
            return best
    if len(maybes) > _MAX_SEARCH:
        return Reconciled(difference, True, (f"{len(maybes)} failed builds nova may or may not "
                                             "count",))
    return Reconciled(difference, False, ())


def _flip_text(m: Maybe) -> str:
    state = "no longer counts" if m.counted else "counts"
    return f"nova {state} {m.what} ({m.amount:g}) [{m.where}]"


def _zero_text(c: Change) -> str:
    return f"{c.what} changed nothing here [{c.where}]"


def _size_text(c: Change, amount: float, among: int) -> str:
    if among == 1:
        return f"{c.what}: {amount:g} [{c.where}]"
    return f"{c.what}: part of {amount:g} shared by {among} changes [{c.where}]"
