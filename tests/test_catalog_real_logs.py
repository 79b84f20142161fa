"""Of the records of the real logs in ../shared/real-logs/ that tell a boot, delete or audit
story, at least 98% are typed (nsim.report.coverage)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nsim
from nsim.events import classify
from nsim.logs.record import Record
from nsim.report.coverage import is_story, typed_share
from tests.conftest import REAL_LOGS

REAL = REAL_LOGS
LOGS = sorted(REAL.glob("*.log")) if REAL.is_dir() else []


@pytest.mark.skipif(not LOGS, reason=f"no real logs in {REAL}")
@pytest.mark.parametrize("path", LOGS, ids=[p.name for p in LOGS])
def test_story_records_are_typed(path: Path) -> None:
    records = list(nsim.parse(str(path)))
    typed, total = typed_share(records)
    if total == 0:
        pytest.skip("no story records")
    untyped = sorted({r.message[:100] for r in records if is_story(r) and r.event is None})
    assert typed / total >= 0.98, f"{typed}/{total} typed; untyped: {untyped[:20]}"


def record(logger: str | None, message: str) -> Record:
    return Record(source="x", line=1, logger=logger, message=message, event=classify(message))


def test_story_and_chatter() -> None:
    assert is_story(record("nova.compute.claims", "Claim successful"))
    assert is_story(record("oslo_concurrency.lockutils", 'Lock "compute_resources" ...'))
    assert is_story(record("nova.virt.libvirt.imagecache", "Unknown base file: /x"))
    assert not is_story(record("nova.compute.manager", "Updating bandwidth usage cache"))
    assert not is_story(record("nova.openstack.common.rpc.common", "AMQP server on x is gone"))
    assert not is_story(record("oslo.privsep.daemon", "privsep daemon starting"))
    assert not is_story(record(None, "anything"))


def test_typed_share_counts() -> None:
    records = [record("nova.compute.manager", "Starting instance..."),
               record("nova.compute.manager", "Something new"),
               record("nova.openstack.common.rpc.common", "Reconnecting to AMQP server")]
    assert typed_share(records) == (1, 2)
