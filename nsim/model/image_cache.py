"""The libvirt image cache (nova/virt/libvirt/imagecache.py, nova/virt/images.py).

A base file is `<instances_path>/<base_dir_name>/<sha1(image_id)>`. It is fetched
to `.part`, converted to `.converted` when it is not raw and force_raw_images is
set, then renamed into place. One fetch per image, under a per-image lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class BaseState(StrEnum):
    ABSENT = "absent"
    DOWNLOADING = "downloading"  # <base>.part
    CONVERTING = "converting"    # <base>.converted
    PRESENT = "present"
    REMOVED = "removed"


def cache_filename(image_id: str) -> str:
    """nova's get_cache_fname: the SHA-1 hex digest of the image id."""
    return hashlib.sha1(image_id.encode("utf-8")).hexdigest()


@dataclass
class BaseFile:
    """One base file: its image (when known), state, users and last use."""

    filename: str
    image_id: str | None = None
    state: BaseState = BaseState.ABSENT
    users: set[str] = field(default_factory=set)
    last_used: datetime | None = None
    fetched_by: str | None = None
    """The instance whose boot downloaded it (None if it predates the log)."""


class ImageCache:
    """Base files of one host, with hit/miss counts."""

    def __init__(self) -> None:
        self.files: dict[str, BaseFile] = {}
        self.hits = 0
        self.misses = 0

    def entry(self, filename: str, image_id: str | None = None) -> BaseFile:
        base = self.files.get(filename)
        if base is None:
            base = self.files[filename] = BaseFile(filename)
        if image_id is not None and base.image_id is None:
            base.image_id = image_id
        return base

    def start_fetch(self, filename: str, instance: str | None) -> BaseFile:
        base = self.entry(filename)
        base.state = BaseState.DOWNLOADING
        base.fetched_by = instance
        return base

    def start_convert(self, filename: str) -> BaseFile:
        base = self.entry(filename)
        base.state = BaseState.CONVERTING
        return base

    def abort_fetch(self, filename: str) -> BaseFile:
        """A failed download: fetch_to_raw removed `.part`, so the base file is absent again."""
        base = self.entry(filename)
        base.state = BaseState.ABSENT
        base.fetched_by = None
        return base

    def complete(self, filename: str) -> BaseFile:
        base = self.entry(filename)
        base.state = BaseState.PRESENT
        return base

    def use(self, filename: str, instance: str, when: datetime | None) -> bool:
        """Record `instance` booting on the base file; True for a cache hit."""
        base = self.entry(filename)
        hit = base.fetched_by != instance
        base.users.add(instance)
        base.last_used = when
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        return hit

    def release(self, instance: str) -> None:
        for base in self.files.values():
            base.users.discard(instance)

    def remove(self, filename: str) -> BaseFile:
        base = self.entry(filename)
        base.state = BaseState.REMOVED
        return base
