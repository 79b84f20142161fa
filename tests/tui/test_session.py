"""Indexing in the background: findings at their records, notices instead of crashes, several hosts."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nsim.replay.observer import HostObserver
from nsim.tui.session import Session, count_lines
from nsim.tui.store import VIOLATION
from tests.tui.helpers import (
    SEED,
    UUID,
    YEAR,
    index_of,
    repeat_seed,
    seed_lines,
    seed_records,
    seed_session,
    write_lines,
)


def test_the_seed_boot_indexes_without_findings() -> None:
    session = seed_session().run()
    assert len(session.store) == seed_records()
    assert session.findings == [] and session.notices == []
    assert session.lines_read == len(seed_lines())
    assert session.progress == 1.0
    assert session.store.host_names == {"compute"}


def test_a_violation_is_kept_with_the_record_that_shows_it(tmp_path: Path) -> None:
    lines = [line.replace("Took 9.05 seconds to build", "Took 19.05 seconds to build")
             for line in seed_lines()]
    session = Session([write_lines(tmp_path, "took.journal", lines)], year=YEAR).run()
    took = index_of(session, "Took 19.05")
    assert [(f.index, f.violation.rule) for f in session.findings] == [(took, "took-seconds")]
    assert session.store.flags[took] & VIOLATION
    assert session.moment(took - 1).findings == [] and len(session.moment(took).findings) == 1


def test_an_unreadable_file_is_a_notice_and_the_others_are_read(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.journal")
    session = Session([missing, SEED], year=YEAR).run()
    assert len(session.store) == seed_records()
    assert [(n.source, n.line, n.message) for n in session.notices] == [(missing, None, "no such file")]


def test_lines_that_cannot_be_parsed_are_notices_at_their_line(tmp_path: Path) -> None:
    lines = seed_lines()
    lines.insert(10, "this is not a journal line at all")
    lines.insert(20, "\x00\x00\x00garbage")
    session = Session([write_lines(tmp_path, "bad.journal", lines)], year=YEAR).run()
    assert len(session.store) == seed_records()
    assert {n.line for n in session.notices} == {11, 21}
    assert session.findings == []


def test_a_model_failure_is_a_notice_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    original = HostObserver.apply

    def flaky(self: HostObserver, rec: object) -> None:
        if getattr(rec, "line", None) == 8:
            raise RuntimeError("boom")
        original(self, rec)  # type: ignore[arg-type]

    monkeypatch.setattr(HostObserver, "apply", flaky)
    session = seed_session().run()
    assert len(session.store) == seed_records()
    assert [(n.line, n.message) for n in session.notices] == [
        (8, "the model could not apply this record: RuntimeError: boom")]
    # The replay behind the panes skips it the same way.
    assert session.moment(len(session.store) - 1).instance is not None


def test_several_hosts_merge_by_time_with_one_model_each(tmp_path: Path) -> None:
    a = repeat_seed(tmp_path, "a.journal", 2, host="compute1")
    b = repeat_seed(tmp_path, "b.journal", 2, host="compute2")
    session = Session([a, b], year=YEAR).run()
    store = session.store
    assert len(store) == 4 * seed_records() and store.host_names == {"compute1", "compute2"}
    times = [store.times[i] for i in range(len(store))]
    assert times == sorted(times)
    last = session.moment(len(store) - 1)
    models = session.timeline.at(len(store) - 1)
    assert set(models) == {"compute1", "compute2"}
    assert all(len(obs.host.instances) == 2 for obs in models.values())
    assert last.host is not None and last.host.name == store.hosts[-1]


def test_the_instance_of_a_moment_falls_back_to_the_hint_then_the_newest(tmp_path: Path) -> None:
    audit = ("Jun 16 13:14:00 compute nova-compute[5666]: INFO nova.compute.resource_tracker [-] "
             "Auditing locally available compute resources for compute (node: compute)")
    session = Session([write_lines(tmp_path, "boot.journal", [*seed_lines(), audit])],
                      year=YEAR).run()
    last = len(session.store) - 1
    assert session.store.owners[last] is None
    moment = session.moment(last)
    assert moment.instance is not None and moment.instance.uuid == UUID
    assert session.moment(last, "no-such-instance").instance.uuid == UUID  # type: ignore[union-attr]
    assert session.moment(None).record is None


def test_count_lines_reads_plain_and_gzip_files(tmp_path: Path) -> None:
    plain = tmp_path / "a.log"
    plain.write_bytes(b"one\ntwo\nthree")
    packed = tmp_path / "a.log.gz"
    packed.write_bytes(gzip.compress(b"one\ntwo\n"))
    assert (count_lines(str(plain)), count_lines(str(packed))) == (3, 2)
    assert count_lines(str(tmp_path / "missing")) is None
    assert count_lines("-") is None


def test_progress_counts_the_lines_of_a_file_longer_than_the_first_batch(tmp_path: Path) -> None:
    path = repeat_seed(tmp_path, "boots.journal", 5)
    session = Session([path], year=YEAR).run()
    assert len(session.store) == 5 * seed_records() > 200
    assert session.total_lines == session.lines_read == 5 * len(seed_lines())
