"""`python -I nsim/hw/prlimit.py --as=BYTES --cpu=SECONDS -- COMMAND...`: run COMMAND under
resource limits, like `python -m oslo_concurrency.prlimit` that nova wraps `qemu-img info` in
(nova/virt/images.py QEMU_IMG_LIMITS: address space and CPU time)."""

from __future__ import annotations

import argparse
import os
import resource
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prlimit.py")
    parser.add_argument("--as", dest="address_space", type=int, help="RLIMIT_AS in bytes")
    parser.add_argument("--cpu", type=int, help="RLIMIT_CPU in seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if args.address_space is not None:
        resource.setrlimit(resource.RLIMIT_AS, (args.address_space, args.address_space))
    if args.cpu is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu))
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"prlimit: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
