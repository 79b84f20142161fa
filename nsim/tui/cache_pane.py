"""The image cache pane: base files in _base/ with their state and users, hits and misses."""

from __future__ import annotations

import itertools

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
            self.set_body(Text(self.tr("No host yet."), style="dim"))
            return
        cache = host.cache
        self.border_subtitle = self.tr("hits {hits} · misses {misses}").format(
            hits=cache.hits, misses=cache.misses)
        body = Text()
        body.append(f"{host.base_dir or '<instances_path>/' + host.config.base_dir_name}/\n", "dim")
        if not cache.files:
            body.append(self.tr("no base files yet"), "dim")
        # The newest few, read by name: a restored model decodes only the files it shows.
        shown = list(itertools.islice(reversed(cache.files), _SHOWN))[::-1]
        for name in shown:
            base = cache.files[name]
            body.append(f"{base.filename[:12]}… ", "bold")
            body.append(f"{base.state.value:<11}", STATE_STYLE[base.state])
            body.append(f" {self.tr('image')} {(base.image_id or '?')[:8]}", "cyan")
            users = ", ".join(sorted(u[:8] for u in base.users)) or self.tr("none")
            body.append(f"  {self.tr('users')} {users}\n")
        if len(cache.files) > _SHOWN:
            body.append(self.tr("… and {count} more").format(count=len(cache.files) - _SHOWN) + "\n",
                        "dim")
        body.rstrip()
        self.set_body(body)
