"""A private on-disk cache of what nsim derives from its grammars (Lark's parse tables, the
compiled derived regular expressions), so that a run does not derive them again.

It lives in $XDG_CACHE_HOME/nsim (~/.cache/nsim), a directory the user owns and only the user
may enter; a directory that is not so (or a link), NSIM_NO_CACHE=1, or any error reading or
writing leaves nsim working without it. nsim's own entries are opened without following
links, written whole to a temporary file and renamed into place, and are named by a digest of
everything they depend on (the Python build, the text of the pattern); Lark writes its entries
itself (`cache=` of Lark) and checks them against the grammar files' digests when it reads one.
Lark's entries are pickles and Lark opens them as it pleases: what makes them safe to load is
the directory check (only the user can put a file there), not the care taken with nsim's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import stat
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

try:  # CPython's regex compiler: a compiled pattern's code can be kept and handed back
    import _sre
    from re import _compiler, _parser
except ImportError:  # pragma: no cover - another Python: patterns are compiled each run
    _sre = None  # type: ignore[assignment]

_PRIVATE = 0o077


@lru_cache(maxsize=1)
def cache_dir() -> Path | None:
    """The cache directory, created if missing; None when it is not safe or is switched off."""
    if os.environ.get("NSIM_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "nsim"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & _PRIVATE:
        return None
    return path


def cache_file(name: str) -> str | None:
    """The path of cache entry `name` (a plain file name), or None without a cache."""
    directory = cache_dir()
    return str(directory / name) if directory is not None else None


def read(name: str) -> bytes | None:
    """The bytes of entry `name`: a regular file of the user's, opened without following a
    link; None when there is none (or it is not such a file)."""
    path = cache_file(name)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def write(name: str, data: bytes) -> None:
    """Store entry `name` whole (a temporary file renamed over it); errors are ignored."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join((sys.version, *parts)).encode("utf-8", "surrogatepass")
                          ).hexdigest()[:32]


def compile_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, its compiled code kept in the cache (CPython's regex
    engine checks code handed to it); without a cache, `re.compile`."""
    if _sre is None or cache_dir() is None:
        return re.compile(pattern, flags)
    name = f"re-{_key(str(_sre.MAGIC), str(int(flags)), pattern)}"
    data = read(name)
    if data is not None:
        try:
            got_flags, code, groups, groupindex, indexgroup = marshal.loads(data)
            return _sre.compile(pattern, got_flags, code, groups, groupindex, indexgroup)
        except Exception:  # a stale or damaged entry: compile anew
            pass
    try:  # CPython's internals: another version may differ
        parsed = _parser.parse(pattern, flags)
        code = _compiler._code(parsed, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[Any] = [None] * parsed.state.groups
        for key, index in groupindex.items():
            indexgroup[index] = key
        args = (int(flags | parsed.state.flags), [int(c) for c in code],
                parsed.state.groups - 1, groupindex, tuple(indexgroup))
        regex = _sre.compile(pattern, *args)
    except Exception:
        return re.compile(pattern, flags)
    write(name, marshal.dumps(args))
    return regex
