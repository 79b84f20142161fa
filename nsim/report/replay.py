"""The replay report: JSON for programs, text an operator can paste into a bug."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any, TextIO

from nsim.model.host import Host
from nsim.model.instance import Instance
from nsim.replay.findings import RULES
from nsim.replay.run import ReplayResult
from nsim.report.numbers import ms, phases_whole, seconds, stamp
from nsim.report.term import Paint, plain


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _instance_json(inst: Instance) -> dict[str, Any]:
    claim = inst.claim
    return {
        "uuid": inst.uuid, "host": inst.host, "operation": inst.operation,
        "outcome": inst.outcome.value, "cause": inst.cause,
        "vm_state": inst.vm_state.value if inst.vm_state else None,
        "task_state": inst.task_state.value if inst.task_state else None,
        "power_state": inst.power_state.value,
        "claim": None if claim is None else {
            "memory_mb": claim.memory_mb, "disk_gb": claim.disk_gb, "vcpus": claim.vcpus},
        "image_id": inst.image_id,
        "image_cache": inst.image_cache,
        "phases": [{"name": p.name, "start": _iso(p.start), "end": _iso(p.end),
                    "seconds": ms(p.seconds)} for p in inst.ordered_phases()],
        "build_seconds": ms(inst.build_seconds),
    }


def _host_json(host: Host) -> dict[str, Any]:
    view = host.tracker.view()
    return {
        "node": host.node, "instances_path": host.instances_path,
        "memory_total_mb": view.phys_ram_mb, "memory_used_mb": view.used_ram_mb,
        "disk_total_gb": view.phys_disk_gb, "disk_used_gb": view.used_disk_gb,
        "vcpus_total": view.total_vcpus, "vcpus_used": view.used_vcpus,
        "live_claims": {uuid: {"memory_mb": c.memory_mb, "disk_gb": c.disk_gb, "vcpus": c.vcpus}
                        for uuid, c in host.tracker.claims.items()},
    }


def _json_fields(result: ReplayResult) -> Iterator[tuple[str, Any]]:
    """The report's fields in order; the instances' is a generator (one at a time)."""
    hosts = result.hosts.values()
    yield "hosts", {h.name: _host_json(h) for h in hosts}
    yield "image_cache", {
        "entries": [{"host": h.name, "image_id": b.image_id, "filename": b.filename,
                     "state": b.state.value, "users": sorted(b.users)}
                    for h in hosts for b in h.cache.files.values()],
        "hits": sum(h.cache.hits for h in hosts),
        "misses": sum(h.cache.misses for h in hosts),
    }
    yield "instances", (_instance_json(i) for h in hosts for i in h.instances.values())
    yield "assumptions", [{"source": a.source, "line": a.line, "message": a.message}
                          for a in result.assumptions]
    yield "violations", [{"source": v.source, "line": v.line, "rule": v.rule, "message": v.message}
                         for v in result.violations]
    yield "counts", {"records": result.counts.records, "events": result.counts.events,
                     "unknown": result.counts.unknown, "bad_lines": result.counts.bad_lines}


def to_json(result: ReplayResult) -> dict[str, Any]:
    return {key: list(value) if key == "instances" else value
            for key, value in _json_fields(result)}


def _nested(value: Any, depth: int) -> str:
    """`value` as `json.dump(..., indent=2)` writes it `depth` levels down (JSON strings hold
    no raw newline: each one starts an indented line)."""
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * depth)


def write_json(result: ReplayResult, out: TextIO, more: dict[str, Any] | None = None) -> None:
    """What `json.dump(to_json(result) | more, out, indent=2)` and a newline write, with the
    instances made and written one at a time."""
    out.write("{")
    for n, (key, value) in enumerate(itertools.chain(_json_fields(result), (more or {}).items())):
        out.write(("," if n else "") + "\n  " + json.dumps(key) + ": ")
        if key != "instances":
            out.write(_nested(value, 1))
            continue
        sep = "["
        for inst in value:
            out.write(sep + "\n    " + _nested(inst, 2))
            sep = ","
        out.write("[]" if sep == "[" else "\n  ]")
    out.write("\n}\n")


def _amount(value: float | None, unit: str = "") -> str:
    return "?" if value is None else f"{value:g} {unit}".rstrip()


# Outcomes shown in colour on a terminal.
_OUTCOME_STYLES = {"active": "ok", "error": "bad", "rescheduled": "WARNING",
                   "incomplete": "WARNING"}
# Host names listed in the summary before the rest are only counted.
_SUMMARY_HOSTS = 8


def _tally(counts: Counter[str]) -> str:
    """`3 active, 1 error`, most frequent first."""
    return ", ".join(f"{n} {what}" for what, n in counts.most_common())


def _names(names: list[str]) -> str:
    """The first _SUMMARY_HOSTS names, then how many more."""
    shown = ", ".join(names[:_SUMMARY_HOSTS])
    rest = len(names) - _SUMMARY_HOSTS
    return f"{shown}, ... {rest} more" if rest > 0 else shown


def summary(result: ReplayResult, paint: Paint = plain) -> list[str]:
    """The verdict, then hosts, boots by outcome and violations by rule: one line each."""
    boots: Counter[str] = Counter()
    moves: Counter[str] = Counter()
    for host in result.hosts.values():
        for i in host.instances.values():
            if i.operation == "boot":
                boots[i.outcome.value] += 1
            else:
                moves[i.operation] += 1
    rules = Counter(v.rule for v in result.violations)
    n = len(result.violations)
    out = [paint(f"Violations: {n} ({_tally(rules)}).", "bad") if n
           else paint("Consistent: no violations.", "ok"),
           f"Hosts: {len(result.hosts)}" + (f" ({_names(list(result.hosts))})" if result.hosts else ""),
           f"Boots: {boots.total()}" + (f" ({_tally(boots)})" if boots else "")]
    if moves:
        out.append(f"Moves: {moves.total()} ({_tally(moves)})")
    out.append(f"Assumptions: {len(result.assumptions)}")
    return out


def to_text(result: ReplayResult, quiet: bool = False, paint: Paint = plain) -> str:
    """The summary, then (unless `quiet`) each host's state and instances, the assumptions and
    the violations with their rules; `paint` styles the verdict, headings and violations."""
    return "".join(line + "\n" for line in text_lines(result, quiet, paint))


def write_text(result: ReplayResult, out: TextIO, quiet: bool = False,
               paint: Paint = plain) -> None:
    """`to_text` written a line at a time (an instance's lines are made as they are written)."""
    for line in text_lines(result, quiet, paint):
        out.write(line + "\n")


def text_lines(result: ReplayResult, quiet: bool = False, paint: Paint = plain) -> Iterator[str]:
    """The lines of `to_text`, made one at a time."""
    yield from summary(result, paint)
    if quiet:
        return
    for host in result.hosts.values():
        yield from _host_lines(host, paint)
    if result.assumptions:
        yield ""
        yield paint("Assumptions", "heading")
        yield from (paint(f"  {a}", "assumption") for a in result.assumptions)
    if result.violations:
        yield ""
        yield paint(f"Violations ({len(result.violations)})", "bad")
        yield from (paint(f"  {v}", "violation") + "\n"
                    + paint(f"      rule: {RULES.get(v.rule, v.rule)}", "rule")
                    for v in result.violations)


def _host_lines(host: Host, paint: Paint) -> Iterator[str]:
    """A host's state, image cache and instances."""
    yield ""
    view = host.tracker.view()
    yield paint(f"Host {host.name}" + (f" (node {host.node})" if host.node else ""), "heading")
    yield (f"  memory {_amount(view.used_ram_mb, 'MB')} used of "
           f"{_amount(view.phys_ram_mb, 'MB')}; disk {_amount(view.used_disk_gb, 'GB')} of "
           f"{_amount(view.phys_disk_gb, 'GB')}; vcpus {_amount(view.used_vcpus)} of "
           f"{_amount(view.total_vcpus)}")
    if host.instances_path:
        yield f"  instances_path {host.instances_path}"
    if host.cache.files:
        yield f"  image cache: {host.cache.hits} hit(s), {host.cache.misses} miss(es)"
        for base in host.cache.files.values():
            image = base.image_id or "image ?"
            yield f"    _base/{base.filename}  {base.state.value:11} {image}"
    for inst in host.instances.values():
        yield from _instance_lines(inst, paint)


def _instance_lines(inst: Instance, paint: Paint) -> Iterator[str]:
    """An instance's outcome, states, claim and cache use, then its phases."""
    states = "/".join(s.value if s else "None" for s in (inst.vm_state, inst.task_state))
    what = inst.outcome.value if inst.operation == "boot" else f"{inst.operation} claim"
    what = paint(what, _OUTCOME_STYLES.get(what))
    line = f"  instance {inst.uuid}  {what}  ({states}, {inst.power_state.value})"
    if inst.claim is not None:
        c = inst.claim
        line += f"  claim {c.memory_mb} MB / {c.disk_gb} GB / {c.vcpus} vCPU"
    if inst.image_cache:
        line += f"  cache {inst.image_cache}"
    yield line
    if inst.cause:
        yield f"      cause: {inst.cause}"
    whole = phases_whole(inst)
    for phase in inst.ordered_phases():
        secs = "?" if phase.seconds is None else f"{seconds(phase.seconds, whole)}s"
        start = stamp(phase.start, whole, date=False)
        yield f"      {phase.name:13} {secs:>9}  from {start}"
    if inst.build_seconds is not None:
        yield f"      (nova logged {inst.build_seconds:.2f}s to build)"
