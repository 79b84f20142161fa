"""nsim's local cluster accepts no stranger: every listener speaks TLS with this run's CA, none HTTP."""

from __future__ import annotations

import asyncio
import ssl

import dask
import psutil
import pytest
from distributed import Client, SpecCluster
from distributed.comm import connect
from distributed.security import Security

from nsim.fleet.cluster import quiet

from .conftest import trusted


def listening_ports() -> set[int]:
    """Ports this process and its children (the worker processes) listen on (TCP, any address)."""
    me = psutil.Process()
    return {c.laddr.port for p in (me, *me.children(recursive=True))
            for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def dask_addresses(cluster: SpecCluster) -> list[str]:
    """The scheduler's, every worker's and every nanny's address."""
    workers = cluster.scheduler_info["workers"]
    return [cluster.scheduler_address, *workers, *(w["nanny"] for w in workers.values())]


def test_every_listener_is_a_dask_tls_endpoint_on_loopback(client: Client,
                                                           cluster: SpecCluster) -> None:
    """No HTTP server (dashboard, metrics, API) and no plain-TCP endpoint."""
    addresses = dask_addresses(cluster)
    assert len(addresses) == 5
    assert all(a.startswith("tls://127.0.0.1:") for a in addresses), addresses
    assert listening_ports() == {int(a.rsplit(":", 1)[1]) for a in addresses}


@pytest.mark.parametrize("stranger", ["plain TCP", "TLS with its own CA"])
def test_a_client_without_this_runs_credentials_is_refused(cluster: SpecCluster,
                                                           stranger: str) -> None:
    port = cluster.scheduler_address.rsplit(":", 1)[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}), quiet(), \
            pytest.raises((OSError, TimeoutError)):
        if stranger == "plain TCP":
            Client(f"tcp://127.0.0.1:{port}", timeout="3s")
        else:
            Client(cluster.scheduler_address, security=Security.temporary(), timeout="3s")


def test_no_listener_talks_to_a_stranger(client: Client, cluster: SpecCluster) -> None:
    """Not the scheduler, nor any worker or nanny: each refuses a plain comm, one whose
    certificate another CA signed, and one that trusts the cluster's CA but shows no certificate."""
    foreign = Security.temporary().get_connection_args("client")
    no_cert = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                         cadata=cluster.security.tls_ca_file)
    no_cert.check_hostname = False

    async def refused(address: str, **kwargs: object) -> bool:
        try:
            comm = await connect(address, timeout=3, **kwargs)
        except (OSError, TimeoutError):
            return True
        try:  # a plain TCP connect "succeeds" until the first message fails
            await comm.write({"op": "identity"})
            await comm.read()
        except (OSError, TimeoutError):
            return True
        finally:
            comm.abort()
        return False

    async def probe() -> list[tuple[str, bool, bool, bool]]:
        return [(a, await refused(a.replace("tls://", "tcp://")), await refused(a, **foreign),
                 await refused(a, ssl_context=no_cert, require_encryption=True))
                for a in dask_addresses(cluster)]

    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}), quiet():
        results = asyncio.run(probe())
    assert all(all(ok) for _, *ok in results), results


def test_the_credentials_work(cluster: SpecCluster) -> None:
    """The control: a client with the cluster's credentials (as the CLI's `--scheduler` gets
    them from the Dask configuration) runs a function."""
    with dask.config.set(trusted(cluster.security)), Client(cluster.scheduler_address) as c:
        assert c.submit(sum, [1, 2]).result() == 3
