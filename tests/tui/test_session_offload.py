"""The TUI's index with a second process reading a large journal's lines (`nsim tui -j 2`):
the same records, findings and notices as with one, the envelopes parsed by the child."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nsim.cli import main
from nsim.logs.offload import MIN_BYTES
from nsim.logs.sniff import SNIFF_LINES
from nsim.tui.app import NsimApp
from nsim.tui.session import Session
from tests.test_offload import PARSE_SPY
from tests.tui.helpers import SEED, YEAR, repeat_seed

_INDEX = PARSE_SPY + """
from nsim.tui.session import Session
session = Session([sys.argv[1]], year=int(sys.argv[2]), jobs=int(sys.argv[3]), chunk=64)
assert session.open() == []
session.run()
store = session.store
json.dump({"records": [store.get(i).to_json() for i in range(len(store))],
           "findings": [[f.index, str(f.violation)] for f in session.findings],
           "notices": [str(n) for n in session.notices], "parent_parses": parses},
          sys.stdout, default=str)
"""


def _index(path: Path, jobs: int) -> dict[str, object]:
    """The session's index in a fresh interpreter (one thread: the fork is sure)."""
    done = subprocess.run([sys.executable, "-c", _INDEX, str(path), str(YEAR), str(jobs)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_two_processes_index_what_one_indexes(tmp_path: Path) -> None:
    path = Path(repeat_seed(tmp_path, "boots.journal", 100))  # past MIN_BYTES
    path.write_text(path.read_text() + "not a journal line\n")
    assert path.stat().st_size >= MIN_BYTES
    one, two = _index(path, 1), _index(path, 2)
    assert one["records"] and one["notices"]
    assert {k: v for k, v in two.items() if k != "parent_parses"} == \
        {k: v for k, v in one.items() if k != "parent_parses"}
    assert two["parent_parses"] == SNIFF_LINES
    assert one["parent_parses"] > SNIFF_LINES


def test_tui_takes_jobs_and_opens_before_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inputs are opened (a child forked) before the app's threads start."""
    calls: list[object] = []
    opening = Session.open

    def open_(self: Session) -> list[str]:
        calls.append(("open", self.jobs))
        return opening(self)

    monkeypatch.setattr(Session, "open", open_)
    monkeypatch.setattr(NsimApp, "run", lambda self, *a, **k: calls.append("run"))
    assert main(["tui", SEED, "-j", "3", "--year", "2017"]) == 0
    assert calls == [("open", 3), "run"]


def test_a_stopped_index_ends_the_reader(tmp_path: Path) -> None:
    path = Path(repeat_seed(tmp_path, "boots.journal", 100))
    done = subprocess.run([sys.executable, "-c", """
import os, sys
from nsim.tui.session import Session
session = Session([sys.argv[1]], year=2017, jobs=2)
session.open()
def children():
    with open(f"/proc/self/task/{os.getpid()}/children") as f:
        return f.read().split()
print(len(children()))
session.start()
session.first_batch.wait()
session.stop()
print(len(children()), session.done.is_set())
""", str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "0", "True"]
