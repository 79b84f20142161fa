"""Instance disk creation (nova/virt/libvirt/driver.py _create_image, nova/virt/images.py,
nova/utils.py supports_direct_io, oslo_concurrency/processutils.py execute)."""

from __future__ import annotations

from typing import Any, ClassVar

from nsim.events.base import Event, Wording, by_type, seconds, unquote
from nsim.nova.qemu_img import QemuImgCommand, parse_qemu_img, split_command

DRIVER = "nova.virt.libvirt.driver"
PROCESSUTILS = "oslo_concurrency.processutils"


class InstanceDirCreating(Event):
    kind: ClassVar[str] = "instance_dir_creating"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Creating instance directory", since="stein"),
    )


class CreatingImage(Event):
    kind: ClassVar[str] = "creating_image"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Creating image", level="INFO", until="yoga"),
        Wording("Creating image(s)", level="INFO", since="zed"),
    )


class ImageConverting(Event):
    """fetch_to_raw: the downloaded base file is not raw and force_raw_images is set."""

    kind: ClassVar[str] = "image_converting"
    logger: ClassVar[str] = "nova.virt.images"
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("{image_id} was {disk_format}, converting to raw"),
    )
    image_id: str
    disk_format: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ImageConverting:
        return cls(image_id=str(tokens[0]), disk_format=str(tokens[1]))


class DirectIo(Event):
    kind: ClassVar[str] = "direct_io"
    logger: ClassVar[str] = "nova.utils"
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Path '{path}' {verdict}"),)
    path: str
    supported: bool
    error: str | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> DirectIo:
        t = by_type(tokens)
        supported = t["DIRECT_IO_VERDICT"][0].startswith("supports")
        return cls(path=unquote(t["SQUOTED"][0]), supported=supported,
                   error=t.get("REST", [None])[0])

    def template_values(self) -> dict[str, Any]:
        verdict = ("supports direct I/O" if self.supported
                   else f"does not support direct I/O: {self.error or ''}".rstrip())
        return dict(self) | {"verdict": verdict}


class SubprocessRunning(Event):
    kind: ClassVar[str] = "subprocess_running"
    logger: ClassVar[str] = PROCESSUTILS
    wordings: ClassVar[tuple[Wording, ...]] = (Wording("Running cmd (subprocess): {command}"),)
    command: str
    argv: list[str]
    qemu_img: QemuImgCommand | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> SubprocessRunning:
        command = str(tokens[0])
        argv = split_command(command)
        return cls(command=command, argv=argv, qemu_img=parse_qemu_img(argv))


class SubprocessReturned(Event):
    kind: ClassVar[str] = "subprocess_returned"
    logger: ClassVar[str] = PROCESSUTILS
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording('CMD "{command}" returned: {returncode} in {seconds:.3f}s'),
    )
    command: str
    returncode: int
    seconds: float
    qemu_img: QemuImgCommand | None = None

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> SubprocessReturned:
        command = unquote(tokens[0])
        return cls(command=command, returncode=int(tokens[1]), seconds=seconds(tokens[2]),
                   qemu_img=parse_qemu_img(split_command(command)))


class ConsoleLog(Event):
    kind: ClassVar[str] = "console_log"
    logger: ClassVar[str] = DRIVER
    wordings: ClassVar[tuple[Wording, ...]] = (
        Wording("Ensure instance console log exists: {path}"),
    )
    path: str

    @classmethod
    def from_tokens(cls, tokens: list[Any]) -> ConsoleLog:
        return cls(path=str(tokens[0]))
