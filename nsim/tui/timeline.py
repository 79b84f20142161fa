"""The host models at any record of a replay, from checkpoints.

While the inputs are indexed, the indexer applies each record to live models (one
`HostObserver` per host, as `nsim replay` does) and offers them here; every `interval`
records (and never more often than keeps checkpointing under a tenth of the indexing
time) a checkpoint is taken: the models, pickled and compressed. Asking for the state
at record i restores the nearest checkpoint at or before it and replays the few records
in between, so stepping back shows exactly the model at that record without replaying
from the start. Checkpoints past a memory budget are thinned to every other one.
"""

from __future__ import annotations

import bisect
import pickle
import threading
import time
import zlib

from nsim.logs.record import Record
from nsim.model.config import HostConfig
from nsim.replay.observer import HostObserver
from nsim.replay.run import apply_record
from nsim.tui.store import RecordStore

Models = dict[str, HostObserver]
"""One observer (and so one host model) per host, keyed like `nsim replay` keys them."""

COST_FACTOR = 9.0
"""After a checkpoint that took t seconds, the next waits at least COST_FACTOR x t (so
checkpointing takes at most a tenth of the indexing time)."""
DEFAULT_INTERVAL = 256
DEFAULT_BUDGET = 256 * 2**20


def _freeze(models: Models) -> bytes:
    return zlib.compress(pickle.dumps(models, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _thaw(blob: bytes) -> Models:
    models: Models = pickle.loads(zlib.decompress(blob))
    return models


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
        self._blobs: dict[int, bytes] = {}
        self._keys: list[int] = []
        self._lock = threading.Lock()
        self._last = 0
        self._not_before = 0.0
        self._state: Models = {}
        self._count = 0
        """How many records `_state` has applied."""
        self._put(0, _freeze({}))

    @property
    def checkpoints(self) -> list[int]:
        """Record counts at which checkpoints exist (0 = before the first record)."""
        with self._lock:
            return list(self._keys)

    def offer(self, count: int, models: Models) -> None:
        """The live models after `count` records; kept as a checkpoint when one is due."""
        if count - self._last < self.interval or time.perf_counter() < self._not_before:
            return
        started = time.perf_counter()
        self._put(count, _freeze(models))
        finished = time.perf_counter()
        self._last = count
        self._not_before = finished + self.cost_factor * (finished - started)

    def _put(self, count: int, blob: bytes) -> None:
        with self._lock:
            self._blobs[count] = blob
            bisect.insort(self._keys, count)
            self.bytes += len(blob)
            while self.bytes > self.budget and len(self._keys) > 2:
                self._thin()

    def _thin(self) -> None:
        """Drop every other checkpoint (the first and the newest stay); double the interval."""
        newest = self._keys[-1]
        keep = [k for i, k in enumerate(self._keys) if i % 2 == 0 or k == newest]
        for k in set(self._keys) - set(keep):
            self.bytes -= len(self._blobs.pop(k))
        self._keys = keep
        self.interval *= 2

    def at(self, index: int) -> Models:
        """The models right after record `index` (-1: before any); read them, do not change them."""
        target = max(0, min(index + 1, len(self.store)))
        with self._lock:
            nearest = self._keys[bisect.bisect_right(self._keys, target) - 1]
            # Going on from the state at hand beats thawing when it is near enough.
            near = nearest <= self._count <= target or 0 <= target - self._count <= self.interval
            blob = None if near else self._blobs[nearest]
        if blob is not None:
            self._state, self._count = _thaw(blob), nearest
        for rec in self.store.range(self._count, target):
            self._replay(rec)
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
