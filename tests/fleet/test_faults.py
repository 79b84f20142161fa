"""A worker that dies mid-run loses nothing; a task that raises is retried; both are reported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from distributed import Client, SpecCluster

import nsim
from nsim.fleet.run import fleet_parse, fleet_replay
from nsim.fleet.runner import Task, run_tasks
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
