"""Wait for a condition: every emulator state change wakes the waiters at once.

Predicates may also look at state outside the emulator (the discord.py client's cache, say), so
waiters re-check at least every ``POLL`` seconds too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL = 0.02


class Notifier:
    """Waiters re-check their predicate each time ``notify()`` is called (after any state change)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_until(self, predicate: Callable[[], T | None], *, timeout: float, what: str) -> T:  # noqa: ASYNC109
        """Return the first truthy value of ``predicate()``; ``TimeoutError`` naming ``what`` otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait([waiter], timeout=min(remaining, POLL))
            finally:
                self._waiters.discard(waiter)
                if not waiter.done():
                    waiter.cancel()
