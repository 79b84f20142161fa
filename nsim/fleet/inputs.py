"""A fleet's inputs: files from GLOBs, each file's hosts sniffed, files grouped by host.

Files that share a host end up in one group, so one task sees all of a host's records,
merged by time as `nsim replay` merges them.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from nsim.logs.reader import ParseRun
from nsim.replay.run import host_key

# Records read from the head of each file to learn its host(s).
SNIFF_RECORDS = 20
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Inputs:
    """The files the patterns named, in order and without repeats, and patterns that named none."""

    files: list[str]
    unmatched: list[str]


def expand(patterns: Iterable[str]) -> Inputs:
    """Expand GLOBs (sorted, `**` recursive; directories skipped); a plain path is kept as given.

    Keeping plain paths means a missing file is reported by the parser, as `nsim replay` does.
    """
    files: list[str] = []
    seen: set[str] = set()
    unmatched: list[str] = []
    for pattern in patterns:
        if _GLOB_CHARS.intersection(pattern):
            hits = sorted(p for p in glob.glob(pattern, recursive=True) if not os.path.isdir(p))
            if not hits:
                unmatched.append(pattern)
        else:
            hits = [pattern]
        for path in hits:
            if path not in seen:
                seen.add(path)
                files.append(path)
    return Inputs(files, unmatched)


@dataclass(frozen=True)
class Sniff:
    """What the head of one file says: the hosts of its first records and the first stamp."""

    path: str
    hosts: frozenset[str]
    """Host keys as `nsim replay` makes them (the record's host, else the file name's stem)."""
    first: datetime | None
    """Stamp of the first record (datetime.min if it has none); None when there is no record."""
    error: str | None = None
    """Why the file is not read at all (then it joins no group), in one line."""


def one_line(exc: BaseException, limit: int = 200) -> str:
    """`Type: message`, first line only, cut at `limit` characters."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text if len(text) <= limit else text[:limit - 1] + "…"


def not_regular(path: str) -> str | None:
    """Why `path` is refused: it exists and is not a regular file (a FIFO or a device never
    ends, a directory is no log); None for a regular file, or none at all (the parser says so)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket")
    return f"not a regular file ({kind}): fleet reads only regular files"


def sniff(paths: Sequence[str], fmt: str = "auto", year: int | None = None) -> list[Sniff]:
    """Read the first SNIFF_RECORDS records of each file (a task run on a worker).

    A file that is refused or whose reading raises gets its `error`; the others are unaffected.
    """
    out = []
    for path in paths:
        why = not_regular(path)
        if why is None:
            try:
                out.append(_sniff_one(path, fmt, year))
                continue
            except Exception as exc:  # one file's failure is that file's error alone
                why = f"cannot read: {one_line(exc)}"
        out.append(Sniff(path, frozenset(), None, why))
    return out


def _sniff_one(path: str, fmt: str, year: int | None) -> Sniff:
    hosts: set[str] = set()
    first: datetime | None = None
    records = iter(ParseRun([path], fmt=fmt, year=year))
    try:
        for n, rec in enumerate(records):
            if n == 0:
                first = rec.timestamp or datetime.min
            hosts.add(host_key(rec))
            if n + 1 == SNIFF_RECORDS:
                break
    finally:
        records.close()  # type: ignore[attr-defined]
    return Sniff(path, frozenset(hosts), first)


@dataclass(frozen=True)
class Group:
    """Files replayed together: every file of the hosts they hold, in input order."""

    paths: tuple[str, ...]
    hosts: tuple[str, ...]
    """Sorted; empty for the files in which no record was found."""
    order: tuple[datetime, int]
    """(first stamp, input index) of the group's earliest record: `nsim replay`'s host order."""

    @property
    def name(self) -> str:
        return self.hosts[0] if self.hosts else "<no-records>"


def group(sniffs: Sequence[Sniff]) -> list[Group]:
    """Connected components of files linked by shared hosts, in order of first record.

    Files without records form one group of their own (last), so they are still read and
    reported once. Files with an `error` are left out.
    """
    sniffs = [s for s in sniffs if s.error is None]
    parent: dict[str, str] = {}

    def root(host: str) -> str:
        while parent.setdefault(host, host) != host:
            parent[host] = parent[parent[host]]
            host = parent[host]
        return host

    for s in sniffs:
        hosts = sorted(s.hosts)
        for other in hosts[1:]:
            parent[root(other)] = root(hosts[0])
    members: dict[str | None, list[int]] = {}
    for index, s in enumerate(sniffs):
        key = root(min(s.hosts)) if s.hosts and s.first is not None else None
        members.setdefault(key, []).append(index)
    groups = []
    for key, indexes in members.items():
        files = [sniffs[i] for i in indexes]
        if key is None:
            hosts: tuple[str, ...] = ()
            order = (datetime.max, indexes[0])
        else:
            hosts = tuple(sorted(set().union(*(s.hosts for s in files))))
            order = min((s.first or datetime.max, i) for s, i in zip(files, indexes, strict=True))
        groups.append(Group(tuple(s.path for s in files), hosts, order))
    return sorted(groups, key=lambda g: g.order)
