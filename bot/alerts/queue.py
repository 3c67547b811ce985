"""One paced queue, owned by the bot, for every channel alert post and every direct message a process sends.

Discord allows a bot 50 requests per second in all (its global rate limit; MonitoRSS keeps to
40); alerts and DMs together take at most ``DEFAULT_RATE`` of them, one request at a time in turn.
Slash-command answers go through the interaction webhook, which the global limit does not count and
this queue never sees, so many alerts firing at once never delay an answer; the 5 left are for the
bot's other requests (digests, admin announcements).

Requests wait by priority, then in arrival order: a channel alert (``ALERT``) that is queued goes
before every queued personal delivery (``DM``), so members' DMs yield to the channels under load
(issue #14). A 429 that discord.py hands back (``RateLimited``) is waited out here and the request
tried again; the 429s discord.py handles itself it also waits out.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Final, TypeVar

import discord

log = logging.getLogger(__name__)

#: Requests per second for alert posts and DMs together: inside Discord's global limit of 50.
DEFAULT_RATE: Final = 45.0
MAX_RATE_LIMIT_WAITS: Final = 5

T = TypeVar("T")


class Priority(IntEnum):
    """Lower goes first."""

    ALERT = 0
    DM = 1


class PostQueue:
    """``clock`` and ``sleep`` are the monotonic clock and a way to wait on it (a fake pair in tests)."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self.sent = 0
        self.waited_429 = 0

    def lane(self, priority: Priority) -> Lane:
        """This queue as seen by one kind of delivery: its ``call`` waits with ``priority``."""
        return Lane(self, priority)

    def waiting(self) -> int:
        return sum(1 for *_, turn in self._waiting if not turn.done())

    async def _turn(self, priority: Priority) -> None:
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), turn))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="post-queue")
        await turn

    async def _dispatch(self) -> None:
        # One turn per interval, each to the most urgent request waiting at that moment: the head is
        # picked after the wait, so an alert queued while a DM waited for its slot takes the slot.
        while self._waiting:
            now = self._clock()
            if self._next > now:
                await self._sleep(self._next - now)
                continue
            *_, turn = heapq.heappop(self._waiting)
            if turn.done():
                continue  # its caller was cancelled
            self._next = max(now, self._next) + self.interval
            turn.set_result(None)

    async def close(self) -> None:
        """Stop handing out turns (the bot is closing); requests still waiting are cancelled."""
        for *_, turn in self._waiting:
            turn.cancel()
        self._waiting.clear()
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None and not dispatcher.done():
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher

    def pause(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (a global 429)."""
        self._next = max(self._next, self._clock() + seconds)

    async def call(self, request: Callable[[], Awaitable[T]], *, priority: Priority = Priority.ALERT) -> T:
        """Run ``request`` in its turn; a 429 is waited out and the request tried again."""
        for _ in range(MAX_RATE_LIMIT_WAITS):
            await self._turn(priority)
            try:
                result = await request()
            except discord.RateLimited as exc:
                self.waited_429 += 1
                log.warning("posts rate-limited by Discord; waiting %.1f s", exc.retry_after)
                self.pause(exc.retry_after)
                continue
            self.sent += 1
            return result
        await self._turn(priority)
        return await request()


class Lane:
    """A ``PostQueue`` with a fixed priority (``bot.follows.service.Pacer`` for DMs)."""

    def __init__(self, queue: PostQueue, priority: Priority) -> None:
        self.queue = queue
        self.priority = priority

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        return await self.queue.call(request, priority=self.priority)
