"""Time, injected everywhere so tests can move it."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


def now_ms(clock: Clock) -> int:
    """Milliseconds since the epoch, as Zoho counts ``exp``."""
    return int(clock.now() * 1000)
