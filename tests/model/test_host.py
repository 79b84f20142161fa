"""nova's transitions on the host model, tested directly: claims and their abort, usage given
back, the image cache's states and hits, locks and the lifecycle mapping."""

from __future__ import annotations

from datetime import datetime

from nsim.model.claims import Claim, shortage
from nsim.model.config import HostConfig
from nsim.model.host import Host
from nsim.model.image_cache import BaseState, cache_filename
from nsim.model.lifecycle import EVENT_POWER_STATE, PowerState
from nsim.model.locks import Holder, LockTable

T0 = datetime(2023, 5, 1, 12, 0, 0)
NANO = Claim(64, 1, 1)


def _host(**totals: float) -> Host:
    config = HostConfig(node="compute1", memory_mb=totals.get("memory", 4096),
                        disk_gb=totals.get("disk", 40), vcpus=totals.get("vcpu", 4),
                        reserved_host_memory_mb=512, reserved_host_disk_mb=0,
                        reserved_host_cpus=0, instances_path="/opt/stack/data/nova/instances")
    host = Host("compute1", config)
    for res in ("memory", "disk", "vcpu"):  # every instance of the host is known
        host.tracker.baseline_known[res] = True
    return host


def test_a_claim_counts_and_giving_it_back_ends_it() -> None:
    host = _host()
    host.claim("a", NANO)
    assert (host.tracker.used("memory"), host.tracker.used("disk"),
            host.tracker.used("vcpu")) == (512 + 64, 1, 1)
    host.give_back("a")
    assert host.tracker.used("memory") == 512 and "a" not in host.tracker.claims


def test_an_errored_build_may_still_count_a_rescheduled_one_does_not() -> None:
    host = _host()
    host.claim("err", NANO)
    host.claim("away", NANO)
    host.abort_claim("err", "log:1", still_counted=True)
    host.abort_claim("away", "log:2", still_counted=False)
    assert "away" not in host.tracker.maybes["memory"]
    maybe = host.tracker.maybes["memory"]["err"]
    assert (maybe.amount, maybe.counted) == (64, False)
    # an audit that still counts it is explained by the maybe, not a violation
    seen = host.tracker.observe("memory", 576, audit=True)
    assert seen.outcome.explained and seen.outcome.unique


def test_a_deleted_instance_leaves_when_an_observation_says_so() -> None:
    host = _host()
    host.claim("a", NANO)
    host.instance_leaving("a", "log:9", "deleted")
    assert host.tracker.used("memory") == 576  # still counted until nova says otherwise
    seen = host.tracker.observe("memory", 512, audit=True)
    assert seen.outcome.explained
    assert host.tracker.used("memory") == 512
    assert "a" not in host.tracker.maybes["memory"]


def test_a_move_claim_is_uncertain_and_uses_no_base_file() -> None:
    host = _host()
    name = cache_filename("img")
    host.use_base(name, "m", T0)
    host.move_claim("m", NANO, "log:3")
    assert "m" not in host.cache.files[name].users
    assert host.tracker.maybes["memory"]["m"].counted


def test_the_fit_test_names_the_short_resource() -> None:
    host = _host(memory=1024)
    host.claim("a", Claim(256, 1, 1))
    limits = {r: host.tracker.limit(r) for r in ("memory", "disk", "vcpu")}
    assert limits["memory"] is None  # no allocation ratio configured: no limit
    reasons = host.tracker.test(Claim(512, 1, 1), {"memory": 1024.0})
    assert reasons == [shortage("memory", 512, 768, 1024.0)]
    assert reasons[0].startswith("Free memory 256.00 MB < requested 512")
    assert host.tracker.test(Claim(256, 1, 1), {"memory": 1024.0}) == []


def test_for_flavor_claims_root_plus_ephemeral_disk() -> None:
    assert Claim.for_flavor(512, 1, 2, 1) == Claim(512, 3, 1)


def test_the_image_cache_moves_through_fetch_convert_and_use() -> None:
    host = _host()
    name = cache_filename("5a1c2b6e-8c3f-4a7e-9d2b-1f0e3c4d5b6a")
    assert len(name) == 40 and host.cache.entry(name).state == BaseState.ABSENT
    assert host.fetch_started(name, "a").state == BaseState.DOWNLOADING
    assert host.convert_started(name).state == BaseState.CONVERTING
    assert host.fetch_completed(name).state == BaseState.PRESENT
    assert host.use_base(name, "a", T0) is False  # the boot that fetched it: a miss
    assert host.use_base(name, "b", T0) is True   # the next one: a hit
    assert (host.cache.hits, host.cache.misses) == (1, 1)
    host.give_back("a")
    assert host.cache.files[name].users == {"b"}
    assert host.base_removed(name).state == BaseState.REMOVED


def test_an_aborted_fetch_leaves_no_base_file() -> None:
    host = _host()
    name = cache_filename("img")
    host.fetch_started(name, "a")
    base = host.fetch_aborted(name)
    assert (base.state, base.fetched_by) == (BaseState.ABSENT, None)


def test_locks_hold_wait_and_forget() -> None:
    table = LockTable()
    lock = table.get("compute_resources")
    first, second = Holder("instance_claim", "req-1", T0), Holder("instance_claim", "req-2", T0)
    lock.holder = first
    lock.wait(second)
    assert table.held() == [lock]
    assert lock.take_waiter("instance_claim", "req-2") == second
    assert lock.take_waiter("instance_claim", "req-2") is None
    table.forget("compute_resources")  # still held: kept
    assert "compute_resources" in table.locks
    lock.holder = None
    table.forget("compute_resources")
    assert "compute_resources" not in table.locks


def test_lifecycle_events_map_to_nova_power_states() -> None:
    assert EVENT_POWER_STATE["Started"] == EVENT_POWER_STATE["Resumed"] == PowerState.RUNNING
    assert EVENT_POWER_STATE["Paused"] == PowerState.PAUSED
    assert EVENT_POWER_STATE["Stopped"] == PowerState.SHUTDOWN


def test_paths_follow_the_configuration() -> None:
    host = _host()
    assert host.base_dir == "/opt/stack/data/nova/instances/_base"
    assert host.instance_dir("a") == "/opt/stack/data/nova/instances/a"
