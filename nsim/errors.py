"""The root of the errors nsim raises on purpose, and the exit status of every command.

An NsimError is a problem the user can act on: `str()` is the whole message, `exit_code`
the status the command ends with. Anything else that escapes a command is an internal error.
"""

from __future__ import annotations


class ExitStatus(int):
    """An exit status (an int) with what it means, as `--help` and the README say it."""

    meaning: str

    def __new__(cls, value: int, meaning: str) -> ExitStatus:
        status = super().__new__(cls, value)
        status.meaning = meaning
        return status

    def __reduce__(self) -> tuple[type[ExitStatus], tuple[int, str]]:
        return type(self), (int(self), self.meaning)


EXIT_OK = ExitStatus(0, "success")
EXIT_VIOLATIONS = ExitStatus(1, "violations found (the log and the model disagree)")
EXIT_FAILED = ExitStatus(1, "failed (a boot that did not end active or left something "
                            "behind, a failed check or step)")
EXIT_USAGE = ExitStatus(2, "bad arguments or input that cannot be read")
EXIT_PREREQUISITE = ExitStatus(3, "a prerequisite is missing (a daemon, a package: the message "
                                  "says how to fix it)")
EXIT_INTERNAL = ExitStatus(70, "internal error: a bug of nsim's (sysexits EX_SOFTWARE)")
EXIT_INTERRUPTED = ExitStatus(130, "interrupted (Ctrl-C)")

EVERY_COMMAND = (EXIT_OK, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED)
"""The statuses any command can end with (`nsim.cli.main` gives the last three)."""


class NsimError(Exception):
    """A problem the user can act on; `str()` is the whole message."""

    exit_code = EXIT_USAGE
