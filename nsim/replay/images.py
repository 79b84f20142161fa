"""Replay of the image cache's lines: fetch, convert, overlay, base file removal."""

from __future__ import annotations

import posixpath
import re

from nsim.events import (
    image,
    imagecache,
)
from nsim.logs.record import Record
from nsim.model.image_cache import BaseState, cache_filename
from nsim.model.instance import Instance
from nsim.model.lifecycle import TaskState
from nsim.nova.names import is_uuid
from nsim.replay.state import ObserverState

_IMAGE_BASE = re.compile(r"([0-9a-f]{40})(?:_\d+)?$")


class ImageChecks(ObserverState):
    """Checks of the image cache's lines: fetch, convert, overlay, base file removal."""

    def _learn_instances_path(self, path: str, base_file: str) -> None:
        """instances_path as the path of a base file in it implies."""
        host = self.host
        may_change, self._path_may_change = self._path_may_change, False
        if host.instances_path is None:
            host.instances_path = path
            self.assume(f"instances_path is {path} (from base file {base_file})")
        elif host.instances_path != path and may_change:
            host.instances_path = path
            self.assume(f"instances_path is now {path} (from base file {base_file}; changed "
                        "across a restart)")
        elif host.instances_path != path:
            self.violation("instances-path", f"base file {base_file} implies instances_path "
                                             f"{path}, but earlier paths used {host.instances_path}")

    def _base_file(self, path: str) -> str | None:
        """The cache file name of a path in _base/, learning instances_path from it."""
        directory, name = posixpath.split(path)
        if posixpath.basename(directory) != self.host.config.base_dir_name:
            return None
        self._learn_instances_path(posixpath.dirname(directory), path)
        for suffix in (".part", ".converted"):
            name = name.removesuffix(suffix)
        # Ephemeral and swap backing files (ephemeral_1_0706d66, swap_512) live in _base/
        # too but are no image: only sha1 names (with a legacy _<size> resize) are cached images.
        match = _IMAGE_BASE.match(name)
        return match.group(1) if match else None

    def _creating_image(self, rec: Record, ev: image.CreatingImage) -> None:
        """The driver's spawn begins with its disks: at INFO level, the spawn's first line."""
        inst = self._inst(rec)
        if inst is None or inst.operation != "boot":
            return
        self._after_spawned(inst, "Creating image", rec)
        if inst.task_state != TaskState.SPAWNING:
            self._set_task(inst, TaskState.SPAWNING)
        spawn = inst.phase("spawn")
        if spawn.start is None:
            spawn.start, spawn.proxy = rec.timestamp, True
        if spawn.inside is None:
            spawn.inside = rec.timestamp

    def _image_converting(self, rec: Record, ev: image.ImageConverting) -> None:
        inst = self._inst(rec)
        name = cache_filename(ev.image_id)
        base = self.host.cache.entry(name, ev.image_id)
        if inst is not None:
            inst.image_id = ev.image_id
        if not self.host.config.force_raw_images:
            self.violation("force-raw", f"image {ev.image_id} converted to raw although "
                                        "force_raw_images is off")
        if base.state == BaseState.PRESENT and base.fetched_by != (inst.uuid if inst else None):
            self.violation("cache-double-fetch",
                           f"image {ev.image_id} converted again although _base/{name} is cached")
        if inst is not None and base.fetched_by is None:
            base.fetched_by = inst.uuid

    def _subprocess_running(self, rec: Record, ev: image.SubprocessRunning) -> None:
        cmd = ev.qemu_img
        if cmd is None:
            return
        inst = self._inst(rec)
        cache = self.host.cache
        operation = cmd.operation
        if operation == "info" and cmd.source and cmd.source.endswith(".part"):
            name = self._base_file(cmd.source)
            if name is None:
                return
            base = cache.entry(name)
            if base.state == BaseState.PRESENT:
                self.violation("cache-double-fetch", f"_base/{name} downloaded again although cached")
            if base.state not in (BaseState.DOWNLOADING, BaseState.CONVERTING):
                self.host.fetch_started(name, inst.uuid if inst else None)
            if inst is not None:
                inst.finish("image_fetch", rec.timestamp)
                self._expect_image(inst, name)
        elif operation == "convert" and cmd.source and cmd.target:
            name = self._base_file(cmd.source)
            if name is None:
                return
            target = self._base_file(cmd.target)
            if target != name:
                self.violation("cache-filename", f"convert writes {cmd.target}, not {name}.converted")
            base = cache.entry(name)
            if base.state == BaseState.PRESENT:
                self.violation("cache-double-fetch", f"_base/{name} converted again although cached")
            self.host.convert_started(name)
            if inst is not None:
                self._after_spawned(inst, "qemu-img convert", rec)
                base.fetched_by = base.fetched_by or inst.uuid
                inst.begin("convert", rec.timestamp)
        elif operation == "create" and cmd.backing_file and cmd.target:
            target = cmd.target
            owner = posixpath.basename(posixpath.dirname(target))
            if inst is None and is_uuid(owner):
                inst = self.host.instance(owner)
            self._overlay(rec, inst, cmd.backing_file, target)

    def _fetch_ended(self, name: str) -> None:
        """The base file is in place. An overlay created on it before now was too early."""
        early = self._early_overlays.pop(name, None)
        if early is not None:
            where, target, state = early
            self.violation("cache-backing-ready",
                           f"overlay {target} was created at {where} on _base/{name} while it was "
                           f"still {state}: its fetch ends only here")
        base = self.host.cache.files.get(name)
        if base is not None and base.state in (BaseState.DOWNLOADING, BaseState.CONVERTING):
            self.host.fetch_completed(name)

    def _expect_image(self, inst: Instance, name: str) -> None:
        if inst.image_id is not None and cache_filename(inst.image_id) != name:
            self.violation("cache-filename", f"base file {name} is not sha1({inst.image_id}) = "
                                             f"{cache_filename(inst.image_id)}")

    def _overlay(self, rec: Record, inst: Instance | None, backing: str, target: str) -> None:
        name = self._base_file(backing)
        if name is None:
            return
        cache = self.host.cache
        base = cache.entry(name)
        if base.state == BaseState.ABSENT and base.fetched_by is None:
            self.assume(f"base file _base/{name} was cached before the log window")
            self.host.fetch_completed(name)
        elif base.state in (BaseState.DOWNLOADING, BaseState.CONVERTING):
            # The fetch may have ended without a line (INFO level, or a rename after a
            # convert): only its end logged after this overlay proves the overlay early.
            self._early_overlays[name] = (self.where(), target, base.state.value)
            self.host.fetch_completed(name)
        elif base.state == BaseState.REMOVED:
            self.assume(f"base file _base/{name} was fetched again after its removal "
                        "(the fetch is not in the log)")
            self.host.fetch_completed(name)
        if inst is None or posixpath.basename(target) != "disk":
            return  # a rescue or other extra disk, not the instance's root disk
        expected = self.host.instance_dir(inst.uuid)
        if expected is not None and target != posixpath.join(expected, "disk"):
            self.violation("instance-disk-path", f"instance disk {target}, expected {expected}/disk")
        self._expect_image(inst, name)
        hit = self.host.use_base(name, inst.uuid, rec.timestamp)
        inst.image_cache = "hit" if hit else "miss"
        inst.base_file = name
        inst.begin("overlay", rec.timestamp)

    def _subprocess_returned(self, rec: Record, ev: image.SubprocessReturned) -> None:
        cmd = ev.qemu_img
        if cmd is None:
            return
        operation, returncode = cmd.operation, ev.returncode
        if returncode != 0:
            # fetch_to_raw gives up: the .part/.converted file is removed, nothing is cached.
            path = cmd.source if operation == "info" else cmd.target
            name = self._base_file(path) if path and path.endswith((".part", ".converted")) else None
            if name is not None:
                self.host.fetch_aborted(name)
        elif operation == "convert" and cmd.source:
            # fetch_to_raw renames <base>.converted to <base> without a line of its own.
            name = self._base_file(cmd.source)
            if name is not None:
                self._fetch_ended(name)
        inst = self._inst(rec)
        if inst is None:
            return
        if operation == "convert":
            inst.finish("convert", rec.timestamp)
            self._check_duration("took-seconds", "qemu-img convert", ev.seconds,
                                 inst.phase("convert").start, rec.timestamp)
        elif operation == "create":
            inst.finish("overlay", rec.timestamp)

    def _removing_base(self, rec: Record, ev: imagecache.RemovingBaseFile) -> None:
        name = self._base_file(ev.path)
        if name is None:
            return
        base = self.host.cache.entry(name)
        if base.users:
            self._not_in_use(base.filename, "cache-remove-in-use",
                             f"_base/{name} removed while used by {{users}}")
        config = self.host.config
        if base.last_used is not None and rec.timestamp is not None:
            age = (rec.timestamp - base.last_used).total_seconds()
            min_age = config.remove_unused_original_minimum_age_seconds
            if "remove_unused_original_minimum_age_seconds" not in config.model_fields_set:
                if age < min_age:
                    self.assume(f"remove_unused_original_minimum_age_seconds is at most "
                                f"{age:.0f} (_base/{name} removed {age:.0f}s after its last use; "
                                f"nova's default is {min_age})")
            elif age < min_age:
                self.violation("cache-remove-age", f"_base/{name} removed {age:.0f}s after its last "
                                                   f"use (minimum {min_age}s)")
        self.host.base_removed(name)

    def _active_bases(self, rec: Record, ev: imagecache.ActiveBaseFiles) -> None:
        listed = {name for name in (self._base_file(p) for p in ev.paths) if name}
        for base in list(self.host.cache.files.values()):
            if base.users and base.state == BaseState.PRESENT and base.filename not in listed:
                self._not_in_use(base.filename, "cache-active",
                                 f"_base/{base.filename} is used by {{users}} but not listed "
                                 "among the active base files")

    def _not_in_use(self, filename: str, rule: str, message: str) -> None:
        """The cache manager counts none of the model's users of a base file: they may have
        left this host without a line here (deleted by the API while this service was down,
        moved away). A later record of one of them on this host proves it was still here."""
        base = self.host.cache.entry(filename)
        users = sorted(base.users)
        for uuid in users:
            self._suspects[uuid] = (self.where(), rule, message.format(users=", ".join(users)))
            self.host.instance_leaving(uuid, self.where(), "gone without a line here")
        self.assume(f"the image cache manager counts none of {', '.join(users)} as using "
                    f"_base/{filename}: taken as gone from this host without a line here")
