"""The fetcher inside the bot: its own task, so commands never wait for a feed.

Every ``tick`` seconds it runs one refresh (which fetches only the feeds that are due). New files
are picked up by the content watcher like any other change; with the watcher off, ``after_change``
(the bot's reindex) is called instead. A failed refresh (a broken feeds file, a full disk) is logged
and tried again at the next tick; the loop itself never dies of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.feeds.config import FeedsConfigError
from bot.feeds.service import FeedService, RefreshReport
from bot.feeds.state import StateError

__all__ = ["FeedTask"]

log = logging.getLogger(__name__)

DEFAULT_TICK = 60.0


class FeedTask:
    def __init__(
        self,
        service: FeedService,
        *,
        tick: float = DEFAULT_TICK,
        after_change: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.service = service
        self.tick = tick
        self.after_change = after_change
        self.last_report: RefreshReport | None = None
        self.last_error: str | None = None
        self.runs = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="newsbot-feeds")
            log.info("fetching feeds listed in %s", self.service.setup.feeds_file)

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick)

    async def run_once(self) -> RefreshReport | None:
        try:
            report = await self.service.refresh()
        except asyncio.CancelledError:
            raise
        except (FeedsConfigError, StateError) as exc:
            self._failed(str(exc), trace=False)
            return None
        except Exception as exc:  # the loop must survive anything one refresh meets
            self._failed(f"{exc.__class__.__name__}: {exc}", trace=True)
            return None
        self.runs += 1
        self.last_report, self.last_error = report, None
        if report.changed and self.after_change is not None:
            try:
                await self.after_change()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reindexing after the feeds refresh failed; the watcher or the next run retries")
        return report

    def _failed(self, message: str, *, trace: bool) -> None:
        if message != self.last_error:  # the same broken file every minute is worth one line
            log.error("feeds refresh failed: %s", message, exc_info=trace)
        self.last_error = message
