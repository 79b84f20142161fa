"""nova's names, in one place: the lock owners oslo.concurrency logs, the resource tracker's
lock, and what an instance uuid looks like.

A lock owner is the decorated callable's name as oslo_utils.reflection prints it: under
Python 2 (nova through Train) `module.function`, under Python 3 (Ussuri on) `module.` +
`__qualname__`, so nested functions carry their enclosing scopes and `<locals>`
(docs/nova.md §1, §2, §4). Match owners by `owner_function(owner) == BUILD_FUNCTION` (or the
other *_FUNCTION names): that holds for both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPUTE_RESOURCES = "compute_resources"
"""The resource tracker's semaphore (nova.compute.resource_tracker.COMPUTE_RESOURCE_SEMAPHORE)."""

UUID_RE = r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"
"""A lower-case canonical uuid, unanchored (to build larger patterns)."""
UUID_PATTERN = f"^{UUID_RE}$"
"""An instance (or image) uuid as nova prints it, lower-case canonical; for pydantic's
`pattern=` (whose `$` is the end of the text)."""
_INSTANCE_UUID = re.compile(rf"\A{UUID_RE}\Z")
"""The same as a compiled regex; `.match()` matches the whole text (no trailing newline)."""


def is_uuid(text: str) -> bool:
    """Whether `text` is a lower-case canonical uuid."""
    return isinstance(text, str) and len(text) == 36 and _INSTANCE_UUID.match(text) is not None


# The functions nova synchronizes, by their own name (the last part of an owner).
BUILD_FUNCTION = "_locked_do_build_and_run_instance"
CLAIM_FUNCTION = "instance_claim"
ABORT_CLAIM_FUNCTION = "abort_instance_claim"
UPDATE_USAGE_FUNCTION = "update_usage"
"""Of a deleted instance (vm_state deleted), it drops the instance's usage
(nova/compute/resource_tracker.py `_update_usage_from_instance`; docs/nova.md §1)."""
MOVE_CLAIM_FUNCTIONS = ("resize_claim", "rebuild_claim", "live_migration_claim")
"""Claims of a move onto this node: resize/cold migration, evacuation, live migration."""
FETCH_FUNCTION = "fetch_func_sync"
OVERLAY_FUNCTIONS = ("copy_qcow2_image", "create_qcow2_image")
"""The image backend's overlay under the base file's lock: py2 `copy_qcow2_image`, py3
`Qcow2.create_image.<locals>.create_qcow2_image`."""


def owner_function(owner: str) -> str:
    """The synchronized function's own name: `...<locals>._locked_do_build_and_run_instance`
    and `nova.compute.manager._locked_do_build_and_run_instance` both give the latter's tail."""
    return owner[owner.rfind(".") + 1:]


@dataclass(frozen=True)
class Owners:
    """Names lockutils logs for the functions nova synchronizes (one Python's forms)."""

    build: str
    claim: str
    abort_claim: str
    update_usage: str
    audit: str
    terminate: str
    fetch: str
    create_image: str
    disk_info: str
    event_prepare: str
    event_pop: str


PY3_OWNERS = Owners(
    build="nova.compute.manager.ComputeManager.build_and_run_instance.<locals>."
          "_locked_do_build_and_run_instance",
    claim="nova.compute.resource_tracker.ResourceTracker.instance_claim",
    abort_claim="nova.compute.resource_tracker.ResourceTracker.abort_instance_claim",
    update_usage="nova.compute.resource_tracker.ResourceTracker.update_usage",
    audit="nova.compute.resource_tracker.ResourceTracker._update_available_resource",
    terminate="nova.compute.manager.ComputeManager.terminate_instance.<locals>."
              "do_terminate_instance",
    fetch="nova.virt.libvirt.imagebackend.Image.cache.<locals>.fetch_func_sync",
    create_image="nova.virt.libvirt.imagebackend.Qcow2.create_image.<locals>."
                 "create_qcow2_image",
    disk_info="nova.virt.libvirt.imagebackend.Image.resolve_driver_format.<locals>."
              "write_to_disk_info_file",
    event_prepare="nova.compute.manager.InstanceEvents.prepare_for_instance_event.<locals>."
                  "_create_or_get_event",
    event_pop="nova.compute.manager.InstanceEvents.pop_instance_event.<locals>._pop_event",
)

PY2_OWNERS = Owners(
    build="nova.compute.manager._locked_do_build_and_run_instance",
    claim="nova.compute.resource_tracker.instance_claim",
    abort_claim="nova.compute.resource_tracker.abort_instance_claim",
    update_usage="nova.compute.resource_tracker.update_usage",
    audit="nova.compute.resource_tracker._update_available_resource",
    terminate="nova.compute.manager.do_terminate_instance",
    fetch="nova.virt.libvirt.imagebackend.fetch_func_sync",
    create_image="nova.virt.libvirt.imagebackend.copy_qcow2_image",
    disk_info="nova.virt.libvirt.imagebackend.write_to_disk_info_file",
    event_prepare="nova.compute.manager._create_or_get_event",
    event_pop="nova.compute.manager._pop_event",
)


def owners(python3: bool) -> Owners:
    """The owner names nova logs under Python 3 (Ussuri on) or Python 2."""
    return PY3_OWNERS if python3 else PY2_OWNERS
