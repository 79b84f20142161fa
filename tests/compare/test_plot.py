"""`nsim diff --plot`: what the timeline shows, asserted on the figure's artists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from nsim.cli import main
from nsim.compare.pairs import compare
from nsim.compare.plot import ENDS, WAITS, figure
from nsim.sim.engine import simulate
from nsim.sim.scenario import parse_scenario
from tests.compare.conftest import ROCKY_VIF
from tests.conftest import IMAGE, ROOT

SAMPLES = ROOT / "sample_logs"


def _axes(result: object, **kwargs: object) -> Axes:
    (ax,) = figure(result, **kwargs).axes  # type: ignore[arg-type]
    return ax


def _by_gid(ax: Axes, prefix: str) -> list[Rectangle | Line2D]:
    return [a for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]


def _legend_labels(ax: Axes) -> list[str]:
    (legend,) = ax.figure.legends
    return [t.get_text() for t in legend.get_texts()]


def test_lanes_name_side_host_short_uuid_and_flavor() -> None:
    ax = _axes(compare(str(SAMPLES / "seed-boot.journal"), str(SAMPLES / "refused-claim.journal"),
                       year=2017))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # Top to bottom: the pair's A, then its B; a boot without guest XML shows its sizes.
    assert labels[::-1] == ["#1 A  compute · 86f71e87 · m1.tiny",
                            "#1 B  compute · d5e3a7c9 · 16384 MB/20 GB/2 vCPU"]


def test_a_boot_that_did_not_go_active_is_marked_with_its_ending() -> None:
    ax = _axes(compare(str(SAMPLES / "failed-spawn.journal"), str(SAMPLES / "seed-boot.journal"),
                       year=2017))
    # Lane 0 (top) is failed-spawn: re-scheduled after 3 s; lane 1 went active after 9 s.
    (mark,) = _by_gid(ax, "end:")
    assert mark.get_gid() == "end:0:re-scheduled"
    assert isinstance(mark, Line2D)
    assert (list(mark.get_xdata()), list(mark.get_ydata())) == ([3.0], [1])
    assert mark.get_marker() == ENDS["re-scheduled"][0]
    texts = {t.get_gid(): t.get_text() for t in ax.texts}
    assert texts["end-text:0"].startswith("3 s  re-scheduled\ninternal error: process exited")
    assert texts["end-text:1"] == "9 s"  # whole-second stamps: whole seconds
    (build,) = _by_gid(ax, "build:0")
    assert build.get_width() == 3.0
    assert "build re-scheduled" in _legend_labels(ax)


def test_an_aborted_build_is_marked_aborted(real_logs: Path) -> None:
    log = str(real_logs / ROCKY_VIF)
    ax = _axes(compare(log, log))
    assert sorted(m.get_gid() for m in _by_gid(ax, "end:")) == ["end:0:aborted", "end:1:aborted"]
    assert "build aborted" in _legend_labels(ax)


def test_a_wait_on_another_boots_image_lock_is_drawn_as_its_own_phase(tmp_path: Path) -> None:
    trace = tmp_path / "contend.journal"
    simulate(parse_scenario({
        "seed": 1, "start": "2017-06-16T13:12:52",
        "hosts": [{"name": "cmp", "release": "train", "audit_interval": 0}],
        "images": [{"id": IMAGE, "name": "cirros"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": 3, "interval": 0.5}]}), trace)
    waited = sorted(float(w) for w in re.findall(
        r'Lock "[0-9a-f]{40}" acquired by "[\w.]+" :: waited ([\d.]+)s', trace.read_text())
        if float(w) > 0)
    assert waited  # the scenario makes the later boots wait for the first one's download
    ax = _axes(compare(str(trace), str(trace)))
    waits = _by_gid(ax, "wait:")
    # Each wait of each lane (A and B are the same trace), as long as oslo logged it.
    assert sorted(round(w.get_width(), 3) for w in waits) == sorted(waited * 2)
    assert {w.get_gid().rsplit(":", 1)[1] for w in waits} == {"image"}
    assert not any(w.get_gid().startswith("wait:0:") for w in waits)  # the first boot fetches
    # On its lane's timeline, a wait lies after the claim and before the overlay it waited for.
    for wait in waits:
        row = wait.get_gid().split(":")[1]
        (claim,) = _by_gid(ax, f"step:{row}:claim")
        (overlay,) = _by_gid(ax, f"step:{row}:overlay")
        assert claim.get_x() + claim.get_width() <= wait.get_x()
        assert wait.get_x() + wait.get_width() <= overlay.get_x()
    assert WAITS["image"][0] in _legend_labels(ax)


def test_plot_size_slide_is_16_by_9(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed, png = str(SAMPLES / "seed-boot.journal"), tmp_path / "slide.png"
    assert main(["diff", seed, seed, "--year", "2017", "--plot", str(png),
                 "--plot-size", "slide"]) == 0
    height, width = mpimg.imread(png).shape[:2]
    assert (width, height) == (2000, 1125)
    assert main(["diff", seed, seed, "--plot", str(png), "--plot-size", "poster"]) == 2
    assert "invalid choice: 'poster'" in capsys.readouterr().err
