"""A worker that dies mid-run loses nothing; a task that raises is retried; both are reported."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, SpecCluster

import nsim
from nsim.fleet.cluster import local_cluster, quiet
from nsim.fleet.jobs import fleet_parse, fleet_replay
from nsim.fleet.tasks import NO_WORKER, Task, run_tasks
from nsim.replay.run import replay
from nsim.report.replay import to_json

from .conftest import YEAR, Killer

ONE_HOST_FILES = ("alpha.journal", "beta.journal", "gamma.journal", "gamma.journal.1",
                  "delta.json", "epsilon.log", "iota.journal")


@contextmanager
def killing(client: Client, host: str, marker: Path, once: bool = True) -> Iterator[None]:
    """Kill the worker that starts `host`'s task (first time only, or always); afterwards the
    cluster is whole again."""
    name = f"kill-{host}"
    client.register_plugin(Killer(f"nsim-{host}-", str(marker), once), name=name)
    try:
        yield
    finally:
        client.unregister_worker_plugin(name)
        # a worker that stayed away longer than distributed.deploy.lost-worker-timeout (slow
        # restarts on a busy machine) was dropped from the cluster's spec: start it again
        client.cluster.scale(2)
        client.wait_for_workers(2, timeout=60)
    assert marker.exists(), "the worker was not killed"


def test_replay_survives_a_worker_killed_mid_run(client: Client, fleet_dir: Path,
                                                  tmp_path: Path) -> None:
    files = [str(fleet_dir / n) for n in ONE_HOST_FILES]
    with killing(client, "beta", tmp_path / "killed"):
        run = fleet_replay(client, files, year=YEAR)
    assert to_json(run.result) == to_json(replay(files, year=YEAR))
    assert str(fleet_dir / "beta.journal") in run.fleet.retried
    assert run.fleet.unreadable == []


def test_killed_worker_error_is_resubmitted(client: Client, cluster: SpecCluster,
                                            fleet_dir: Path, tmp_path: Path) -> None:
    """With allowed-failures 0 the scheduler gives up on the first death: nsim resubmits."""
    files = [str(fleet_dir / n) for n in ONE_HOST_FILES]
    allowed = cluster.scheduler.allowed_failures
    cluster.scheduler.allowed_failures = 0
    try:
        with killing(client, "gamma", tmp_path / "killed"):
            run = fleet_replay(client, files, year=YEAR)
    finally:
        cluster.scheduler.allowed_failures = allowed
    assert to_json(run.result) == to_json(replay(files, year=YEAR))
    assert {str(fleet_dir / "gamma.journal"), str(fleet_dir / "gamma.journal.1")} \
        <= set(run.fleet.retried)


def test_a_task_whose_workers_keep_dying_is_reported_not_processed(
        client: Client, cluster: SpecCluster, fleet_dir: Path, tmp_path: Path) -> None:
    files = [str(fleet_dir / n) for n in ("alpha.journal", "beta.journal")]
    allowed = cluster.scheduler.allowed_failures
    cluster.scheduler.allowed_failures = 0
    try:
        with killing(client, "alpha", tmp_path / "killed", once=False):
            run = fleet_replay(client, files, year=YEAR)
    finally:
        cluster.scheduler.allowed_failures = allowed
    assert set(run.result.hosts) == {"beta"}
    assert files[0] in run.fleet.retried
    [(path, why)] = run.fleet.unreadable
    assert path == files[0]
    assert why.startswith("not processed: KilledWorker")
    assert run.result.errors == [f"{path}: {why}"]


def test_parse_survives_a_worker_killed_mid_run(client: Client, fleet_dir: Path,
                                                 tmp_path: Path) -> None:
    files = [str(fleet_dir / n) for n in ONE_HOST_FILES]
    with killing(client, "delta", tmp_path / "killed"):
        run = fleet_parse(client, files, str(tmp_path / "out"), year=YEAR)
    rows = pd.read_parquet(tmp_path / "out")
    records = list(nsim.parse(files, year=YEAR))
    assert len(rows) == len(records) == run.written.counts.records
    assert not rows.duplicated(["source", "line"]).any()
    assert str(fleet_dir / "delta.json") in run.fleet.retried
    assert not list((tmp_path / "out").rglob(".*"))  # no half-written part left behind


def flaky(marker: str) -> str:
    """Raises the first time (leaving `marker`), succeeds after."""
    if not Path(marker).exists():
        Path(marker).touch()
        raise OSError("shared file system hiccup")
    return "ok"


def broken() -> None:
    raise ValueError("always")


def test_a_task_that_raises_is_retried_then_reported(client: Client, tmp_path: Path) -> None:
    outcome = run_tasks(client, [Task("flaky", flaky, (str(tmp_path / "m"),)),
                                 Task("broken", broken, ()), Task("fine", str.upper, ("x",))])
    assert outcome.results == {"flaky": "ok", "fine": "X"}
    assert outcome.failed == {"broken": "ValueError: always"}
    assert outcome.retried == {"flaky", "broken"}


@pytest.fixture
def fresh() -> Iterator[tuple[Client, SpecCluster]]:
    """A cluster of its own for tests that kill many workers (the package one stays whole)."""
    with quiet(), local_cluster(2, memory_limit="1GiB") as cluster, \
            Client(cluster, security=cluster.security) as c:
        c.wait_for_workers(2, timeout=60)
        yield c, cluster


@contextmanager
def _killing_always(fresh: tuple[Client, SpecCluster], tmp_path: Path,
                    *hosts: str) -> Iterator[Client]:
    """Workers die every time a task named after one of `hosts` starts, and the scheduler gives
    up on the first death."""
    client, cluster = fresh
    cluster.scheduler.allowed_failures = 0
    with ExitStack() as stack:
        for host in hosts:
            stack.enter_context(killing(client, host, tmp_path / f"killed-{host}", once=False))
        yield client


def test_a_file_that_kills_its_hosts_task_costs_only_itself(
        fresh: tuple[Client, SpecCluster], fleet_dir: Path, tmp_path: Path) -> None:
    """gamma's two files are one task; it dies every time: each file is then replayed alone,
    and only the one that kills its worker alone too is lost."""
    files = [str(fleet_dir / n) for n in ("alpha.journal", "gamma.journal", "gamma.journal.1")]
    with _killing_always(fresh, tmp_path, "gamma",
                                         "alone-replay-gamma.journal.1") as client:
        run = fleet_replay(client, files, year=YEAR)
    assert set(run.result.hosts) == {"alpha", "gamma"}
    assert run.result.counts.records == replay(files[:2], year=YEAR).counts.records
    [(path, why)] = run.fleet.unreadable
    assert path == files[2] and why.startswith("not processed: KilledWorker")
    assert [p for p, _ in run.fleet.apart] == [files[1]]
    assert run.fleet.apart[0][1].startswith("KilledWorker")
    assert "read alone: " + files[1] in run.fleet.to_text()


def test_a_file_that_kills_its_sniff_batch_costs_only_itself(
        fresh: tuple[Client, SpecCluster], fleet_dir: Path, tmp_path: Path) -> None:
    """The head of every file is read in batches; a batch that dies is read file by file."""
    files = [str(fleet_dir / n) for n in ONE_HOST_FILES]
    bad = str(fleet_dir / "beta.journal")
    with _killing_always(fresh, tmp_path, "sniff",
                                         "alone-sniff-beta.journal") as client:
        run = fleet_replay(client, files, year=YEAR)
    good = [f for f in files if f != bad]
    assert to_json(run.result)["hosts"] == to_json(replay(good, year=YEAR))["hosts"]
    [(path, why)] = run.fleet.unreadable
    assert path == bad and why.startswith("not processed: KilledWorker")
    assert run.fleet.apart == []  # a sniff read alone changes nothing in the result


def test_parse_of_a_file_that_kills_its_hosts_task_costs_only_itself(
        fresh: tuple[Client, SpecCluster], fleet_dir: Path, tmp_path: Path) -> None:
    files = [str(fleet_dir / n) for n in ("alpha.journal", "gamma.journal", "gamma.journal.1")]
    with _killing_always(fresh, tmp_path, "gamma",
                                         "alone-parse-gamma.journal.1") as client:
        run = fleet_parse(client, files, str(tmp_path / "out"), year=YEAR)
    rows = pd.read_parquet(tmp_path / "out")
    assert rows.groupby("source").size().to_dict() == {
        f: len(list(nsim.parse([f], year=YEAR))) for f in files[:2]}
    assert [p for p, _ in run.fleet.unreadable] == [files[2]]
    assert not list((tmp_path / "out").rglob(".*"))


def test_a_run_whose_workers_are_all_gone_ends(fresh: tuple[Client, SpecCluster]) -> None:
    """No worker, none coming back: the tasks fail with NO_WORKER instead of waiting forever."""
    client, cluster = fresh
    cluster.scale(0)
    deadline = time.monotonic() + 60
    while client.scheduler_info()["workers"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    outcome = run_tasks(client, [Task("nsim-lonely", flaky, ("/nonexistent/x",))],
                        no_worker_grace=2)
    assert outcome.failed == {"nsim-lonely": NO_WORKER}
