"""Per-route rate-limit buckets with Discord's headers, and 429s injected on demand by tests.

discord.py only trusts a 429 that carries a ``Via`` header (anything else looks like a Cloudflare ban
to it) and reads the wait from the body's ``retry_after``, so both are always sent.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Injection:
    method: str
    path_prefix: str
    retry_after: float
    remaining: int
    global_: bool


@dataclass(frozen=True, slots=True)
class RateLimitHit:
    """A 429 the emulator served. ``at`` is ``time.monotonic()`` when it was sent."""

    method: str
    path: str
    retry_after: float
    global_: bool
    injected: bool
    at: float
    scope: str = "user"


@dataclass(frozen=True, slots=True)
class Limited:
    retry_after: float
    global_: bool
    injected: bool
    limit: int | None = None
    scope: str | None = None


@dataclass(slots=True)
class _Bucket:
    started: float
    count: int = 0


class RateLimiter:
    """``limit`` requests per ``window`` seconds per bucket (route template plus its major parameter)."""

    def __init__(self, limit: int = 50, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self._buckets: dict[str, _Bucket] = {}
        self._injections: list[_Injection] = []
        self.hits: list[RateLimitHit] = []

    def inject(self, method: str, path_prefix: str, *, retry_after: float, count: int, global_: bool) -> None:
        self._injections.append(_Injection(method.upper(), path_prefix, retry_after, count, global_))

    def check(self, method: str, path: str, bucket: str) -> Limited | None:
        """Count the request against its bucket; a ``Limited`` means answer 429 instead of serving it."""
        now = time.monotonic()
        for injection in self._injections:
            if (
                injection.remaining > 0
                and injection.method == method.upper()
                and path.startswith(injection.path_prefix)
            ):
                injection.remaining -= 1
                self._injections = [i for i in self._injections if i.remaining > 0]
                self.hits.append(RateLimitHit(method, path, injection.retry_after, injection.global_, True, now))
                return Limited(injection.retry_after, injection.global_, injected=True)
        state = self._state(bucket, now)
        if state.count >= self.limit:
            retry_after = max(state.started + self.window - now, 0.001)
            self.hits.append(RateLimitHit(method, path, retry_after, False, False, now))
            return Limited(retry_after, False, injected=False)
        state.count += 1
        return None

    def headers(self, bucket: str) -> dict[str, str]:
        now = time.monotonic()
        state = self._state(bucket, now)
        reset_after = max(state.started + self.window - now, 0.0)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - state.count, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(bucket),
        }

    def record(self, method: str, path: str, limited: Limited) -> None:
        """Note a 429 served for a limit kept elsewhere (an announcement channel's publishes)."""
        self.hits.append(
            RateLimitHit(
                method,
                path,
                limited.retry_after,
                limited.global_,
                limited.injected,
                time.monotonic(),
                limited.scope or "user",
            )
        )

    def limited_headers(self, bucket: str, limited: Limited) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit if limited.limit is None else limited.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + limited.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{limited.retry_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(bucket),
            "X-RateLimit-Scope": limited.scope or ("global" if limited.global_ else "user"),
            "Retry-After": str(math.ceil(limited.retry_after)),
            "Via": "1.1 google",
        }
        if limited.global_:
            headers["X-RateLimit-Global"] = "true"
        return headers

    def _state(self, bucket: str, now: float) -> _Bucket:
        state = self._buckets.get(bucket)
        if state is None or now >= state.started + self.window:
            state = self._buckets[bucket] = _Bucket(started=now)
        return state


@dataclass(slots=True)
class PublishLimit:
    """Discord's limit on publishing (crossposting): ``limit`` messages per announcement channel per ``window``.

    ``clock`` is the emulator's clock (``Emulator.advance_clock`` moves it), so a test can let the hour
    pass without waiting for it.
    """

    clock: Callable[[], float]
    limit: int = 10
    window: float = 3600.0
    _published: dict[int, deque[float]] = field(default_factory=dict)

    def take(self, channel_id: int) -> float | None:
        """Count one publish in ``channel_id``; the seconds to wait instead when the window is full."""
        now = self.clock()
        times = self._published.setdefault(channel_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max(times[0] + self.window - now, 0.001)
        times.append(now)
        return None


def _bucket_hash(bucket: str) -> str:
    route = bucket.split(":", 1)[0]
    return hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:16]
