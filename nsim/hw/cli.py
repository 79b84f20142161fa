"""`nsim hw ...`: doctor, prepare, boot, delete. Thin: parse arguments, call nsim.hw, print."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nsim.cli.common import (
    SEE_COMMANDS,
    add_host_config_arg,
    add_output_form,
    exit_epilog,
    number_arg,
)
from nsim.errors import EXIT_FAILED, EXIT_OK, EXIT_PREREQUISITE
from nsim.hw.errors import UsageError
from nsim.hw.workdir import DEFAULT_WORKDIR, WORKDIR_ENV, Workdir
from nsim.report.progress import showing


def _workdir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workdir", metavar="DIR",
                   help=f"work directory (default: ${WORKDIR_ENV} or {DEFAULT_WORKDIR})")
    p.add_argument("--trust-workdir", action="store_true",
                   help="accept a work directory (or a parent) that another user owns or can "
                        "write (nsim runs as root: only when you trust them)")


def _workdir(args: argparse.Namespace) -> Workdir:
    return Workdir(args.workdir, trusted=args.trust_workdir)



def cmd_doctor(args: argparse.Namespace) -> int:
    from nsim.hw import doctor

    workdir = _workdir(args)
    if args.stop:
        stopped = doctor.stop_started_daemons(workdir)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing (nsim started no daemon)"))
        return EXIT_OK
    report = doctor.run(workdir, fix=args.fix, log=lambda m: print(m, file=sys.stderr))
    print(report.text())
    if not report.ok:
        print("\nsome prerequisites are missing" + ("" if args.fix else
              "; `nsim hw doctor --fix` applies the fixes it can"), file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_prepare(args: argparse.Namespace) -> int:
    from nsim.hw import guest_image
    from nsim.hw.image_service import ImageStore

    workdir = _workdir(args)
    with showing("hw prepare: building the guest image"):
        arts = guest_image.prepare(workdir, force=args.force)
    meta = ImageStore(workdir).add(
        arts.image_id, arts.image_name, arts.disk_qcow2, "qcow2", "bare",
        properties={"os_command_line": guest_image.KERNEL_CMDLINE, "hw_disk_bus": "virtio"},
        min_disk=1)
    print(f"guest: kernel {arts.kernel_version} {arts.kernel} ({arts.kernel.stat().st_size} bytes)")
    print(f"       initramfs {arts.initramfs} ({arts.initramfs.stat().st_size} bytes)")
    print(f"image: {meta['id']} name {meta['name']} qcow2 {meta['size']} bytes, virtual "
          f"{meta['virtual_size']} bytes, checksum {meta['checksum']}")
    print(f"boot it: nsim hw boot --image {meta['id']} --flavor m1.nano --workdir {workdir.root}")
    return EXIT_OK


def _print_boot(result: Any) -> None:
    for inst in result.instances:
        state = inst.outcome
        if inst.outcome == "active":
            state += (", guest not awaited" if not inst.guest_checked else
                      ", guest ready" if inst.guest_ready else ", guest NOT ready")
        print(f"{inst.uuid}  {inst.name}  {state}  cache {inst.cache or '-'}")
        if inst.reason:
            print(f"  reason: {inst.reason.splitlines()[0]}")
        if inst.vif:
            print(f"  vif: {inst.vif}")
        phases = "  ".join(f"{k} {v:.3f}" for k, v in inst.phases.items())
        print(f"  phases (s): {phases}")
        if inst.lifecycle:
            print(f"  lifecycle events: {', '.join(inst.lifecycle)}")
        for line in inst.console:
            print(f"  console: {line}")
        if inst.leftovers:
            print(f"  LEFT BEHIND: {', '.join(inst.leftovers)}")
        for note in inst.notes:
            print(f"  note: {note}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"image {result.image_id}: {result.downloads} data request(s) to the image service; "
          "domain type "
          f"{result.virt_type}")
    print(f"trace: {result.trace} ({result.fmt}); check it with `nsim replay {result.trace}`")


def cmd_boot(args: argparse.Namespace) -> int:
    from nsim.hw.boot import BootOptions, boot
    workdir = _workdir(args)
    config = args.host_config
    opts = BootOptions(image=args.image, flavor=args.flavor, count=args.count, fmt=args.trace_format,
                       trace_path=Path(args.output).resolve() if args.output else None,
                       fault=args.fault, network=args.network, virt_type=args.virt_type,
                       host_config=config, wait_for_guest=not args.no_wait,
                       stop_after=args.stop_after)
    with showing("hw boot") as job:  # each step's line prints above the bar, its note too
        def step(message: str) -> None:
            job.say(message)
            print(message, file=sys.stderr)

        result = boot(workdir, opts, on_progress=step)
    if args.to == "json":
        out = asdict(result)
        out["trace"] = str(result.trace)
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_boot(result)
    if any(i.leftovers for i in result.instances):
        return EXIT_FAILED
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_delete(args: argparse.Namespace) -> int:
    from nsim.hw.teardown import delete

    if bool(args.uuids) == bool(args.all):
        raise UsageError("give instance UUIDs or --all (not both)")
    workdir = _workdir(args)
    results = delete(workdir, None if args.all else args.uuids,
                     report=lambda line: print(f"nsim: {line}", file=sys.stderr))
    if not results:
        print("no instances")
    for r in results:
        print(f"{r.uuid}: {'destroyed' if r.destroyed else 'no domain'}, files removed "
              f"({r.seconds:.2f}s); trace {r.trace}")
    return EXIT_OK


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `nsim hw ...` to nsim's sub-commands."""
    from nsim.hw.faults import FAULTS, STOP_STEPS

    hw = subparsers.add_parser(
        "hw", help="do nova's boot for real with qemu-img and libvirt, writing nova's trace",
        description="Hardware-backed mode: perform nova-compute's boot steps on this machine "
                    "(image service, image cache, qemu-img, libvirt) and write the log lines "
                    "nova-compute writes for them.",
        epilog=SEE_COMMANDS)
    sub = hw.add_subparsers(dest="hw_command", required=True, metavar="HW_COMMAND")

    p = sub.add_parser("doctor", help="check (and with --fix, install/start) the prerequisites",
                       description="Check what hardware mode needs on this machine (packages, "
                                   "libvirt-python, /dev/kvm, virtlogd/libvirtd, KVM or TCG, the "
                                   "work directory, disk); with --fix install and start what is "
                                   "missing.",
                       epilog=exit_epilog(EXIT_FAILED))
    _workdir_arg(p)
    p.add_argument("--fix", action="store_true", help="apply the fixes that can be applied")
    p.add_argument("--stop", action="store_true",
                   help="stop the daemons this doctor started (by their pid files)")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("prepare", help="build the tiny guest offline and put its image into the "
                                       "local image service",
                       description="Build a tiny guest offline (a Debian kernel, a busybox "
                                   "initramfs, a small qcow2) and add its image to the work "
                                   "directory's Glance-like image service.",
                       epilog=exit_epilog(EXIT_FAILED, EXIT_PREREQUISITE))
    _workdir_arg(p)
    p.add_argument("--force", action="store_true", help="rebuild even when prepared")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("boot", help="boot instances for real, in nova's order, writing the trace",
                       description="Boot instances for real in nova-compute's order (claim, image "
                                   "cache, qemu-img, libvirt domain started paused, VIF, resume) "
                                   "and append the lines nova-compute logs for them to the trace.",
                       epilog=exit_epilog(EXIT_FAILED, EXIT_PREREQUISITE))
    _workdir_arg(p)
    p.add_argument("--image", required=True, metavar="ID", help="image id (or name)")
    p.add_argument("--flavor", required=True, metavar="NAME", help="m1.nano, m1.tiny, ...")
    p.add_argument("--count", type=number_arg("a whole number"), default=1, metavar="N",
                   help="instances at once (1-8)")
    p.add_argument("--trace-format", choices=("journal", "oslo"), default="journal",
                   help="the trace's format (default journal, as devstack's journald)")
    p.add_argument("-o", "--output", metavar="TRACE",
                   help="append the trace here (default: WORKDIR/nova-compute.journal|.log)")
    p.add_argument("--fault", choices=tuple(FAULTS), metavar="FAULT",
                   help="inject a fault: " + "; ".join(f"{k}: {v}" for k, v in FAULTS.items()))
    p.add_argument("--network", choices=("auto", "bridge", "none"), default="auto",
                   help="a port on a real Linux bridge (auto: when CAP_NET_ADMIN allows)")
    p.add_argument("--virt-type", choices=("auto", "kvm", "qemu"), default="auto",
                   help="libvirt domain type (auto: kvm only if a probe boot under KVM works)")
    add_host_config_arg(p, help="TOML host totals/options for the claim")
    p.add_argument("--no-wait", action="store_true",
                   help="do not wait for the guest's marker on its console")
    p.add_argument("--stop-after", choices=STOP_STEPS, metavar="STEP",
                   help="freeze the boot (SIGSTOP) after STEP to look at the host mid-boot, "
                        f"then `kill -CONT` it: {', '.join(STOP_STEPS)}")
    add_output_form(p)
    p.set_defaults(func=cmd_boot)

    p = sub.add_parser("delete", help="terminate instances: destroy domains, remove files",
                       description="Terminate instances of the work directory as nova does: "
                                   "destroy their domains, remove their files, log the delete "
                                   "lines to their trace.",
                       epilog=exit_epilog(EXIT_FAILED, EXIT_PREREQUISITE))
    _workdir_arg(p)
    p.add_argument("uuids", nargs="*", metavar="UUID")
    p.add_argument("--all", action="store_true", help="every instance of the work directory")
    p.set_defaults(func=cmd_delete)
    return hw
