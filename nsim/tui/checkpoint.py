"""One checkpoint of the host models: the entries of their growing dicts changed since the
checkpoint before (a `Delta` per dict), and the rest of the models, pickled whole.

An entry's version is the immutable value itself, or (for values changed in place) a
`Pickled` that stays the same object while the entry is unchanged, so versions compare by
identity. A delta also keeps each changed entry's version before it, so a reader can walk
from one checkpoint to another either way.
"""

from __future__ import annotations

import io
import itertools
import pickle
import zlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from nsim.tui.entities import Cid, Entities, Pickled, container

Maps = dict[Cid, dict[Hashable, Any]]
"""Each container's entries: key -> version."""
Models = dict[str, Any]
"""One observer per host (`nsim.tui.timeline.Models`)."""
GONE: Any = object()
"""The version of an entry that is not there."""
ENTRY_BYTES = 64
"""What one entry of a delta or of a whole map costs beside its pickle (dict slot, version)."""


@dataclass
class Delta:
    """A container's entries changed since the checkpoint before: in place (`GONE`: removed),
    then those added at its end, in order; and the version each had before."""

    changed: dict[Hashable, Any] = field(default_factory=dict)
    appended: dict[Hashable, Any] = field(default_factory=dict)
    before: dict[Hashable, Any] = field(default_factory=dict)

    def apply(self, entries: dict[Hashable, Any]) -> None:
        """Take `entries` (in order) from the checkpoint before to this one (as a plain dict:
        `Entities` notes nothing, decodes nothing)."""
        changed, appended = self.changed, self.appended
        dict.update(entries, changed)  # in place (a removed entry is popped just after)
        if GONE in changed.values():
            for key, version in changed.items():
                if version is GONE:
                    dict.pop(entries, key, None)
        for key in appended:  # to the end
            dict.pop(entries, key, None)
        dict.update(entries, appended)

    def __len__(self) -> int:
        return len(self.before)

    def size(self) -> int:
        """Bytes it holds, roughly."""
        versions = itertools.chain(self.changed.values(), self.appended.values())
        return sum(len(v.blob) + ENTRY_BYTES if type(v) is Pickled else ENTRY_BYTES
                   for v in versions)


@dataclass
class Checkpoint:
    count: int
    """Records applied."""
    rest: bytes | None
    """The models but their containers, pickled and compressed (None once thinned out: its
    deltas stay, for the checkpoints after it)."""
    deltas: dict[Cid, Delta]
    changed: int = field(init=False)
    """The entries its deltas hold."""

    def __post_init__(self) -> None:
        self.changed = sum(map(len, self.deltas.values()))


class _Pickler(pickle.Pickler):
    """Pickles models with their containers left out, named by id."""

    def __init__(self, out: io.BytesIO, ids: dict[int, Cid]) -> None:
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.ids = ids

    def persistent_id(self, obj: Any) -> Cid | None:  # type: ignore[override]
        return self.ids.get(id(obj)) if type(obj) is Entities else None


class _Unpickler(pickle.Unpickler):
    """Unpickles models, putting the given containers back in."""

    def __init__(self, data: bytes, found: dict[Cid, Entities]) -> None:
        super().__init__(io.BytesIO(data))
        self.found = found

    def persistent_load(self, pid: Any) -> Entities:
        """The container `pid` names (a new, empty one for a container with no entries yet)."""
        cid: Cid = tuple(pid)  # type: ignore[assignment]
        return self.found.setdefault(cid, container(cid))


def freeze(models: Models, ids: dict[int, Cid]) -> bytes:
    """The models pickled and compressed, with the containers of `ids` left out."""
    out = io.BytesIO()
    _Pickler(out, ids).dump(models)
    return zlib.compress(out.getvalue(), 1)


def thaw(blob: bytes, found: dict[Cid, Entities]) -> Models:
    """The models `freeze` made, with the containers of `found` put back (and new empty ones
    added to it)."""
    models: Models = _Unpickler(zlib.decompress(blob), found).load()
    return models


def changes(entities: Entities, latest: dict[Hashable, Any]) -> Delta | None:
    """The entries of `entities` noted since the last look whose version changed or that were
    added, as a delta (None: nothing changed); `latest` (key -> version, in the order of
    `entities`) follows."""
    touched, entities.touched = entities.touched or set(), set()
    added, entities.added = entities.added or set(), set()
    added &= dict.keys(entities)
    # What was added since the last look is the end of `entities`, in order.
    tail = list(itertools.islice(reversed(entities), len(added)))[::-1]
    if set(tail) != added:  # cannot be, as dicts keep order: be exact all the same
        tail, touched = list(entities), touched | set(entities) | set(latest)
    delta = Delta()
    for key in touched.difference(tail):
        value = dict.get(entities, key, GONE)
        old = latest.get(key, GONE)
        if value is GONE:
            if old is not GONE:
                del latest[key]
                delta.changed[key], delta.before[key] = GONE, old
            continue
        version = _version(value, old, entities)
        if version is not old:
            latest[key] = delta.changed[key] = version
            delta.before[key] = old
    for key in tail:
        old = latest.pop(key, GONE)
        latest[key] = delta.appended[key] = _version(dict.__getitem__(entities, key), old,
                                                     entities)
        delta.before[key] = old
    return delta if delta.before else None


def _version(value: Any, old: Any, entities: Entities) -> Any:
    """The version of an entry's `value` in `entities`: `old` when it is unchanged."""
    if not entities.mutable:
        return old if old is value else value
    version = Pickled(value, entities.mark)
    return old if old is not GONE and old.blob == version.blob else version
