"""nsim: read, model, replay and simulate how nova-compute boots an instance.

Importing nsim is cheap: the parser, the host model and pandas load on first use
(`nsim.ParseRun`, `nsim.parse(...)`, `nsim.to_dataframe(...)`), so that `nsim --help`
starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The package nsim.replay (light) is imported before `def replay` below: importing it later,
# on first use, would bind the name `nsim.replay` to it instead of to the function.
import nsim.replay  # noqa: F401

if TYPE_CHECKING:
    import pandas as pd

    from nsim.logs.reader import ParseRun
    from nsim.logs.record import Diagnostic, Record
    from nsim.model.config import HostConfig
    from nsim.replay.run import ReplayResult
    from nsim.sim.engine import SimulationResult
    from nsim.sim.scenario import Scenario

__all__ = ["Diagnostic", "ParseRun", "Record", "ReplayResult", "diff", "parse", "replay", "simulate",
           "to_dataframe"]

# Public names defined in submodules, imported when first asked for.
_LAZY = {"ParseRun": "nsim.logs.reader", "Diagnostic": "nsim.logs.record",
         "Record": "nsim.logs.record", "ReplayResult": "nsim.replay.run"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nsim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def parse(paths: str | Iterable[str], format: str = "auto", year: int | None = None) -> ParseRun:
    """Stream the records of one or more logs ('-' = stdin); `.counts` fills in as you iterate."""
    from nsim.logs.reader import ParseRun

    return ParseRun([paths] if isinstance(paths, str) else paths, fmt=format, year=year)


def to_dataframe(source: Iterable[Record] | str | list[str], format: str = "auto",
                 year: int | None = None) -> pd.DataFrame:
    """One row per record, with the `nsim parse --to jsonl` columns.

    `source` is records (e.g. from `parse`), or a path or list of paths to parse.
    """
    import pandas as pd

    from nsim.logs.schema import JSON_COLUMNS

    if isinstance(source, str) or (isinstance(source, list) and all(isinstance(p, str)
                                                                     for p in source)):
        source = parse(source, format=format, year=year)  # type: ignore[arg-type]
    frame = pd.DataFrame([rec.to_json() for rec in source], columns=list(JSON_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


def replay(paths: str | Iterable[str], host_config: HostConfig | str | None = None,
           format: str = "auto", year: int | None = None) -> ReplayResult:
    """Replay logs through the host model; `host_config` is a HostConfig or a TOML path."""
    from nsim.model.config import load_host_config
    from nsim.replay.run import replay as _replay

    if isinstance(host_config, str):
        host_config = load_host_config(host_config)
    return _replay([paths] if isinstance(paths, str) else paths, config=host_config,
                   fmt=format, year=year)


def simulate(scenario: str | Path | Scenario, out: str | Path,
             seed: int | None = None) -> SimulationResult:
    """Simulate a scenario (object or TOML path) and write its trace to `out`."""
    from nsim.sim.engine import simulate as _simulate

    return _simulate(scenario, out, seed=seed)


def diff(a: str, b: str, year: int | None = None) -> pd.DataFrame:
    """Phase durations of the paired boots of logs `a` and `b`: one row per pair and phase
    (pair, a_host, a_uuid, b_host, b_uuid, phase, a_seconds, b_seconds, delta).

    Raises nsim.compare.boots.UnreadableLog, naming the file, when a log cannot be read."""
    from nsim.compare.pairs import compare

    return compare(a, b, year=year).to_dataframe()
