"""What nova's guest XML says, read back from "End _get_guest_xml xml=…" (nova's
nova/virt/libvirt/config.py renders it; its <nova:instance> metadata comes from
LibvirtConfigGuestMetaNova*). Read with patterns, not an XML parser: a logged XML may be cut
short or wrapped, and what it does say still counts."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIZES = re.compile(r"<nova:(memory|disk|swap|ephemeral|vcpus)>(\d+)</nova:\1>")
_FLAVOR = re.compile(r'<nova:flavor name="([^"]+)">')
_NAME = re.compile(r"<nova:name>([^<]+)</nova:name>")
_ROOT_IMAGE = re.compile(r'<nova:root type="image" uuid="([0-9a-f-]{36})"')
_DISK_SOURCE = re.compile(r'<source file="([^"]+/disk)"')
_PACKAGE = re.compile(r'<nova:package version="(\d+)\.')


@dataclass(frozen=True)
class GuestFacts:
    """The guest XML's facts nsim uses; None (or empty) where the XML does not say."""

    flavor: str | None
    name: str | None
    sizes: dict[str, int]
    """memory (MB), disk (root GB), swap (MB), ephemeral (GB), vcpus: those the XML gives."""
    root_image: str | None
    """The image of an image-backed root disk."""
    disk: str | None
    """The root disk's file (`…/<uuid>/disk`)."""
    nova_major: int | None
    """nova's major version, from <nova:package>."""

    @property
    def extras(self) -> bool:
        """Swap or an ephemeral disk, which the resource tracker counts besides root."""
        return bool(self.sizes.get("swap") or self.sizes.get("ephemeral"))


def read(xml: str) -> GuestFacts:
    def first(rx: re.Pattern[str]) -> str | None:
        m = rx.search(xml)
        return m.group(1) if m else None

    package = first(_PACKAGE)
    return GuestFacts(flavor=first(_FLAVOR), name=first(_NAME),
                      sizes={k: int(v) for k, v in _SIZES.findall(xml)},
                      root_image=first(_ROOT_IMAGE), disk=first(_DISK_SOURCE),
                      nova_major=int(package) if package else None)
