"""The host pane: memory, disk and vCPU gauges (used / total, reserved, live claims) and locks."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events

from nsim.model.claims import RESOURCES, UNITS
from nsim.model.host import Host
from nsim.tui.entities import LOCKS, marked
from nsim.tui.pane import Pane
from nsim.tui.session import Moment

GAUGE_WIDTH = 20
"""Cells of a gauge when the pane's width is not known yet."""


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def gauge(host: Host, resource: str, width: int = GAUGE_WIDTH,
          tr: Callable[[str], str] = str) -> Text:
    """A bar of `width` cells: baseline (reserved and earlier instances), live claims, free."""
    tracker = host.tracker
    total, used = tracker.totals[resource], tracker.used(resource)
    baseline, claimed = tracker.baseline[resource], tracker.claimed(resource)
    unit = UNITS[resource]
    line = Text(f"{resource:<7}")
    if total:
        # Within the bar's width, whatever the amounts (a baseline below zero, claims past
        # the total: the log's host is overcommitted or the model unsure).
        base_cells = max(0, min(width, round(width * min(baseline, total) / total)))
        claim_cells = max(0, min(width - base_cells,
                                 round(width * min(claimed or 0, max(total - baseline, 0)) / total)))
        line.append("▓" * base_cells, "grey50")
        line.append("█" * claim_cells, "green")
        line.append("░" * (width - base_cells - claim_cells), "grey30")
    else:
        line.append("·" * width, "grey30")
    line.append(f" {_num(used)} / {_num(total)} {unit}\n")
    reserved = {"memory": host.config.reserved_host_memory_mb,
                "disk": host.config.reserved_host_disk_mb / 1024,
                "vcpu": host.config.reserved_host_cpus}[resource]
    line.append(f"{'':<7}{tr('reserved')} {reserved:g}", "grey50")
    if baseline != reserved:
        line.append(f" · {tr('before the log')} {baseline - reserved:g}", "grey50")
    line.append(f" · {tr('claims')} {_num(claimed)}\n", "green")
    return line


class HostPane(Pane):
    TITLE = "Host"
    _moment: Moment | None = None

    def on_resize(self, event: events.Resize) -> None:
        """The gauges' width follows the pane's: draw them again at the new size."""
        if self._moment is not None:
            self.show(self._moment)

    def show(self, moment: Moment) -> None:
        self._moment = moment
        host = moment.host
        if host is None:
            self.border_subtitle = ""
            self.set_body(Text(self.tr("No host yet."), style="dim"))
            return
        self.border_subtitle = host.name + (f" (node {host.node})" if host.node not in (None, host.name)
                                            else "")
        body = Text()
        inner = self.size.width - 4  # borders and padding
        width = max(6, min(30, inner - 24)) if inner > 0 else GAUGE_WIDTH
        for resource in RESOURCES:
            body.append_text(gauge(host, resource, width, self.tr))
        claims = host.tracker.claims
        body.append(f"{self.tr('live claims')} {len(claims)}\n", "bold")
        for uuid, claim in list(claims.items())[-5:]:
            body.append(f"  {uuid[:8]}  {_num(claim.memory_mb)} MB  {_num(claim.disk_gb)} GB  "
                        f"{_num(claim.vcpus)} vCPU\n")
        held = marked(host.locks.locks, LOCKS)  # a restored model decodes only these
        if held:
            body.append(self.tr("locks held") + "\n", "bold")
            for lk in held[-4:]:
                assert lk.holder is not None
                name = lk.name if len(lk.name) <= 20 else lk.name[:12] + "…"
                body.append(f"  {name} ", "magenta")
                body.append(f"{self.tr('by')} {lk.holder.owner.rsplit('.', 1)[-1]}\n", "dim")
        body.rstrip()
        self.set_body(body)
