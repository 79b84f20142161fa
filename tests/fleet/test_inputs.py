"""Finding inputs, sniffing their hosts and grouping them by host (no cluster needed)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nsim
from nsim.fleet.inputs import SNIFF_RECORDS, Sniff, expand, group, sniff

from .conftest import YEAR


def test_expand_sorts_dedups_recurses_and_keeps_plain_paths(tmp_path: Path) -> None:
    for name in ("b.journal", "a.journal", "sub/c.journal", "sub/d.log"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x\n")
    (tmp_path / "dir.journal").mkdir()
    inputs = expand([f"{tmp_path}/*.journal", f"{tmp_path}/**/*.journal", f"{tmp_path}/missing",
                     f"{tmp_path}/none-*.log"])
    assert inputs.files == [f"{tmp_path}/a.journal", f"{tmp_path}/b.journal",
                            f"{tmp_path}/sub/c.journal", f"{tmp_path}/missing"]
    assert inputs.unmatched == [f"{tmp_path}/none-*.log"]


def test_sniff_takes_hosts_from_records_else_the_file_name(fleet_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\nworld\n")
    paths = [str(fleet_dir / n) for n in ("alpha.journal", "delta.json", "epsilon.log",
                                          "collector.journal", "late.journal")]
    found = sniff([*paths, str(tmp_path / "notes.txt"), str(tmp_path / "nowhere")], year=YEAR)
    assert [s.hosts for s in found] == [
        {"alpha"}, {"delta"}, {"epsilon"}, {"zeta", "eta"},
        {"theta"},  # iota comes after the first SNIFF_RECORDS records
        set(), set()]
    assert len(list(nsim.parse([paths[0]], year=YEAR))) > SNIFF_RECORDS
    assert found[0].first == datetime(2017, 6, 16, 13, 12, 52)
    assert found[-1].first is None


def _s(path: str, hosts: set[str], second: int | None) -> Sniff:
    first = None if second is None else datetime(2017, 6, 16, 13, 0, second)
    return Sniff(path, frozenset(hosts), first)


def test_group_links_files_sharing_a_host_and_orders_by_first_record() -> None:
    groups = group([
        _s("a", {"a"}, 5), _s("b", {"b"}, 3), _s("a.1", {"a"}, 9), _s("ab", {"c", "b"}, 1),
        _s("c", {"c"}, 0), _s("junk", set(), None), _s("empty", set(), None),
    ])
    assert [(g.paths, g.hosts) for g in groups] == [
        (("b", "ab", "c"), ("b", "c")),   # first record at :00 (c)
        (("a", "a.1"), ("a",)),            # input order within a group
        (("junk", "empty"), ()),           # files without records: one group, last
    ]
    assert [g.name for g in groups] == ["b", "a", "<no-records>"]
    assert groups[0].order == (datetime(2017, 6, 16, 13, 0, 0), 4)
