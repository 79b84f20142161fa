"""Times and durations at the resolution the log has.

journald's `short` output stamps whole seconds; oslo.log and `short-precise` stamp milliseconds
or finer. A duration from whole-second stamps is shown in whole seconds (`9s`), any other in
milliseconds (`9.061s`); JSON durations are rounded to the millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nsim.logs.record import Record
    from nsim.model.instance import Instance

# Whole-second stamps in a row after which a source is taken to stamp whole seconds.
LOOKAHEAD = 64


def whole_seconds(stamps: Iterable[datetime | None]) -> bool:
    """True when every stamp (None ignored) falls on a whole second: the log stamps seconds."""
    return all(s.microsecond == 0 for s in stamps if s is not None)


def phases_whole(inst: Instance) -> bool:
    """Whether the instance's log stamps whole seconds (every phase bound falls on one)."""
    return whole_seconds(t for p in inst.ordered_phases() for t in (p.start, p.end))


def ms(value: float | None) -> float | None:
    """A duration rounded to the millisecond (JSON's form)."""
    return None if value is None else round(value, 3)


def seconds(value: float | None, whole: bool, sign: bool = False) -> str:
    """A duration as `9` (whole) or `9.061`, `-` when unknown; `sign` adds `+` to positives."""
    if value is None:
        return "-"
    spec = ("+" if sign else "") + (".0f" if whole else ".3f")
    return format(value, spec)


def stamp(value: datetime | None, whole: bool, date: bool = True) -> str:
    """A stamp as `2017-06-16 13:12:52` (whole) or with `.123` milliseconds; `-` when None."""
    if value is None:
        return "-"
    text = value.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    return text if whole else f"{text}.{value.microsecond // 1000:03d}"


def with_resolution(records: Iterable[Record]) -> Iterator[tuple[Record, bool]]:
    """Each record with whether its source stamps whole seconds.

    A source is decided by its first stamp with a fraction (milliseconds), or by LOOKAHEAD
    whole-second stamps in a row (or its end); records wait in a buffer until then.
    """
    pending: list[Record] = []
    whole_run = 0
    decided: dict[str, bool] = {}
    for rec in records:
        if rec.source in decided:
            yield rec, decided[rec.source]
            continue
        if pending and pending[0].source != rec.source:  # the previous source ended
            decided[pending[0].source] = True
            yield from ((r, True) for r in pending)
            pending, whole_run = [], 0
        pending.append(rec)
        if rec.timestamp is None:
            continue
        if rec.timestamp.microsecond:
            decided[rec.source] = False
        else:
            whole_run += 1
            if whole_run < LOOKAHEAD:
                continue
            decided[rec.source] = True
        yield from ((r, decided[rec.source]) for r in pending)
        pending, whole_run = [], 0
    yield from ((r, True) for r in pending)
