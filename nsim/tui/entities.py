"""The dicts of a host model that grow with the log, kept so that a checkpoint costs what
changed, not what the model holds.

The model keeps its instances, base files, locks, claims, counted usage and the requests it
tied to instances in dicts (`CONTAINERS`). The timeline swaps each of them for an `Entities`:
a dict that notes, in `touched`, every key whose value it hands out or changes (a value handed
out may be changed in place), and that may hold values still pickled (`Pickled`, decoded when
asked for), so a restored model decodes only the entries it reads. A pickled lock keeps beside
its pickle whether it is held (`MARKS`), so the host pane finds the held locks of a restored
model without decoding them all.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

LOCKS = "host.locks.locks"
CONTAINERS: tuple[tuple[str, bool], ...] = (
    ("host.instances", True),
    ("host.cache.files", True),
    (LOCKS, True),
    ("host.tracker.claims", False),
    ("host.tracker.known.memory", False),
    ("host.tracker.known.disk", False),
    ("host.tracker.known.vcpu", False),
    ("_attribution._by_request", False),
)
"""Paths from a host's observer to its growing dicts (a step is an attribute, or a key of a
dict), and whether their values change in place (instances, base files and locks do; claims,
amounts and instance ids are immutable, so a checkpoint keeps the value itself)."""

MARKS: dict[str, Callable[[Any], bool]] = {LOCKS: lambda lock: lock.holder is not None}
"""What a container's pickled values keep beside their pickle (a lock: whether it is held)."""

_ABSENT: Any = object()


class Pickled:
    """One version of an entry, pickled (and whether its container's mark holds for it): the
    same object for as long as the entry is unchanged (versions are compared by identity)."""

    __slots__ = ("blob", "marked")

    def __init__(self, value: object, mark: Callable[[Any], bool] | None = None) -> None:
        self.blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self.marked = mark is not None and mark(value)


class Entities(dict[Hashable, Any]):
    """A dict that notes the keys whose values it changes, or hands out when they are
    `mutable` (`touched`), and the keys it gains (`added`: they go to its end), and that
    decodes `Pickled` values on first access. Both are None while nothing is noted."""

    __slots__ = ("added", "mark", "mutable", "touched")

    def __init__(self, entries: dict[Hashable, Any], mutable: bool = True,
                 touched: set[Hashable] | None = None, added: set[Hashable] | None = None,
                 mark: Callable[[Any], bool] | None = None) -> None:
        super().__init__(entries)
        self.mutable = mutable
        self.touched = touched
        self.added = added
        self.mark = mark

    def _out(self, key: Hashable, value: Any) -> Any:
        """`value` of `key` as handed out: decoded (and kept decoded), the key noted."""
        if type(value) is Pickled:
            value = pickle.loads(value.blob)
            dict.__setitem__(self, key, value)
        if self.mutable and self.touched is not None:
            self.touched.add(key)
        return value

    def _note(self, keys: Iterable[Hashable]) -> None:
        """`keys` may change or go."""
        if self.touched is not None:
            self.touched.update(keys)

    def _gain(self, key: Hashable) -> None:
        """`key` gets a value (and, if new, goes to the end)."""
        if self.touched is not None:
            self.touched.add(key)
        if self.added is not None and not dict.__contains__(self, key):
            self.added.add(key)

    def decode_all(self) -> None:
        """Decode every value still pickled; note every key, when the values are `mutable`."""
        if not self.mutable:
            return
        for key, value in dict.items(self):
            if type(value) is Pickled:
                dict.__setitem__(self, key, pickle.loads(value.blob))
        self._note(dict.keys(self))

    def marked(self) -> list[Any]:
        """The values `mark` holds for, in order, decoding only those (a value still pickled
        answers from its version)."""
        mark = self.mark
        assert mark is not None
        return [self[key] for key, value in dict.items(self)
                if (value.marked if type(value) is Pickled else mark(value))]

    def __getitem__(self, key: Hashable) -> Any:
        return self._out(key, dict.__getitem__(self, key))

    def get(self, key: Hashable, default: Any = None) -> Any:
        value = dict.get(self, key, _ABSENT)
        return default if value is _ABSENT else self._out(key, value)

    def setdefault(self, key: Hashable, default: Any = None) -> Any:
        self._gain(key)
        return self._out(key, dict.setdefault(self, key, default))

    def pop(self, key: Hashable, *default: Any) -> Any:
        self._note((key,))
        value = dict.pop(self, key, *default)
        return pickle.loads(value.blob) if type(value) is Pickled else value

    def popitem(self) -> tuple[Hashable, Any]:
        key, value = dict.popitem(self)
        self._note((key,))
        return key, pickle.loads(value.blob) if type(value) is Pickled else value

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self._gain(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Hashable) -> None:
        self._note((key,))
        dict.__delitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> Entities:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        self._note(dict.keys(self))
        dict.clear(self)

    def values(self) -> Any:
        self.decode_all()
        return dict.values(self)

    def items(self) -> Any:
        self.decode_all()
        return dict.items(self)

    def copy(self) -> dict[Hashable, Any]:
        self.decode_all()
        return dict(dict.items(self))

    def __reduce__(self) -> tuple[type[dict[Hashable, Any]], tuple[dict[Hashable, Any]]]:
        """Pickled (or deep-copied) elsewhere, it is the plain dict it stands for."""
        return dict, (self.copy(),)


def locate(root: object, path: str) -> tuple[object, str] | None:
    """The object holding the last step of `path` under `root`, and that step; None when a
    step is missing (a model without that part)."""
    *steps, last = path.split(".")
    node = root
    for step in steps:
        node = node.get(step, _ABSENT) if isinstance(node, dict) else getattr(node, step, _ABSENT)
        if node is _ABSENT:
            return None
    return node, last


def read(parent: object, step: str) -> Any:
    return parent.get(step) if isinstance(parent, dict) else getattr(parent, step, None)


def write(parent: object, step: str, value: object) -> None:
    if isinstance(parent, dict):
        parent[step] = value
    else:
        setattr(parent, step, value)


Cid = tuple[str, str]
"""A container's id: its host and its path."""
_MUTABLE = {path for path, mutable in CONTAINERS if mutable}


def container(cid: Cid, entries: dict[Hashable, Any] | None = None,
              touched: set[Hashable] | None = None, added: set[Hashable] | None = None) -> Entities:
    """An `Entities` for container `cid` (its values mutable or not, its mark)."""
    return Entities(entries or {}, cid[1] in _MUTABLE, touched, added, MARKS.get(cid[1]))


def marked(values: dict[Hashable, Any], path: str) -> list[Any]:
    """The values of the container at `path` (of a host's observer) its mark holds for, in
    order: from an `Entities`, without decoding the others."""
    if isinstance(values, Entities) and values.mark is not None:
        return values.marked()
    return [value for value in values.values() if MARKS[path](value)]


def containers(models: dict[str, Any]) -> Iterator[tuple[Cid, object, str]]:
    """Each growing dict of each host's model: its id, its holder, the step to it."""
    for host, obs in models.items():
        for path, _ in CONTAINERS:
            found = locate(obs, path)
            if found is not None:
                yield (host, path), found[0], found[1]
