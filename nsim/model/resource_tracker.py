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
    """Totals, baseline usage, live claims and what is unseen, of one node."""

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
        self.amounts: dict[str, dict[str, float]] = {}
        """Per instance, the amounts the model counts (stated, or inferred from usage)."""
        self.uncounted: set[str] = set()
        """Instances known to hold nothing on this node (refused, rescheduled, gone)."""
        self.pending: dict[str, list[Change]] = {r: [] for r in RESOURCES}
        self.maybes: dict[str, dict[str, Maybe]] = {r: {} for r in RESOURCES}
        self._claimed: dict[str, float] = dict.fromkeys(RESOURCES, 0.0)

    # -- what the model counts ----------------------------------------------------------
    def used(self, resource: str) -> float:
        """Baseline plus live claims plus the uncertain instances taken as counted."""
        maybe = sum(m.amount for m in self.maybes[resource].values() if m.counted)
        return self.baseline[resource] + self._claimed[resource] + maybe

    def claimed(self, resource: str) -> float:
        """The live claims and counted uncertain instances (without the baseline)."""
        return self.used(resource) - self.baseline[resource]

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
    def _add(self, uuid: str, amounts: dict[str, float], sign: int) -> None:
        for resource, value in amounts.items():
            self._claimed[resource] += sign * value

    def instance_claim(self, uuid: str, claim: Claim, where: str = "") -> None:
        """Hold `claim` for the instance (replacing an earlier one). An amount the log does
        not state is a pending change, sized by the next observation."""
        self.drop_claim(uuid, where)
        self.claims[uuid] = claim
        self.uncounted.discard(uuid)
        known = {r: float(a) for r in RESOURCES if (a := claim.amount(r)) is not None}
        self.amounts[uuid] = known
        self._add(uuid, known, +1)
        for resource in RESOURCES:
            if resource not in known:
                self.pending[resource].append(
                    Change(uuid, +1, f"claim of {uuid} (amount not logged)", where))

    def may_differ(self, uuid: str, resource: str, why: str, where: str) -> None:
        """A live claim whose usage nova may count differently from its logged amount."""
        self.pending[resource].append(Change(uuid, 0, f"{uuid}: {why}", where))

    def move_claim(self, uuid: str, claim: Claim, where: str = "") -> None:
        """A claim for a resize, migration or evacuation onto this node. nova's audit counts
        it while the move is in progress and ends it at a confirm or revert the log of this
        node need not show, so it stays uncertain."""
        self.drop_claim(uuid, where)
        self.claims[uuid] = claim
        for resource in RESOURCES:
            amount = claim.amount(resource)
            if amount is None:
                self.pending[resource].append(
                    Change(uuid, 0, f"move claim of {uuid} (amount not logged)", where))
            elif amount:
                self.maybes[resource][uuid] = Maybe(uuid, float(amount), True,
                                                    f"move claim of {uuid}", where)

    def size(self, uuid: str, claim: Claim) -> None:
        """Amounts learnt later (the guest XML's flavor) for a live claim."""
        if uuid not in self.claims:
            return
        for resource in RESOURCES:
            value = claim.amount(resource)
            if value is None or resource in self.amounts[uuid]:
                continue
            before = len(self.pending[resource])
            self.pending[resource] = [c for c in self.pending[resource]
                                      if not (c.uuid == uuid and c.direction > 0)]
            if len(self.pending[resource]) == before:
                # Its amount was already absorbed by the baseline: move it out.
                self.baseline[resource] -= value
            self.amounts[uuid][resource] = float(value)
            self._claimed[resource] += value
        self.claims[uuid] = claim

    def drop_claim(self, uuid: str, where: str = "") -> Claim | None:
        """Abort the instance's claim; the claim, or None if there was none."""
        claim = self.claims.pop(uuid, None)
        amounts = self.amounts.pop(uuid, None)
        if amounts is not None:
            self._add(uuid, amounts, -1)
            for resource in RESOURCES:
                if resource not in amounts:
                    self._leave_unsized(resource, uuid, where, "gave its claim back")
        for resource in RESOURCES:
            self.maybes[resource].pop(uuid, None)
        return claim

    def release(self, uuid: str, where: str, what: str) -> None:
        """The instance leaves the node (deleted, moved away). nova gives its usage back at
        a step the log need not show, so until an observation settles it the instance may
        or may not be counted. One the model never saw claim was in the baseline: its
        amounts leave with it, unsized."""
        amounts = self.amounts.get(uuid)
        if amounts is not None:
            self.claims.pop(uuid, None)
            self._add(uuid, self.amounts.pop(uuid), -1)
            for resource in RESOURCES:
                if resource in amounts:
                    if amounts[resource]:
                        self.maybes[resource][uuid] = Maybe(uuid, amounts[resource], True,
                                                            f"{uuid} ({what})", where, True)
                else:
                    self._leave_unsized(resource, uuid, where, what)
        elif any(uuid in m for m in self.maybes.values()):
            for resource in RESOURCES:
                m = self.maybes[resource].get(uuid)
                if m is not None:
                    m.leaving = True
        elif uuid not in self.uncounted:
            for resource in RESOURCES:
                self.pending[resource].append(Change(uuid, -1, f"{uuid} {what}, size unknown "
                                                               "(booted before the log)", where))
        self.uncounted.add(uuid)

    def _leave_unsized(self, resource: str, uuid: str, where: str, what: str) -> None:
        pending = self.pending[resource]
        still = [c for c in pending if not (c.uuid == uuid and c.direction > 0)]
        if len(still) == len(pending):
            pending.append(Change(uuid, -1, f"{uuid} {what} (amount not known)", where))
        else:
            self.pending[resource] = still

    def abort(self, uuid: str, where: str, maybe_counted: bool) -> None:
        """A failed build gives its claim back. With `maybe_counted`, nova's audit may still
        count the instance until it is deleted (releases before Newton kept its host)."""
        if uuid not in self.amounts:  # aborted already, or never claimed here
            self.uncounted.add(uuid)
            if not maybe_counted:
                for resource in RESOURCES:
                    self.maybes[resource].pop(uuid, None)
            return
        amounts = dict(self.amounts[uuid])
        self.drop_claim(uuid, where)
        self.uncounted.add(uuid)
        if not maybe_counted:
            return
        for resource, value in amounts.items():
            if value:
                self.maybes[resource][uuid] = Maybe(uuid, value, False,
                                                    f"failed build {uuid}", where)

    def unsettle(self, resource: str, what: str, where: str) -> None:
        """Something unlogged may have changed usage either way (a service restart)."""
        self.pending[resource].append(Change("", 0, what, where))

    def observe(self, resource: str, logged: float, audit: bool = False) -> Observed:
        """Compare a logged usage with the model and move the model to it. An `audit` (the
        periodic task recounts usage from the database) no longer counts deleted instances
        it left out."""
        model = self.used(resource)
        if not self.baseline_known[resource]:
            self.baseline[resource] += logged - model
            self.baseline_known[resource] = True
            self._absorb(resource)
            return Observed(True, model, logged, Reconciled(logged - model, True, ()))
        outcome = reconcile(logged - model, self.pending[resource],
                            list(self.maybes[resource].values()))
        for m in outcome.flipped:
            m.counted = not m.counted
        for change, _ in outcome.sized:
            if change.direction >= 0 and change.uuid in self.amounts:
                # The change belongs to a live claim: the remainder is (part of) its amount.
                delta = outcome.residual
                amounts = self.amounts[change.uuid]
                amounts[resource] = amounts.get(resource, 0.0) + delta
                self._claimed[resource] += delta
                outcome = Reconciled(0.0, outcome.explained, outcome.because,
                                     outcome.flipped, outcome.sized)
        self.baseline[resource] += outcome.residual
        self._absorb(resource)
        if audit:
            gone = [u for u, m in self.maybes[resource].items() if m.leaving and not m.counted]
            for uuid in gone:
                del self.maybes[resource][uuid]
        if abs(self.used(resource) - logged) > EPSILON:
            self.baseline[resource] += logged - self.used(resource)
        return Observed(False, model, logged, outcome)

    def _absorb(self, resource: str) -> None:
        """Pending changes are settled: their amounts are now part of the baseline."""
        self.pending[resource] = []

    def view(self) -> ResourceView:
        def used(resource: str) -> float | None:
            return self.used(resource) if self.baseline_known[resource] else None

        return ResourceView(
            phys_ram_mb=self.totals["memory"], used_ram_mb=used("memory"),
            phys_disk_gb=self.totals["disk"], used_disk_gb=used("disk"),
            total_vcpus=self.totals["vcpu"], used_vcpus=used("vcpu"))
