"""The lesson texts (steps.toml, one <lang>.toml per language); `nsim.tui.tour` reads them.

Light on purpose: `nsim teach --help` lists the languages without loading the model.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def languages() -> list[str]:
    """Languages with a lesson text."""
    return sorted(name.removesuffix(".toml") for name in os.listdir(HERE)
                  if name.endswith(".toml") and name not in ("steps.toml", "glossary.toml"))
