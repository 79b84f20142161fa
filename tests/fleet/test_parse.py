"""`nsim fleet parse`: Parquet partitioned by host and day, the same rows as `nsim parse --to jsonl`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import dask
import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest
from dask import dataframe as dd
from distributed import SpecCluster

import nsim
from nsim.cli import main
from nsim.fleet.inputs import expand
from nsim.fleet.partitions import NO_DAY, partition_dir, write_partitions
from nsim.replay.run import source_host
from tests.conftest import run_cli

from .conftest import YEAR, trusted


def _expected(obj: dict[str, Any]) -> dict[str, Any]:
    """A jsonl object as a dataset row: flattened as `--to parquet` does; host as replay keys it."""
    row = dict(obj)
    row["traceback"] = "\n".join(obj["traceback"])
    row["fields"] = "" if obj["fields"] is None else json.dumps(obj["fields"], ensure_ascii=False)
    row["timestamp"] = datetime.fromisoformat(obj["timestamp"]) if obj["timestamp"] else None
    row["host"] = obj["host"] or source_host(obj["source"])[0]
    return row


@pytest.fixture(scope="module")
def dataset(cluster: SpecCluster, fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, list[str]]:
    """`nsim fleet parse` of the whole fleet, samples included: (dataset dir, inputs)."""
    out = tmp_path_factory.mktemp("parsed") / "ds"
    with dask.config.set(trusted(cluster.security)):
        code = main(["fleet", "parse", f"{fleet_dir}/**/*", "-o", str(out), "--year", str(YEAR),
                     "--scheduler", cluster.scheduler_address])
    assert code == 0
    return out, expand([f"{fleet_dir}/**/*"]).files


def test_rows_equal_nsim_parse_jsonl(dataset: tuple[Path, list[str]], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out, files = dataset
    code, jsonl, _ = run_cli(["parse", "--to", "jsonl", "--year", str(YEAR), *files], capsys)
    assert code == 0
    expected = sorted((_expected(json.loads(line)) for line in jsonl.splitlines()),
                      key=lambda r: (r["source"], r["line"]))
    rows = ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pylist()
    for row in rows:
        day = row.pop("day")
        assert day == (row["timestamp"].date().isoformat() if row["timestamp"] else NO_DAY)
    assert sorted(rows, key=lambda r: (r["source"], r["line"])) == expected


def test_layout_is_one_partition_per_host_and_day(dataset: tuple[Path, list[str]]) -> None:
    out, _ = dataset
    parts = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert all(p.count("/") == 2 and p.split("/")[2].startswith("part-") for p in parts)
    dirs = {tuple(p.split("/")[:2]) for p in parts}
    assert ("host=alpha", "day=2017-06-16") in dirs
    assert ("host=epsilon", "day=2017-06-17") in dirs  # the oslo.log file: the node it names
    assert not any(d.startswith("host=seed-boot") for d, _ in dirs)  # its node is `compute`
    assert ("host=compute", "day=2017-06-16") in dirs
    # one file per partition, as each host's files are parsed in one task; but iota's records are
    # in two groups' files (late.journal shows iota only after the records the sniff reads)
    assert len(parts) == len(dirs) + 1
    assert len([p for p in parts if p.startswith("host=iota/")]) == 2


# dask's parquet reader still passes inplace= to pandas 3.1 (its warning, not ours)
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index:DeprecationWarning")
def test_pandas_duckdb_and_dask_read_it(dataset: tuple[Path, list[str]]) -> None:
    out, files = dataset
    frame = pd.read_parquet(out)
    n = len(frame)
    assert {"host", "day", "timestamp", "event", "fields"} <= set(frame.columns)
    per_host = frame.groupby("host", observed=True).size().to_dict()
    alpha = len(list(nsim.parse([f for f in files if f.endswith("/alpha.journal")], year=YEAR)))
    assert per_host["alpha"] == alpha
    con = duckdb.connect()
    got = con.execute(f"SELECT count(*), count(DISTINCT host) FROM read_parquet('{out}/**/*.parquet', "
                      "hive_partitioning = true)").fetchone()
    assert got == (n, len(per_host))
    kind = con.execute(f"SELECT typeof(day) FROM read_parquet('{out}/**/*.parquet', "
                       "hive_partitioning = true) LIMIT 1").fetchone()
    assert kind == ("DATE",)
    lazy = dd.read_parquet(out)
    assert len(lazy) == n
    assert lazy[lazy.host == "alpha"].shape[0].compute() == alpha


def test_output_directory_must_be_empty(scheduler: str, fleet_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.parquet").write_text("x")
    code, _, err = run_cli(["fleet", "parse", str(fleet_dir / "alpha.journal"), "-o", str(tmp_path),
                            "--scheduler", scheduler], capsys)
    assert code == 2
    assert "not an empty directory" in err


def test_cli_summary_and_unreadable_inputs(scheduler: str, fleet_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("not a log\n")
    inputs = [str(fleet_dir / "alpha.journal"), str(fleet_dir / "beta.journal"),
              str(tmp_path / "notes.txt")]
    code, _, single = run_cli(["parse", "--to", "jsonl", "-o", str(tmp_path / "x.jsonl"),
                               "--year", "2017", *inputs], capsys)
    code2, _, err = run_cli(["fleet", "parse", *inputs, "-o", str(tmp_path / "out"),
                             "--year", "2017", "--scheduler", scheduler], capsys)
    assert code == code2 == 2
    assert err.splitlines()[-1] == single.splitlines()[-1]
    [said] = [line for line in err.splitlines() if "notes.txt" in line]  # once, on one line
    assert said.startswith(f"nsim: {tmp_path}/notes.txt: not a nova-compute log")
    assert "wrote 2 part file(s)" in err


def test_unstamped_records_take_their_files_first_day(tmp_path: Path) -> None:
    """An oslo.log that starts inside a traceback: the head lines have no stamp and no record
    to continue, so they are reported as bad lines; the stamped record lands in its day."""
    log = tmp_path / "host-x.log"
    log.write_text("    raise exc\nValueError: boom\n"
                   "2017-06-18 09:00:00.000 42 INFO nova.compute.manager [-] Took 1.00 seconds "
                   "to build instance.\n")
    (tmp_path / "empty.log").write_text("")
    done = write_partitions([str(log), str(tmp_path / "empty.log")], str(tmp_path / "out"), "7")
    assert done.files == ["host=host-x/day=2017-06-18/part-7.parquet"]
    assert (done.counts.records, done.counts.bad_lines) == (1, 2)
    assert [(d.line, d.message.split(" (")[0]) for d in done.diagnostics] == [
        (1, "unstamped line with no record before it to continue"),
        (2, "unstamped line with no record before it to continue"), (None, "empty file")]
    rows = pd.read_parquet(partition_dir(tmp_path / "out", "host-x", "2017-06-18"))
    assert list(rows["line"]) == [3]


def test_partition_names_are_escaped(tmp_path: Path) -> None:
    assert partition_dir(tmp_path, "a/b=c", "2017-06-16") == \
        tmp_path / "host=a%2Fb%3Dc" / "day=2017-06-16"
