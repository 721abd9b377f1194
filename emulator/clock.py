"""The emulator's clock: wall time plus an offset tests can move.

Rate-limit windows, token expiry and timestamps all read :meth:`Clock.now`, so a test can
advance time (``POST /_emulator/clock``) instead of sleeping.
"""
from __future__ import annotations

import time
from datetime import datetime, UTC


#: the latest instant the clock may be set to (9000-01-01): a thousand years below the year 9999
#: every ISO date and JWT time can express, so no route adding a duration (token lifetimes,
#: retention, rate windows) to "now" -- nor the clock running on -- can overflow
MAX_EPOCH = 221845392000.0


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0
        #: when frozen, the instant the clock shows until it is moved or thawed
        self.frozen_at: float | None = None

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        if self.frozen_at is not None:
            return self.frozen_at
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if self.frozen_at is not None:
            self.frozen_at += seconds
        else:
            self.offset += seconds

    def set(self, epoch_seconds: float) -> None:
        if self.frozen_at is not None:
            self.frozen_at = epoch_seconds
        else:
            self.offset = epoch_seconds - time.time()

    def freeze(self, frozen: bool) -> None:
        """Stop time where it is (per-second windows become deterministic), or let it run
        on from the frozen instant."""
        if frozen and self.frozen_at is None:
            self.frozen_at = self.now()
        elif not frozen and self.frozen_at is not None:
            self.offset = self.frozen_at - time.time()
            self.frozen_at = None

    def reset(self) -> None:
        self.offset = 0.0
        self.frozen_at = None

    def iso(self) -> str:
        return iso_utc(self.now())

    def describe(self) -> dict:
        now = self.now()
        offset = self.offset if self.frozen_at is None else self.frozen_at - time.time()
        return {"now": now, "iso": iso_utc(now), "offset_seconds": offset,
                "frozen": self.frozen_at is not None}


def iso_utc(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-11-23T04:00:00.000Z``."""
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
