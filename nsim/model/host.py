"""A compute host: its configuration, resource tracker, image cache, locks and instances.

The host's state changes are methods named after nova's transitions; the replay, the
simulator and the lessons change the model only through them. Each says which lock nova
holds while it happens: `compute_resources` (nova/compute/resource_tracker.py
COMPUTE_RESOURCE_SEMAPHORE) for claims and usage, the per-image lock named after the base
file (nova/virt/libvirt/imagebackend.py `Image.cache`) for the image cache.
"""

from __future__ import annotations

import posixpath
from collections.abc import MutableMapping
from datetime import datetime

from nsim.model.claims import Claim
from nsim.model.config import HostConfig
from nsim.model.image_cache import BaseFile, ImageCache
from nsim.model.instance import Instance
from nsim.model.instances import Instances
from nsim.model.locks import LockTable
from nsim.model.resource_tracker import ResourceTracker


class Host:
    """Everything the model holds for one nova-compute service."""

    def __init__(self, name: str, config: HostConfig) -> None:
        self.name = name
        self.config = config
        self.node = config.node
        self.instances_path = config.instances_path
        self.tracker = ResourceTracker(config)
        self.cache = ImageCache()
        self.locks = LockTable()
        self.instances: MutableMapping[str, Instance] = Instances()
        """Deleted ones may be kept packed (nsim.model.instances); the TUI's timeline puts
        its own dict here (nsim.tui.entities)."""

    def instance(self, uuid: str) -> Instance:
        inst = self.instances.get(uuid)
        if inst is None:
            inst = self.instances[uuid] = Instance(uuid, self.name)
        return inst

    @property
    def base_dir(self) -> str | None:
        if self.instances_path is None:
            return None
        return posixpath.join(self.instances_path, self.config.base_dir_name)

    def instance_dir(self, uuid: str) -> str | None:
        return None if self.instances_path is None else posixpath.join(self.instances_path, uuid)

    # -- claims and usage (under compute_resources) -------------------------------------
    def claim(self, uuid: str, claim: Claim, where: str = "") -> None:
        """instance_claim: the boot's resources are held on this node."""
        self.tracker.instance_claim(uuid, claim, where)

    def move_claim(self, uuid: str, claim: Claim, where: str = "") -> None:
        """A resize, migration or evacuation claims on this node; no boot uses a base file."""
        self.tracker.move_claim(uuid, claim, where)
        self.cache.release(uuid)

    def abort_claim(self, uuid: str, where: str = "", *, still_counted: bool) -> None:
        """abort_instance_claim of a failed build: its resources and base file are given back.
        `still_counted`: the instance keeps its host (set to error), so the audit of some
        releases counts it until it is deleted; a re-scheduled build leaves for good."""
        self.tracker.abort(uuid, where, maybe_counted=still_counted)
        self.cache.release(uuid)

    def instance_leaving(self, uuid: str, where: str, why: str) -> None:
        """The instance is deleted or moved away; nova gives its usage back at a step the log
        need not show (update_usage), so until an observation settles it, it may count."""
        self.tracker.release(uuid, where, why)
        self.cache.release(uuid)

    def give_back(self, uuid: str, where: str = "") -> None:
        """The instance's usage is gone for good, as nova takes it off: the abort of its claim
        as it happens (abort_instance_claim), update_usage of a deleted instance."""
        self.tracker.drop_claim(uuid, where)
        self.cache.release(uuid)

    # -- the image cache (under the base file's lock) ---------------------------------------
    def fetch_started(self, filename: str, uuid: str | None) -> BaseFile:
        """fetch_to_raw begins: the image downloads into `<base>.part`."""
        return self.cache.start_fetch(filename, uuid)

    def convert_started(self, filename: str) -> BaseFile:
        """The download is not raw: qemu-img converts it into `<base>.converted`."""
        return self.cache.start_convert(filename)

    def fetch_completed(self, filename: str) -> BaseFile:
        """The base file is renamed into place."""
        return self.cache.complete(filename)

    def fetch_aborted(self, filename: str) -> BaseFile:
        """The download or conversion failed: its partial file is removed."""
        return self.cache.abort_fetch(filename)

    def base_removed(self, filename: str) -> BaseFile:
        """The image cache manager removes an unused base file (imagecache.py)."""
        return self.cache.remove(filename)

    def use_base(self, filename: str, uuid: str, when: datetime | None) -> bool:
        """The instance's overlay is created on the base file; True for a cache hit."""
        return self.cache.use(filename, uuid, when)
