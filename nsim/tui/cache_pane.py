"""The image cache pane: base files in _base/ with their state and users, hits and misses."""

from __future__ import annotations

from rich.text import Text

from nsim.model.image_cache import BaseState
from nsim.tui.pane import Pane
from nsim.tui.session import Moment

STATE_STYLE = {
    BaseState.ABSENT: "dim", BaseState.DOWNLOADING: "bold yellow", BaseState.CONVERTING: "bold magenta",
    BaseState.PRESENT: "bold green", BaseState.REMOVED: "red",
}
_SHOWN = 6


class CachePane(Pane):
    TITLE = "Image cache"

    def show(self, moment: Moment) -> None:
        host = moment.host
        if host is None:
            self.border_subtitle = ""
            self.set_body(Text("No host yet.", style="dim"))
            return
        cache = host.cache
        self.border_subtitle = f"hits {cache.hits} · misses {cache.misses}"
        body = Text()
        body.append(f"{host.base_dir or '<instances_path>/' + host.config.base_dir_name}/\n", "dim")
        if not cache.files:
            body.append("no base files yet", "dim")
        files = list(cache.files.values())
        for base in files[-_SHOWN:]:
            body.append(f"{base.filename[:12]}… ", "bold")
            body.append(f"{base.state.value:<11}", STATE_STYLE[base.state])
            body.append(f" image {(base.image_id or '?')[:8]}", "cyan")
            users = ", ".join(sorted(u[:8] for u in base.users)) or "none"
            body.append(f"  users {users}\n")
        if len(files) > _SHOWN:
            body.append(f"… and {len(files) - _SHOWN} more\n", "dim")
        body.rstrip()
        self.set_body(body)
