"""How much of a log's boot, delete and audit story the catalog types.

A story record is one written by nova.compute.* or nova.virt.* (the manager, claims, resource
tracker, libvirt driver, image cache), by os_vif, or a lock or subprocess line (oslo.concurrency,
or nova.openstack.common before Kilo). Left out, as chatter that tells no instance's story:
periodic-task bookkeeping, service start and stop, host probes, config dumps, AMQP/RPC and
privsep (those come from other loggers and are not story records in the first place).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nsim.logs.record import Record

_STORY_LOGGERS = re.compile(
    r"(nova\.compute|nova\.virt|os_vif|oslo_concurrency\.(lockutils|processutils)"
    r"|nova\.openstack\.common\.(lockutils|processutils))(\.|$)")

# Messages of story loggers that are periodic bookkeeping or service life, not a story.
_CHATTER = re.compile("|".join((
    r"Loading compute driver ",                       # nova.virt.driver, service start
    r"Updating bandwidth usage cache",                # _poll_bandwidth_usage
    r"Rebuilding the list of instances to heal",      # _heal_instance_info_cache
    r"Didn't find any instances for network info cache update",
    r"Updated the network info_cache for instance",
    r"Running periodic task ",
    r"Skipping periodic task ",
    r"CONF\.reclaim_instance_interval <= 0",
    r"systool is not installed",                      # libvirt utils, host probe
    r"Connecting to libvirt: ",
    r"Registering for lifecycle events ",
    r"Registering for connection events: ",
    r"URI qemu:///system does not support ",
    r"Starting native event thread",
    r"Starting green dispatch thread",
    r"Connection event '",
    r"Libvirt host capabilities ",
    r"Searching host: '",
    r"Hypervisor: assuming ",
    r"The current libvirt version ",
    r"Running instance usage audit",
    r"There are \d+ instances in the database",
    r"Cleaning up deleted instances",                 # _run_pending_deletes
    r"There are \d+ instances to clean",
    r"Loaded VIF plugin",                             # os_vif, service start
    r"No compute node record found for host ",        # service start
    r"Excluding nova\.compute\.monitors\.",
)))


def is_story(record: Record) -> bool:
    """Whether a record tells part of a boot, delete or audit story."""
    if not record.logger or not _STORY_LOGGERS.match(record.logger):
        return False
    return _CHATTER.match(record.message) is None


def typed_share(records: Iterable[Record]) -> tuple[int, int]:
    """(typed story records, story records) of a log."""
    typed = total = 0
    for record in records:
        if is_story(record):
            total += 1
            typed += record.event is not None
    return typed, total
