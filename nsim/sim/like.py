"""A scenario that looks like a real log: its hosts, images, flavors, boots and phase
durations, so that the real boots and their simulated twins can be diffed.

Every complete boot of the log (its start and end both in the window: active, failed or
re-scheduled) is requested once, at its time, on its host; a failed one gets the fault
nearest its cause. The flavor comes from the claim lines or the guest XML; the image from
the replay (DEBUG lines), a line of the boot that names it, or the image cache's
`image <id> at (<base file>)` lines, and when the log names only a base file, from that
name. Hosts keep their name (the node the claim lines name, for oslo.log files), totals,
format and log level (an INFO log gives an INFO twin); the release comes from the guest
XML's `nova:package` version, the "Starting compute node (version V)" line, or wording
hints. Durations come from each boot's records: nova's own timings where it logs them (lock
hold, `CMD ... returned in`), stamp differences otherwise; one boot gives fixed durations,
several give lognormal ones with the observed mean and spread. What the log does not tell
keeps nsim's default, and a note says so (`notes`).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nsim.compare.boots import BootTrace, UnreadableLog, collect
from nsim.events import audit, build, claim, guest, image, imagecache, lock
from nsim.logs.reader import ParseRun
from nsim.logs.record import Diagnostic, Record
from nsim.model.config import DEFAULT_RESERVED_HOST_MEMORY_MB
from nsim.nova import guest_xml
from nsim.nova.flavor import FLAVORS
from nsim.nova.names import (
    CLAIM_FUNCTION,
    COMPUTE_RESOURCES,
    FETCH_FUNCTION,
    OVERLAY_FUNCTIONS,
    owner_function,
)
from nsim.nova.releases import NOVA_MAJOR, RELEASES
from nsim.replay.run import ReplayResult, host_key
from nsim.sim.durations import STEP_NAMES, Distribution, DurationModel
from nsim.sim.scenario import FlavorSpec, ImageSpec, Scenario, parse_scenario

_META = re.compile(r"ImageMeta\([^)]*disk_format='([^']+)'[^)]*id=([0-9a-f-]{36})[^)]*"
                   r"name='([^']*)'[^)]*size=(\d+)")
# nova/service.py: "Starting %(topic)s node (version %(version)s)".
_SERVICE_VERSION = re.compile(r"Starting compute node \(version (\d+)\.(\d+)")
# Python 2 marks: the interpreter's path, unicode reprs, and tempfile's 6-character names
# (Python 3's have 8 lower-case characters) in the privsep helper's socket path.
_PYTHON2 = re.compile(r"python2\.\d|\bu'[^']*'|/tmp/tmp[A-Za-z0-9_]{6}/privsep\.sock")
# Releases before the first the catalog knows, oldest first (date versions YYYY.N).
_DATE_RELEASES = {"2013.1": "grizzly", "2013.2": "havana", "2014.1": "icehouse",
                  "2014.2": "juno", "2015.1": "kilo"}
_ORDER = tuple(dict.fromkeys((*_DATE_RELEASES.values(), "liberty", *RELEASES)))
# Lines of each event kind whose wording is compared with every release's (they agree).
_WORDING_SAMPLES = 3
DEFAULT_FLAVOR = FlavorSpec.of(FLAVORS["m1.tiny"])
"""What a boot whose flavor the log does not give is imitated with (nova's m1.tiny)."""
DEFAULT_IMAGE_ID = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
"""The image a boot whose image the log does not give is imitated with (a cirros)."""


def _at(records: list[Record], test: Callable[[Any], bool]) -> datetime | None:
    return next((r.timestamp for r in records if r.event is not None and test(r.event)), None)


def _gap(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _service_release(records: list[Record]) -> str | None:
    """The release of the "Starting compute node (version V)" line, if the log has one."""
    majors = {v: n for n, v in NOVA_MAJOR.items()}
    for rec in records:
        m = _SERVICE_VERSION.search(rec.message)
        if m:
            date = _DATE_RELEASES.get(f"{m.group(1)}.{m.group(2)}")
            return date or majors.get(int(m.group(1))) or ("liberty" if m.group(1) == "12" else None)
    return None


def detect_release(records: list[Record]) -> str:
    """The nova release whose wording the records use (newest consistent one); may be older
    than the first release the writer knows (see `writable_release`)."""
    for rec in records:
        if isinstance(rec.event, guest.GuestXmlEnd):
            major = guest_xml.read(rec.event.xml).nova_major
            if major is not None:
                names = [n for n, v in NOVA_MAJOR.items() if v == major]
                if names:
                    return names[0]
    service = _service_release(records)
    if service is not None:
        return service
    low, high = 0, len(_ORDER) - 1

    def bound(first: str | None, last: str | None) -> None:
        nonlocal low, high
        if first is not None:
            low = max(low, _ORDER.index(first))
        if last is not None:
            high = min(high, _ORDER.index(last))

    attempts = successes = 0
    checked: Counter[type] = Counter()
    for rec in records:
        ev = rec.event
        if rec.level == "AUDIT":
            bound(None, "kilo")  # LOG.audit left nova in Liberty
        if _PYTHON2.search(rec.message) or any("python2." in t for t in rec.traceback):
            bound(None, "train")  # the last release on Python 2
        if ev is None:
            continue
        attempts += isinstance(ev, claim.ClaimAttempt)
        successes += isinstance(ev, claim.ClaimSuccessful)
        if checked[type(ev)] < _WORDING_SAMPLES:
            checked[type(ev)] += 1
            # The releases whose wording of this event is exactly this line: the catalog's
            # Wording(since, until) bound the release, nothing here restates them.
            fits = [r for r in RELEASES
                    if type(ev).wording_for(r) is not None and ev.render(r) == rec.message]
            if fits:  # the catalog's first and last releases may not be the log's bounds
                bound(fits[0] if fits[0] != RELEASES[0] else None,
                      fits[-1] if fits[-1] != RELEASES[-1] else None)
    if successes and not attempts:
        bound("train", None)  # "Attempting claim" (INFO) precedes every success through Stein
    return _ORDER[max(low, min(high, len(_ORDER) - 1))]


def writable_release(release: str) -> str:
    """The release the writer writes for a detected one: itself, or the nearest it knows."""
    if release in RELEASES:
        return release
    later = [r for r in RELEASES if r in _ORDER and _ORDER.index(r) > _ORDER.index(release)]
    return later[0] if later else RELEASES[0]


# "Took N seconds to destroy / deallocate" (TookSeconds.step) -> the simulator's step.
_TEARDOWN_STEPS = {"destroy": "destroy", "deallocate_network": "deallocate"}


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
    else:  # INFO: "Attempting claim" and "Claim successful" are logged under the lock
        fit.add("claim", _gap(_at(recs, lambda e: isinstance(e, claim.ClaimAttempt)),
                              _at(recs, lambda e: isinstance(e, claim.ClaimSuccessful))))
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


def _faults(boots: list[tuple[int, BootTrace]], notes: _BootNotes) -> list[dict[str, Any]]:
    """Injected faults that end the numbered boots as the log's ended (nearest kind)."""
    kinds: dict[str, list[int]] = {}
    for number, boot in boots:
        cause = (boot.cause or "").lower()
        kind = ("insufficient_resources" if "insufficient" in cause or "claim" in cause else
                "network" if "network" in cause or "vif" in cause or "virtual interface" in cause
                else "image_download" if "image" in cause and "download" in cause else "spawn")
        if kind == "spawn" and "spawn" not in cause and "libvirt" not in cause:
            notes.add(boot, f"failed ({boot.cause or 'cause not in the log'}): imitated as a "
                            "spawn failure")
        kinds.setdefault(kind, []).append(number)
    return [{"kind": kind, "boots": numbers} for kind, numbers in kinds.items()]


def _images(records: list[Record]) -> tuple[dict[str, dict[str, Any]], dict[str, Counter[str]]]:
    """Images the log describes (the guest XML's ImageMeta), and per host the image ids its
    image cache names, by base file name and by how often."""
    images: dict[str, dict[str, Any]] = {}
    cached: dict[str, Counter[str]] = {}
    for rec in records:
        ev = rec.event
        if isinstance(ev, guest.GuestXmlStart):
            m = _META.search(ev.details)
            if m:
                images[m.group(2)] = {"id": m.group(2), "disk_format": m.group(1),
                                      "name": m.group(3) or m.group(2), "size_bytes": int(m.group(4))}
        elif isinstance(ev, imagecache.ImageChecking):
            cached.setdefault(host_key(rec), Counter())[ev.image_id] += 1
    return images, cached


class _BootNotes:
    """Notes that hold for several boots, each said once with the boots it holds for."""

    def __init__(self) -> None:
        self.boots: dict[str, list[str]] = {}

    def add(self, boot: BootTrace, note: str) -> None:
        self.boots.setdefault(note, []).append(boot.label())

    def lines(self) -> list[str]:
        out = []
        for note, labels in self.boots.items():
            shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
            out.append(f"{len(labels)} boot{'s' if len(labels) > 1 else ''} ({shown}): {note}")
        return out


def _image_of(boot: BootTrace, cached: Counter[str], images: dict[str, dict[str, Any]],
              notes: _BootNotes) -> str:
    """The image id a boot is imitated with (see the module docstring)."""
    by_base = {hashlib.sha1(i.encode()).hexdigest(): i for i in (*cached, *images)}
    base = boot.base_file.rsplit("/", 1)[-1] if boot.base_file else None
    if boot.image is not None:
        return boot.image
    if base is not None and base in by_base:
        return by_base[base]
    if base is not None:
        made = str(uuid.uuid5(uuid.NAMESPACE_URL, f"nsim-base-file:{base}"))
        images.setdefault(made, {"id": made, "name": base})
        notes.add(boot, f"the log names the base file {base} but not the image; imitated "
                        f"with image {made} (whose base file name differs)")
        return made
    if cached:
        image_id, _ = cached.most_common(1)[0]
        notes.add(boot, f"no line of the boot names its image; imitated with {image_id}, "
                        + ("the only image" if len(cached) == 1 else "the image most often")
                        + " in the host's image cache")
        return image_id
    notes.add(boot, f"the log does not name the image; imitated with the default image "
                    f"{DEFAULT_IMAGE_ID}")
    return DEFAULT_IMAGE_ID


def _lifetime(boot: BootTrace) -> float | None:
    """Seconds from the end of an active boot to its instance's delete, if the log shows it."""
    delete = boot.phases.get("delete")
    end = next((r.timestamp for r in reversed(boot.records) if r.timestamp is not None), None)
    if boot.outcome != "active" or delete is None or delete.start is None or end is None:
        return None
    return round(max(0.0, (delete.start - end).total_seconds()), 6)


def _flavor_of(boot: BootTrace, notes: _BootNotes) -> dict[str, Any]:
    """The flavor a boot is imitated with: its sizes, m1.tiny's where the log gives none."""
    default = (DEFAULT_FLAVOR.memory_mb, DEFAULT_FLAVOR.disk_gb, DEFAULT_FLAVOR.vcpus)
    sizes = tuple(d if s is None else s for s, d in zip(boot.sizes, default, strict=True))
    if None in boot.sizes:
        missing = [n for n, s in zip(("memory", "disk", "vcpus"), boot.sizes, strict=True) if s is None]
        notes.add(boot, f"the log does not give the flavor's {', '.join(missing)} (no claim "
                        f"line with sizes, no guest XML); {DEFAULT_FLAVOR.name}'s used")
    mem, disk, vcpus = sizes
    name = boot.flavor if boot.flavor and None not in boot.sizes else f"{mem}-{disk}-{vcpus}"
    return {"name": name, "memory_mb": mem, "disk_gb": disk, "vcpus": vcpus}


def derive_scenario(path: str, year: int | None = None,
                    on_diagnostic: Callable[[Diagnostic], None] | None = None,
                    notes: list[str] | None = None) -> Scenario:
    """A scenario whose simulation resembles the log at `path`.

    `on_diagnostic` sees each problem the parser finds; UnreadableLog when the log cannot be
    read, ValueError when it has no complete boot. What the log does not tell and the
    scenario therefore assumes is appended to `notes`. A re-scheduled boot is requested
    once, as its first attempt (the uuid, host and time of its first build); every attempt
    adds to the durations.
    """
    notes = notes if notes is not None else []
    run = ParseRun([path], year=year, on_diagnostic=on_diagnostic)
    records = list(run)
    if run.errors:
        raise UnreadableLog(run.errors)
    all_boots, replayed = collect(records)
    boots = [b for b in all_boots if b.complete and b.start is not None]
    if not boots:
        if all_boots:
            raise ValueError(f"{path}: no complete boot to imitate ({len(all_boots)} boots, none "
                             "with both its start and its end in the log)")
        raise ValueError(f"{path}: no boot found to imitate")
    detected = detect_release(records)
    release = writable_release(detected)
    if release != detected:
        notes.append(f"the log is written in {detected}'s wording, which nsim cannot write; "
                     f"the twin is written in {release}'s")
    t0 = min(b.start for b in boots if b.start is not None)
    images, cached = _images(records)
    flavors: dict[str, dict[str, Any]] = {}
    hosts: dict[str, dict[str, Any]] = {}
    # Each instance is requested once, as its first attempt; it fails when its last does.
    last = {b.uuid: b for b in boots}
    requests: list[dict[str, Any]] = []
    failed: list[tuple[int, BootTrace]] = []
    requested: set[str] = set()
    fit = _Fit()
    said = _BootNotes()
    for boot in boots:
        hosts.setdefault(boot.host, {})
        if boot.uuid not in requested:  # a later attempt of a re-scheduled boot: no new request
            requested.add(boot.uuid)
            flavor = _flavor_of(boot, said)
            flavors[flavor["name"]] = flavor
            image_id = _image_of(boot, cached.get(boot.host, Counter()), images, said)
            images.setdefault(image_id, {"id": image_id})
            requests.append({"at": round(_gap(t0, boot.start) or 0.0, 6), "flavor": flavor["name"],
                             "image": image_id, "host": boot.host, "uuids": [boot.uuid],
                             "name": boot.name or "vm"})
            lifetime = _lifetime(last[boot.uuid])
            if lifetime is not None:
                requests[-1]["lifetime"] = lifetime
            if last[boot.uuid].outcome != "active":
                failed.append((len(requests), last[boot.uuid]))
        size = images.get(boot.image or "", {}).get("size_bytes")
        _fit_boot(fit, boot, size / 2**20 if size else None)
    for rec in records:  # teardowns (deletes, failed builds' cleanups) as nova timed them
        if isinstance(rec.event, guest.TookSeconds) and rec.event.step in _TEARDOWN_STEPS:
            fit.add(_TEARDOWN_STEPS[rec.event.step], rec.event.seconds)
    if any("size_bytes" not in i for i in images.values()):
        notes.append(f"image sizes not in the log (the guest XML's ImageMeta is DEBUG): "
                     f"{ImageSpec.model_fields['size_bytes'].default} bytes assumed")
    untimed = [s for s in STEP_NAMES if s not in fit.samples]
    if untimed:
        notes.append(f"durations the log cannot time, nsim's defaults used: {', '.join(untimed)}")
    names = _describe_hosts(hosts, records, replayed, release, notes)
    for request in requests:
        request["host"] = names[request["host"]]
    data: dict[str, Any] = {
        "name": f"like {path}", "start": t0, "user": boots[0].records[0].user or "admin",
        "project": boots[0].records[0].project or "admin",
        "hosts": list(hosts.values()), "images": list(images.values()),
        "flavors": list(flavors.values()), "boots": requests,
        "faults": _faults(failed, said), "durations": fit.durations().model_dump()}
    notes.extend(said.lines())
    if failed and all(b.outcome == "error" for _, b in failed):
        data["max_attempts"] = 1  # nova did not re-schedule them
    return parse_scenario(data, f"--like {path}")


def _host_name(key: str) -> str:
    """The twin's name for a host, safe as a scenario's host name: the replay's host key
    (journald's host name; for an oslo.log file the node its lines name, `source_host`)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", key).lstrip("-_") or key


def _describe_hosts(hosts: dict[str, dict[str, Any]], records: list[Record], replayed: ReplayResult,
                    release: str, notes: list[str]) -> dict[str, str]:
    """Fill each host's name, totals, paths and habits from its records and their replay;
    returns the twin's name of each host."""
    audits: dict[str, list[datetime]] = {}
    mine: dict[str, list[Record]] = {key: [] for key in hosts}
    for rec in records:
        key = host_key(rec)
        if key not in hosts:
            continue
        mine[key].append(rec)
        spec = hosts[key]
        spec.setdefault("pid", rec.pid)
        if isinstance(rec.event, audit.FinalResourceView) and rec.timestamp is not None:
            audits.setdefault(key, []).append(rec.timestamp)
        elif isinstance(rec.event, claim.ClaimLimit):
            spec["scheduler_limits"] = True
        elif isinstance(rec.event, guest.VifPlugging | guest.VifPlugged):
            spec["vif"] = "bridge" if rec.event.vif.startswith("VIFBridge") else "ovs"
    names = {}
    for key, spec in hosts.items():
        oslo = not any(r.host for r in mine[key])
        names[key] = _host_name(key) if oslo else key
        tracker = replayed.hosts[key].tracker
        totals = {r: tracker.totals[r] for r in ("memory", "disk", "vcpu")}
        if None in totals.values():
            notes.append(f"{names[key]}: totals the log does not give "
                         f"({', '.join(r for r, v in totals.items() if v is None)}): "
                         "nsim's defaults used")
        dates = audits.get(key, [])
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(dates)]
        spec.update({
            "name": names[key], "release": release, "format": "oslo" if oslo else "journal",
            "log_level": "DEBUG" if any(r.level == "DEBUG" for r in mine[key]) else "INFO",
            "audit_interval": round(statistics.median(gaps), 3) if gaps else 0.0,
            "memory_mb": int(totals["memory"] or 7983),
            "disk_gb": int(totals["disk"] or 47),
            "vcpus": int(totals["vcpu"] or 4),
            # the replay's baseline also holds usage from before the window: never below 0
            "reserved_host_memory_mb": max(0, int(tracker.baseline["memory"]))
            if tracker.baseline_known["memory"] else DEFAULT_RESERVED_HOST_MEMORY_MB,
        })
        if spec.get("pid") is None:
            spec.pop("pid", None)
        if replayed.hosts[key].instances_path:
            spec["instances_path"] = replayed.hosts[key].instances_path
    return names
