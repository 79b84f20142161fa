"""The teaching notebooks run top to bottom on the bundled data, and are stored without outputs."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["01-parse-and-explore", "02-replay-and-check",
                                           "03-simulate-vs-real", "04-hardware-boot"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


# Set before the notebook's own cells: figures come out as SVG with their text as text, so
# the test can read each figure's title and labels.
_SVG_FIGURES = ("%config InlineBackend.figure_formats = ['svg']\n"
                "import matplotlib\nmatplotlib.rcParams['svg.fonttype'] = 'none'")
_SVG = "{http://www.w3.org/2000/svg}"

# The figures each notebook must draw, by title, in order.
TITLES = {
    "01-parse-and-explore": ["Seed boot: every record, second by second"],
    "02-replay-and-check": ["Resource use on host compute, boot by boot (grey lines: a boot starts)",
                            "Image cache: hits and misses"],
    "03-simulate-vs-real": ["The seed boot (A) and its simulated twin (B)",
                            "What if the image service were slower?"],
    "04-hardware-boot": ["Phase by phase: the seed's devstack boot and a hardware-mode boot"],
}


@dataclass
class Drawn:
    """A figure a notebook drew: its texts in drawing order, and its scatter points."""

    texts: list[str]
    points: set[tuple[str, str]]


def _figure(svg: str) -> Drawn:
    root = ElementTree.fromstring(svg)
    texts = ["".join(t.itertext()).strip() for t in root.iter(f"{_SVG}text")]
    def markers(prefix: str) -> set[tuple[str, str]]:
        return {(u.get("x", ""), u.get("y", "")) for g in root.iter(f"{_SVG}g")
                if g.get("id", "").startswith(prefix) for u in g.iter(f"{_SVG}use")}

    points = markers("PathCollection_") - markers("legend_")  # scatter, not ticks or legend
    return Drawn([t for t in texts if t], points)


def _run(path: Path) -> tuple[list[Drawn], str]:
    """Run the notebook; the figures it drew, and what it printed."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_SVG_FIGURES))
    started = time.monotonic()
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert time.monotonic() - started < 60, f"{path.name} took over a minute"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    figures = [_figure(o["data"]["image/svg+xml"]) for o in outputs
               if "image/svg+xml" in o.get("data", {})]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    return figures, printed


@cache
def _ran(name: str) -> tuple[list[Drawn], str]:
    return _run(next(p for p in NOTEBOOKS if p.stem == name))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_draws_each_expected_figure_with_its_title(path: Path) -> None:
    """Runs top to bottom; every figure has a title, and the notebook's figures are the
    expected ones, in order."""
    figures, _ = _ran(path.stem)
    titles = [next((t for t in TITLES[path.stem] if t in f.texts), None) for f in figures]
    assert titles == TITLES[path.stem]


def test_notebook_01_shows_every_record_of_the_boot() -> None:
    """One dot per record: records of the same second are stacked, not drawn on each other."""
    figures, printed = _ran("01-parse-and-explore")
    records = int(re.search(r"(\d+) records over", printed).group(1))
    assert records > 50
    assert len(figures[0].points) == records


def test_notebook_02_plots_usage_on_the_clock() -> None:
    """Time on the x axis (the boots' hours, with the gaps between them), not record numbers."""
    figures, _ = _ran("02-replay-and-check")
    ticks = [t for t in figures[0].texts if re.fullmatch(r"\d\d:\d\d", t)]
    assert ticks and min(ticks) <= "13:15" and max(ticks) >= "14:30"
    assert not any("record" in t for t in figures[0].texts)


def test_notebook_04_phases_in_boot_order_and_the_trace_says_where_it_was_recorded() -> None:
    from nsim.compare.pairs import PHASES

    figures, printed = _ran("04-hardware-boot")
    texts = figures[0].texts
    shown = [t for t in texts if t in PHASES]
    assert len(shown) >= 8 and shown == sorted(shown, key=PHASES.index)
    legend = [t for t in texts if t.startswith("hardware mode: ")]
    assert len(legend) == 1
    if "Booted for real on this machine" in printed:
        assert "this machine" in legend[0]
    else:
        assert "this machine" not in " ".join(texts)
        assert "recorded on host vm (hw-boot.journal)" in legend[0]
