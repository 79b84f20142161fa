"""The request context inside the brackets of an oslo.log line (oslo_log/formatters.py).

Forms: "-", "req-R u p - - -" (files before oslo.log 4.8.0), "None req-R <6 fields>"
(files since), "None req-R project user" / "req-G req-R project user" (devstack journal).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple


class Context(NamedTuple):
    request_id: str | None
    global_request_id: str | None
    user: str | None
    project: str | None


NO_CONTEXT = Context(None, None, None, None)


def _value(text: str) -> str | None:
    return None if text in ("-", "None", "") else text


# A request's context repeats on all its lines; Context is immutable, so it is shared.
@lru_cache(maxsize=1024)
def parse_context(inner: str, project_first: bool) -> Context:
    """Split the bracket text; devstack's journal format puts the project before the user."""
    parts = inner.split()
    idx = next((i for i, p in enumerate(parts) if p.startswith("req-")), None)
    if idx is None:
        return NO_CONTEXT
    global_id = None
    if idx + 1 < len(parts) and parts[idx + 1].startswith("req-"):
        # "req-GLOBAL req-LOCAL ..." (global_request_id set)
        global_id, idx = parts[idx], idx + 1
    elif idx > 0:
        global_id = _value(parts[idx - 1])
    identity = [_value(p) for p in parts[idx + 1:idx + 3]] + [None, None]
    first, second = identity[0], identity[1]
    user, project = (second, first) if project_first else (first, second)
    return Context(parts[idx], global_id, user, project)
