"""The resource tracker's index of arriving instances (`_arriving` without a scan) agrees,
after every record of a replay, with a scan of its pending changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsim.logs.reader import ParseRun
from nsim.model.claims import RESOURCES
from nsim.model.config import HostConfig
from nsim.model.resource_tracker import ResourceTracker
from nsim.replay.run import apply_record
from nsim.sim.engine import simulate

ROOT = Path(__file__).resolve().parents[2]


def _scanned(tracker: ResourceTracker, uuid: str, resource: str) -> bool:
    return any(c.uuid == uuid and c.direction >= 0 for c in tracker.pending[resource])


def _check_every_record(paths: list[str]) -> int:
    """Replay `paths`, comparing the index with a scan after each record; the number of
    instances found arriving at some point."""
    observers: dict = {}
    config = HostConfig()
    arrived: set[str] = set()
    for rec in ParseRun(paths, year=2017):
        obs = apply_record(observers, rec, config)
        if obs is None:
            continue
        tracker = obs.host.tracker
        for res in RESOURCES:
            uuids = {c.uuid for c in tracker.pending[res]} | set(obs.host.instances)
            for uuid in uuids:
                assert tracker._arriving(uuid, res) == _scanned(tracker, uuid, res), (
                    rec.source, rec.line, uuid, res)
                if tracker._arriving(uuid, res):
                    arrived.add(uuid)
    return len(arrived)


@pytest.mark.parametrize("seed", [3, 4])
def test_arrivals_of_a_busy_host_with_reschedules_and_an_excerpt(tmp_path: Path,
                                                                  seed: int) -> None:
    trace = tmp_path / "busy.journal"
    simulate(ROOT / "scenarios" / "busy-host.toml", trace, seed=seed)
    lines = trace.read_text().splitlines(keepends=True)
    excerpt = tmp_path / "excerpt.journal"  # claims, audits and deletes with lines missing
    excerpt.write_text("".join(line for i, line in enumerate(lines) if i % 7 != 1))
    assert _check_every_record([str(trace)]) > 0
    assert _check_every_record([str(excerpt)]) > 0


def test_arrivals_of_the_samples() -> None:
    samples = sorted(str(p) for p in (ROOT / "sample_logs").glob("*.journal"))
    _check_every_record(samples)
