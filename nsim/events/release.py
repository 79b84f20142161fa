"""Nova releases nsim knows the wording of, oldest first (nova major version 13..32)."""

from __future__ import annotations

RELEASES: tuple[str, ...] = (
    "mitaka", "newton", "ocata", "pike", "queens", "rocky", "stein", "train",
    "ussuri", "victoria", "wallaby", "xena", "yoga", "zed",
    "2023.1", "2023.2", "2024.1", "2024.2", "2025.1", "2025.2",
)
_INDEX = {name: i for i, name in enumerate(RELEASES)}
# Nova's major version for each release (mitaka = 13.0.0).
NOVA_MAJOR = {name: 13 + i for i, name in enumerate(RELEASES)}


def release_index(name: str) -> int:
    """Position of a release in RELEASES; ValueError for an unknown name."""
    try:
        return _INDEX[name]
    except KeyError:
        raise ValueError(f"unknown nova release {name!r}; known: {', '.join(RELEASES)}") from None


def in_range(release: str, since: str | None, until: str | None) -> bool:
    """True when `release` lies in [since, until] (None = open end)."""
    i = release_index(release)
    return (since is None or i >= release_index(since)) and (until is None or i <= release_index(until))
