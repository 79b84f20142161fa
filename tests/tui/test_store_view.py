"""The record store (chunks, columns, search) and the view (filters, jumps, times)."""

from __future__ import annotations

from datetime import datetime

import nsim
from nsim.tui.store import ERROR, VIOLATION, RecordStore, epoch, search_text
from nsim.tui.view import Filter, FilterError, View, compile_pattern, parse_filter, parse_when, resolve
from tests.tui.helpers import EVENT_REQ, REQ, SEED, SHA1, UUID, YEAR, index_of, seed_session


def test_records_come_back_whole_from_compressed_chunks() -> None:
    session = seed_session(chunk=8).run()
    records = list(nsim.parse(SEED, year=YEAR))
    store = session.store
    count = len(records)
    assert len(store) == count > 40
    # Read out of order, so chunks are decoded, evicted and decoded again.
    for i in [count - 1, 0, 31, 8, 7, count - 2, *range(count)]:
        got, want = store.get(i), records[i]
        assert (got.line, got.lines, got.message) == (want.line, want.lines, want.message)
        assert got.event == want.event


def test_owner_is_the_instance_the_instance_lock_or_the_instance_of_the_request() -> None:
    session = seed_session().run()
    store = session.store
    first_lock = 0  # "Lock <uuid> acquired": named by the lock, no [instance: U] yet
    fetch_lock = index_of(session, f'Lock "{SHA1}" acquired')  # a lock named by an image
    assert store.get(first_lock).instance is None and store.get(fetch_lock).instance is None
    assert (store.owners[first_lock], store.owners[fetch_lock]) == (UUID, UUID)
    assert store.requests[fetch_lock] == REQ and store.request_owner(REQ) == UUID


def test_search_crosses_chunks_in_both_directions() -> None:
    session = seed_session(chunk=8).run()
    store = session.store
    resumed = index_of(session, "VM Resumed")
    assert store.search(compile_pattern("vm resumed"), 0) == resumed
    assert store.search(compile_pattern("VM Resumed"), resumed) == resumed
    assert store.search(compile_pattern("VM RESUMED"), 0) is None  # a capital: case counts
    assert store.search(compile_pattern("vm resumed"), resumed + 1) is None
    final = len(store) - 1
    assert store.search(compile_pattern("claim success(ful)?"), final, forward=False) == index_of(
        session, "Claim successful")
    # The open (unsealed) chunk is searched too: the records after the last full chunk of 8.
    sealed = len(store) // 8 * 8
    assert sealed < len(store)
    last = index_of(session, "released by", 50)
    assert last == final and last >= sealed
    assert store.search(compile_pattern("_locked_do_build"), 50) == last
    assert store.search(compile_pattern(r"held \d+\.\d+s"), final, forward=False) == last
    assert store.search(compile_pattern("no such text"), 0) is None
    assert store.matching(compile_pattern("lifecycle event"), 0, len(store)) == {
        index_of(session, f"VM {what}") for what in ("Started", "Paused", "Resumed")}


def test_a_regex_matches_within_one_record_not_across_two() -> None:
    """A chunk's search text joins its records: `^`/`$` anchor at each record and a match
    running on into the next record counts for neither, in filters and searches both ways."""
    store = RecordStore(chunk=4)
    for rec in nsim.parse(SEED, year=YEAR):
        store.append(rec, "compute")
    texts = [search_text(store.get(i)) for i in range(len(store))]
    for term in (r"^compute debug", r"\}\}$", r"\}\}\scompute", r"instance: [0-9a-f-]+\] ",
                 r"^compute info nova.compute.manager", r"x*"):
        pattern = compile_pattern(term)
        want = [i for i, t in enumerate(texts) if pattern.search(t)]
        assert sorted(store.matching(pattern, 0, len(store))) == want, term
        assert sorted(store.matching(pattern, 5, 17)) == [i for i in want if 5 <= i < 17], term
        for start in (0, 6, len(store) - 1):
            after = [i for i in want if i >= start]
            before = [i for i in want if i <= start]
            assert store.search(pattern, start) == (after[0] if after else None), (term, start)
            assert store.search(pattern, start, forward=False) == (
                before[-1] if before else None), (term, start)


def test_flags_mark_errors_and_can_mark_violations() -> None:
    store = RecordStore(chunk=4)
    for rec in nsim.parse(SEED, year=YEAR):
        store.append(rec, "compute")
    assert not any(store.flags)
    store.mark(3, VIOLATION)
    assert store.flags[3] == VIOLATION and not store.flags[3] & ERROR


def test_view_filters_by_instance_and_by_request() -> None:
    session = seed_session().run()
    view = View(session.store)
    view.go_to(20)
    view.set_filters([Filter("request", EVENT_REQ)])
    assert [session.store.get(i).message for i in range(len(session.store)) if
            session.store.requests[i] == EVENT_REQ] == [session.store.get(view.index_at(p)).message
                                                        for p in range(len(view))]
    assert len(view) == 3
    resumed = index_of(session, "VM Paused")
    assert view.current == resumed  # the first record of the filter at or after record 20
    view.set_filters([Filter("instance", UUID)])
    # Every record belongs to the instance (by itself, its lock or its request).
    assert len(view) == len(session.store) and view.index_at(0) == 0
    assert view.current == resumed  # the cursor stays on its record
    view.set_filters([])
    assert len(view) == len(session.store) and view.current == resumed


def test_view_resolves_prefixes_and_jumps() -> None:
    session = seed_session().run()
    view = View(session.store)
    assert resolve(session.store, "instance", "86f7") == UUID
    assert resolve(session.store, "request", "req-9b9e") == EVENT_REQ
    assert resolve(session.store, "request", "req-0000") is None
    session.store.mark(40, VIOLATION)
    assert view.next_flagged(True) == 40 and view.pos == 40
    assert view.next_flagged(True) is None and view.pos == 40
    view.end()
    assert view.next_flagged(False) == 40


def test_go_to_time_finds_the_first_record_at_or_after_it() -> None:
    session = seed_session().run()
    view = View(session.store)
    reference = session.store.get(0).timestamp
    when = parse_when("13:12:57", reference)
    assert when == epoch(datetime(YEAR, 6, 16, 13, 12, 57))
    index = view.go_to_time(when)
    assert index == index_of(session, "qemu-img convert") + 1
    assert f"{session.store.get(index).timestamp:%H:%M:%S}" == "13:12:57"
    assert f"{session.store.get(index - 1).timestamp:%H:%M:%S}" == "13:12:55"
    assert view.go_to_time(epoch(datetime(YEAR, 6, 17))) is None


def test_parse_when_reads_dates_clocks_and_rejects_the_rest() -> None:
    day = datetime(2017, 6, 16, 9, 0)
    assert parse_when("2017-06-16 13:13", None) == epoch(datetime(2017, 6, 16, 13, 13))
    assert parse_when("2017-06-16T13:13:01.5", None) == epoch(datetime(2017, 6, 16, 13, 13, 1, 500000))
    assert parse_when("13:13:01", day) == epoch(datetime(2017, 6, 16, 13, 13, 1))
    assert parse_when("13:13", day) == epoch(datetime(2017, 6, 16, 13, 13))
    assert parse_when("soon", day) is None
    assert parse_when("25:00", day) is None


def test_parse_filter_reads_kinds_signs_and_guesses() -> None:
    store = seed_session().run().store
    assert parse_filter("req-9b9e", store) == Filter("request", EVENT_REQ)
    assert parse_filter("86f71e87", store) == Filter("instance", UUID)
    assert parse_filter("!level debug", store) == Filter("level", "DEBUG", out=True)
    assert parse_filter("- logger nova.virt", store) == Filter("logger", "nova.virt", out=True)
    assert parse_filter("claim", store) == Filter("text", "claim")
    assert parse_filter("deadbeef", store) == Filter("text", "deadbeef")  # no such instance
    for bad, said in (("level LOUD", "no level"), ("text (", "not a regular expression"),
                      ("request req-0000", "no request starts with")):
        try:
            parse_filter(bad, store)
        except FilterError as exc:
            assert said in str(exc)
        else:
            raise AssertionError(bad)


def test_search_wraps_around_and_a_filtered_view_searches_only_its_records() -> None:
    session = seed_session().run()
    view = View(session.store)
    started, resumed = index_of(session, "VM Started"), index_of(session, "VM Resumed")
    view.go_to(resumed)
    assert view.search(compile_pattern("VM Started"), True) == (started, True)
    assert view.search(compile_pattern("VM Started"), True) == (started, True)  # the only hit
    assert view.search(compile_pattern("VM Resumed"), False) == (resumed, True)
    view.set_filters([Filter("request", EVENT_REQ)])
    assert view.search(compile_pattern("VM"), True) is not None
    assert view.search(compile_pattern("VM Started"), True) is None  # not in the view
