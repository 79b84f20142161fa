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


def _micros(when: datetime | None) -> int:
    if when is None:
        return _NONE
    return (when - datetime.min) // timedelta(microseconds=1)


def _stamp(micros: int) -> datetime | None:
    return None if micros == _NONE else datetime.min + timedelta(microseconds=micros)


def _packable(phase: Phase) -> bool:
    """Names outside _PHASE_NAMES and stamps other than naive datetimes stay objects."""
    return phase.name in _PHASE_INDEX and all(
        when is None or (type(when) is datetime and when.tzinfo is None and when.fold == 0)
        for when in (phase.start, phase.end, phase.inside))


def _pack_phases(phases: dict[str, Phase]) -> bytes | None:
    if not all(_packable(p) for p in phases.values()):
        return None
    return b"".join(_PHASE.pack(_PHASE_INDEX[p.name], p.proxy, _micros(p.start),
                                _micros(p.end), _micros(p.inside)) for p in phases.values())


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
        already packed or has phases that cannot be packed."""
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
        phases = _pack_phases(inst.phases)
        if phases is None:
            return None
        values: list[Any] = []
        for name in _PACKED:
            value = getattr(inst, name)
            if name in _SHARED:
                value = self._share(value)
            elif name == "phases":
                value = phases
            elif name == "overhead":
                value = tuple(value.items())
            values.append(value)
        try:
            return marshal.dumps(tuple(values))
        except ValueError:  # a value of a type marshal does not write
            return None

    def _unpack(self, uuid: str, packed: bytes) -> Instance:
        fields: dict[str, Any] = dict(zip(_PACKED, marshal.loads(packed), strict=True))
        for name in _SHARED:
            at = fields[name]
            fields[name] = None if at is None else self._table[at]
        fields["phases"] = _unpack_phases(fields["phases"])
        fields["overhead"] = dict(fields["overhead"])
        return Instance(uuid, **fields)

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
            try:
                yield uuid, inst
            finally:
                if self._entries.get(uuid) is inst:
                    self._entries[uuid] = self._pack(inst) or inst

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
