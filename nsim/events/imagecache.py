"""The libvirt image cache manager's pass (nova/virt/libvirt/imagecache.py).

"Base or swap file" became "Base, swap or ephemeral file" in 23.0.0 (Wallaby);
the per-image "in use" line is gone from 16.0.0 (Pike).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from nsim.events.base import Event, Wording

IMAGECACHE = "nova.virt.libvirt.imagecache"
_IN_USE = re.compile(r"in use: on this node (\d+) local, (\d+) on other nodes")


class ImageChecking(Event):
    kind: ClassVar[str] = "image_checking"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("image {image_id} at ({base_file}): {result}", level="INFO"),
    )
    image_id: str
    base_file: str
    result: str
    local_users: int | None = None
    remote_users: int | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ImageChecking:
        result = str(tokens[2])
        m = _IN_USE.match(result)
        return cls(image_id=str(tokens[0]), base_file=str(tokens[1]), result=result,
                   local_users=int(m.group(1)) if m else None,
                   remote_users=int(m.group(2)) if m else None)


class UnknownBaseFile(Event):
    kind: ClassVar[str] = "unknown_base_file"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Unknown base file: {path}", level="WARNING"),
    )
    path: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> UnknownBaseFile:
        return cls(path=str(tokens[0]))


class _BaseFileList(Event):
    paths: list[str] = []

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> _BaseFileList:
        return cls(paths=str(tokens[0]).split() if tokens else [])

    def template_values(self) -> dict[str, Any]:
        return {"paths": " ".join(self.paths)}


class ActiveBaseFiles(_BaseFileList):
    kind: ClassVar[str] = "active_base_files"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Active base files: {paths}", level="INFO"),
    )


class RemovableBaseFiles(_BaseFileList):
    kind: ClassVar[str] = "removable_base_files"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Removable base files: {paths}", level="INFO"),
    )


class BaseFileTooYoung(Event):
    kind: ClassVar[str] = "base_file_too_young"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Base file too young to remove: {path}", level="INFO", until="havana"),
        Wording("Base or swap file too young to remove: {path}", level="INFO", since="icehouse",
                until="victoria"),
        Wording("Base, swap or ephemeral file too young to remove: {path}", level="INFO",
                since="wallaby"),
    )
    path: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> BaseFileTooYoung:
        return cls(path=str(tokens[1]))


class RemovingBaseFile(Event):
    kind: ClassVar[str] = "removing_base_file"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Removing base or swap file: {path}", level="INFO", until="victoria"),
        Wording("Removing base, swap or ephemeral file: {path}", level="INFO", since="wallaby"),
    )
    path: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> RemovingBaseFile:
        return cls(path=str(tokens[1]))


class BaseFileRemoveFailed(Event):
    kind: ClassVar[str] = "base_file_remove_failed"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Failed to remove {path}, error was {error}", level="ERROR"),
    )
    path: str
    error: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> BaseFileRemoveFailed:
        return cls(path=str(tokens[0]), error=str(tokens[1]))


class VerifyBaseImages(Event):
    kind: ClassVar[str] = "verify_base_images"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Verify base images"),)


class VerificationComplete(Event):
    kind: ClassVar[str] = "verification_complete"
    logger: ClassVar[str] = IMAGECACHE
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Verification complete"),)
