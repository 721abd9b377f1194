"""Sliding-window rate limits shared by the vendors that document one.

Each key keeps per-second counts for the last window, so memory per key is bounded by the
window length in seconds whatever the request rate. Time comes from the emulator clock.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .clock import Clock


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: seconds until the window has room again (0 when it has room now)
    reset_after: int
    #: epoch second at which the oldest counted request leaves the window
    reset_at: int
    #: whole seconds from now until ``reset_at`` (what X-RateLimit-Reset style headers say)
    reset_in: int


#: every this many hits, windows with nothing left in them are dropped (keys are often
#: client-chosen, e.g. device ids, so idle ones must not accumulate)
SWEEP_EVERY = 1024


class SlidingWindowLimiter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._windows: dict[tuple, deque[list[int]]] = {}
        self._spans: dict[tuple, int] = {}  # key -> its window length in seconds
        self._hits = 0

    def reset(self, vendor: str | None = None) -> None:
        """Forget every window, or those whose key starts with ``vendor``."""
        if vendor is None:
            self._windows.clear()
            self._spans.clear()
        else:
            for key in [k for k in self._windows if k and k[0] == vendor]:
                del self._windows[key]
                self._spans.pop(key, None)

    def hit(self, key: tuple, limit: int, window: int = 60, cost: int = 1) -> Decision:
        """Count ``cost`` requests for ``key`` unless that would exceed ``limit`` in the
        last ``window`` seconds. A refused hit is not counted."""
        now = self.clock.now()
        second = int(now)
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            self._sweep(second)
        buckets = self._windows.setdefault(key, deque())
        self._spans[key] = window
        while buckets and buckets[0][0] <= second - window:
            buckets.popleft()
        used = sum(c for _, c in buckets)
        allowed = used + cost <= limit
        if allowed:
            if buckets and buckets[-1][0] == second:
                buckets[-1][1] += cost
            else:
                buckets.append([second, cost])
            used += cost
        oldest = buckets[0][0] if buckets else second
        reset_at = oldest + window
        reset_after = 0 if used < limit else max(1, math.ceil(reset_at - now))
        return Decision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - used),
            reset_after=reset_after,
            reset_at=reset_at,
            reset_in=max(0, math.ceil(reset_at - now)),
        )

    def _sweep(self, second: int) -> None:
        """Drop every window whose requests have all left it."""
        for key in [k for k, b in self._windows.items() if not b or b[-1][0] <= second - self._spans[k]]:
            del self._windows[key]
            del self._spans[key]

    def __len__(self) -> int:
        return len(self._windows)

    def peek(self, key: tuple, limit: int, window: int = 60) -> Decision:
        """The state of ``key``'s window without counting anything (and without keeping a
        window for a key never hit, so peeking unknown keys costs no memory)."""
        if key not in self._windows:
            second = int(self.clock.now())
            return Decision(True, limit, limit, 0, second + window, math.ceil(second + window - self.clock.now()))
        return self.hit(key, limit, window, cost=0)
