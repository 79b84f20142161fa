"""Shared helpers of the TUI tests: the seed boot, variants of it, and running the app headless."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

import nsim
from nsim.tui.app import NsimApp
from nsim.tui.session import Session
from nsim.tui.tour import Tour

ROOT = Path(__file__).resolve().parents[2]
SEED = "sample_logs/seed-boot.journal"
"""Relative to ROOT (the tests run there), so that screens show the same path everywhere."""
YEAR = 2017
UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
REQ = "req-d9a23179-e16d-4016-9586-e68c3dfdf6a9"
EVENT_REQ = "req-9b9e116b-fa49-46b3-8c41-9bade624c334"
IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"
SHA1 = "6eb03a619bcf59de5a27bf520cf83606bf8327a7"
SIZE = (120, 36)


def seed_lines() -> list[str]:
    return (ROOT / SEED).read_text(encoding="utf-8").splitlines()


@functools.cache
def seed_parsed() -> tuple[nsim.Record, ...]:
    """The records of the seed boot, as `nsim.parse` reads them (parsed once)."""
    return tuple(nsim.parse(str(ROOT / SEED), year=YEAR))


def seed_messages() -> tuple[str, ...]:
    """The message of each record of the seed boot."""
    return tuple(rec.message for rec in seed_parsed())


def seed_records() -> int:
    """How many records the seed boot holds: counted, not copied from the file's README."""
    return len(seed_messages())


def seed_index(needle: str) -> int:
    """The first record of the seed boot whose message contains `needle`."""
    return next(i for i, message in enumerate(seed_messages()) if needle in message)


def write_lines(directory: Path, name: str, lines: list[str]) -> str:
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def repeat_seed(directory: Path, name: str, boots: int, host: str = "compute",
                start: datetime = datetime(YEAR, 6, 16, 13, 12, 52)) -> str:
    """`boots` copies of the seed boot on `host`, each with new ids, 20 s after the previous."""
    lines = seed_lines()
    out = []
    for n in range(boots):
        image = str(uuid.UUID(int=n + 1))
        swaps = {UUID: str(uuid.UUID(int=1000 + n)), REQ.removeprefix("req-"): str(uuid.UUID(int=2000 + n)),
                 EVENT_REQ.removeprefix("req-"): str(uuid.UUID(int=3000 + n)), IMAGE: image,
                 SHA1: hashlib.sha1(image.encode()).hexdigest()}
        for line in lines:
            stamp = datetime.strptime(f"{YEAR} {line[:15]}", "%Y %b %d %H:%M:%S")
            stamp = start + (stamp - datetime(YEAR, 6, 16, 13, 12, 52)) + n * timedelta(seconds=20)
            rest = line[15:].replace(" compute ", f" {host} ", 1)
            for old, new in swaps.items():
                rest = rest.replace(old, new)
            out.append(f"{stamp:%b %d %H:%M:%S}{rest}")
    return write_lines(directory, name, out)


def index_of(session: Session, needle: str, start: int = 0) -> int:
    """The first record at or after `start` whose message contains `needle`."""
    store = session.store
    return next(i for i in range(start, len(store)) if needle in store.get(i).message)


def seed_session(**kwargs: Any) -> Session:
    return Session([SEED], year=YEAR, **kwargs)


async def wait_indexed(pilot: Pilot[None], session: Session) -> None:
    while not session.done.is_set():
        await pilot.pause(0.02)
    await pilot.pause()


@asynccontextmanager
async def running(session: Session, tour: Tour | None = None, size: tuple[int, int] = SIZE,
                  lang: str = "en") -> AsyncIterator[tuple[NsimApp, Pilot[None]]]:
    """The app on `session`, headless, with everything indexed."""
    app = NsimApp(session, tour, lang)
    async with app.run_test(size=size) as pilot:
        await app.first_screen.wait()
        await wait_indexed(pilot, session)
        yield app, pilot


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until `condition` holds (timers fire on their own schedule)."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never got there")


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test function in its own event loop."""
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))
    return run


async def settled(pilot: Pilot[None]) -> None:
    """Let the app handle what is pending, and a filter or search that went on between keys
    (on a busy machine one may take longer than a key is given) finish."""
    await pilot.pause()
    app = pilot.app
    if isinstance(app, NsimApp) and app.background.busy:
        await until(pilot, lambda: not app.background.busy)


async def press(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await settled(pilot)


async def answer(pilot: Pilot[None], key: str, text: str) -> None:
    """Open a prompt with `key`, put `text` in its input (in place of what it offers), press Enter."""
    await pilot.press(key)
    await pilot.pause()
    field = pilot.app.focused
    assert isinstance(field, Input), field
    field.value = text
    await pilot.press("enter")
    await settled(pilot)
