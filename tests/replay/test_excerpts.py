"""Never cry wolf on excerpts: any window of a consistent log, and the same log with lines
missing (as pasted into bug reports), replays without a violation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nsim.replay.run import replay
from tests.conftest import REAL_LOGS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(str(p) for p in (ROOT / "sample_logs").iterdir()
                 if p.suffix in (".journal",) or p.name.endswith(".oslo.log"))
REAL = REAL_LOGS


def _write(tmp_path: Path, source: str, lines: list[str], tag: str) -> str:
    suffix = ".log" if source.endswith(".log") else ".journal"
    path = tmp_path / f"{Path(source).stem}-{tag}{suffix}"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _clean(path: str) -> None:
    # (A window made only of continuation lines is "not a nova-compute log": an error, not
    # a violation.)
    result = replay([path], year=2017)
    assert [str(v) for v in result.violations] == []


@pytest.mark.parametrize("source", SAMPLES, ids=lambda p: Path(p).name)
def test_lines_missing_anywhere(tmp_path: Path, source: str) -> None:
    lines = Path(source).read_text().splitlines()
    for seed in range(12):
        rnd = random.Random(seed)
        share = rnd.choice((0.1, 0.3, 0.5))
        kept = [line for line in lines if rnd.random() > share]
        _clean(_write(tmp_path, source, kept, f"drop{seed}"))


@pytest.mark.parametrize("source", SAMPLES, ids=lambda p: Path(p).name)
def test_any_window(tmp_path: Path, source: str) -> None:
    lines = Path(source).read_text().splitlines()
    rnd = random.Random(7)
    for n in range(12):
        start = rnd.randrange(len(lines))
        end = rnd.randrange(start, len(lines)) + 1
        _clean(_write(tmp_path, source, lines[start:end], f"window{n}"))


def test_windows_of_a_long_real_log(tmp_path: Path) -> None:
    source = str(REAL / "havana-uforia-nova-compute.log")
    lines = Path(source).read_text(errors="replace").splitlines()
    rnd = random.Random(3)
    for n in range(4):
        start = rnd.randrange(len(lines) - 2000)
        _clean(_write(tmp_path, source, lines[start:start + rnd.randrange(500, 4000)], f"w{n}"))
