"""One rule for which instance a record is about, shared by replay, TUI and diff."""

from __future__ import annotations

from pathlib import Path

import nsim
from nsim.logs.attribution import Attribution, lock_instance

A = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
B = "0b5a7c4e-1f2d-4e3a-9b8c-7d6e5f4a3b2c"
PREFIX = "Jun 16 13:12:52 compute nova-compute[5666]: "
SUFFIX = " {{(pid=5666) inner /usr/lib/python3/dist-packages/oslo_concurrency/lockutils.py:273}}"
OWNER = "nova.compute.manager._locked_do_build_and_run_instance"


def _lock(verb: str, name: str, req: str) -> str:
    tail = {"acquiring": f'Acquiring lock "{name}" by "{OWNER}"',
            "acquired": f'Lock "{name}" acquired by "{OWNER}" :: waited 0.000s',
            "released": f'Lock "{name}" released by "{OWNER}" :: held 1.000s'}[verb]
    return f"{PREFIX}DEBUG oslo_concurrency.lockutils [None {req} admin admin] {tail}{SUFFIX}"


def _line(req: str, text: str, instance: str | None = None) -> str:
    tag = f"[instance: {instance}] " if instance else ""
    return f"{PREFIX}INFO nova.compute.claims [None {req} admin admin] {tag}{text}"


def _records(tmp_path: Path, *lines: str) -> list[nsim.Record]:
    path = tmp_path / "a.journal"
    path.write_text("\n".join(lines) + "\n")
    records = list(nsim.parse([str(path)], year=2023))
    assert len(records) == len(lines) and all(r.event is not None for r in records)
    return records


def test_a_build_lock_names_its_instance_and_ties_its_request(tmp_path: Path) -> None:
    acquiring, acquired, claim, released = _records(
        tmp_path, _lock("acquiring", A, "req-1"), _lock("acquired", A, "req-1"),
        _line("req-1", "Claim successful on node compute"),
        _lock("released", A, "req-1"))
    who = Attribution()
    assert who.observe(acquiring) == A       # the lock line is the instance's own
    assert who.instance_of(claim) is None    # waiting for the lock ties nothing yet
    assert who.observe(acquired) == A
    assert who.observe(claim) == A           # untagged, attributed by its request
    assert who.observe(released) == A
    assert lock_instance(claim) is None


def test_a_tagged_line_ties_and_a_second_instance_makes_the_request_ambiguous(
        tmp_path: Path) -> None:
    tagged_a, untagged, tagged_b = _records(
        tmp_path, _line("req-2", "Claim successful on node compute", A),
        _line("req-2", "Claim successful on node compute"),
        _line("req-2", "Claim successful on node compute", B))
    who = Attribution()
    assert who.observe(tagged_a) == A
    assert who.observe(untagged) == A
    assert who.observe(tagged_b) == B
    assert who.observe(untagged) is None     # req-2 served two instances: no guess
