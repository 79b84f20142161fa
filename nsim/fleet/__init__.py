"""Fleet scale: `nsim parse` and `nsim replay` over many hosts' logs, one Dask task per host.

The API is in `nsim.fleet.jobs` (`connect`, `fleet_parse`, `fleet_replay`); this package
imports nothing heavy so that `nsim --help` stays fast.
"""
