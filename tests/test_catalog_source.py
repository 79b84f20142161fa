"""The catalog against nova's own source: nsim/data/nova_log_calls.json.gz, extracted from the
nova, oslo.concurrency and os-vif releases on PyPI by tools/nova_log_calls.py.

Every wording the catalog claims for a release from Ocata on must be one of that release's
format strings, at the level nova logs it; a kind must not be silent in a release whose source
has its wording; and the README's coverage table must be the one the data gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nsim.events import KINDS
from nsim.events.coverage import coverage, readme_section, readme_table
from nsim.events.source import FIRST_EXTRACTED, extracts, matches, matching_calls, skeleton
from nsim.nova.releases import RELEASES, release_index

README = Path(__file__).resolve().parent.parent / "README.md"
EXTRACTED = [r for r in RELEASES if release_index(r) >= release_index(FIRST_EXTRACTED)]
CLAIMS = [(kind, release) for kind, cls in KINDS.items() for release in EXTRACTED
          if cls.wording_for(release) is not None]


def test_every_release_from_ocata_is_extracted() -> None:
    assert set(extracts()) == set(EXTRACTED)
    for release in EXTRACTED:
        ex = extracts()[release]
        assert ex.versions["nova"].split(".")[0] == str(15 + EXTRACTED.index(release))
        assert len(ex.calls) > 1000, release
        assert any(c.file == "oslo_concurrency/lockutils.py" for c in ex.calls)


@pytest.mark.parametrize(("kind", "release"), CLAIMS)
def test_wording_is_novas(kind: str, release: str) -> None:
    wording = KINDS[kind].wording_for(release)
    assert wording is not None
    calls = matching_calls(wording.template, release)
    assert calls, f"{kind}: nova {release} has no format string {wording.template!r}"
    # "msg_fmt" is an exception's message (logged by its catcher), "*" a level in a variable.
    levels = {c.level for c in calls}
    assert levels & {wording.level, "msg_fmt", "*"}, (
        f"{kind}: nova {release} logs {wording.template!r} at {sorted(levels)}, "
        f"not {wording.level}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_is_not_silent_where_nova_logs_it(kind: str) -> None:
    cls = KINDS[kind]
    for release in EXTRACTED:
        if cls.wording_for(release) is not None:
            continue
        for wording in cls.wordings:
            calls = [c for c in matching_calls(wording.template, release)
                     if c.level in (wording.level, "*")]
            assert not calls, (f"{kind}: nova {release} logs {wording.template!r} "
                               f"({calls[0].file}:{calls[0].line}) but the catalog claims no "
                               f"wording for {release}")


@pytest.mark.parametrize(("template", "fmt", "expected"), [
    ("Took {seconds:.2f} seconds to {what}", "Took %0.2f seconds to build instance.", True),
    ('Lock "{name}" "{action}" by "{owner}" :: held {held:.3f}s',
     'Lock "%(name)s" "%(gotten)s" by "%(function)s" :: held %(held_secs)s', True),
    ("Claim successful on node {node}", "Claim successful on node %s", True),
    ("Claim successful on node {node}", "Claim successful", False),
    ("Creating image", "Creating image(s)", False),
    ("VM {transition} (Lifecycle Event)", "VM %(state)s (Lifecycle Event)", True),
    ("Instance failed to spawn", "%s", False),  # no literal text: matches nothing
])
def test_matching(template: str, fmt: str, expected: bool) -> None:
    assert matches(template, fmt) is expected


def test_skeleton_placeholders() -> None:
    assert skeleton("Total %(type)s: %(total)d %(unit)s, used: %(used).02f %(unit)s 100%%") == (
        "Total \0: \0 \0, used: \0 \0 100%")
    assert skeleton("{} was {}, converting to raw") == "\0 was \0, converting to raw"


def test_coverage_counts_are_consistent() -> None:
    for release in EXTRACTED:
        cov = coverage(release)
        assert 0 < cov.typed <= cov.calls
        assert cov.calls - cov.typed == len(cov.untyped)
        for call in cov.untyped:
            assert call.path and call.level != "msg_fmt"


def test_readme_table_is_current() -> None:
    """Regenerate with: .venv/bin/python tools/nova_log_calls.py --readme README.md
    (or nsim.events.coverage.write_readme_table)."""
    current = readme_section(README.read_text())
    assert current is not None, "README.md has no catalog coverage section"
    assert current == readme_table()
