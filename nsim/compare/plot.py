"""The diff as a timeline: one lane per boot, A above B for each pair, phases as bars.

Time runs from each boot's own start, so paired boots line up. In a lane the steps that
follow one another (claim, image fetch, convert, overlay, XML, domain start, resume) and the
waits for a lock another boot holds (compute_resources before the claim, a base file's image
lock before the fetch or overlay) sit on the lower track, the network allocation that runs
beside them on the upper track; the whole build is the grey bar behind them, labelled with its
length and, unless the boot went active, marked at its end with how it ended (failed, aborted,
re-scheduled, ...). Lanes are named by side, host, short uuid and flavor. Sizes: `auto` grows
with the lanes, `slide` is 16:9 for a presentation.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from nsim.compare import PLOT_SIZES
from nsim.compare.boots import BootTrace
from nsim.compare.pairs import DiffResult
from nsim.report.numbers import seconds

SLIDE_INCHES = (40 / 3, 7.5)  # 16:9 (2000 x 1125 pixels), a widescreen slide
SLIDE_DPI = 150

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
# Waits for a lock, by lock (nsim.compare.boots.LockWait.lock): label and hatch colour, the
# colour of the step the lock guards.
WAITS: dict[str, tuple[str, str]] = {
    "compute_resources": ("waiting for the compute_resources lock", "#0072B2"),
    "image": ("waiting for the image lock (another boot fetches)", "#E69F00"),
}
BUILD_COLOUR = "#E8E8E8"
# Marks at the end of a build that did not go active (BootTrace.ended_as): marker, colour.
ENDS: dict[str, tuple[str, str]] = {
    "failed": ("X", "#C00000"),
    "aborted": ("X", "#C00000"),
    "re-scheduled": (">", "#7B3294"),
    "deleted": ("s", "#555555"),
    "cut off by the log's end": ("|", "#555555"),
}
_CAUSE_CHARS = 40  # a cause is cut to this many characters beside its lane


def _flavor(boot: BootTrace) -> str:
    """The flavor's name, else its sizes (an INFO log has no guest XML), else `?`."""
    if boot.flavor:
        return boot.flavor
    memory, disk, vcpus = boot.sizes
    if memory is None:
        return "flavor ?"
    return f"{memory} MB/{disk} GB/{vcpus} vCPU"


def lane_label(side: str, boot: BootTrace) -> str:
    """`A  host · 86f71e87 · m1.tiny`: side, host, short uuid and flavor of a lane."""
    host = boot.host if len(boot.host) <= 24 else boot.host[:23] + "…"
    return f"{side}  {host} · {boot.uuid[:8]} · {_flavor(boot)}"


def _lanes(result: DiffResult) -> list[tuple[str, str, BootTrace]]:
    """(label, side, boot) from top to bottom: each pair's A then B, then the unpaired."""
    lanes = []
    for i, pair in enumerate(result.pairs, 1):
        lanes.append((lane_label(f"#{i} A", pair.a), "a", pair.a))
        lanes.append((lane_label(f"#{i} B", pair.b), "b", pair.b))
    lanes.extend((lane_label(f"{side.upper()} only", boot), side, boot)
                 for side, boot in result.unpaired)
    return lanes


def _span(boot: BootTrace, name: str) -> tuple[float, float] | None:
    """(offset from the boot's start, length) of a phase, in seconds; None when untimed."""
    phase, start = boot.phases.get(name), boot.start
    if phase is None or phase.start is None or phase.end is None or start is None:
        return None
    return (phase.start - start).total_seconds(), (phase.end - phase.start).total_seconds()


def _whole_span(boot: BootTrace) -> tuple[float, float] | None:
    """The whole build: its start to its end (or last stamp, when the window cuts it)."""
    start, end = boot.start, boot.end
    return None if start is None or end is None else (0.0, (end - start).total_seconds())


def _end_text(boot: BootTrace, length: float, whole: bool) -> str:
    """`9 s`, or `3 s  re-scheduled` and the cause below for a build that did not go active."""
    text = f"{seconds(length, whole)} s"
    if boot.ended_as == "active":
        return text
    cause = boot.cause or ""
    if len(cause) > _CAUSE_CHARS:
        cause = cause[:_CAUSE_CHARS - 1] + "…"
    return f"{text}  {boot.ended_as}" + (f"\n{cause}" if cause else "")


def figure(result: DiffResult, title: str | None = None, size: str = "auto") -> Figure:
    """The timeline of `result` as a matplotlib Figure (not pyplot's: no backend switch,
    nothing left open in a notebook); `size` is one of PLOT_SIZES."""
    if size not in PLOT_SIZES:
        raise ValueError(f"plot size {size!r}: expected one of {', '.join(PLOT_SIZES)}")
    lanes = _lanes(result)
    whole = {side: result.whole_seconds(side) for side in ("a", "b")}
    spans = [_whole_span(b) for _, _, b in lanes]
    longest = max([s[1] for s in spans if s is not None] + [1.0])
    tiny = longest * 0.004  # a step of 0 s still shows as a sliver
    if size == "slide":
        fig = Figure(figsize=SLIDE_INCHES, dpi=SLIDE_DPI, layout="constrained")
        font = max(6.0, min(12.0, 260 / max(len(lanes), 1)))
    else:
        fig = Figure(figsize=(12, 2.4 + 0.62 * max(len(lanes), 2)), dpi=110,
                     layout="constrained")
        font = 10.0
    ax = fig.subplots()
    for row, ((_, side, boot), total) in enumerate(zip(lanes, spans, strict=True)):
        y = len(lanes) - 1 - row
        start = boot.start
        if total is not None:
            mark = ENDS.get(boot.ended_as)
            ax.barh(y, total[1], left=0, height=0.86, color=BUILD_COLOUR,
                    edgecolor=mark[1] if mark else "#BBBBBB", linewidth=1.6 if mark else 0.8,
                    zorder=1, gid=f"build:{row}")
            if mark is not None:
                ax.plot(total[1], y, marker=mark[0], color=mark[1], markersize=font + 2,
                        markeredgecolor="white", linestyle="none", zorder=5,
                        gid=f"end:{row}:{boot.ended_as}")
            ax.text(total[1] + longest * (0.035 if mark else 0.015), y,
                    _end_text(boot, total[1], whole[side]), va="center", fontsize=font,
                    color=mark[1] if mark else "#333333", gid=f"end-text:{row}")
        for name, _, colour in STEPS:
            span = _span(boot, name)
            if span is not None:
                ax.barh(y - 0.17, max(span[1], tiny), left=span[0], height=0.38, color=colour,
                        edgecolor="black", linewidth=0.4, zorder=3, gid=f"step:{row}:{name}")
        for wait in boot.waits if start is not None else ():
            hatch_colour = WAITS[wait.lock][1]
            ax.barh(y - 0.17, (wait.end - wait.start).total_seconds(),
                    left=(wait.start - start).total_seconds(), height=0.38, color="white",
                    edgecolor=hatch_colour, hatch="xxx", linewidth=0.8, zorder=3,
                    gid=f"wait:{row}:{wait.lock}")
        span = _span(boot, NETWORK[0])
        if span is not None:
            ax.barh(y + 0.23, max(span[1], tiny), left=span[0], height=0.22, color=NETWORK[2],
                    edgecolor="black", linewidth=0.4, hatch="//", zorder=3,
                    gid=f"step:{row}:network")
    for i in range(1, len(result.pairs)):
        ax.axhline(len(lanes) - 2 * i - 0.5, color="#888888", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(lanes)), [label for label, _, _ in reversed(lanes)], fontsize=font)
    ax.set_ylim(-0.6, max(len(lanes), 1) - 0.4)
    ax.set_xlim(0, longest * 1.12)
    ax.set_xlabel("seconds since the boot started (\"Starting instance...\")", fontsize=font + 1)
    ax.tick_params(axis="x", labelsize=font)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"Boot phases: A = {Path(result.a).name} (upper), "
                          f"B = {Path(result.b).name} (lower)", fontsize=font + 3, loc="left")
    fig.legend(handles=_legend(lanes), loc="outside lower center", ncols=4, fontsize=font,
               frameon=False)
    return fig


def _legend(lanes: list[tuple[str, str, BootTrace]]) -> list[Patch | Line2D]:
    """The phases, then the waits and the ends that the lanes show."""
    handles: list[Patch | Line2D] = [
        Patch(facecolor=BUILD_COLOUR, edgecolor="#BBBBBB", label="whole build")]
    handles += [Patch(facecolor=c, edgecolor="black", label=label) for _, label, c in STEPS]
    handles.append(Patch(facecolor=NETWORK[2], edgecolor="black", hatch="//", label=NETWORK[1]))
    locks = {w.lock for _, _, b in lanes for w in b.waits}
    handles += [Patch(facecolor="white", edgecolor=colour, hatch="xxx", label=label)
                for lock, (label, colour) in WAITS.items() if lock in locks]
    ends = dict.fromkeys(b.ended_as for _, _, b in lanes if b.ended_as in ENDS)
    handles += [Line2D([], [], marker=ENDS[end][0], color=ENDS[end][1], linestyle="none",
                       label=f"build {end}") for end in ends]
    return handles


def plot(result: DiffResult, out: str | Path, title: str | None = None,
         size: str = "auto") -> Path:
    """Draw the timeline of `result` into a PNG at `out` (see `figure`); returns the path."""
    path = Path(out)
    figure(result, title, size).savefig(path)
    return path
