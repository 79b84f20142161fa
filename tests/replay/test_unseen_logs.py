"""Logs that start in the middle of instances' lives, at INFO level: what the window does not
show is assumed (with file:line), never flagged; a number nothing unseen explains still is."""

from __future__ import annotations

from pathlib import Path

from nsim.replay.run import replay

OLD = "0b9bd0b5-5a5e-4f8c-9a44-2c4d1f0a6a11"   # booted before the window
NEW = "5d3c9a8e-0c1b-4b7e-8d2a-7f1e6a9b3c22"   # booted in the window
REQ_DEL = "req-11111111-2222-3333-4444-555555555555"
REQ_NEW = "req-66666666-7777-8888-9999-000000000000"
CTX = " 8d1b2c3e4f5a6b7c8d9e0f1a2b3c4d5e 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d - default default]"


def view(stamp: str, ram: int, disk: int, vcpus: int) -> str:
    return (f"2019-03-01 {stamp} 4711 INFO nova.compute.resource_tracker [req-aaaaaaaa-bbbb-cccc-"
            f"dddd-eeeeeeeeeeee - - - - -] Final resource view: name=cmp1 phys_ram=32000MB "
            f"used_ram={ram}MB phys_disk=400GB used_disk={disk}GB total_vcpus=16 "
            f"used_vcpus={vcpus} pci_stats=[]")


def line(stamp: str, req: str, uuid: str, text: str, logger: str = "nova.compute.manager") -> str:
    return f"2019-03-01 {stamp} 4711 INFO {logger} [{req}{CTX} [instance: {uuid}] {text}"


def log(ram_after: int) -> list[str]:
    return [
        view("10:00:00.100", 4608, 40, 3),
        line("10:00:05.000", REQ_DEL, OLD, "Terminating instance"),
        line("10:00:06.000", REQ_DEL, OLD, "Instance destroyed successfully.",
             "nova.virt.libvirt.driver"),
        line("10:00:06.500", REQ_DEL, OLD, "Took 1.20 seconds to destroy the instance on the "
                                           "hypervisor."),
        view("10:01:00.100", 2560, 20, 2),
        line("10:02:00.000", REQ_NEW, NEW, "Claim successful on node cmp1", "nova.compute.claims"),
        line("10:02:01.000", REQ_NEW, NEW, "Creating image", "nova.virt.libvirt.driver"),
        line("10:02:09.000", REQ_NEW, NEW, "Instance spawned successfully.",
             "nova.virt.libvirt.driver"),
        line("10:02:09.100", REQ_NEW, NEW, "Took 8.10 seconds to spawn the instance on the "
                                           "hypervisor."),
        line("10:02:09.300", REQ_NEW, NEW, "Took 9.30 seconds to build instance."),
        view("10:03:00.100", ram_after, 30, 4),
        line("10:05:00.000", REQ_DEL, NEW, "Terminating instance"),
        line("10:05:01.000", REQ_DEL, NEW, "Instance destroyed successfully.",
             "nova.virt.libvirt.driver"),
        view("10:06:00.100", 2560, 20, 2),
    ]


def run(tmp_path: Path, lines: list[str]):
    path = tmp_path / "nova-compute.log"
    path.write_text("\n".join(lines) + "\n")
    return replay([str(path)]), str(path)


def test_an_instance_from_before_the_window_is_sized_by_the_next_audit(tmp_path: Path) -> None:
    result, path = run(tmp_path, log(ram_after=4608))
    assert result.violations == []
    said = [str(a) for a in result.assumptions]
    # The deleted instance's size comes from the audit after its delete, with the lines.
    assert any(f"{path}:5:" in a and OLD in a and "2048" in a and f"{path}:2" in a for a in said)
    # The new claim had no amounts (Train-era INFO): the next audit sizes it.
    inst = result.hosts["cmp1"].instances[NEW]
    tracker = result.hosts["cmp1"].tracker
    assert inst.outcome.value == "deleted"
    assert tracker.used("memory") == 2560
    assert any(NEW in a and "2048" in a for a in said)


def test_usage_nothing_unseen_explains_is_flagged(tmp_path: Path) -> None:
    lines = log(ram_after=4608)
    # The last audit claims more memory in use after the only unsized instance left.
    lines[-1] = view("10:06:00.100", 3072, 20, 2)
    result, _ = run(tmp_path, lines)
    assert [(v.rule, v.line) for v in result.violations] == [("final-view", len(lines))]


MOVED = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
LIVE = "8f7e6d5c-4b3a-4291-8a7f-6e5d4c3b2a19"
REQ_MOVE = "req-abababab-cdcd-efef-1212-343434343434"


def test_moves_onto_this_host_are_not_boots(tmp_path: Path) -> None:
    driver = "nova.virt.libvirt.driver"
    lines = [
        view("11:00:00.100", 512, 0, 0),
        # A cold migration: _prep_resize says "Migrating" before the claim.
        line("11:01:00.000", REQ_MOVE, MOVED, "Migrating"),
        line("11:01:00.200", REQ_MOVE, MOVED, "Claim successful on node cmp1", "nova.compute.claims"),
        line("11:01:05.000", REQ_MOVE, MOVED, "Creating image", driver),
        line("11:01:09.000", REQ_MOVE, MOVED, "Instance running successfully.", driver),
        # A live migration: the claim alone, then the post-migration line.
        line("11:02:00.000", REQ_NEW, LIVE, "Claim successful on node cmp1", "nova.compute.claims"),
        line("11:02:30.000", REQ_NEW, LIVE, "Post operation of migration started"),
        view("11:03:00.100", 512 + 2048 + 4096, 60, 3),
    ]
    result, _ = run(tmp_path, lines)
    assert result.violations == []
    found = result.hosts["cmp1"].instances
    assert {u: i.operation for u, i in found.items()} == {MOVED: "move", LIVE: "move"}
    assert not any(i.built_here for i in found.values())


def test_an_instance_migrated_away_leaves_the_host(tmp_path: Path) -> None:
    lines = [
        *log(ram_after=4608)[:11],
        line("10:04:00.000", REQ_MOVE, NEW, "Migrating instance to cmp2 finished successfully."),
        view("10:05:00.100", 2560, 20, 2),
    ]
    result, _ = run(tmp_path, lines)
    assert result.violations == []
    assert result.hosts["cmp1"].instances[NEW].outcome.value == "active"


def test_several_nodes_of_one_service_are_not_checked_as_one(tmp_path: Path) -> None:
    second = view("12:00:00.100", 40960, 300, 12).replace("name=cmp1", "name=cmp1-b").replace(
        "phys_ram=32000MB", "phys_ram=64000MB")
    lines = [view("11:59:00.100", 4608, 40, 3), second, view("12:01:00.100", 5120, 41, 4)]
    result, _ = run(tmp_path, lines)
    assert result.violations == []
    assert any("several nodes" in str(a) for a in result.assumptions)
