"""The diff as a timeline: one lane per boot, A above B for each pair, phases as bars.

Time runs from each boot's own start, so paired boots line up. In a lane the steps that
follow one another (claim, image fetch, convert, overlay, XML, domain start, resume) sit on
the lower track, the network allocation that runs beside them on the upper track; the whole
build is the grey bar behind them, labelled with its length.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from nsim.compare.boots import BootTrace
from nsim.compare.pairs import DiffResult

# Steps on the lower track, in boot order, with their colours (colour-blind safe palette).
STEPS: tuple[tuple[str, str, str], ...] = (
    ("claim", "claim", "#0072B2"),
    ("image_fetch", "image fetch", "#E69F00"),
    ("convert", "convert to raw", "#D55E00"),
    ("overlay", "qcow2 overlay", "#CC79A7"),
    ("xml", "guest XML", "#56B4E9"),
    ("domain_start", "VIF plug + domain start", "#009E73"),
    ("resume", "paused -> resumed", "#F0E442"),
)
NETWORK = ("network", "network (background)", "#999999")
BUILD_COLOUR = "#E8E8E8"


def _lanes(result: DiffResult) -> list[tuple[str, BootTrace]]:
    lanes = []
    for i, pair in enumerate(result.pairs, 1):
        lanes.append((f"#{i} A {pair.a.label()}", pair.a))
        lanes.append((f"#{i} B {pair.b.label()}", pair.b))
    lanes.extend((f"{side.upper()} only {boot.label()}", boot) for side, boot in result.unpaired)
    return lanes


def _span(boot: BootTrace, name: str) -> tuple[float, float] | None:
    phase, start = boot.phases.get(name), boot.start
    if phase is None or phase.start is None or phase.end is None or start is None:
        return None
    return (phase.start - start).total_seconds(), (phase.end - phase.start).total_seconds()


def plot(result: DiffResult, out: str | Path, title: str | None = None) -> Path:
    """Draw the timeline of `result` into a PNG at `out`; returns the path."""
    lanes = _lanes(result)
    longest = max((_span(b, "build") or (0.0, 0.0))[1] for _, b in lanes) if lanes else 1.0
    longest = max(longest, 1.0)
    tiny = longest * 0.004  # a step of 0 s still shows as a sliver
    # A Figure of its own, not pyplot's: no backend switch, nothing left open in a notebook.
    fig = Figure(figsize=(12, 1.4 + 0.62 * max(len(lanes), 2)), dpi=110)
    ax = fig.subplots()
    for row, (_, boot) in enumerate(lanes):
        y = len(lanes) - 1 - row
        total = _span(boot, "build")
        if total is not None:
            ax.barh(y, total[1], left=total[0], height=0.86, color=BUILD_COLOUR,
                    edgecolor="#BBBBBB", zorder=1)
            ax.text(total[0] + total[1] + longest * 0.01, y, f"{total[1]:.2f} s", va="center",
                    fontsize=10, color="#333333")
        for name, _, colour in STEPS:
            span = _span(boot, name)
            if span is not None:
                ax.barh(y - 0.17, max(span[1], tiny), left=span[0], height=0.38, color=colour,
                        edgecolor="black", linewidth=0.4, zorder=3)
        span = _span(boot, NETWORK[0])
        if span is not None:
            ax.barh(y + 0.23, max(span[1], tiny), left=span[0], height=0.22, color=NETWORK[2],
                    edgecolor="black", linewidth=0.4, hatch="//", zorder=3)
    for i in range(1, len(result.pairs)):
        ax.axhline(len(lanes) - 2 * i - 0.5, color="#888888", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(lanes)), [label for label, _ in reversed(lanes)], fontsize=10)
    ax.set_ylim(-0.6, max(len(lanes), 1) - 0.4)
    ax.set_xlim(0, longest * 1.12)
    ax.set_xlabel("seconds since the boot started (\"Starting instance...\")", fontsize=11)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"Boot phases: A = {Path(result.a).name} (upper), "
                          f"B = {Path(result.b).name} (lower)", fontsize=13, loc="left")
    handles = [Patch(facecolor=BUILD_COLOUR, edgecolor="#BBBBBB", label="whole build")]
    handles += [Patch(facecolor=c, edgecolor="black", label=label) for _, label, c in STEPS]
    handles.append(Patch(facecolor=NETWORK[2], edgecolor="black", hatch="//", label=NETWORK[1]))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10,
              frameon=False, title="phase", title_fontsize=10, alignment="left")
    path = Path(out)
    fig.savefig(path, bbox_inches="tight", pad_inches=0.2)
    return path
