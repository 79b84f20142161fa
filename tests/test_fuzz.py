"""Structure-aware fuzzing of the reader and replay (issue 16): windows of the sample and real
logs' lines, mutated (truncated, spliced, garbled, huge numbers, other encodings, deep JSON,
JSON values of another type, extreme stamps, control characters, reordered). Whatever the
mutation: no exception escapes `nsim.parse` or `nsim.replay`, records and bad lines account for
every physical line, and every record of the unmodified lines comes out as it did from the
unmodified window.

CI runs a bounded, derandomized number of examples; `make fuzz` runs many more
(NSIM_FUZZ_EXAMPLES, random seeds).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nsim
from nsim.logs.sniff import SNIFF_LINES, sniff
from nsim.logs.source import Source, _bom_decoder, physical_lines
from tests.conftest import REAL_LOGS, ROOT, assert_accounted

LOGS = sorted(p for d in (ROOT / "sample_logs", REAL_LOGS) if d.is_dir()
              for p in d.iterdir() if p.is_file() and p.suffix != ".md")
CORPUS = {p.name: p.read_bytes().splitlines() for p in LOGS}
ALL_LINES = [line for lines in CORPUS.values() for line in lines]
WINDOW = 40
MTIME = datetime(2017, 7, 1)
LONG_RUN = int(os.environ.get("NSIM_FUZZ_EXAMPLES", "0"))

_DIGITS = re.compile(rb"\d+")
_JSON_KEY = re.compile(rb'"[A-Z_]+": ')
_JSON_STRING_VALUE = re.compile(rb'"[A-Z_]+": ("(?:[^"\\]|\\.)*")')
_STAMP = re.compile(rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\d[ T][\d:.,]+"
                    rb"(?:Z|[+-]\d\d:?\d\d)?")
_STAMPS = (b"9999-12-31T23:59:59-01:00", b"0001-01-01T00:00:00+01:00", b"9999-12-31 23:59:59.999",
           b"0000-00-00 00:00:00.000", b"Feb 30 25:61:61", b"Dec 31 23:59:59.9999999",
           b"2017-13-45T99:99:99Z", b"Jan  1 00:00:00")


def _huge(line: bytes, at: int) -> bytes:
    runs = list(_DIGITS.finditer(line))
    if not runs:
        return line + b" " + b"9" * 30
    m = runs[at % len(runs)]
    return line[:m.start()] + b"9" * (23 + at % 40) + line[m.end():]


def _deep(line: bytes, at: int) -> bytes:
    """Deeply nested brackets: as a JSON entry's value (where a decoder recurses), or anywhere."""
    depth = (10, 1000, 100_000)[at % 3]
    values = [m.end() for m in _JSON_KEY.finditer(line)]
    pos = values[at % len(values)] if values and at % 2 else at % (len(line) + 1)
    return line[:pos] + b"[" * depth + b"]" * depth + line[pos:]


def _retyped(line: bytes, at: int) -> bytes:
    """A JSON entry's string value (_HOSTNAME, _PID, ...) as a number, list, object or null."""
    values = list(_JSON_STRING_VALUE.finditer(line))
    if not values:
        return line
    m = values[at % len(values)]
    new = (b"5", b'["compute"]', b'{"a": 1}', b"null", b"1e400", b"-1")[at % 6]
    return line[:m.start(1)] + new + line[m.end(1):]


def _stamped(line: bytes, at: int) -> bytes:
    """The line's stamp replaced by an extreme or impossible one."""
    stamp = _STAMPS[at % len(_STAMPS)]
    m = _STAMP.match(line)
    return stamp + line[m.end():] if m else stamp + b" " + line


def _encoded(line: bytes, at: int) -> bytes:
    text = line.decode("utf-8", errors="replace")
    codec = ("latin-1", "utf-16-le", "utf-16", "cp1252", "shift_jis")[at % 5]
    return text.replace("e", "é").encode(codec, errors="replace")


def _garbled(line: bytes, at: int, junk: bytes) -> bytes:
    if not line:
        return junk
    out = bytearray(line)
    for i, b in enumerate(junk):
        out[(at + 7 * i) % len(out)] = b
    return bytes(out)


MUTATIONS = ("truncate", "splice", "garble", "huge", "encoding", "deep", "retype", "stamp",
             "control", "swap", "insert", "delete", "duplicate")


@st.composite
def mutated_windows(draw: st.DrawFn) -> tuple[str, list[bytes], list[bytes], list[int | None]]:
    """(file name, window, mutated window, original index of each mutated line or None)."""
    name = draw(st.sampled_from(sorted(CORPUS)))
    lines = CORPUS[name]
    start = draw(st.integers(0, max(0, len(lines) - 1)))
    window = lines[start:start + WINDOW]
    rows: list[tuple[bytes, int | None]] = [(line, i) for i, line in enumerate(window)]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(MUTATIONS))
        i = draw(st.integers(0, max(0, len(rows) - 1)))
        at = draw(st.integers(0, 10_000))
        line = rows[i][0] if rows else b""
        if kind == "truncate":
            new = line[:at % (len(line) + 1)]
        elif kind == "splice":
            other = ALL_LINES[at % len(ALL_LINES)]
            new = line[:at % (len(line) + 1)] + other[at % (len(other) + 1):]
        elif kind == "garble":
            new = _garbled(line, at, draw(st.binary(min_size=1, max_size=8)))
        elif kind == "huge":
            new = _huge(line, at)
        elif kind == "encoding":
            new = _encoded(line, at)
        elif kind == "deep":
            new = _deep(line, at)
        elif kind == "retype":
            new = _retyped(line, at)
        elif kind == "stamp":
            new = _stamped(line, at)
        elif kind == "control":
            ch = draw(st.sampled_from([b"\x00", b"\x01", b"\x1b[31m", b"\r", b"\x0b", b"\x0c",
                                       b"\x7f", b"\x1b", b"\xe2\x80\xa8", b"\xef\xbb\xbf"]))
            pos = at % (len(line) + 1)
            new = line[:pos] + ch + line[pos:]
        elif kind in ("swap", "delete", "insert", "duplicate"):
            j = draw(st.integers(0, max(0, len(rows) - 1)))
            if kind == "swap" and rows:
                rows[i], rows[j] = (rows[j][0], None), (rows[i][0], None)
            elif kind == "delete" and rows:
                del rows[i]
            elif kind == "insert":
                rows.insert(i, (ALL_LINES[at % len(ALL_LINES)], None))
            elif rows:
                rows.insert(j, (line, None))
            continue
        if rows:
            rows[i] = (new, None)
    # A mutated row holding a line end is several physical lines.
    rows = [(part, i) for row, i in rows for part in row.split(b"\n")]
    return name, window, [r for r, _ in rows], [i for _, i in rows]


def _layout(data: bytes) -> tuple[object, ...]:
    """What the reader decides from a file's head (encoding, format, file-name prefix, wrap
    width)."""
    source = Source("x", io.BufferedReader(io.BytesIO(data)), MTIME)  # type: ignore[arg-type]
    head = [t for _, t in zip(range(SNIFF_LINES), physical_lines(source, lambda d: None),
                              strict=False)]
    fmt, layout = sniff([t for _, t in head])
    return _bom_decoder(data[:4])[0], fmt, layout.prefixed, layout.wrap


def _parse(directory: str, name: str, lines: list[bytes]) -> tuple[Path, list[nsim.Record]]:
    path = Path(directory) / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    run = nsim.parse(str(path), year=2017)
    records = list(run)
    assert_accounted(records, run)
    assert not run.errors or not records, run.errors
    return path, records


def _shape(rec: nsim.Record) -> tuple[object, ...]:
    return (rec.message, rec.kind, rec.level, rec.logger, rec.context, rec.instance,
            tuple(rec.traceback), rec.lines)


def check(name: str, window: list[bytes], mutated: list[bytes], origin: list[int | None]) -> None:
    """The fuzz properties for one mutated window."""
    with tempfile.TemporaryDirectory() as tmp:
        _, before = _parse(tmp, "a-" + name, window)
        path, after = _parse(tmp, "b-" + name, mutated)
        nsim.replay([str(path)], year=2017)
        same_head = (_layout(b"\n".join(window) + b"\n")
                     == _layout(b"\n".join(mutated) + b"\n"))
    if not same_head:
        return  # another format or layout: records may rightly group otherwise
    where = {orig: n for n, orig in enumerate(origin, 1) if orig is not None}
    found = {r.line: _shape(r) for r in after}
    for rec in before:
        if rec.context is None:  # may rightly continue a record a mutated line opened
            continue
        first = rec.line - 1
        span = range(first, first + rec.lines + 1)  # its lines and the one after it
        at = [where.get(i) for i in span if i < len(window)]
        if None in at or at != list(range(at[0], at[0] + len(at))):
            continue
        if first + rec.lines >= len(window) and at[-1] != len(mutated):
            continue  # it ended the window, and now lines follow it
        assert found.get(at[0]) == _shape(rec), (
            f"record of line {rec.line} of {name} lost or changed (now at line {at[0]})")


@settings(max_examples=LONG_RUN or 300, deadline=5000 if not LONG_RUN else None,
          derandomize=not LONG_RUN, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_windows())
def test_fuzz_parse_and_replay(case: tuple[str, list[bytes], list[bytes], list[int | None]]
                               ) -> None:
    check(*case)


def test_the_corpus_has_every_sample_and_real_log() -> None:
    assert len(LOGS) >= 15 and sum(map(len, CORPUS.values())) > 1000
    assert any(p.parent == REAL_LOGS for p in LOGS), "../shared/real-logs not found"
