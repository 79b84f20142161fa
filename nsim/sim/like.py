"""A scenario that looks like a real log: its hosts, images, flavors, request times and
phase durations, so that the real boots and their simulated twins can be diffed.

Host totals, reserved memory and instances_path come from replaying the log through the
host model; the release from the guest XML's `nova:package` version (or wording hints);
durations from each boot's records: nova's own timings where it logs them (lock hold,
`CMD ... returned in`), stamp differences otherwise. One boot gives fixed durations,
several give lognormal ones with the observed mean and spread.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nsim.compare.boots import BootTrace, UnreadableLog, collect
from nsim.events import audit, build, claim, guest, image, lock
from nsim.events.release import NOVA_MAJOR, RELEASES, release_index
from nsim.logs.reader import ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.model.config import DEFAULT_RESERVED_HOST_MEMORY_MB
from nsim.nova_names import (
    CLAIM_FUNCTION,
    COMPUTE_RESOURCES,
    FETCH_FUNCTION,
    OVERLAY_FUNCTIONS,
    owner_function,
)
from nsim.replay.run import ReplayResult, host_key
from nsim.sim.durations import Distribution, DurationModel
from nsim.sim.scenario import Scenario, parse_scenario

_PACKAGE = re.compile(r'<nova:package version="(\d+)\.')
_META = re.compile(r"ImageMeta\([^)]*disk_format='([^']+)'[^)]*id=([0-9a-f-]{36})[^)]*"
                   r"name='([^']*)'[^)]*size=(\d+)")


def _at(records: list[Record], test: Callable[[Any], bool]) -> datetime | None:
    return next((r.timestamp for r in records if r.event is not None and test(r.event)), None)


def _gap(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def detect_release(records: list[Record]) -> str:
    """The nova release whose wording the records use (newest consistent one)."""
    for rec in records:
        if isinstance(rec.event, guest.GuestXmlEnd):
            m = _PACKAGE.search(rec.event.xml)
            if m:
                major = int(m.group(1))
                names = [n for n, v in NOVA_MAJOR.items() if v == major]
                if names:
                    return names[0]
    low, high = 0, len(RELEASES) - 1

    def bound(first: str | None, last: str | None) -> None:
        nonlocal low, high
        if first is not None:
            low = max(low, release_index(first))
        if last is not None:
            high = min(high, release_index(last))

    for rec in records:
        ev = rec.event
        if isinstance(ev, lock.LockAcquiring):
            bound("zed", None)
        elif isinstance(ev, lock.LockReleased):
            bound("xena", None) if '"released"' in rec.message else bound(None, "wallaby")
        elif isinstance(ev, claim.ClaimAttempt | claim.ClaimTotal | claim.Overhead):
            bound(None, "stein")
        elif isinstance(ev, claim.ClaimFailed):
            bound("train", None)
        elif isinstance(ev, guest.GuestCreated):
            bound("rocky", None) if "hypervisor" in rec.message else bound(None, "queens")
        elif isinstance(ev, image.CreatingImage):
            bound("zed", None) if "(s)" in rec.message else bound(None, "yoga")
    return RELEASES[max(low, min(high, len(RELEASES) - 1))]


class _Fit:
    """Per-step samples across boots, turned into distributions."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, step: str, value: float | None) -> None:
        if value is not None:
            self.samples.setdefault(step, []).append(value)

    def durations(self) -> DurationModel:
        fitted = {}
        for step, values in self.samples.items():
            mean = statistics.fmean(values)
            sd = statistics.pstdev(values) if len(values) > 1 else 0.0
            fitted[step] = (Distribution(mean=round(mean, 6)) if sd == 0 or mean <= 0 else
                            Distribution(dist="lognormal", mean=round(mean, 6), sd=round(sd, 6)))
        return DurationModel(**fitted)


def _image_lock(event: Any) -> bool:
    """A lock the image backend takes on a base file: the fetch, or the overlay."""
    return owner_function(event.owner) in (FETCH_FUNCTION, *OVERLAY_FUNCTIONS)


def _returned(records: list[Record], test: Callable[[image.SubprocessReturned], bool]) -> list[float]:
    return [r.event.seconds for r in records
            if isinstance(r.event, image.SubprocessReturned) and r.event.qemu_img is not None
            and test(r.event)]


def _fit_boot(fit: _Fit, boot: BootTrace, size_mb: float | None) -> None:
    """Add one boot's step durations (see DurationModel for what each step spans)."""
    recs = boot.records
    claim_release = next((r for r in recs if isinstance(r.event, lock.LockReleased)
                          and r.event.name == COMPUTE_RESOURCES
                          and owner_function(r.event.owner) == CLAIM_FUNCTION), None)
    if claim_release is not None:
        fit.add("claim", claim_release.event.held)
    spawn = _at(recs, lambda e: isinstance(e, build.SpawnStart))
    build_prep = _gap(claim_release.timestamp if claim_release else None, spawn)
    fit.add("build_prep", build_prep)
    # The network runs from 0.9 of build_prep; anchor its end to "Start spawning", as the
    # image steps are, so that the log's order of network and image lines is kept.
    network_info = _at(recs, lambda e: isinstance(e, build.NetworkInfo))
    network = _gap(spawn, network_info)
    if network is not None and build_prep is not None:
        fit.add("network", network + 0.1 * build_prep)
    image_lock = _at(recs, lambda e: isinstance(e, lock.LockAcquired) and _image_lock(e))
    fit.add("image_prep", _gap(spawn, image_lock))
    fetch = boot.phases.get("image_fetch")
    info_part = _returned(recs, lambda e: e.qemu_img.operation == "info"
                          and (e.qemu_img.source or "").endswith(".part"))
    if fetch is not None and fetch.seconds is not None and info_part and size_mb:
        fit.add("download_latency", 0.0)
        fit.add("download_bandwidth_mb_s", size_mb / max(fetch.seconds, 1e-3))
    for seconds in _returned(recs, lambda e: e.qemu_img.operation == "info"):
        fit.add("qemu_img_info", seconds)
    convert = _returned(recs, lambda e: e.qemu_img.operation == "convert")
    if convert and size_mb:
        fit.add("convert_throughput_mb_s", size_mb / max(convert[0], 1e-3))
    create = _returned(recs, lambda e: e.qemu_img.operation == "create")
    if create:
        fit.add("overlay", create[0])
    image_done = next((r.timestamp for r in reversed(recs)
                       if isinstance(r.event, lock.LockReleased) and _image_lock(r.event)), None)
    fit.add("guest_prep", _gap(image_done, _at(recs, lambda e: isinstance(e, image.ConsoleLog))))
    xml = boot.phases.get("xml")
    fit.add("xml", xml.seconds if xml is not None else None)
    plugging = _at(recs, lambda e: isinstance(e, guest.VifPlugging))
    plugged = _at(recs, lambda e: isinstance(e, guest.VifPlugged))
    started = _at(recs, lambda e: isinstance(e, guest.LifecycleEvent) and e.transition == "Started")
    received = _at(recs, lambda e: isinstance(e, guest.ExternalEvent) and e.verb == "Received")
    resumed = _at(recs, lambda e: isinstance(e, guest.LifecycleEvent) and e.transition == "Resumed")
    spawned = _at(recs, lambda e: isinstance(e, guest.Spawned))
    fit.add("vif_plug", _gap(plugging, plugged))
    fit.add("domain_start", _gap(plugged, started))
    fit.add("vif_event", _gap(started, received))
    fit.add("resume", _gap(received, resumed))
    fit.add("spawn_tail", _gap(resumed, spawned))


def derive_scenario(path: str, year: int | None = None,
                    on_diagnostic: Callable[[Diagnostic], None] | None = None) -> Scenario:
    """A scenario whose simulation resembles the log at `path`.

    `on_diagnostic` sees each problem the parser finds; UnreadableLog when the log cannot be
    read. A re-scheduled boot is requested once, as its first attempt (the uuid, host and
    time of its first build); every attempt adds to the durations.
    """
    run = ParseRun([path], year=year, on_diagnostic=on_diagnostic)
    records = list(run)
    if run.errors:
        raise UnreadableLog(run.errors)
    all_boots, replayed = collect(records)
    boots = [b for b in all_boots if b.start is not None]
    if not boots:
        raise ValueError(f"{path}: no boot found to imitate")
    release = detect_release(records)
    fmt = "journal" if any(r.host for r in records) else "oslo"
    t0 = min(b.start for b in boots if b.start is not None)
    images: dict[str, dict[str, Any]] = {}
    flavors: dict[str, dict[str, Any]] = {}
    for rec in records:
        if isinstance(rec.event, guest.GuestXmlStart):
            m = _META.search(rec.event.details)
            if m:
                images[m.group(2)] = {"id": m.group(2), "disk_format": m.group(1),
                                      "name": m.group(3) or m.group(2), "size_bytes": int(m.group(4))}
    hosts: dict[str, dict[str, Any]] = {}
    # What each instance boots, from its first attempt that shows it (a refused claim does not).
    known: dict[str, BootTrace] = {}
    for boot in boots:
        if boot.image is not None and None not in boot.sizes:
            known.setdefault(boot.uuid, boot)
    requests = []
    requested: set[str] = set()
    fit = _Fit()
    for boot in boots:
        what = known.get(boot.uuid)
        if what is None or what.image is None:
            continue
        mem, disk, vcpus = what.sizes
        img = images.setdefault(what.image, {"id": what.image})
        name = what.flavor or f"{mem}-{disk}-{vcpus}"
        flavors[name] = {"name": name, "memory_mb": mem, "disk_gb": disk, "vcpus": vcpus}
        hosts.setdefault(boot.host, {})
        if boot.uuid not in requested:  # a later attempt of a re-scheduled boot: no new request
            requested.add(boot.uuid)
            requests.append({"at": round(_gap(t0, boot.start) or 0.0, 6), "flavor": name,
                             "image": what.image, "host": boot.host, "uuids": [boot.uuid],
                             "name": what.name or boot.name or "vm"})
        size = img.get("size_bytes")
        _fit_boot(fit, boot, size / 2**20 if size else None)
    if not requests:
        raise ValueError(f"{path}: no boot with a known flavor and image to imitate")
    _describe_hosts(hosts, records, replayed, release, fmt)
    return parse_scenario({
        "name": f"like {path}", "start": t0, "user": boots[0].records[0].user or "admin",
        "project": boots[0].records[0].project or "admin",
        "hosts": list(hosts.values()), "images": list(images.values()),
        "flavors": list(flavors.values()), "boots": requests,
        "durations": fit.durations().model_dump()}, f"--like {path}")


def _describe_hosts(hosts: dict[str, dict[str, Any]], records: list[Record], replayed: ReplayResult,
                    release: str, fmt: str) -> None:
    """Fill each host's totals, paths and habits from the replay of its records."""
    audits: dict[str, list[datetime]] = {}
    for rec in records:
        key = host_key(rec)
        if key not in hosts:
            continue
        spec = hosts[key]
        spec.setdefault("pid", rec.pid)
        if isinstance(rec.event, audit.FinalResourceView) and rec.timestamp is not None:
            audits.setdefault(key, []).append(rec.timestamp)
        elif isinstance(rec.event, claim.ClaimLimit):
            spec["scheduler_limits"] = True
        elif isinstance(rec.event, guest.VifPlugging):
            spec["vif"] = "bridge" if rec.event.vif.startswith("VIFBridge") else "ovs"
    for name, spec in hosts.items():
        host = replayed.hosts[name]
        tracker = host.tracker
        gaps = [(b - a).total_seconds() for a, b in zip(audits.get(name, []), audits.get(name, [])[1:],
                                                      strict=False)]
        spec.update({
            "name": name, "release": release, "format": fmt,
            "audit_interval": round(statistics.median(gaps), 3) if gaps else 0.0,
            "memory_mb": int(tracker.totals["memory"] or 7983),
            "disk_gb": int(tracker.totals["disk"] or 47),
            "vcpus": int(tracker.totals["vcpu"] or 4),
            "reserved_host_memory_mb": int(tracker.baseline["memory"])
            if tracker.baseline_known["memory"] else DEFAULT_RESERVED_HOST_MEMORY_MB,
        })
        if spec.get("pid") is None:
            spec.pop("pid", None)
        if host.instances_path:
            spec["instances_path"] = host.instances_path
