"""Timestamps of each format; the year of journald's year-less stamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def _micro(frac: str) -> int:
    return int(frac[:6].ljust(6, "0")) if frac else 0


class YearClock:
    """Gives journald short stamps ("Jun 16 13:12:52.123456") a year.

    The year is `year` when given; otherwise the year of `reference` (the file's
    mtime, or a stamp with a year from the same input), one less if the first stamp's
    month lies after the reference month.
    A month that goes back (Dec -> Jan) starts the next year.
    """

    def __init__(self, reference: datetime, year: int | None = None) -> None:
        self._reference = reference
        self._year = year
        self.inferred: int | None = None
        """The year taken from the file's mtime for the first stamp (None while none, when
        given, or when anchored)."""
        self._anchored = False
        self._month: int | None = None
        # Consecutive lines mostly share a stamp; the same text again changes no state.
        self._last: tuple[str, datetime] | None = None

    def anchor(self, when: datetime) -> None:
        """Take the year from `when` (a stamp with a year on the same lines), not the mtime,
        unless a year is given or already set."""
        if self._year is None and not self._anchored:
            self._reference = when
            self._anchored = True

    def stamp(self, text: str) -> datetime:
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        value = self._stamp(text)
        self._last = (text, value)
        return value

    def _stamp(self, text: str) -> datetime:
        month = MONTHS[text[:3]]
        if self._year is None:
            self._year = self._reference.year - (1 if month > self._reference.month else 0)
            self.inferred = None if self._anchored else self._year
        elif self._month is not None and month < self._month and self._month - month > 6:
            self._year += 1
        self._month = month
        clock, _, frac = text[7:].partition(".")
        return datetime(self._year, month, int(text[4:6]), int(clock[0:2]), int(clock[3:5]),
                        int(clock[6:8]), _micro(frac))


def iso_stamp(text: str) -> datetime:
    """short-iso / ISO 8601 stamps; an offset is converted to UTC (then dropped).

    ValueError when the stamp, or its UTC time, is outside datetime's years 1 to 9999."""
    stamp = datetime.fromisoformat(text.replace(",", ".").replace("Z", "+00:00"))
    if stamp.tzinfo is not None:
        try:
            stamp = stamp.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"{text} in UTC is outside the years 1 to 9999") from None
    return stamp


def oslo_stamp(text: str) -> datetime:
    """'2017-06-16 13:12:52.123' (oslo.log asctime.msecs)."""
    _, _, frac = text.partition(".")
    return datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                    int(text[14:16]), int(text[17:19]), _micro(frac))


_EPOCH = datetime(1970, 1, 1)
_LAST_USEC = (datetime.max - _EPOCH) // timedelta(microseconds=1)


def realtime_stamp(usec: str) -> datetime:
    """journald __REALTIME_TIMESTAMP: microseconds since the epoch, UTC.

    ValueError for a value that is not a whole number from 0 to the end of the year 9999."""
    value = int(usec)
    if not 0 <= value <= _LAST_USEC:
        raise ValueError(f"__REALTIME_TIMESTAMP {str(usec)[:30]} is not between 1970 and 9999")
    return _EPOCH + timedelta(microseconds=value)
