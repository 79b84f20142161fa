"""Nova releases nsim knows the wording of, oldest first (Havana 2013.2 .. 2026.2, nova 34).

Before Liberty nova's versions were dates (2013.2 = Havana); from Liberty on, the major
version counts releases (Liberty = 12.0.0, 2026.2 = 34.0.0).
"""

from __future__ import annotations

# release -> the version of its first nova release.
NOVA_VERSION: dict[str, str] = {
    "havana": "2013.2", "icehouse": "2014.1", "juno": "2014.2", "kilo": "2015.1",
    "liberty": "12.0.0", "mitaka": "13.0.0", "newton": "14.0.0", "ocata": "15.0.0",
    "pike": "16.0.0", "queens": "17.0.0", "rocky": "18.0.0", "stein": "19.0.0",
    "train": "20.0.0", "ussuri": "21.0.0", "victoria": "22.0.0", "wallaby": "23.0.0",
    "xena": "24.0.0", "yoga": "25.0.0", "zed": "26.0.0", "2023.1": "27.0.0",
    "2023.2": "28.0.0", "2024.1": "29.0.0", "2024.2": "30.0.0", "2025.1": "31.0.0",
    "2025.2": "32.0.0", "2026.1": "33.0.0", "2026.2": "34.0.0",
}
RELEASES: tuple[str, ...] = tuple(NOVA_VERSION)
_INDEX = {name: i for i, name in enumerate(RELEASES)}
# Nova's major version for the releases that have one (Liberty = 12 on).
NOVA_MAJOR: dict[str, int] = {
    name: int(version.split(".")[0]) for name, version in NOVA_VERSION.items()
    if len(version.split(".")[0]) < 4
}


def release_index(name: str) -> int:
    """Position of a release in RELEASES; ValueError for an unknown name."""
    try:
        return _INDEX[name]
    except KeyError:
        raise ValueError(f"unknown nova release {name!r}; known: {', '.join(RELEASES)}") from None


def known_release(name: str) -> str:
    """`name` when nsim knows that release; ValueError naming the known ones otherwise (the
    one check every release setting goes through)."""
    release_index(name)
    return name


def at_least(release: str, first: str) -> bool:
    """Whether `release` is `first` or later."""
    return release_index(release) >= release_index(first)


def runs_python3(release: str) -> bool:
    """nova runs under Python 3 from Ussuri: callable names in lock owners become
    `__qualname__`, site-packages moves to python3."""
    return at_least(release, "ussuri")


def in_range(release: str, since: str | None, until: str | None) -> bool:
    """True when `release` lies in [since, until] (None = open end)."""
    i = release_index(release)
    return (since is None or i >= release_index(since)) and (until is None or i <= release_index(until))
