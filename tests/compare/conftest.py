"""The real nova-compute logs of ../shared/real-logs/ (relative to the repo root)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REAL_LOGS

HAVANA = "havana-uforia-nova-compute.log"
TRAIN_ZH = "train-rdo-zh-blog-nova-compute.log"
ROCKY_VIF = "rocky-vpp-issue-vif-timeout-unwrapped.log"
IDLE = "docker-ubuntu-nova-compute.log"
RESIZE = "liberty-rdo-blog-resize-claim.log"

# The lines with which nova ends a build, whatever the release and level.
_BUILD_END = re.compile(
    r"\[instance: ([0-9a-f-]{36})\] (?:Took [\d.]+ seconds to build instance"
    r"|Instance spawned successfully|Instance failed to spawn|Instance failed block device setup"
    r"|Build of instance \S+ (?:aborted|was re-scheduled))")


def ended_builds(path: Path) -> dict[str, set[str]]:
    """Instance uuids by the kind of line that ended their build, read from the file text."""
    ended: dict[str, set[str]] = {}
    for m in _BUILD_END.finditer(path.read_text(encoding="utf-8")):
        kind = "spawned" if "spawned successfully" in m.group(0) or "Took" in m.group(0) else "failed"
        ended.setdefault(kind, set()).add(m.group(1))
    return ended


@pytest.fixture(scope="session")
def real_logs() -> Path:
    """The folder of real logs; a missing folder fails the test (CI has it)."""
    if not REAL_LOGS.is_dir():
        pytest.fail(f"{REAL_LOGS}: the real logs are missing (see ../shared/real-logs/README.md)")
    return REAL_LOGS
