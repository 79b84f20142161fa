"""The root of the errors nsim raises on purpose, and the exit status of every command.

An NsimError is a problem the user can act on: `str()` is the whole message, `exit_code`
the status the command ends with. Anything else that escapes a command is an internal error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATIONS = 1
"""replay: the log and the model disagree."""
EXIT_FAILED = 1
"""hw: a boot did not end active, or left something behind."""
EXIT_USAGE = 2
"""Bad arguments or input that cannot be read."""
EXIT_PREREQUISITE = 3
"""hw: the machine lacks something (a daemon, a package); the message says how to fix it."""
EXIT_INTERNAL = 70
"""A bug of nsim's (sysexits EX_SOFTWARE)."""
EXIT_INTERRUPTED = 130


class NsimError(Exception):
    """A problem the user can act on; `str()` is the whole message."""

    exit_code = EXIT_USAGE
