"""The host models at any record of a replay, from checkpoints whose cost does not grow with
the position.

While the inputs are indexed, the indexer applies each record to live models (one
`HostObserver` per host, as `nsim replay` does) and offers them here; every `interval`
records (and never more often than keeps checkpointing under a tenth of the indexing time)
a checkpoint is taken (`nsim.tui.checkpoint`): of the dicts that grow with the log
(instances, base files, locks, claims, usage, request ties: `nsim.tui.entities`) only the
entries changed since the checkpoint before, and the rest of the models, which is small,
pickled whole; the inputs' end (for the time being) gets one too. Now and then (`WHOLE_SHARE`)
the whole map of entry versions is kept too, so that any checkpoint's maps are one copy and a
few deltas away.

Asking for the state at record i restores the nearest checkpoint at or before it and
replays the few records in between, so stepping back shows exactly the model at that record
without replaying from the start. A restore walks the state at hand to the checkpoint
through the deltas in between (either way), or, for a far one, compares whole maps; either
way the entries that are the same stay as they are (decoded) and the others are put back
pickled, to be decoded when read. Checkpoints past a memory budget are thinned to every
other one.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import threading
import time
from collections.abc import Hashable
from typing import Any

from nsim.logs.record import Record
from nsim.model.config import HostConfig
from nsim.model.instances import Instances
from nsim.replay.observer import HostObserver
from nsim.replay.run import apply_record
from nsim.tui.checkpoint import (
    ENTRY_BYTES,
    GONE,
    Checkpoint,
    Delta,
    Maps,
    changes,
    freeze,
    thaw,
)
from nsim.tui.entities import Cid, Entities, container, containers, read, write
from nsim.tui.store import RecordStore

Models = dict[str, HostObserver]
"""One observer (and so one host model) per host, keyed like `nsim replay` keys them."""

COST_FACTOR = 9.0
"""After a checkpoint that took t seconds, the next waits at least COST_FACTOR x t (so
checkpointing takes at most a tenth of the indexing time)."""
DEFAULT_INTERVAL = 256
DEFAULT_BUDGET = 256 * 2**20
WHOLE_SHARE = 4
"""Whole maps are kept once the deltas since the last whole ones hold a 1/WHOLE_SHARE of the
entries: the maps at any checkpoint are a copy and at most that share of changes away (a far
jump costs what the model holds, not what the log did before)."""
_WALK_SHARE = 4
"""A restore walks the deltas in between when they hold fewer entries than 1/_WALK_SHARE of
the maps; else it compares whole maps."""


class Timeline:
    """Checkpoints of the models, and the models after any indexed record."""

    def __init__(self, store: RecordStore, config: HostConfig, interval: int = DEFAULT_INTERVAL,
                 budget: int = DEFAULT_BUDGET, cost_factor: float = COST_FACTOR) -> None:
        self.store = store
        self.config = config
        self.interval = interval
        self.cost_factor = cost_factor
        self.budget = budget
        self.bytes = 0
        self._lock = threading.Lock()
        self._cps: list[Checkpoint] = []
        self._counts: list[int] = []
        """The counts of the checkpoints that can be restored (not thinned out)."""
        self._wholes: list[tuple[int, Maps]] = [(0, {})]
        """Whole maps, at some checkpoints' counts (the first: nothing)."""
        # The indexer's side: its live containers and their entries' latest versions.
        self._live: dict[Cid, Entities] = {}
        self._latest: Maps = {}
        self._since_whole = 0
        self._last = 0
        self._not_before = 0.0
        # The reader's side: the state at hand, after `_count` records, and its containers
        # with the checkpoint (`_base`) their entries are at, but for those its replays noted.
        self._state: Models = {}
        self._count = 0
        self._base: int | None = None
        self._maps: Maps = {}
        self._found: dict[Cid, Entities] = {}
        self._noted: dict[Cid, tuple[set[Hashable], set[Hashable]]] = {}
        """What the replays since the last restore changed in each container (touched, added)."""
        self._put(Checkpoint(0, freeze({}, {}), {}))

    @property
    def checkpoints(self) -> list[int]:
        """Record counts at which checkpoints can be restored (0 = before the first record)."""
        with self._lock:
            return list(self._counts)

    # -- the indexer's side ---------------------------------------------------------------
    def offer(self, count: int, models: Models, now: bool = False) -> None:
        """The live models after `count` records; kept as a checkpoint when one is due, or
        `now` (the inputs' end for the time being: the last records are the ones most looked
        at, and a restore is the checkpoint before plus the records after it replayed)."""
        due = count - self._last >= self.interval and time.thread_time() >= self._not_before
        if count <= self._last or not (now or due):
            return
        # The indexing thread's own time: another thread or process taking the CPU or the
        # GIL does not make checkpoints rarer.
        started = time.thread_time()
        self._put(self._take(count, models))
        finished = time.thread_time()
        self._last = count
        self._not_before = finished + self.cost_factor * (finished - started)

    def _take(self, count: int, models: Models) -> Checkpoint:
        """A checkpoint of the live `models`; their growing dicts become `Entities` (once)."""
        deltas: dict[Cid, Delta] = {}
        ids: dict[int, Cid] = {}
        for cid, parent, step in containers(models):
            current = read(parent, step)
            entities = self._live.get(cid)
            if current is not entities:  # a new host (or the model made a new dict)
                if type(current) is not dict and type(current) is not Instances:
                    continue  # (a host's instances are a dict of their own kind)
                gone = set(self._latest.get(cid, ()))
                entities = self._live[cid] = container(cid, None, gone, set())
                entities.update(current)
                write(parent, step, entities)
            ids[id(entities)] = cid
            delta = changes(entities, self._latest.setdefault(cid, {}))
            if delta is not None:
                deltas[cid] = delta
        return Checkpoint(count, freeze(models, ids), deltas)

    def _put(self, cp: Checkpoint) -> None:
        assert cp.rest is not None
        self._since_whole += cp.changed
        whole = None
        if self._since_whole * WHOLE_SHARE >= max(1024, sum(map(len, self._latest.values()))):
            whole = {cid: dict(entries) for cid, entries in self._latest.items()}
            self._since_whole = 0
        with self._lock:
            self._cps.append(cp)
            self._counts.append(cp.count)
            self.bytes += len(cp.rest) + sum(d.size() for d in cp.deltas.values())
            if whole is not None:
                self._wholes.append((cp.count, whole))
                self.bytes += ENTRY_BYTES * sum(map(len, whole.values()))
            while self.bytes > self.budget and len(self._counts) > 2:
                self._thin()

    def _thin(self) -> None:
        """Drop every other checkpoint's models (the first and the newest stay; the deltas all
        stay); double the interval."""
        keep = self._counts[::2] + (self._counts[-1:] if len(self._counts) % 2 == 0 else [])
        kept = set(keep)
        for cp in self._cps:
            if cp.rest is not None and cp.count not in kept:
                self.bytes -= len(cp.rest)
                cp.rest = None
        self._counts = keep
        self.interval *= 2

    # -- the reader's side ----------------------------------------------------------------
    def at(self, index: int) -> Models:
        """The models right after record `index` (-1: before any); read them, do not change them."""
        target = max(0, min(index + 1, len(self.store)))
        with self._lock:
            nearest = self._counts[bisect.bisect_right(self._counts, target) - 1]
            cp = self._cps[bisect.bisect_left(self._cps, nearest, key=lambda c: c.count)]
            rest = cp.rest  # read under the lock: the indexer may thin the checkpoint next
        # Going on from the state at hand beats a restore when it is near enough.
        if not (nearest <= self._count <= target or 0 <= target - self._count <= self.interval):
            self._restore(cp, rest)
        if self._count < target:
            for cid, entities in self._found.items():  # note what the replay changes
                entities.touched, entities.added = self._noted.setdefault(cid, (set(), set()))
            try:
                for rec in self.store.range(self._count, target):
                    self._replay(rec)
            finally:
                for entities in self._found.values():
                    entities.touched = entities.added = None
        self._count = target
        return self._state

    def _replay(self, rec: Record) -> None:
        try:
            obs = apply_record(self._state, rec, self.config)
        except Exception:  # the indexer has shown it as a notice
            return
        if obs is None:
            return
        obs.violations.clear()
        obs.assumptions.clear()

    def _restore(self, cp: Checkpoint, rest: bytes | None) -> None:
        """Make the reader's state the checkpoint's (`rest`: its blob, read under the lock)."""
        assert rest is not None
        with self._lock:
            if self._base is None:
                steps, changed = None, 0
            else:
                lo, hi = sorted((self._base, cp.count))
                span = self._cps[bisect.bisect_right(self._cps, lo, key=lambda c: c.count):
                                 bisect.bisect_right(self._cps, hi, key=lambda c: c.count)]
                steps, changed = [c.deltas for c in span], sum(c.changed for c in span)
        total = sum(map(len, self._maps.values()))
        if steps is None or changed * _WALK_SHARE > total:
            self._compare(self._maps_at(cp.count))
        else:
            self._walk(steps, forward=cp.count >= (self._base or 0), count=cp.count)
        self._noted = {}
        self._state = thaw(rest, self._found)
        self._base = self._count = cp.count

    def _maps_at(self, count: int, only: Cid | None = None) -> Maps:
        """The containers' entries (key -> version, in order) at the checkpoint of `count`
        records: all, or `only` one."""
        with self._lock:
            at, whole = self._wholes[bisect.bisect_right(self._wholes, count, key=lambda w: w[0]) - 1]
            lo = bisect.bisect_right(self._cps, at, key=lambda c: c.count)
            hi = bisect.bisect_right(self._cps, count, key=lambda c: c.count)
            steps = [c.deltas for c in self._cps[lo:hi]]
        maps = {cid: dict(entries) for cid, entries in whole.items() if only in (None, cid)}
        for deltas in steps:
            for cid, delta in deltas.items():
                if only in (None, cid):
                    delta.apply(maps.setdefault(cid, {}))
        return maps

    def _undo_noted(self) -> set[Cid]:
        """Put the entries the replays since the last restore noted back at `_base`; the
        containers whose order that cannot mend (an entry gone and back)."""
        broken = set()
        for cid, (touched, added) in self._noted.items():
            entities, entries = self._found[cid], self._maps.get(cid, {})
            if not added.isdisjoint(entries):
                broken.add(cid)
            for key in touched:
                version = entries.get(key, GONE)
                if version is GONE:
                    dict.pop(entities, key, None)
                else:
                    if not dict.__contains__(entities, key):
                        broken.add(cid)
                    dict.__setitem__(entities, key, version)
        return broken

    def _compare(self, maps: Maps) -> None:
        """Restore through whole maps: each container keeps the values of the entries whose
        version is the same."""
        self._undo_noted()
        found: dict[Cid, Entities] = {}
        for cid, entries in maps.items():
            entities, old = self._found.get(cid), self._maps.get(cid, {})
            if entities is None:
                found[cid] = container(cid, entries)
                continue
            # The keys whose version is not the old one, found in C (a far jump compares all).
            keys = list(entries)
            olds = map(old.get, keys, itertools.repeat(GONE))
            for key in itertools.compress(keys, map(operator.is_not, olds, entries.values())):
                dict.__setitem__(entities, key, entries[key])
            for key in old.keys() - entries.keys():
                dict.pop(entities, key, None)
            found[cid] = _ordered(entities, entries)
        self._found, self._maps = found, maps

    def _walk(self, steps: list[dict[Cid, Delta]], forward: bool, count: int) -> None:
        """Restore through the deltas between `_base` and the checkpoint of `count` records."""
        broken = self._undo_noted()
        for deltas in steps if forward else reversed(steps):
            for cid, delta in deltas.items():
                entities = self._found.get(cid)
                if entities is None:  # a host new since: built whole below
                    entities = self._found[cid] = container(cid)
                    broken.add(cid)
                if not _step(entities, self._maps.setdefault(cid, {}), delta, forward):
                    broken.add(cid)
        for cid in broken:
            entries = self._maps_at(count, cid).get(cid, {})
            self._found[cid] = _ordered(self._found[cid], entries)
            self._maps[cid] = entries


def _step(entities: Entities, entries: dict[Hashable, Any], delta: Delta, forward: bool) -> bool:
    """Take a container and its map one checkpoint on (or back); whether its order is kept
    (going back, an entry that was removed, or moved to the end, cannot go back to its place)."""
    if forward:
        delta.apply(entries)
        delta.apply(entities)
        return True
    kept = True
    for key, version in delta.before.items():
        if version is GONE:
            entries.pop(key, None)
            dict.pop(entities, key, None)
            continue
        entries[key] = version
        if delta.changed.get(key, GONE) is GONE:  # removed, or moved to the end: not in place
            kept = False
        dict.__setitem__(entities, key, version)
    return kept


def _ordered(entities: Entities, entries: dict[Hashable, Any]) -> Entities:
    """`entities` in the order of `entries` (whose keys it holds, and only those)."""
    if list(entities) == list(entries):
        return entities
    return Entities({key: dict.__getitem__(entities, key) for key in entries}, entities.mutable,
                    mark=entities.mark)
