"""A compute host: its configuration, resource tracker, image cache, locks and instances."""

from __future__ import annotations

import posixpath

from nsim.model.config import HostConfig
from nsim.model.image_cache import ImageCache
from nsim.model.instance import Instance
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
        self.instances: dict[str, Instance] = {}

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
