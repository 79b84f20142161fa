"""A host's instances by uuid, in order of first sight, with finished ones kept packed.

A long log holds thousands of instances that were built and deleted long ago; the report
still lists each. `Instances.retire` packs one into one bytes string (`marshal` of its
fields, its phases as numbers, values many instances share - states, claim, image - as
indexes into one table): a sixth of the memory of the objects. Reading it by key
(`host.instance(uuid)`, `instances[uuid]`) unpacks it back into a live `Instance`, equal to
the one packed, so a later line about it finds exactly what it left. Iterating the values
(`values()`, `items()`) unpacks one at a time and packs it again after use.
"""

from __future__ import annotations

import dataclasses
import marshal
import struct
from collections.abc import ItemsView, Iterator, MutableMapping, ValuesView
from datetime import datetime, timedelta
from typing import Any

from nsim.model.instance import PHASES, Instance, Phase

# The phase names packed phases number: the boot's (PHASES), then the delete's.
_PHASE_NAMES: tuple[str, ...] = (*PHASES, "delete")
_PHASE_INDEX = {name: i for i, name in enumerate(_PHASE_NAMES)}
# One phase: its name's index, proxy, then start, end and inside in microseconds since
# datetime.min (-1 for None).
_PHASE = struct.Struct("<B?qqq")
_NONE = -1
# Fields packed as an index into the shared table (their values repeat across instances).
_SHARED = frozenset({"host", "vm_state", "task_state", "power_state", "outcome", "claim",
                     "image_cache", "image_id", "base_file", "operation", "cause"})
# The packed fields, in order (the uuid is the key).
_PACKED = tuple(f.name for f in dataclasses.fields(Instance) if f.name != "uuid")


_MICROSECOND = timedelta(microseconds=1)


def _micros(when: datetime | None) -> int:
    """A stamp as a number; ValueError for what is not a naive datetime."""
    if when is None:
        return _NONE
    if type(when) is not datetime or when.tzinfo is not None or when.fold:
        raise ValueError(f"not a naive datetime: {when!r}")
    return (when - datetime.min) // _MICROSECOND


def _stamp(micros: int) -> datetime | None:
    return None if micros == _NONE else datetime.min + timedelta(0, 0, micros)


def _values(inst: Instance) -> list[Any]:
    """The values of the packed fields, phases and overhead copied into tuples (what a
    caller may change in place is not shared with the instance)."""
    values: list[Any] = []
    for name in _PACKED:
        value = getattr(inst, name)
        if name == "phases":
            value = tuple((p.name, p.proxy, p.start, p.end, p.inside) for p in value.values())
        elif name == "overhead":
            value = tuple(value.items())
        values.append(value)
    return values


def _pack_phases(phases: tuple[tuple[Any, ...], ...]) -> bytes:
    """The phases (as `_values` gives them) as bytes; ValueError for a name outside
    _PHASE_NAMES or a stamp that is not a naive datetime."""
    packed = []
    for name, proxy, start, end, inside in phases:
        index = _PHASE_INDEX.get(name)
        if index is None:
            raise ValueError(f"no number for phase {name}")
        packed.append(_PHASE.pack(index, proxy, _micros(start), _micros(end), _micros(inside)))
    return b"".join(packed)


def _unpack_phases(packed: bytes) -> dict[str, Phase]:
    phases = {}
    for index, proxy, start, end, inside in _PHASE.iter_unpack(packed):
        name = _PHASE_NAMES[index]
        phases[name] = Phase(name, _stamp(start), _stamp(end), proxy, _stamp(inside))
    return phases


class Instances(MutableMapping[str, Instance]):
    """Instances by uuid (a dict's order and behaviour); retired ones are kept packed."""

    def __init__(self) -> None:
        self._entries: dict[str, Instance | bytes] = {}
        self._table: list[Any] = []
        """The values of the _SHARED fields packed instances hold, each once."""
        self._index: dict[tuple[type, str], int] = {}
        """Where each is in the table, by type and repr (512 and 512.0 are equal, but print
        differently)."""
        self._lately: dict[str, None] = {}
        """Finished instances not yet packed, the one a record named last at the end."""

    def _share(self, value: Any) -> int | None:
        if value is None:
            return None
        key = (type(value), repr(value))
        at = self._index.get(key)
        if at is None:
            at = self._index[key] = len(self._table)
            self._table.append(value)
        return at

    def retire(self, uuid: str) -> bool:
        """Pack the instance (kept as it is, only smaller); False when it is unknown,
        already packed or holds a value that cannot be packed."""
        inst = self._entries.get(uuid)
        if not isinstance(inst, Instance):
            return False
        packed = self._pack(inst)
        if packed is None:
            return False
        self._entries[uuid] = packed
        return True

    def finished(self, uuid: str, keep: int) -> None:
        """A record named the instance, which is done with (deleted): of those, all but the
        `keep` named last are packed (a line about one may still come; it unpacks it)."""
        lately = self._lately
        lately.pop(uuid, None)
        lately[uuid] = None
        while len(lately) > keep:
            oldest = next(iter(lately))
            del lately[oldest]
            self.retire(oldest)

    def live(self, uuid: str) -> Instance | None:
        """The instance if it is kept unpacked (reading it does not unpack it)."""
        entry = self._entries.get(uuid)
        return entry if isinstance(entry, Instance) else None

    def packed(self) -> int:
        """How many instances are kept packed."""
        return sum(1 for entry in self._entries.values() if not isinstance(entry, Instance))

    def _pack(self, inst: Instance) -> bytes | None:
        """The instance as bytes; None when a phase or a field's value cannot be packed."""
        values = _values(inst)
        try:
            for at, name in enumerate(_PACKED):
                if name in _SHARED:
                    values[at] = self._share(values[at])
                elif name == "phases":
                    values[at] = _pack_phases(values[at])
            return marshal.dumps(tuple(values))
        except ValueError:  # an odd phase, or a value of a type marshal does not write
            return None

    def _unpack(self, uuid: str, packed: bytes) -> Instance:
        fields: dict[str, Any] = dict(zip(_PACKED, marshal.loads(packed), strict=True))
        for name in _SHARED:
            at = fields[name]
            fields[name] = None if at is None else self._table[at]
        fields["phases"] = _unpack_phases(fields["phases"])
        fields["overhead"] = dict(fields["overhead"])
        return Instance(uuid, **fields)

    def get(self, uuid: str, default: Any = None) -> Any:
        """`self[uuid]`, or `default` when there is none (as fast as a dict's get for an
        instance kept unpacked)."""
        entry = self._entries.get(uuid)
        if entry is None:
            return default
        return entry if isinstance(entry, Instance) else self[uuid]

    def __getitem__(self, uuid: str) -> Instance:
        entry = self._entries[uuid]
        if isinstance(entry, Instance):
            return entry
        inst = self._entries[uuid] = self._unpack(uuid, entry)
        return inst

    def __setitem__(self, uuid: str, inst: Instance) -> None:
        self._entries[uuid] = inst

    def __delitem__(self, uuid: str) -> None:
        del self._entries[uuid]

    def __contains__(self, uuid: object) -> bool:
        return uuid in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Instances({len(self)} instances, {self.packed()} packed)"

    def _each(self) -> Iterator[tuple[str, Instance]]:
        """Each instance in order; a packed one is unpacked while the caller holds it, then
        packed again with whatever the caller changed."""
        for uuid, entry in self._entries.items():
            if isinstance(entry, Instance):
                yield uuid, entry
                continue
            inst = self._entries[uuid] = self._unpack(uuid, entry)
            before = _values(inst)
            try:
                yield uuid, inst
            finally:
                if self._entries.get(uuid) is inst:  # not read by key meanwhile
                    unchanged = _values(inst) == before
                    self._entries[uuid] = entry if unchanged else self._pack(inst) or inst

    def values(self) -> ValuesView[Instance]:
        return _Values(self)

    def items(self) -> ItemsView[str, Instance]:
        return _Items(self)


class _Values(ValuesView[Instance]):
    _mapping: Instances

    def __iter__(self) -> Iterator[Instance]:
        return (inst for _, inst in self._mapping._each())


class _Items(ItemsView[str, Instance]):
    _mapping: Instances

    def __iter__(self) -> Iterator[tuple[str, Instance]]:
        return self._mapping._each()
