"""`nsim diff` on real logs: boots found at any log level, paired by uuid, no boot = exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsim.compare.boots import BootTrace, load
from nsim.compare.pairs import pair
from tests.compare.conftest import HAVANA, IDLE, RESIZE, ROCKY_VIF, TRAIN_ZH, ended_builds


@pytest.mark.parametrize("name", [HAVANA, TRAIN_ZH, ROCKY_VIF])
def test_a_real_log_diffed_with_itself_pairs_every_boot(real_logs: Path, name: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    path = real_logs / name
    ended = set().union(*ended_builds(path).values())
    assert ended  # each of these logs ends at least one build
    code, out, err = run_cli(["diff", str(path), str(path), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["unpaired"] == []
    assert len(data["pairs"]) == len(ended)
    assert {p["a"]["uuid"] for p in data["pairs"]} == ended
    for p in data["pairs"]:
        assert (p["paired_by"], p["b"]["uuid"]) == ("uuid", p["a"]["uuid"])
        assert {ph["delta"] for ph in p["phases"]} <= {None, 0.0}
        assert (p["missing"], p["extra"], p["reordered"]) == ([], [], [])


def test_info_boots_have_the_phases_and_outcome_the_log_shows(real_logs: Path) -> None:
    """The Train INFO boot: claim to "Took 6.45 seconds to build instance", active."""
    (boot,) = load(str(real_logs / TRAIN_ZH))
    assert (boot.uuid, boot.outcome, boot.started, boot.complete) == (
        "ac91ed2c-6c0e-4865-afcf-2b1b9fcb5485", "active", True, True)
    assert boot.start is not None and boot.start.isoformat() == "2021-09-19T11:50:59.233000"
    kinds = [r.kind for r in boot.records]
    assert kinds[0] == "claim_successful" and kinds[-1] == "took_seconds"
    assert {r.pid for r in boot.records} == {1672}  # not the privsep daemon's lines


def test_an_excerpt_that_starts_mid_build_is_a_boot_but_not_complete(real_logs: Path) -> None:
    (boot,) = load(str(real_logs / ROCKY_VIF))
    assert (boot.uuid, boot.outcome, boot.started, boot.complete) == (
        "60e8f0f8-acbc-4be7-a6ac-0b482224bc77", "error", False, False)
    assert boot.cause is not None and "Failed to allocate the network(s)" in boot.cause


def test_havana_boots_end_as_the_log_says(real_logs: Path) -> None:
    path = real_logs / HAVANA
    ended = ended_builds(path)
    boots = load(str(path))
    assert len(boots) == 60 and all(b.complete for b in boots)
    assert {b.uuid for b in boots if b.outcome == "active"} == ended["spawned"]
    assert {b.uuid for b in boots if b.outcome == "error"} == ended["failed"]


@pytest.mark.parametrize("name", [IDLE, RESIZE])
def test_diff_with_a_log_without_boots_exits_2(real_logs: Path, name: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An idle host and a resize claim (a move, not a boot) hold no boot."""
    from tests.conftest import run_cli

    empty, other = real_logs / name, real_logs / TRAIN_ZH
    for argv in (["diff", str(other), str(empty)], ["diff", str(empty), str(other), "--json"]):
        code, out, err = run_cli(argv, capsys)
        assert code == 2 and out == ""
        assert f"nsim: {empty}: no boot found" in err
        assert str(other) + ": no boot" not in err


def _boot(uuid: str, memory: int) -> BootTrace:
    return BootTrace("h", uuid, sizes=(memory, 1, 1), image="img")


def test_boots_without_shared_uuids_pair_in_order() -> None:
    """Same flavor and image first, then whatever is left, in order; uuids always first."""
    a = [_boot("a1", 512), _boot("a2", 2048), _boot("same", 64)]
    b = [_boot("same", 128), _boot("b1", 1024), _boot("b2", 512)]
    pairs, unpaired = pair(a, b)
    assert [(x.uuid, y.uuid, by) for x, y, by in pairs] == [
        ("same", "same", "uuid"), ("a1", "b2", "order"), ("a2", "b1", "order")]
    assert unpaired == []
    pairs, unpaired = pair(a[:1], b[1:])
    assert [(x.uuid, y.uuid) for x, y, _ in pairs] == [("a1", "b2")]
    assert [(side, boot.uuid) for side, boot in unpaired] == [("b", "b1")]
