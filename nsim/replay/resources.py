"""Replay of the resource tracker's lines: claims, their tests and outcomes, audits."""

from __future__ import annotations

import itertools

from nsim.events import claim
from nsim.events.audit import FinalResourceView, FreeResource
from nsim.logs.record import Record
from nsim.model.claims import UNITS, Claim
from nsim.replay.state import (
    BUILD_STEPS,
    CLAIM_EVENTS,
    UNDER_RESOURCE_LOCK,
    Attempt,
    ObserverState,
)


class ResourceChecks(ObserverState):
    """Checks of the resource tracker's lines: claims, their tests and outcomes, audits."""

    def _missing_claim_outcome(self, rec: Record) -> None:
        """A claim attempt whose outcome line is missing (an excerpt), as the instance's build
        going on shows (it succeeded) or a line under the lock the claim held (it is left
        open: nova may count it or not)."""
        uuid = self._uuid(rec)
        lock_free = type(rec.event) in UNDER_RESOURCE_LOCK and (
            uuid is not None or type(rec.event) not in CLAIM_EVENTS)
        for other, attempt in list(self._pending.items()):
            if not (isinstance(rec.event, BUILD_STEPS) if other == uuid else lock_free):
                continue
            del self._pending[other]
            inst = self.host.instance(other)
            inst.claim = attempt.claim
            self.host.claim(other, attempt.claim, self.where())
            if other == uuid:
                self.assume(f"{other}: the claim's outcome is not in the log; the build goes on, "
                            "so it succeeded")
            else:
                self.host.abort_claim(other, self.where(), still_counted=True)
                self.assume(f"{other}: the claim's outcome is not in the log")

    def _claim_attempt(self, rec: Record, ev: claim.ClaimAttempt) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        if ev.node is not None:
            self._learn_node(ev.node)
        if not self._is_move(inst):
            self._start_build(inst, rec, proxy=True)
        inst.begin("claim", rec.timestamp)
        self._pending[inst.uuid] = Attempt(Claim(ev.memory_mb, ev.disk_gb, ev.vcpus),
                                            node_named=ev.node is not None)

    def _overhead(self, rec: Record, ev: claim.Overhead) -> None:
        inst = self._inst(rec)
        if inst is not None:
            inst.overhead[ev.resource] = ev.overhead

    def _claim_total(self, rec: Record, ev: claim.ClaimTotal | claim.ClaimVcpuTotal) -> None:
        tracker = self.host.tracker
        res, unit = ev.resource, UNITS[ev.resource]
        known = None if self._multinode else tracker.totals[res]
        if known is None:
            tracker.totals[res] = ev.total
            self.assume(f"host {res} total {ev.total:g} {unit} (from the log)")
        elif abs(known - ev.total) > 0.5:
            self.violation("claim-total", f"log says total {res} {ev.total:g} {unit}, "
                                          f"host has {known:g} {unit}")
        uuid = self._uuid(rec)
        if uuid in self._pending:
            self._pending[uuid].used[res] = ev.used
        self._check_used(res, ev.used, "claim")

    def _learn_node(self, node: str) -> None:
        """The node a claim or audit names. One service with several nodes (ironic, or a
        driver reporting several) keeps a resource tracker per node, beyond this model."""
        if self.host.node is None:
            self.host.node = node
        elif node != self.host.node and not self._multinode:
            self._multinode = True
            self.assume(f"this nova-compute reports several nodes ({self.host.node}, {node}): "
                        "usage per node is not checked")

    def _check_used(self, res: str, logged: float, where: str) -> None:
        if self._multinode:
            return
        tracker, unit = self.host.tracker, UNITS[res]
        seen = tracker.observe(res, logged, audit=where == "final")
        outcome = seen.outcome
        if seen.first:
            self.assume(f"{res} in use before the window: {tracker.baseline[res]:g} {unit} "
                        f"(reserved and instances the log does not show)")
        elif not outcome.explained:
            shown = [f"{u[:8]}={c.amount(res)}" for u, c in itertools.islice(tracker.claims.items(), 4)]
            more = len(tracker.claims) - len(shown)
            lives = ", ".join(shown + ([f"{more} more"] if more > 0 else [])) or "none"
            self.violation(f"{where}-used" if where == "claim" else "final-view",
                           f"log says {res} used {logged:.2f} {unit}, model has {seen.model:.2f} "
                           f"{unit} (baseline {seen.model - tracker.claimed(res):g} + live claims: "
                           f"{lives}); nothing unlogged explains the difference")
        elif outcome.because:
            self.assume(f"{res} in use {logged:g} {unit} where the model had {seen.model:g}: "
                        + "; ".join(outcome.because))

    def _claim_limit_unspecified(self, rec: Record, ev: claim.ClaimLimitUnspecified) -> None:
        uuid = self._uuid(rec)
        if uuid in self._pending:
            self._pending[uuid].limits[ev.resource] = None

    def _claim_limit(self, rec: Record, ev: claim.ClaimLimit | claim.ClaimVcpuLimit) -> None:
        tracker, res, unit = self.host.tracker, ev.resource, UNITS[ev.resource]
        expected = tracker.limit(res)
        if expected is not None and abs(expected - ev.limit) > 0.01:
            self.violation("claim-limit", f"log says {res} limit {ev.limit:.2f} {unit}, "
                                          f"total x ratio is {expected:.2f} {unit}")
        uuid = self._uuid(rec)
        attempt = self._pending.get(uuid) if uuid else None
        # The claim's own `used` line is what nova subtracted from the limit (without it, a
        # line missing from the log could explain any difference).
        used = attempt.used.get(res) if attempt else None
        if used is not None and abs((ev.limit - used) - ev.free) > 0.01:
            self.violation("claim-free", f"log says {res} free {ev.free:.2f} {unit}, limit - used "
                                         f"is {ev.limit - used:.2f} {unit}")
        if attempt is not None:
            attempt.limits[res] = ev.limit
            attempt.free[res] = ev.free

    def _claim_successful(self, rec: Record, ev: claim.ClaimSuccessful) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        attempt = self._pending.pop(inst.uuid, None) or Attempt(Claim(None, None, None))
        claimed = attempt.claim
        reasons = self.host.tracker.test(claimed, attempt.limits, attempt.free)
        if reasons:
            self.violation("claim-decision", "claim succeeded but does not fit: " + "; ".join(reasons))
        if ev.node is not None:
            self._learn_node(ev.node)
        where = self.where()
        if self._is_move(inst):
            self._moving.discard(inst.uuid)
            inst.operation = "move"
            self.host.move_claim(inst.uuid, claimed, where)
            return
        self._start_build(inst, rec, proxy=True)
        inst.claim = claimed
        self.host.claim(inst.uuid, claimed, where)
        if attempt.node_named and claimed.disk_gb is not None:
            # From Rocky the tracker adds swap and leaves out a volume-backed root disk,
            # which the claim's own disk amount does not (nova/compute/resource_tracker.py).
            self.host.tracker.may_differ(inst.uuid, "disk", "disk usage may count swap or "
                                         "leave out a volume root (Rocky on)", where)

    def _claim_refused(self, rec: Record, ev: claim.ClaimFailed | claim.InsufficientResources) -> None:
        inst = self._inst(rec)
        if inst is None:
            return
        attempt = self._pending.pop(inst.uuid, None) or Attempt(Claim(None, None, None))
        # Only a shortage ("Free memory X MB < requested Y MB") can be checked, against the
        # claim's own lines (NUMA or PCI reasons are beyond the model): the amount asked for
        # and the free amount logged must be the ones the refusal names, and must not fit.
        if isinstance(ev, claim.InsufficientResources) and ev.resource is not None:
            res, unit = ev.resource, UNITS[ev.resource]
            problems = []
            if ev.requested is not None and ev.free is not None and ev.requested <= ev.free:
                problems.append(f"{ev.requested} {unit} fit in {ev.free:.2f} {unit}")
            asked = attempt.claim.amount(res)
            if asked is not None and ev.requested is not None and asked != ev.requested:
                problems.append(f"the claim asked for {asked} {unit}")
            free = attempt.free.get(res)
            if free is not None and ev.free is not None and abs(free - ev.free) > 0.01:
                problems.append(f"the claim's own line says {free:.2f} {unit} free")
            if problems:
                self.violation("claim-decision", f"claim refused ({ev.reason}) but "
                                                 + "; ".join(problems))
        inst.claim = attempt.claim
        inst.finish("claim", rec.timestamp)
        self.host.tracker.uncounted.add(inst.uuid)

    def _free_resource(self, rec: Record, ev: FreeResource) -> None:
        """Havana's audit logs free amounts: used = total - free."""
        total = self.host.tracker.totals[ev.resource]
        if total is not None:
            self._check_used(ev.resource, total - ev.free, "final")

    def _final_view(self, rec: Record, ev: FinalResourceView) -> None:
        tracker = self.host.tracker
        self._learn_node(ev.node)
        for res, total, used in (("memory", ev.phys_ram_mb, ev.used_ram_mb),
                                 ("disk", ev.phys_disk_gb, ev.used_disk_gb),
                                 ("vcpu", float(ev.total_vcpus), ev.used_vcpus)):
            known = None if self._multinode else tracker.totals[res]
            if known is None:
                tracker.totals[res] = total
                self.assume(f"host {res} total {total:g} {UNITS[res]} (from Final resource view)")
            elif abs(known - total) > 0.5:
                self.violation("final-view", f"Final resource view {res} total {total:g}, "
                                             f"host has {known:g}")
            self._check_used(res, used, "final")
