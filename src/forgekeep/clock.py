"""Injectable clock.

Security rule: code that decides on expiry, rotation, vetting or grace periods
takes a :class:`Clock` and never calls ``time.time`` or ``datetime.now`` itself,
so that tests can move time forward and prove the decision flips.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """Source of the current time (aware UTC)."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to (for tests and simulations)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> None:
        if delta < dt.timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta


def monotonic() -> float:
    """Monotonic seconds, for durations only (never for expiry decisions)."""
    return time.monotonic()
