"""The emulator's clock: wall time plus an offset tests can move.

Rate-limit windows, token expiry and timestamps all read :meth:`Clock.now`, so a test can
advance time (``POST /_emulator/clock``) instead of sleeping.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def set(self, epoch_seconds: float) -> None:
        self.offset = epoch_seconds - time.time()

    def reset(self) -> None:
        self.offset = 0.0

    def iso(self) -> str:
        return iso_utc(self.now())

    def describe(self) -> dict:
        now = self.now()
        return {"now": now, "iso": iso_utc(now), "offset_seconds": self.offset}


def iso_utc(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-11-23T04:00:00.000Z``."""
    dt = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
