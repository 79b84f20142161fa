"""The TUI tests run in the repository root, so that file names on screen are the same everywhere."""

from __future__ import annotations

import pytest

from tests.tui.helpers import ROOT


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
