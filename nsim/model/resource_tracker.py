"""The resource tracker of one node (nova/compute/resource_tracker.py).

Usage is a baseline (reserved amounts and instances booted before the window, learnt
from the first observation) plus each live claim. Changes the log does not size and
instances nova may or may not count are kept apart (nsim.model.unseen) until the next
observed usage (a claim's `used`, an audit's free or used amounts) settles them.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsim.model.claims import RESOURCES, Claim, shortage
from nsim.model.config import HostConfig
from nsim.model.unseen import EPSILON, Change, Maybe, Reconciled, reconcile


@dataclass(frozen=True)
class ResourceView:
    """What `Final resource view` reports: totals and usage of the node."""

    phys_ram_mb: float | None
    used_ram_mb: float | None
    phys_disk_gb: float | None
    used_disk_gb: float | None
    total_vcpus: float | None
    used_vcpus: float | None


@dataclass(frozen=True)
class Observed:
    """A logged usage compared with the model (see ResourceTracker.observe)."""

    first: bool
    """The first observation of this resource: it sets the baseline."""
    model: float
    logged: float
    outcome: Reconciled


class ResourceTracker:
    """Totals, baseline usage, live claims and what is unseen, of one node.

    Per resource, an instance's share is in one place: `known` (counted, amount stated or
    inferred), `maybes` (known amount, counted or not), `absorbed` (inside the baseline,
    amount unknown, possibly 0), or arriving as a pending change."""

    def __init__(self, config: HostConfig) -> None:
        self.totals: dict[str, float | None] = {
            "memory": config.memory_mb, "disk": config.disk_gb, "vcpu": config.vcpus}
        self.baseline: dict[str, float] = {
            "memory": config.reserved_host_memory_mb,
            "disk": config.reserved_host_disk_mb / 1024,
            "vcpu": config.reserved_host_cpus,
        }
        self.baseline_known: dict[str, bool] = dict.fromkeys(RESOURCES, False)
        self.ratios: dict[str, float | None] = {
            "memory": config.ram_allocation_ratio, "disk": config.disk_allocation_ratio,
            "vcpu": config.cpu_allocation_ratio}
        self.claims: dict[str, Claim] = {}
        """Live claims as the log stated them (amounts may be None)."""
        self.known: dict[str, dict[str, float]] = {r: {} for r in RESOURCES}
        self.maybes: dict[str, dict[str, Maybe]] = {r: {} for r in RESOURCES}
        self.absorbed: dict[str, set[str]] = {r: set() for r in RESOURCES}
        self.pending: dict[str, list[Change]] = {r: [] for r in RESOURCES}
        self._arrivals: dict[str, set[str]] = {r: set() for r in RESOURCES}
        """The instances with a pending change that may grow usage (`_arriving`, without a
        scan of every pending change at each claim and its end)."""
        self.uncounted: set[str] = set()
        """Instances known to hold nothing on this node (refused, rescheduled, gone)."""

    # -- what the model counts ----------------------------------------------------------
    def used(self, resource: str) -> float:
        """Baseline plus live claims plus the uncertain instances taken as counted."""
        maybe = sum(m.amount for m in self.maybes[resource].values() if m.counted)
        return self.baseline[resource] + sum(self.known[resource].values()) + maybe

    def claimed(self, resource: str) -> float:
        """The live claims and counted uncertain instances (without the baseline)."""
        return self.used(resource) - self.baseline[resource]

    def amount(self, uuid: str, resource: str) -> float | None:
        """The amount the model counts for an instance, when it knows it."""
        if uuid in self.known[resource]:
            return self.known[resource][uuid]
        m = self.maybes[resource].get(uuid)
        return m.amount if m is not None else None

    def settled(self, resource: str) -> bool:
        """The baseline is bound and no unsized change is pending."""
        return self.baseline_known[resource] and not self.pending[resource]

    def limit(self, resource: str) -> float | None:
        """total x allocation ratio, when both are known (Stein-era claim limits)."""
        total, ratio = self.totals[resource], self.ratios[resource]
        return None if total is None or ratio is None else total * ratio

    def test(self, claim: Claim, limits: dict[str, float | None],
             free: dict[str, float] | None = None) -> list[str]:
        """nova's reasons why `claim` does not fit (empty when it fits). Free amounts the log
        states are used as they are; others come from the model, when it is settled."""
        reasons = []
        for resource in RESOURCES:
            requested = claim.amount(resource)
            limit = limits.get(resource)
            if requested is None or limit is None:
                continue
            if free is not None and resource in free:
                used = limit - free[resource]
            elif self.settled(resource):
                used = self.used(resource)
            else:
                continue
            reason = shortage(resource, requested, used, limit)
            if reason:
                reasons.append(reason)
        return reasons

    # -- transitions ---------------------------------------------------------------------
    def _holds(self, uuid: str, resource: str) -> bool:
        return (uuid in self.known[resource] or uuid in self.maybes[resource]
                or uuid in self.absorbed[resource] or self._arriving(uuid, resource))

    def _arriving(self, uuid: str, resource: str) -> bool:
        """A pending change of the instance may grow usage."""
        return uuid in self._arrivals[resource]

    def _unsized(self, uuid: str, resource: str, direction: int, what: str, where: str) -> None:
        self.pending[resource].append(Change(uuid, direction, what, where))
        if direction >= 0:
            self._arrivals[resource].add(uuid)

    def _forget(self, uuid: str, resource: str) -> None:
        """The instance's pending changes are settled otherwise."""
        self.pending[resource] = [c for c in self.pending[resource] if c.uuid != uuid]
        self._arrivals[resource].discard(uuid)

    def _set_pending(self, resource: str, changes: list[Change]) -> None:
        self.pending[resource] = changes
        self._arrivals[resource] = {c.uuid for c in changes if c.direction >= 0}

    def unlogged_claim(self, uuid: str, resource: str, where: str) -> None:
        """A build under way whose claim the log does not show, once usage is known: an
        arrival of unknown size."""
        self._unsized(uuid, resource, +1, f"claim of {uuid} (not in the log)", where)

    def instance_claim(self, uuid: str, claim: Claim, where: str = "") -> None:
        """Hold `claim` for the instance (replacing an earlier one). An amount the log does
        not state is a pending change, sized by the next observation."""
        self.drop_claim(uuid, where)
        self.claims[uuid] = claim
        self.uncounted.discard(uuid)
        what = f"claim of {uuid} (amount not logged)"
        for resource in RESOURCES:
            amount = claim.amount(resource)
            if amount is None:
                self._unsized(uuid, resource, +1, what, where)
            else:
                self.known[resource][uuid] = float(amount)

    def may_differ(self, uuid: str, resource: str, why: str, where: str) -> None:
        """A live claim whose usage nova may count differently from its logged amount."""
        self._unsized(uuid, resource, 0, f"{uuid}: {why}", where)

    def move_claim(self, uuid: str, claim: Claim, where: str = "") -> None:
        """A claim for a resize, migration or evacuation onto this node. nova's audit counts
        it while the move is in progress and ends it at a confirm or revert the log of this
        node need not show, so it stays uncertain."""
        self.drop_claim(uuid, where)
        self.claims[uuid] = claim
        self.uncounted.discard(uuid)
        for resource in RESOURCES:
            amount = claim.amount(resource)
            if amount is None:
                self._unsized(uuid, resource, 0, f"move claim of {uuid} (amount not logged)",
                              where)
            elif amount:
                self.maybes[resource][uuid] = Maybe(uuid, float(amount), True,
                                                    f"move claim of {uuid}", where)

    def size(self, uuid: str, claim: Claim) -> None:
        """Amounts learnt later (the guest XML's flavor) for a live claim."""
        if uuid not in self.claims:
            return
        for resource in RESOURCES:
            value = claim.amount(resource)
            if value is None or uuid in self.known[resource] or uuid in self.maybes[resource]:
                continue
            if self._arriving(uuid, resource):
                self._forget(uuid, resource)
            elif uuid in self.absorbed[resource]:
                self.absorbed[resource].discard(uuid)
                self.baseline[resource] -= value
            else:
                continue
            self.known[resource][uuid] = float(value)
        self.claims[uuid] = claim

    def drop_claim(self, uuid: str, where: str = "") -> Claim | None:
        """The claim is given back for good (aborted, re-scheduled away)."""
        claim = self.claims.pop(uuid, None)
        for resource in RESOURCES:
            self.known[resource].pop(uuid, None)
            self.maybes[resource].pop(uuid, None)
            if self._arriving(uuid, resource):
                self._forget(uuid, resource)
            elif uuid in self.absorbed[resource]:
                self.absorbed[resource].discard(uuid)
                self._unsized(uuid, resource, -1, f"{uuid} gave its claim back (amount not "
                                                  "known)", where)
        return claim

    def _presume(self, uuid: str) -> None:
        """An instance first seen failing or leaving claimed before the window: its share,
        if any, is inside the baseline."""
        if uuid in self.uncounted or uuid in self.claims:
            return
        for resource in RESOURCES:
            if not self._holds(uuid, resource):
                self.absorbed[resource].add(uuid)

    def abort(self, uuid: str, where: str, maybe_counted: bool) -> None:
        """A failed build gives its claim back. With `maybe_counted`, nova's audit may still
        count the instance until it is deleted (releases before Newton kept its host)."""
        self._presume(uuid)
        self.uncounted.add(uuid)
        if not maybe_counted:
            self.drop_claim(uuid, where)
            return
        self.claims.pop(uuid, None)
        for resource in RESOURCES:
            amount = self.known[resource].pop(uuid, None)
            if amount:
                self.maybes[resource][uuid] = Maybe(uuid, amount, False,
                                                    f"failed build {uuid}", where)
            elif self._arriving(uuid, resource):
                # Arrived with an amount not logged, and may or may not still count.
                self._forget(uuid, resource)
                self._unsized(uuid, resource, 0, f"failed build {uuid} (amount not logged)",
                              where)

    def release(self, uuid: str, where: str, what: str) -> None:
        """The instance leaves the node (deleted, moved away). nova gives its usage back at
        a step the log need not show, so until an audit settles it the instance may still
        be counted. One the model never saw was in the baseline: it leaves unsized."""
        self.claims.pop(uuid, None)
        for resource in RESOURCES:
            if uuid in self.known[resource]:
                amount = self.known[resource].pop(uuid)
                if amount:
                    self.maybes[resource][uuid] = Maybe(uuid, amount, True, f"{uuid} ({what})",
                                                        where, leaving=True)
            elif uuid in self.maybes[resource]:
                self.maybes[resource][uuid].leaving = True
            elif self._arriving(uuid, resource):
                self._forget(uuid, resource)
                self._unsized(uuid, resource, 0, f"{uuid} came and went (amount not logged)",
                              where)
            elif uuid in self.absorbed[resource] or uuid not in self.uncounted:
                self.absorbed[resource].discard(uuid)
                self._unsized(uuid, resource, -1, f"{uuid} {what}, size unknown", where)
        self.uncounted.add(uuid)

    def unsettle(self, resource: str, what: str, where: str) -> None:
        """Something unlogged may have changed usage either way (a service restart)."""
        self._unsized("", resource, 0, what, where)

    def observe(self, resource: str, logged: float, audit: bool = False) -> Observed:
        """Compare a logged usage with the model and move the model to it. An `audit` (the
        periodic task recounts usage from the database) no longer counts deleted instances
        it left out."""
        model = self.used(resource)
        if not self.baseline_known[resource]:
            # Whether nova counts the uncertain instances is folded into the baseline too.
            self.absorbed[resource].update(self.maybes[resource])
            self.maybes[resource].clear()
            self.baseline[resource] += logged - self.used(resource)
            self.baseline_known[resource] = True
            self._absorb(resource)
            return Observed(True, model, logged, Reconciled(logged - model, True, ()))
        pending = self.pending[resource]
        outcome = reconcile(logged - model, pending, list(self.maybes[resource].values()))
        if outcome.explained and outcome.unique:
            for m in outcome.flipped:
                m.counted = not m.counted
            if len(pending) == 1 and pending[0].uuid in self.claims:
                # The single change is a live claim's: the remainder is its amount (or what
                # the tracker counts beyond the logged one).
                uuid = pending[0].uuid
                self.known[resource][uuid] = self.known[resource].get(uuid, 0.0) + outcome.residual
                self._set_pending(resource, [])
        elif outcome.explained:
            # Several explanations: commit to none; what is uncertain joins the baseline.
            self.absorbed[resource].update(self.maybes[resource])
            self.maybes[resource].clear()
        # A departure nothing has shown yet may still come: nova drops a deleted instance's
        # usage at a step the log need not show, and the next audit recounts it.
        waiting = [c for c in self.pending[resource]
                   if c.direction < 0 and not audit and abs(outcome.residual) <= EPSILON]
        self._absorb(resource, waiting)
        self.baseline[resource] += logged - self.used(resource)
        if audit:
            for uuid, m in list(self.maybes[resource].items()):
                if m.leaving and not m.counted:
                    del self.maybes[resource][uuid]
        return Observed(False, model, logged, outcome)

    def _absorb(self, resource: str, waiting: list[Change] | None = None) -> None:
        """Pending changes are settled but those `waiting`: the instances still arriving are
        now inside the baseline, with amounts unknown. So are those leaving, as their
        departure need not have happened yet (a later line may show it: update_usage)."""
        waiting = waiting or []
        for change in self.pending[resource]:
            if change.uuid and change not in waiting:
                self.absorbed[resource].add(change.uuid)
        self._set_pending(resource, waiting)

    def view(self) -> ResourceView:
        def used(resource: str) -> float | None:
            return self.used(resource) if self.baseline_known[resource] else None

        return ResourceView(
            phys_ram_mb=self.totals["memory"], used_ram_mb=used("memory"),
            phys_disk_gb=self.totals["disk"], used_disk_gb=used("disk"),
            total_vcpus=self.totals["vcpu"], used_vcpus=used("vcpu"))
