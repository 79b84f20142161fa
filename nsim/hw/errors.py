"""Errors of the hardware mode that end a command with a message instead of a traceback."""

from __future__ import annotations

from nsim.errors import EXIT_FAILED, EXIT_PREREQUISITE, EXIT_USAGE, NsimError


class HwError(NsimError):
    """A step of the hardware mode failed in a way the user can act on."""

    exit_code = EXIT_FAILED


class UsageError(HwError):
    """Invalid input (an id, a name, a path)."""

    exit_code = EXIT_USAGE


class PrerequisiteError(HwError):
    """Something the machine lacks (a daemon, a package); the message says how to fix it."""

    exit_code = EXIT_PREREQUISITE
