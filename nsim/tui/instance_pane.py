"""The instance pane: vm_state / task_state / power_state and the boot's phases as a strip."""

from __future__ import annotations

from rich.text import Text

from nsim.model.instance import PHASES, Instance
from nsim.report.numbers import phases_whole, seconds
from nsim.tui.pane import Pane
from nsim.tui.session import Moment

STATE_STYLE = {
    "building": "yellow", "active": "bold green", "error": "bold red", "deleted": "dim",
    "running": "bold green", "paused": "yellow", "pending": "dim", "shutdown": "red",
    "crashed": "bold red", "suspended": "yellow",
}
_DONE, _RUNNING, _WAITING = "black on green", "black on yellow", "white on grey23"


def phase_strip(inst: Instance) -> Text:
    """One block per boot phase: green done (with its seconds, at the log's resolution, as
    `nsim replay` prints them), yellow running, grey not begun."""
    strip = Text()
    whole = phases_whole(inst)
    for name in PHASES:
        phase = inst.phases.get(name)
        if phase is None or phase.start is None:
            strip.append(f" {name} ", _WAITING)
        elif phase.end is None:
            strip.append(f" {name} … ", _RUNNING)
        else:
            secs = phase.seconds
            strip.append(f" {name} {seconds(secs, whole)}s " if secs is not None else f" {name} ✓ ", _DONE)
        strip.append(" ")
    return strip


class InstancePane(Pane):
    TITLE = "Instance"

    def show(self, moment: Moment) -> None:
        inst = moment.instance
        if inst is None:
            self.border_subtitle = ""
            self.set_body(Text(self.tr("No instance yet."), style="dim"))
            return
        self.border_subtitle = inst.uuid[:8]
        body = Text()
        body.append(f"{inst.uuid}\n", "bold")
        rows = (("vm_state", inst.vm_state.value if inst.vm_state else "None"),
                ("task_state", inst.task_state.value if inst.task_state else "None"),
                ("power_state", inst.power_state.value))
        for label, value in rows:
            body.append(f"{label:<12}")
            body.append(f"{value}\n", STATE_STYLE.get(value, "dim" if value == "None" else ""))
        if inst.image_cache is not None:
            body.append(f"{self.tr('image'):<12}{(inst.image_id or '?')[:8]} "
                        f"({self.tr('cache')} {inst.image_cache})\n")
        body.append_text(phase_strip(inst))
        self.set_body(body)
