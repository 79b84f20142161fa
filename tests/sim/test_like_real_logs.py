"""`simulate --like` on real logs: INFO logs, every complete boot, same hosts, release and level."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import nsim
from nsim.compare.boots import load
from nsim.sim.engine import simulate
from nsim.sim.like import derive_scenario, detect_release
from nsim.sim.scenario import parse_scenario
from tests.compare.conftest import HAVANA, ROCKY_VIF, TRAIN_ZH, ended_builds

ROOT = Path(__file__).resolve().parents[2]
_NODE = re.compile(r"Claim successful on node (\S+)")


def test_train_info_log_gives_an_info_twin_with_the_same_boot(
        real_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    real, twin, saved = real_logs / TRAIN_ZH, tmp_path / "twin.log", tmp_path / "twin.toml"
    code, _, err = run_cli(["simulate", "--like", str(real), "-o", str(twin),
                            "--save-scenario", str(saved)], capsys)
    assert code == 0, err
    # What the log cannot tell is said, not passed off as measured.
    assert "defaults used" in err and "m1.tiny" in err
    assert "# durations the log cannot time" in saved.read_text()
    host = parse_scenario(tomllib.loads(saved.read_text())).hosts[0]
    assert (host.name, host.release, host.format, host.log_level) == ("computer", "train", "oslo", "INFO")
    text = twin.read_text()
    assert " DEBUG " not in text and text.count(" INFO ") == len(text.splitlines())
    assert set(_NODE.findall(text)) == set(_NODE.findall(real.read_text())) == {"computer"}
    a, b = load(str(real)), load(str(twin))
    assert [x.uuid for x in a if x.complete] == [x.uuid for x in b if x.complete] == [
        "ac91ed2c-6c0e-4865-afcf-2b1b9fcb5485"]
    assert [x.sizes for x in a] == [x.sizes for x in b]
    assert len(ended_builds(real)["spawned"]) == len([x for x in b if x.complete])


def test_havana_log_requests_every_complete_boot_at_its_time(real_logs: Path, tmp_path: Path) -> None:
    real = real_logs / HAVANA
    notes: list[str] = []
    s = derive_scenario(str(real), notes=notes)
    complete = [b for b in load(str(real)) if b.complete]
    assert len(complete) >= 56  # 49 spawned, 7 failed to spawn (and 4 block device failures)
    assert [u for r in s.boots for u in r.uuids] == [b.uuid for b in complete]
    starts = [b.start for b in complete]
    assert [r.at for r in s.boots] == [round((t - starts[0]).total_seconds(), 6) for t in starts]
    (host,) = s.hosts
    assert (host.name, host.release, host.log_level, host.format) == (
        "littlebigguy", "havana", "INFO", "oslo")
    failed = sorted(n for f in s.faults for n in f.boots)
    assert len(failed) == len([b for b in complete if b.outcome != "active"])
    assert s.max_attempts == 1  # nova did not re-schedule them
    # Instances the log deletes are deleted in the twin the same time after their boot.
    assert sum(r.lifetime is not None for r in s.boots) >= 40
    assert any("image cache" in n for n in notes)
    twin = tmp_path / "twin.log"
    simulate(s, twin)
    assert " DEBUG " not in twin.read_text()
    ours = {b.uuid: b for b in load(str(twin))}
    for boot in complete:
        if boot.uuid in ours:
            assert ours[boot.uuid].outcome == boot.outcome, boot.uuid


def test_release_of_a_real_log_from_its_wording(real_logs: Path) -> None:
    """Havana names its version; the Train log has "Claim successful on node" without
    "Attempting claim" (Train on) and a Python 2 privsep socket name (Train at most)."""
    assert detect_release(list(nsim.parse(str(real_logs / HAVANA)))) == "havana"
    assert detect_release(list(nsim.parse(str(real_logs / TRAIN_ZH)))) == "train"


def test_an_excerpt_without_a_whole_boot_is_refused(real_logs: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    path = real_logs / ROCKY_VIF
    code, out, err = run_cli(["simulate", "--like", str(path), "-o", "-"], capsys)
    assert code == 2 and out == ""
    assert f"nsim: {path}: no complete boot to imitate" in err


def test_info_log_level_drops_the_debug_lines(tmp_path: Path) -> None:
    scenario = ROOT / "scenarios" / "seed-host.toml"
    data = tomllib.loads(scenario.read_text())
    debug, info = tmp_path / "debug.journal", tmp_path / "info.journal"
    simulate(parse_scenario(data), debug)
    for host in data["hosts"]:
        host["log_level"] = "INFO"
    result = simulate(parse_scenario(data), info)
    lines = info.read_text().splitlines()
    assert result.lines == len(lines) and not any(": DEBUG " in line for line in lines)

    def records(path: Path, debug: bool) -> list[tuple[str | None, str]]:
        return [(r.level, r.message) for r in nsim.parse(str(path), year=2025)
                if debug or r.level != "DEBUG"]

    assert records(info, True) == records(debug, False) != []
    (a,), (b,) = load(str(debug), 2025), load(str(info), 2025)
    assert (a.uuid, a.outcome) == (b.uuid, b.outcome) == (a.uuid, "active")
