"""What every driver step is, and how a step says the build failed."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

Steps = Generator[Any, Any, Any]
"""A driver step: what it yields is the driver's business (SimPy events, or nothing)."""


class BuildFailed(Exception):
    """A step of the spawn failed; `fault` is what the driver knows of it (an exception, or
    the simulator's Failure)."""

    def __init__(self, fault: object) -> None:
        super().__init__(str(fault))
        self.fault = fault


@contextmanager
def releasing(release: Callable[[], None]) -> Iterator[None]:
    """Call `release` when the block ends, normally or by an exception, but not when the
    process is abandoned (GeneratorExit: the run ended or was interrupted; no step happened,
    and nothing may be logged for it)."""
    try:
        yield
    except GeneratorExit:
        raise
    except BaseException:
        release()
        raise
    release()
