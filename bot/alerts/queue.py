"""One paced queue for every alert post a process sends.

Discord allows a bot 50 requests per second in all (its global rate limit; MonitoRSS keeps to
40); alerts take at most ``DEFAULT_RATE`` of them, one request at a time in turn. Slash-command
answers go through the interaction webhook, which the global limit does not count and this queue
never sees, so many alerts firing at once never delay an answer; the 5 left are for the bot's
other requests (digests, admin announcements). A 429 that discord.py hands back (``RateLimited``) is waited
out here and the request tried again; the 429s discord.py handles itself it also waits out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import discord

log = logging.getLogger(__name__)

#: Requests per second for alert posts: inside Discord's global limit of 50.
DEFAULT_RATE: Final = 45.0
MAX_RATE_LIMIT_WAITS: Final = 5

T = TypeVar("T")


class PostQueue:
    def __init__(self, rate: float = DEFAULT_RATE, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()
        self.sent = 0
        self.waited_429 = 0

    async def _turn(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._clock()
            self._next = max(now, self._next) + self.interval

    def pause(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (a global 429)."""
        self._next = max(self._next, self._clock() + seconds)

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        """Run ``request`` in its turn; a 429 is waited out and the request tried again."""
        for _ in range(MAX_RATE_LIMIT_WAITS):
            await self._turn()
            try:
                result = await request()
            except discord.RateLimited as exc:
                self.waited_429 += 1
                log.warning("alert posts rate-limited by Discord; waiting %.1f s", exc.retry_after)
                self.pause(exc.retry_after)
                continue
            self.sent += 1
            return result
        await self._turn()
        return await request()
