"""Errors of the hardware mode that end a command with a message instead of a traceback."""

from __future__ import annotations


class HwError(Exception):
    """A problem the user can act on; `str()` is the whole message."""

    exit_code = 1


class UsageError(HwError):
    """Invalid input (an id, a name, a path): exit status 2."""

    exit_code = 2


class PrerequisiteError(HwError):
    """Something the machine lacks (a daemon, a package); the message says how to fix it."""

    exit_code = 3
