"""A host's instances with finished ones kept packed: what is read back is what was packed."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from nsim.model.claims import Claim
from nsim.model.instance import Instance
from nsim.model.instances import Instances
from nsim.model.lifecycle import Outcome, PowerState, TaskState, VmState

T0 = datetime(2023, 3, 14, 8, 0, 25, 456435)
T1 = datetime(2023, 3, 14, 8, 0, 30)


def _full(uuid: str) -> Instance:
    """An instance with a value of every kind a field can hold."""
    inst = Instance(uuid, "compute", VmState.DELETED, TaskState.DELETING, PowerState.SHUTDOWN,
                    Outcome.DELETED, Claim(512, None, 1), "hit", "img-1", "a" * 40, 5.09,
                    boot_seen=True, waits_for_vif=True, overhead={"memory": 9},
                    build_request="req-1", spawn_seconds=4.5, cause="a reason")
    inst.begin("build", T0)
    inst.finish("build", T1)
    spawn = inst.phase("spawn")
    spawn.start, spawn.proxy, spawn.inside = T0, True, T1
    inst.begin("delete", None)
    return inst


def _instances(*insts: Instance) -> Instances:
    instances = Instances()
    for inst in insts:
        instances[inst.uuid] = inst
    return instances


def test_a_packed_instance_reads_back_equal_in_value_and_form() -> None:
    inst = _full("u1")
    plain = Instance("u2", "compute", claim=Claim(512.0, 1.0, 1.0))  # prints as 512.0
    instances = _instances(_full("u1"), plain)
    assert instances.retire("u1") and instances.retire("u2")
    assert instances.packed() == 2 and instances.live("u1") is None
    assert repr(instances["u1"]) == repr(inst)
    assert repr(instances["u2"].claim) == "Claim(memory_mb=512.0, disk_gb=1.0, vcpus=1.0)"
    assert instances.packed() == 0  # read by key: unpacked for good (a line may change it)


def test_what_cannot_be_packed_stays_as_it_is() -> None:
    odd = Instance("u1", "compute")
    odd.begin("rescue", T0)  # a phase name the packing does not number
    aware = Instance("u2", "compute")
    aware.begin("build", T0.replace(tzinfo=UTC))
    instances = _instances(odd, aware)
    assert not instances.retire("u1") and not instances.retire("u2")
    assert instances.live("u1") is odd and instances.live("u2") is aware
    assert not instances.retire("u3")


def test_iterating_keeps_the_order_and_what_the_caller_changed() -> None:
    instances = _instances(*(_full(u) for u in "abc"))
    instances.retire("b")
    for inst in instances.values():
        inst.cause = f"changed {inst.uuid}"
    assert list(instances) == ["a", "b", "c"]
    assert instances.packed() == 1 and instances.live("b") is None  # packed again
    for uuid, inst in instances.items():
        assert inst.cause == f"changed {uuid}"
    first = next(iter(instances.items()))  # an iteration left early
    assert first[0] == "a"
    instances.retire("a")
    stopped = iter(instances.values())
    next(stopped).cause = "left early"
    del stopped
    assert instances["a"].cause == "left early"


def test_packed_instances_survive_pickling() -> None:
    """A fleet replay sends each host's result between processes."""
    instances = _instances(_full("u1"), _full("u2"))
    instances.retire("u2")
    copy = pickle.loads(pickle.dumps(instances))
    assert copy.packed() == 1
    assert [repr(i) for i in copy.values()] == [repr(_full("u1")), repr(_full("u2"))]
