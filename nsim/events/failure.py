"""Build failure lines (nova/compute/manager.py 2470-2790, nova/exception.py)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from nsim.events.base import Event, Wording

MANAGER = "nova.compute.manager"


class _Summarised(Event):
    """An ERROR with exc_info: oslo.log appends ': <error summary>'."""

    summary: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> _Summarised:
        return cls(summary=str(tokens[0]) if tokens else None)

    def template_values(self) -> dict[str, Any]:
        return {"summary": f": {self.summary}" if self.summary else ""}


class SpawnFailed(_Summarised):
    kind: ClassVar[str] = "spawn_failed"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance failed to spawn{summary}", level="ERROR"),
    )


class BuildFailed(_Summarised):
    kind: ClassVar[str] = "build_failed"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Failed to build and run instance{summary}", level="ERROR", since="rocky"),
    )


class NetworkAllocFailed(_Summarised):
    kind: ClassVar[str] = "network_alloc_failed"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Failed to allocate network(s){summary}", level="ERROR"),
    )


class GuestStartFailed(_Summarised):
    kind: ClassVar[str] = "guest_start_failed"
    logger: ClassVar[str] = "nova.virt.libvirt.driver"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Failed to start libvirt guest{summary}", level="ERROR"),
    )


class UnexpectedBuildFailure(_Summarised):
    kind: ClassVar[str] = "unexpected_build_failure"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Unexpected build failure, not rescheduling build.{summary}", level="ERROR"),
    )


class Rescheduled(Event):
    kind: ClassVar[str] = "rescheduled"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Build of instance {instance_uuid} was re-scheduled: {reason}"),
    )
    instance_uuid: str
    reason: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Rescheduled:
        return cls(instance_uuid=str(tokens[0]), reason=str(tokens[1]))


class Aborted(Event):
    kind: ClassVar[str] = "aborted"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Build of instance {instance_uuid} aborted: {reason}", level="ERROR"),
    )
    instance_uuid: str
    reason: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> Aborted:
        return cls(instance_uuid=str(tokens[0]), reason=str(tokens[1]))


class RetryInfoAbsent(Event):
    kind: ClassVar[str] = "retry_info_absent"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Retry info not present, will not reschedule"),
    )


_ATTEMPTS = re.compile(r"\(attempt (\d+) of (\d+)\)|after (\d+) attempt")


class NetworkSetupFailed(Event):
    """One failed attempt (WARNING) or the final give-up (ERROR) of network allocation."""

    kind: ClassVar[str] = "network_setup_failed"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance failed network setup {attempts_text}", level="WARNING"),
    )
    attempt: int | None = None
    attempts: int
    final: bool

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> NetworkSetupFailed:
        m = _ATTEMPTS.match(str(tokens[0]))
        assert m is not None  # the grammar's NETWORK_ATTEMPTS guarantees the shape
        if m.group(3):
            return cls(attempts=int(m.group(3)), final=True)
        return cls(attempt=int(m.group(1)), attempts=int(m.group(2)), final=False)

    def level(self, release: str) -> str:
        """The last attempt's give-up is an ERROR; each failed attempt a WARNING."""
        super().level(release)
        return "ERROR" if self.final else "WARNING"

    def template_values(self) -> dict[str, Any]:
        text = (f"after {self.attempts} attempt(s)" if self.final
                else f"(attempt {self.attempt} of {self.attempts})")
        return {"attempts_text": text}


class VifTimeout(Event):
    kind: ClassVar[str] = "vif_timeout"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Timeout waiting for {details}", level="WARNING"),
    )
    details: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> VifTimeout:
        return cls(details=str(tokens[0]))


class VifCreationFailed(Event):
    kind: ClassVar[str] = "vif_creation_failed"
    logger: ClassVar[str] = "nova.virt.libvirt.driver"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Virtual Interface creation failed", level="ERROR"),
    )


class NetworkAllocNotRescheduling(Event):
    """nova never logs this text on its own: it is the reason of BuildAbortException, read
    from "Build of instance U aborted: Failed to allocate the network(s), not rescheduling."
    (the `aborted` kind). No wording; kept for the replay's and diff's class tables."""

    kind: ClassVar[str] = "network_alloc_not_rescheduling"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = ()


class BuildTimedOut(Event):
    kind: ClassVar[str] = "build_timed_out"
    logger: ClassVar[str] = MANAGER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Instance build timed out. Set to error state.", level="WARNING"),
    )
