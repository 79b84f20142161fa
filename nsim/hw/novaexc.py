"""The nova exceptions a boot can end in (nova/exception.py), with nova's messages.

Each says which path nova's manager takes for it (manager.py _build_and_run_instance):
`abort` (BuildAbortException: "Build of instance X aborted: ...", vm_state error) for the
image/flavor/disk-info family, otherwise the generic path ("Failed to build and run
instance", RescheduledException: "Build of instance X was re-scheduled: ...").
"""

from __future__ import annotations

import traceback


class NovaException(Exception):
    """Base: `qualname` is how oslo.log's error summary names the class."""

    qualname = "nova.exception.NovaException"
    abort = False

    def format_message(self) -> str:
        return str(self)


class ImageUnacceptable(NovaException):
    qualname = "nova.exception.ImageUnacceptable"
    abort = True

    def __init__(self, image_id: str, reason: str) -> None:
        super().__init__(f"Image {image_id} is unacceptable: {reason}")
        self.image_id = image_id
        self.reason = reason


class FlavorDiskSmallerThanImage(NovaException):
    qualname = "nova.exception.FlavorDiskSmallerThanImage"
    abort = True

    def __init__(self, flavor_size: int, image_size: int) -> None:
        super().__init__(f"Flavor's disk is too small for requested image. Flavor disk is "
                         f"{flavor_size} bytes, image is {image_size} bytes.")


class InvalidDiskInfo(NovaException):
    qualname = "nova.exception.InvalidDiskInfo"
    abort = True

    def __init__(self, reason: str) -> None:
        super().__init__(f"Disk info file is invalid: {reason}")


class HypervisorUnavailable(NovaException):
    qualname = "nova.exception.HypervisorUnavailable"

    def __init__(self, host: str) -> None:
        super().__init__(f"Connection to the hypervisor is broken on host {host}")


class VirtualInterfaceCreateException(NovaException):
    qualname = "nova.exception.VirtualInterfaceCreateException"

    def __init__(self) -> None:
        super().__init__("Virtual Interface creation failed")


class ProcessExecutionError(Exception):
    """oslo_concurrency.processutils.ProcessExecutionError, with its message layout."""

    qualname = "oslo_concurrency.processutils.ProcessExecutionError"

    def __init__(self, cmd: str, exit_code: int, stdout: str, stderr: str) -> None:
        self.cmd, self.exit_code, self.stdout, self.stderr = cmd, exit_code, stdout, stderr
        super().__init__(f"Unexpected error while running command.\nCommand: {cmd}\n"
                         f"Exit code: {exit_code}\nStdout: {stdout!r}\nStderr: {stderr!r}")


def _class_name(exc: BaseException) -> str:
    name = getattr(type(exc), "qualname", None)
    if name is not None:
        return name
    if isinstance(exc, OSError):
        return "OSError"
    mod = type(exc).__module__
    return type(exc).__qualname__ if mod == "builtins" else f"{mod}.{type(exc).__qualname__}"


def error_summary(exc: BaseException) -> str:
    """oslo.log's `_get_error_summary`: the exception's first line, class-qualified."""
    text = str(exc).split("\n", 1)[0]
    return f"{_class_name(exc)}: {text}" if text else _class_name(exc)


def traceback_lines(exc: BaseException) -> list[str]:
    """The real traceback of `exc`, one physical line per entry (what LOG.exception prints)."""
    lines = ["Traceback (most recent call last):"]
    for chunk in traceback.format_tb(exc.__traceback__):
        lines.extend(chunk.rstrip("\n").split("\n"))
    lines.extend(f"{_class_name(exc)}: {exc}".split("\n"))
    return lines
