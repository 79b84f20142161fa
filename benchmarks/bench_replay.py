"""Is the host model ever the bottleneck? Prints `replay_vs_parse R` as its last line.

R = events per second through the model alone (HostObserver over already-parsed
records) / records per second of the parser, both measured in this run on the same
journal: the seed boot repeated with fresh instance and request ids. Target R >= 3.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import nsim
from nsim.replay.run import replay_records

SEED = Path(__file__).resolve().parents[1] / "sample_logs" / "seed-boot.journal"
SEED_UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
SEED_REQ = "req-d9a23179-e16d-4016-9586-e68c3dfdf6a9"


def build_journal(path: Path, boots: int) -> int:
    """Write `boots` copies of the seed boot, one per minute; returns the line count."""
    lines = SEED.read_text().splitlines()
    start = datetime(2017, 6, 16, 13, 0, 0)
    written = 0
    with path.open("w") as out:
        for i in range(boots):
            inst, req = str(uuid.uuid4()), f"req-{uuid.uuid4()}"
            for line in lines:
                stamp = datetime.strptime("2017 " + line[:15], "%Y %b %d %H:%M:%S")
                shifted = start + (stamp - datetime(2017, 6, 16, 13, 12, 52)) + timedelta(minutes=i)
                body = line[15:].replace(SEED_UUID, inst).replace(SEED_REQ, req)
                out.write(shifted.strftime("%b %d %H:%M:%S") + body + "\n")
                written += 1
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--boots", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "boots.journal"
        lines = build_journal(path, args.boots)
        t0 = time.perf_counter()
        records = list(nsim.parse(str(path), year=2017))
        parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = replay_records(records)
    model_s = time.perf_counter() - t0
    events = sum(1 for r in records if r.event is not None)
    parse_rate = len(records) / parse_s
    model_rate = events / model_s
    print(f"journal: {lines} lines, {len(records)} records, {events} events, "
          f"{len(result.hosts['compute'].instances)} instances")
    print(f"parser: {parse_rate:10.0f} records/s ({parse_s:.2f} s)")
    print(f"model:  {model_rate:10.0f} events/s  ({model_s:.2f} s)")
    print(f"replay_vs_parse {model_rate / parse_rate:.2f}")


if __name__ == "__main__":
    main()
