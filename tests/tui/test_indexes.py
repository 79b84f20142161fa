"""The store's indexes answer filters, go-to-time, the histogram, problem jumps and search
exactly as a straightforward scan of every record does: on the sample logs, on a simulated
busy journal, and on stores made to be awkward (stamps out of order, unstamped records,
more loggers than a byte can code)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

import nsim
from nsim.logs.attribution import lock_instance
from nsim.sim.engine import simulate
from nsim.tui.histogram import STEPS, Bucket, TimeCounts, buckets
from nsim.tui.session import Session
from nsim.tui.store import ERROR, MARK, OTHER_LOGGER, RANKS, VIOLATION, RecordStore
from nsim.tui.view import Filter, View, compile_pattern, kept, parse_filter, resolve
from tests.tui.helpers import REQ, ROOT, SEED, UUID, YEAR

SAMPLES = ["seed-boot.journal", "seed-boot.oslo.log", "failed-spawn.journal",
           "refused-claim.oslo.log", "second-boot.journal", "hw-boot.journal"]


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """Two hosts under a burst of boots with failures, re-schedules and deletes, indexed."""
    path = tmp_path_factory.mktemp("busy") / "busy.journal"
    simulate(ROOT / "scenarios" / "busy-host.toml", path)
    return Session([str(path)], year=YEAR, chunk=64).run()


@pytest.fixture(scope="module")
def samples() -> list[Session]:
    return [Session([str(ROOT / "sample_logs" / name)], year=YEAR, chunk=16).run()
            for name in SAMPLES]


def sessions(samples: list[Session], busy: Session) -> Iterator[Session]:
    yield from samples
    yield busy


# -- what a straightforward scan answers --------------------------------------------------
def scan_hit(store: RecordStore, f: Filter, i: int) -> bool:
    """Whether `f` hits record `i`, from the record itself and its columns."""
    rec = store.get(i)
    if f.kind == "text":
        assert f.pattern is not None
        return bool(f.pattern.search(" ".join((
            rec.host or "", rec.level or "", rec.logger or "", rec.request_id or "",
            rec.instance or "", rec.message, *rec.traceback)).replace("\n", " ")))
    if f.kind == "level":
        rank = RANKS.get(rec.level or "", 0)
        return rank == RANKS[f.value] if f.out else rank >= RANKS[f.value]
    if f.kind == "logger":
        return rec.logger is not None and (rec.logger == f.value
                                           or rec.logger.startswith(f.value + "."))
    if f.kind == "request":
        return rec.request_id == f.value
    owner, request = store.owners[i], rec.request_id
    return owner == f.value or (owner is None and request is not None
                                and store.request_owner(request) == f.value)


def scan_kept(store: RecordStore, filters: list[Filter]) -> list[int]:
    """The records the filters keep: for each kind of "in" filters one hits, no "out" one does."""
    kinds = {f.kind for f in filters if not f.out}
    return [i for i in range(len(store))
            if all(any(scan_hit(store, f, i) for f in filters if f.kind == kind and not f.out)
                   for kind in kinds)
            and not any(scan_hit(store, f, i) for f in filters if f.out)]


def scan_time(store: RecordStore, rows: list[int], when: float) -> int | None:
    """The first position of `rows` whose record is stamped at or after `when`."""
    return next((pos for pos, i in enumerate(rows)
                 if not math.isnan(store.times[i]) and store.times[i] >= when), None)


def scan_buckets(store: RecordStore, max_rows: int) -> tuple[int, list[Bucket]]:
    """The histogram from every record's stamp and flags."""
    stamped = [(t, f) for t, f in zip(store.times, store.flags, strict=True) if not math.isnan(t)]
    if not stamped:
        return STEPS[0], []
    first, last = min(t for t, _ in stamped), max(t for t, _ in stamped)
    step = next((s for s in STEPS if (last // s - first // s) < max_rows), STEPS[-1])
    base = int(first // step)
    counts = [[0, 0] for _ in range(int(last // step) - base + 1)]
    for t, f in stamped:
        counts[int(t // step) - base][0] += 1
        counts[int(t // step) - base][1] += bool(f & ERROR)
    return step, [Bucket(float((base + i) * step), n, e) for i, (n, e) in enumerate(counts)]


def shown(view: View) -> list[int]:
    return [i for pos in range(len(view)) if (i := view.index_at(pos)) is not None]


# -- filters ------------------------------------------------------------------------------
def filter_sets(store: RecordStore) -> list[list[Filter]]:
    """Single filters of every kind and stacks of them, from what the store holds."""
    instances = list(dict.fromkeys(o for o in store.owners if o))
    requests = list(dict.fromkeys(r for r in store.requests if r))
    loggers = sorted({rec.logger for rec in store.range(0, len(store)) if rec.logger})
    prefixes = sorted({name.rsplit(".", 1)[0] for name in loggers} | set(loggers[:3]))
    inst = [Filter("instance", u) for u in instances[:3] + instances[-2:]]
    reqs = [Filter("request", r) for r in requests[:3] + requests[-2:]]
    levels = [Filter("level", lv) for lv in ("DEBUG", "INFO", "WARNING", "ERROR")]
    hidden = [Filter("level", lv, out=True) for lv in ("DEBUG", "INFO")]
    logs = [Filter("logger", p) for p in prefixes]
    texts = [Filter("text", t, pattern=compile_pattern(t))
             for t in ("lifecycle", "Claim", r"held \d+\.\d+s", "no such text")]
    singles: list[list[Filter]] = [[f] for f in (*inst, *reqs, *levels, *hidden, *logs, *texts)]
    stacks: list[list[Filter]] = []
    for n in range(min(len(inst), 3)):
        stacks += [[inst[n], levels[1]], [inst[n], hidden[0]], [inst[n], texts[0]],
                   [inst[n], Filter("text", "lock", True, compile_pattern("lock"))]]
    if len(inst) > 1:
        stacks += [inst[:2], [*inst[:2], levels[1]], [inst[0], reqs[0]]]
    if reqs:
        stacks += [[reqs[0], logs[0], hidden[0]], [*reqs[:2], inst[0]] if inst else reqs[:2]]
    stacks += [[levels[1], logs[0]], [hidden[0], Filter("text", "claim", True, compile_pattern("claim"))],
               [texts[0], texts[1]], [levels[2], *hidden], [Filter("instance", instances[0], True)]
               if instances else [hidden[1]]]
    return singles + stacks


def test_filters_keep_what_a_scan_of_every_record_keeps(samples: list[Session],
                                                        busy: Session) -> None:
    for session in sessions(samples, busy):
        store = session.store
        view = View(store)
        middle = len(store) // 2
        for filters in filter_sets(store):
            want = scan_kept(store, filters)
            view.set_filters([])
            view.go_to(middle)
            view.set_filters(filters)
            assert shown(view) == want, filters
            # The cursor: the first kept record at or after the one it was on (else the last).
            after = [pos for pos, i in enumerate(want) if i >= middle]
            assert view.pos == (after[0] if after else max(0, len(want) - 1)), filters
            # Records indexed after the filter was set are taken in the same way.
            cut = len(store) // 3
            assert [*kept(store, filters, 0, cut), *kept(store, filters, cut, len(store))] == want
        view.set_filters([])
        assert shown(view) == list(range(len(store)))


def test_the_busy_journal_has_what_the_filters_need(busy: Session) -> None:
    """Several hosts, instances, levels and loggers."""
    store = busy.store
    assert len(store.by_owner) >= 10 and len(store.host_names) == 2
    assert set(store.ranks) >= {RANKS["DEBUG"], RANKS["INFO"], RANKS["ERROR"]}
    assert len(store.logger_names) > 5


def test_an_instance_keeps_the_records_its_request_had_before_it_was_tied_to_it() -> None:
    """A record of a request is owned by no instance when it comes before the request names
    one; once it does, the instance filter keeps the record all the same."""
    records = list(nsim.parse(SEED, year=YEAR))
    untagged = next(r for r in records if not r.instance and lock_instance(r) is None)
    early = untagged.model_copy(update={"request_id": REQ})
    store = RecordStore(chunk=8)
    for rec in (early, *records):
        store.append(rec, "compute")
    assert store.owners[0] is None and store.request_owner(REQ) == UUID
    filters = [Filter("instance", UUID)]
    assert list(kept(store, filters, 0, len(store))) == scan_kept(store, filters)
    assert kept(store, filters, 0, len(store))[0] == 0
    stacked = [*filters, Filter("level", store.get(0).level or "DEBUG", True)]
    assert 0 not in scan_kept(store, stacked)
    assert list(kept(store, stacked, 0, len(store))) == scan_kept(store, stacked)


def test_a_prefix_resolves_to_the_first_id_a_scan_finds(busy: Session) -> None:
    store = busy.store
    for kind, column in (("instance", store.owners), ("request", store.requests)):
        for prefix in ("", "0", "a", "req-", "f", *{v[:5] for v in column if v}):
            want = next((v for v in column if v is not None and v.startswith(prefix)), None)
            assert resolve(store, kind, prefix) == want, (kind, prefix)  # type: ignore[arg-type]
    assert parse_filter("zzz", store).kind == "text"


def test_more_loggers_than_a_byte_codes_filter_alike() -> None:
    store = RecordStore(chunk=32)
    records = list(nsim.parse(SEED, year=YEAR))
    for n in range(OTHER_LOGGER + 40):
        store.append(records[n % len(records)].model_copy(update={"logger": f"x.l{n % 300}.y"}),
                     "compute")
    assert len(store.logger_names) == OTHER_LOGGER
    for name in ("x", "x.l3", "x.l3.y", "x.l260", "x.l260.y", "x.l29", "nova"):
        filters = [Filter("logger", name)]
        assert list(kept(store, filters, 0, len(store))) == scan_kept(store, filters), name


# -- time ---------------------------------------------------------------------------------
def shuffled_store() -> RecordStore:
    """The seed boot three times, its stamps out of order (some a minute back), some unstamped."""
    store = RecordStore(chunk=16)
    records = list(nsim.parse(SEED, year=YEAR))
    for n in range(3 * len(records)):
        rec = records[n % len(records)]
        assert rec.timestamp is not None
        stamp = rec.timestamp + timedelta(seconds=20 * (n // len(records)) - 60 * (n % 7 == 3),
                                          milliseconds=n % 5 * 100)
        store.append(rec.model_copy(update={"timestamp": None if n % 11 == 5 else stamp}),
                     "compute")
    return store


def whens(store: RecordStore) -> list[float]:
    stamps = sorted({t for t in store.times if not math.isnan(t)})
    return [stamps[0] - 1, *stamps, *(t + 0.05 for t in stamps[::3]), stamps[-1] + 1]


def test_go_to_time_lands_where_a_scan_lands(samples: list[Session], busy: Session) -> None:
    stores = [s.store for s in sessions(samples, busy)] + [shuffled_store()]
    for store in stores:
        view = View(store)
        instance = next(o for o in store.owners if o)
        for filters in ([], [Filter("instance", instance)], [Filter("level", "DEBUG", True)]):
            view.set_filters(filters)
            rows = shown(view)
            for when in whens(store):
                view.pos = len(rows) // 2
                want = scan_time(store, rows, when)
                got = view.go_to_time(when)
                assert got == (None if want is None else rows[want]), (filters, when)
                assert view.pos == (len(rows) // 2 if want is None else want), (filters, when)


# -- the histogram -------------------------------------------------------------------------
def test_the_histogram_counts_what_a_scan_counts(samples: list[Session], busy: Session) -> None:
    stores = [s.store for s in sessions(samples, busy)] + [shuffled_store()]
    for store in stores:
        for max_rows in (240, 40, 7, 1):
            assert buckets(store.counts, max_rows) == scan_buckets(store, max_rows), max_rows


def test_a_long_log_lets_the_counts_per_second_go_and_still_counts_by_the_minute() -> None:
    counts, stamps = TimeCounts(fine_span=600), [5.5, 70.0, 70.9, 3000.0, 86_400.0 * 3]
    for n, stamp in enumerate(stamps):
        counts.add(stamp, error=n == 1)
        assert (counts.seconds is None) == (stamp > 600)
    step, found = buckets(counts, 240)
    assert step == 1800 and sum(b.records for b in found) == 5 and found[0].errors == 1
    assert [b.start for b in found if b.records] == [0.0, 1800.0, 86_400.0 * 3]


# -- problems, marks and search --------------------------------------------------------------
def scan_flagged(store: RecordStore, rows: list[int], pos: int, forward: bool,
                 mask: int) -> int | None:
    order = range(pos + 1, len(rows)) if forward else range(pos - 1, -1, -1)
    return next((p for p in order if store.flags[rows[p]] & mask), None)


def test_problem_and_mark_jumps_in_a_filtered_view_stop_where_a_scan_stops(busy: Session) -> None:
    store = busy.store
    for i in range(0, len(store), 97):
        store.toggle(i, MARK)
    view = View(store)
    instances = list(store.by_owner)
    for filters in ([Filter("level", "DEBUG", True)], [Filter("instance", instances[1])],
                    [Filter("text", "lock", True, compile_pattern("lock"))]):
        view.set_filters(filters)
        rows = shown(view)
        assert any(store.flags[i] & (ERROR | VIOLATION) for i in rows), filters
        for mask in (ERROR | VIOLATION, MARK):
            for start in range(0, len(rows), max(1, len(rows) // 40)):
                for forward in (True, False):
                    view.pos = start
                    want = scan_flagged(store, rows, start, forward, mask)
                    got = view.next_flagged(forward, mask)
                    assert got == (None if want is None else rows[want]), (filters, start)
                    assert view.pos == (start if want is None else want)
    for i in range(0, len(store), 97):
        store.toggle(i, MARK)


def test_search_finds_what_a_scan_finds_and_wraps_to_the_record_itself(busy: Session) -> None:
    store = busy.store
    view = View(store)
    for term in ("VM Resumed", "Claim successful", "no such text"):
        pattern = compile_pattern(term)
        hits = [i for i in range(len(store)) if scan_hit(store, Filter("text", term, pattern=pattern), i)]
        for start in range(0, len(store), max(1, len(store) // 30)):
            for forward in (True, False):
                view.pos = start
                after = [i for i in hits if (i > start if forward else i < start)]
                wrapped = [i for i in hits if i <= start] if forward else [i for i in hits if i >= start]
                found = view.search(pattern, forward)
                if not hits:
                    assert found is None
                elif after:
                    assert found == (after[0] if forward else after[-1], False)
                else:
                    assert found == (wrapped[0] if forward else wrapped[-1], True)
    only, pattern = unique(store)
    view.pos = only
    assert view.search(pattern, True) == (only, True) and view.search(pattern, False) == (only, True)


def unique(store: RecordStore, before: int | None = None) -> tuple[int, re.Pattern[str]]:
    """The last record (before `before`) whose message no other record has, and a pattern
    of that message."""
    counts = Counter(store.get(i).message for i in range(len(store)))
    only = next(i for i in range(len(store) - 1 if before is None else before, -1, -1)
                if counts[store.get(i).message] == 1)
    return only, re.compile(re.escape(store.get(only).message))


def test_search_until_stops_after_that_record_s_chunk() -> None:
    store = Session([str(ROOT / SEED)], year=YEAR, chunk=8).run().store
    only, pattern = unique(store, len(store) - 17)
    assert 16 <= only < len(store) - 16
    assert store.search(pattern, 0) == only
    assert store.search(pattern, 0, until=only // 8 * 8 - 1) is None
    assert store.search(pattern, 0, until=only // 8 * 8) == only
    assert store.search(pattern, len(store) - 1, forward=False, until=only // 8 * 8 + 8) is None
    assert store.search(pattern, len(store) - 1, forward=False, until=only) == only
