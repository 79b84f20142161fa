"""The host of an oslo.log file, which does not say it: the node its lines name (claims,
resource views, "Compute_service record updated for host:node"); the file's name only as a
last resort, and said so in the assumptions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nsim.events.catalog import KINDS
from nsim.replay.run import _NODE_NAMED, replay, source_host
from tests.conftest import REAL_LOGS, ROOT, run_cli

HAVANA = REAL_LOGS / "havana-uforia-nova-compute.log"
RESIZE = REAL_LOGS / "liberty-rdo-blog-resize-claim.log"

# Every catalog wording that names the node, with its other fields filled in.
NODE_WORDINGS = [w.template for cls in KINDS.values() if "node" in cls.model_fields
                 for w in cls.wordings if "{node}" in w.template]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text in line)


@pytest.mark.parametrize("template", NODE_WORDINGS)
def test_every_wording_that_names_the_node_is_recognised(template: str) -> None:
    text = re.sub(r"\{(\w+)\}", lambda m: {"node": "cmp-7", "host": "h1"}.get(m[1], "1"),
                  template)
    m = _NODE_NAMED.search(f"2019-03-01 10:00:00.100 4711 INFO nova [-] {text} f /a.py:1".encode())
    assert m is not None and m["node"] == b"cmp-7"


def test_catalog_has_the_wordings_the_issue_names() -> None:
    assert len(NODE_WORDINGS) >= 8
    assert any(t.startswith("Compute_service record updated") for t in NODE_WORDINGS)


def test_real_log_host_is_the_node_nova_names(capsys: pytest.CaptureFixture[str]) -> None:
    result = replay([str(HAVANA)])
    assert list(result.hosts) == ["littlebigguy"]
    line = _line_of(HAVANA, "Compute_service record created for littlebigguy:littlebigguy")
    assert source_host(str(HAVANA)) == ("littlebigguy", line)
    said = [a for a in result.assumptions if "does not name its host" in a.message]
    assert [(a.source, a.line) for a in said] == [(str(HAVANA), line)]
    code, out, _ = run_cli(["replay", str(HAVANA), "--quiet"], capsys)
    assert code == 0 and "Hosts: 1 (littlebigguy)" in out


def test_sample_oslo_log_host_is_its_node(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "sample_logs" / "second-boot.oslo.log"
    code, out, _ = run_cli(["replay", str(path)], capsys)
    assert code == 0
    assert "Host compute (node compute)" in out and "second-boot" not in out.split("\n\n")[1]


def test_the_file_name_is_the_last_resort_and_an_assumption() -> None:
    result = replay([str(RESIZE)])  # names no node: "Attempting claim: memory 8192 MB, ..."
    assert list(result.hosts) == ["liberty-rdo-blog-resize-claim"]
    said = [a for a in result.assumptions if "after the file's name" in a.message]
    assert [(a.source, a.line) for a in said] == [(str(RESIZE), None)]


def test_journald_hosts_are_not_assumed(tmp_path: Path) -> None:
    result = replay([str(ROOT / "sample_logs" / "seed-boot.journal")], year=2017)
    assert list(result.hosts) == ["compute"]
    assert not [a for a in result.assumptions if "name" in a.message and "host" in a.message]
