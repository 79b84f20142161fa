"""A small fleet of logs in every format, a 2-worker LocalCluster on loopback, and a worker killer."""

from __future__ import annotations

import os
import random
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dask
import pytest
from distributed import Client, SpecCluster, WorkerPlugin
from distributed.security import Security

from nsim.fleet.cluster import local_cluster, quiet

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "sample_logs" / "seed-boot.journal"
SEED_START = datetime(2017, 6, 16, 13, 12, 52)
SEED_INSTANCE = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
SEED_REQUEST = "req-d9a23179-e16d-4016-9586-e68c3dfdf6a9"
YEAR = 2017
_SUFFIX = re.compile(r" \{\{\(pid=\d+\) (\S+) (\S+)\}\}$")


def boot(host: str, start: datetime, rng: random.Random) -> list[tuple[datetime, str]]:
    """The seed boot on `host` from `start` with a fresh instance and request: (stamp, body)."""
    inst = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    req = "req-" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
    out = []
    for line in SEED.read_text().splitlines():
        stamp = datetime.strptime(f"{YEAR} {line[:15]}", "%Y %b %d %H:%M:%S")
        body = line[line.index("]: ") + 3:].replace(SEED_INSTANCE, inst).replace(SEED_REQUEST, req)
        out.append((start + (stamp - SEED_START), body.replace("node compute", f"node {host}")))
    return out


def as_journal(host: str, entries: list[tuple[datetime, str]]) -> str:
    return "".join(f"{t:%b %d %H:%M:%S} {host} nova-compute[5666]: {body}\n" for t, body in entries)


def as_json(host: str, entries: list[tuple[datetime, str]]) -> str:
    """A `journalctl -o json` export: one entry per line."""
    import json

    return "".join(json.dumps({
        "__REALTIME_TIMESTAMP": str(int(t.replace(tzinfo=UTC).timestamp() * 1_000_000)),
        "_HOSTNAME": host, "SYSLOG_IDENTIFIER": "nova-compute", "_PID": "5666", "MESSAGE": body,
    }) + "\n" for t, body in entries)


def as_oslo(entries: list[tuple[datetime, str]]) -> str:
    """nova-compute.log: stamped records; continuation lines as they are; no host."""
    out = []
    for t, body in entries:
        suffix = _SUFFIX.search(body)
        if suffix:
            body = f"{body[:suffix.start()]} {suffix.group(1)} {suffix.group(2)}"
        if body.startswith(("DEBUG ", "INFO ", "WARNING ", "ERROR ")):
            out.append(f"{t:%Y-%m-%d %H:%M:%S}.000 5666 {body}\n")
        else:
            out.append(body + "\n")
    return "".join(out)


@pytest.fixture(scope="package")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten hosts in eleven files (journal, a rotated journal, a JSON export, oslo.log, files
    holding two hosts), and in samples/ the sample logs (boots of host `compute` in three formats).
    """
    rng = random.Random(3)
    d = tmp_path_factory.mktemp("fleet")
    t = SEED_START
    (d / "alpha.journal").write_text(as_journal("alpha", boot("alpha", t, rng)))
    (d / "beta.journal").write_text(as_journal("beta", boot("beta", t + timedelta(seconds=5), rng)))
    # gamma's log rotated between two boots; the second boot's `used` is off (a violation)
    (d / "gamma.journal.1").write_text(as_journal("gamma", boot("gamma", t - timedelta(hours=1), rng)))
    (d / "gamma.journal").write_text(as_journal("gamma", boot("gamma", t + timedelta(seconds=2), rng)))
    (d / "delta.json").write_text(as_json("delta", boot("delta", t + timedelta(seconds=1), rng)))
    (d / "epsilon.log").write_text(as_oslo(boot("epsilon", t + timedelta(days=1), rng)))
    # one file with two hosts interleaved: a collector's merged journal
    zeta, eta = boot("zeta", t + timedelta(seconds=7), rng), boot("eta", t + timedelta(seconds=7), rng)
    merged = sorted([(s, "zeta", b) for s, b in zeta] + [(s, "eta", b) for s, b in eta],
                    key=lambda e: e[0])
    (d / "collector.journal").write_text("".join(as_journal(h, [(s, b)]) for s, h, b in merged))
    # a file whose second host shows only after the records the sniff reads, and that host's own
    # file: found when replayed, and then replayed together
    late = boot("theta", t + timedelta(seconds=9), rng) + boot("iota", t + timedelta(minutes=30), rng)
    (d / "late.journal").write_text("".join(
        as_journal("theta" if i < len(late) // 2 else "iota", [entry]) for i, entry in enumerate(late)))
    (d / "iota.journal").write_text(as_journal("iota", boot("iota", t + timedelta(seconds=4), rng)))
    samples = d / "samples"
    samples.mkdir()
    for f in sorted((ROOT / "sample_logs").glob("*")):
        if f.suffix in (".journal", ".json", ".log"):
            (samples / f.name).write_bytes(f.read_bytes())
    return d


@pytest.fixture(scope="package")
def cluster() -> Iterator[SpecCluster]:
    """nsim's private cluster (TLS, no HTTP): two single-threaded worker processes, 1 GiB each."""
    with quiet(), local_cluster(2, memory_limit="1GiB") as local:
        yield local


def trusted(security: Security) -> dict[str, object]:
    """Dask configuration that makes a client (e.g. the CLI's `--scheduler`) present `security`'s
    credentials, as a user points nsim at a TLS scheduler."""
    return {"distributed.comm.require-encryption": True,
            "distributed.comm.tls.ca-file": security.tls_ca_file,
            "distributed.comm.tls.client.cert": security.tls_client_cert,
            "distributed.comm.tls.client.key": security.tls_client_key}


@pytest.fixture
def scheduler(cluster: SpecCluster) -> Iterator[str]:
    """The package cluster's address, with its credentials in the Dask configuration."""
    with dask.config.set(trusted(cluster.security)):
        yield cluster.scheduler_address


@pytest.fixture
def client(cluster: SpecCluster) -> Iterator[Client]:
    with Client(cluster, security=cluster.security) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


class Killer(WorkerPlugin):
    """Ends its worker process (os._exit) when a task whose key starts with `prefix` starts
    executing: the first time only if `once` (the marker file remembers, across worker restarts),
    else every time."""

    def __init__(self, prefix: str, marker: str, once: bool = True) -> None:
        self.prefix = prefix
        self.marker = marker
        self.once = once

    def transition(self, key: object, start: str, finish: str, **kwargs: object) -> None:
        if finish == "executing" and str(key).startswith(self.prefix) \
                and not (self.once and os.path.exists(self.marker)):
            Path(self.marker).touch()
            os._exit(1)
