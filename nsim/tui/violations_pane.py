"""The violations pane: rule violations up to the current record, and input notices."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from nsim.tui.pane import Pane
from nsim.tui.session import Moment, Session

_SHOWN = 40


class ViolationsPane(Pane):
    TITLE = "Violations"

    def __init__(self, session: Session, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session

    def show(self, moment: Moment) -> None:
        session = self.session
        found = moment.findings
        self.border_subtitle = self.tr("{found} so far of {total} · notices {notices}").format(
            found=len(found), total=len(session.findings), notices=session.notice_count)
        body = Text()
        if not found and not session.notices:
            body.append(self.tr("None so far: the log agrees with the model."), "green")
        for f in found[-_SHOWN:]:
            here = f.index == moment.index
            v = f.violation
            body.append("▶ " if here else "  ", "bold red")
            body.append(f"{Path(v.source).name}:{v.line} ", "bold" if here else "dim")
            body.append(f"[{v.rule}] ", "red")
            body.append(v.message + "\n", "bold" if here else "")
        for notice in session.notices[:_SHOWN]:
            body.append(self.tr("notice") + " ", "bold yellow")
            body.append(str(notice) + "\n", "yellow")
        if session.notice_count > _SHOWN:
            body.append(self.tr("… {count} more notices").format(
                count=session.notice_count - _SHOWN) + "\n", "yellow")
        body.rstrip()
        self.set_body(body)
