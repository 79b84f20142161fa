"""The libvirt driver's spawn, in nova's order, written once (nova/virt/libvirt/driver.py
`spawn` → `_create_image` → imagebackend `Image.cache` and `Qcow2.create_image`, then
`_create_guest_with_network` and `_wait_for_boot`).

The image cache step: unless the base file `_base/<sha1(image id)>` is there, the image is
fetched under the base file's lock (checked again once the lock is held: another build may
have fetched it meanwhile) into `<base>.part`, converted to raw into `<base>.converted` when
it is not raw, and renamed into place; a failure removes what it wrote
(`fileutils.remove_path_on_error`). Then the qcow2 overlay is created on the base file under
the same lock. The guest: its XML, the `network-vif-plugged` events prepared, the VIFs
plugged, the domain defined and started paused, the events awaited, the domain resumed; a
failure there powers the guest off and deletes its files before it goes on
(`_cleanup_failed_start`).

A `SpawnDriver` does each step: the simulator's on the SimPy clock (nsim/sim/spawn.py), hardware
mode's for real (nsim/hw/base_file.py for the image, nsim/hw/guest_steps.py for the guest).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol

from nsim.compute.steps import BuildFailed, Steps, releasing


class BaseLock(Enum):
    """Who holds the base file's lock: the fetch (`fetch_func_sync`) or the overlay
    (`copy_qcow2_image`, py3 `create_qcow2_image`)."""

    FETCH = "fetch"
    OVERLAY = "overlay"


class SpawnDriver(Protocol):
    """The steps of a spawn, each doing and logging what nova does at that point. A step
    fails the build by raising BuildFailed, or an exception `failure_of` turns into one."""

    def failure_of(self, exc: Exception) -> BuildFailed | None:
        """What nova makes of an exception out of a spawn step: a failed build, or None for
        a bug of nsim's own (it aborts the claim and goes on up)."""

    def create_instance_dir(self) -> Steps:
        """The instance directory is made ("Creating instance directory", Stein on)."""

    def creating_image(self) -> Steps:
        """"Creating image(s)"; the disk.info file."""

    def base_present(self) -> bool:
        """Whether the base file is in the image cache."""

    def lock_base(self, owner: BaseLock) -> Steps:
        """Take the base file's lock; returns what `unlock_base` needs."""

    def unlock_base(self, held: Any) -> None: ...

    def fetch(self) -> Steps:
        """The image downloaded into `<base>.part` and inspected (qemu-img info); returns
        whether it must be converted to raw."""

    def convert(self) -> Steps:
        """qemu-img convert of `.part` into `<base>.converted` (raw), inspected."""

    def into_cache(self) -> Steps:
        """The fetched file renamed into place as the base file."""

    def fetch_aborted(self) -> None:
        """The fetch failed: what it wrote is removed."""

    def verify_base(self) -> Steps:
        """The base file checked against the flavor's disk (verify_base_size)."""

    def overlay(self) -> Steps:
        """The qcow2 overlay `<instance>/disk` created on the base file (under its lock)."""

    def disk_created(self) -> Steps:
        """The root disk is ready (the base file's lock let go)."""

    def console_log(self) -> Steps:
        """The console log file."""

    def network_info(self) -> Steps:
        """The network allocation's result, waited for (a failed allocation fails the build)."""

    def guest_xml(self) -> Steps:
        """"Start _get_guest_xml" … "End _get_guest_xml xml=…"."""

    def prepare_events(self) -> Steps:
        """The network-vif-plugged events to wait for, registered before the plug."""

    def plug_vifs(self) -> Steps:
        """os-vif plugs each VIF."""

    def start_paused(self) -> Steps:
        """The domain defined and started (paused when events are awaited)."""

    def wait_for_events(self) -> Steps:
        """neutron's network-vif-plugged events received."""

    def resume(self) -> Steps:
        """The paused domain resumed."""

    def cleanup_failed_start(self, failure: BuildFailed) -> Steps:
        """The guest did not start, or its events did not come: powered off, its files
        deleted ("Failed to start libvirt guest" unless the events timed out)."""

    def guest_created(self) -> Steps:
        """"Guest created on hypervisor" (before Rocky: "Instance is running")."""

    def wait_for_boot(self) -> Steps:
        """Until the domain runs: "Instance spawned successfully."."""


def as_failure(driver: SpawnDriver, exc: Exception) -> BuildFailed | None:
    """`exc` as a failed build (None: not one nova handles)."""
    return exc if isinstance(exc, BuildFailed) else driver.failure_of(exc)


def spawn(driver: SpawnDriver) -> Steps:
    """The libvirt driver's spawn: image, guest, boot."""
    yield from driver.create_instance_dir()
    yield from driver.creating_image()
    yield from _image_cache(driver)
    yield from driver.console_log()
    yield from driver.network_info()
    yield from driver.guest_xml()
    yield from _create_guest_with_network(driver)
    yield from driver.guest_created()
    yield from driver.wait_for_boot()


def _image_cache(driver: SpawnDriver) -> Steps:
    if not driver.base_present():
        held = yield from driver.lock_base(BaseLock.FETCH)
        with releasing(lambda: driver.unlock_base(held)):
            if not driver.base_present():
                try:
                    if (yield from driver.fetch()):
                        yield from driver.convert()
                    yield from driver.into_cache()
                except Exception:
                    driver.fetch_aborted()
                    raise
    yield from driver.verify_base()
    held = yield from driver.lock_base(BaseLock.OVERLAY)
    with releasing(lambda: driver.unlock_base(held)):
        yield from driver.overlay()
    yield from driver.disk_created()


def _create_guest_with_network(driver: SpawnDriver) -> Steps:
    """The guest is cleaned up when it fails to start or its events do not come; the resume
    comes after (its failure is the build's, with no cleanup of its own)."""
    yield from driver.prepare_events()
    try:
        yield from driver.plug_vifs()
        yield from driver.start_paused()
        yield from driver.wait_for_events()
    except Exception as exc:
        failure = as_failure(driver, exc)
        if failure is None:
            raise
        yield from driver.cleanup_failed_start(failure)
        if failure is exc:
            raise
        raise failure from exc
    yield from driver.resume()
