"""The alert loop: judge new arrivals, deliver what waits, sleep a moment, again.

Arrivals are written by whichever process indexed (the same database), so the loop looks for new
ones every ``interval`` seconds (one indexed query), and at once when ``wake()`` is called (after
this process reindexed, or an alert changed). Its progress lives in the database (each alert's
cursor, its queued articles and pending deliveries): a restart reconciles what is pending first
(``AlertService.recover``) and then carries on, neither skipping nor repeating. Only alerts of the
servers this process runs (``owns``: its shards) are judged and posted.

One alert failing is logged and retried with backoff; it never stops the loop for the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from bot.alerts.service import AlertService, Outcome
from bot.db.alert_types import AlertRepository

log = logging.getLogger(__name__)

DEFAULT_INTERVAL: Final = 2.0
DEFAULT_CONCURRENCY: Final = 4
FIRST_RETRY: Final = 5.0
MAX_RETRY: Final = 300.0
#: A held alert is looked at again this often (its window opens at most this late).
HELD_RECHECK: Final = 15.0
KEEP: Final = timedelta(days=14)
PRUNE_EVERY: Final = 86_400.0


class AlertLoop:
    def __init__(
        self,
        service: AlertService,
        repo: AlertRepository,
        *,
        owns: Callable[[int], bool] | None = None,
        before_start: Callable[[], Awaitable[object]] | None = None,
        interval: float = DEFAULT_INTERVAL,
        concurrency: int = DEFAULT_CONCURRENCY,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self.service = service
        self.repo = repo
        self.owns = owns or (lambda guild_id: True)
        self.before_start = before_start
        self.interval = interval
        self.concurrency = max(1, concurrency)
        self.observe = observe
        self._wake = asyncio.Event()
        self._not_before: dict[int, float] = {}
        self._backoff: dict[int, float] = {}
        self._last_prune = 0.0
        self.started = asyncio.Event()
        self.ticks = 0

    def wake(self) -> None:
        self._wake.set()

    def reset(self, alert_id: int) -> None:
        """Forget an alert's backoff (it was resumed or edited)."""
        self._not_before.pop(alert_id, None)
        self._backoff.pop(alert_id, None)

    async def run(self) -> None:
        if self.before_start is not None:
            await self.before_start()
        for outcome in await self.service.recover(self.owns):
            self._observe(outcome.kind)
        self.started.set()
        while True:
            self._wake.clear()
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    async def tick(self) -> None:
        """One round: judge, then deliver every owned alert that has work and is not backing off."""
        self.ticks += 1
        try:
            await self.service.judge_new(self.owns)
        except Exception:
            log.exception("judging new arrivals for alerts failed; trying again shortly")
        try:
            work = await self.repo.with_work()
        except Exception:
            log.exception("reading the alerts' work failed")
            return
        clock = time.monotonic()
        due = [a for a in work if self._not_before.get(a, 0.0) <= clock]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(alert_id: int) -> None:
            async with gate:
                await self._deliver(alert_id)

        await asyncio.gather(*(one(a) for a in due))
        await self._maybe_prune()

    async def _deliver(self, alert_id: int) -> None:
        try:
            alert = await self.repo.get(alert_id)
            if alert is None or not self.owns(alert.guild_id):
                return
            outcome = await self.service.deliver(alert_id)
        except Exception:
            self._retry(alert_id)
            log.exception("alert %d: delivery failed; trying again in %.0f s", alert_id, self._backoff[alert_id])
            self._observe("failed")
            return
        self._after(alert_id, outcome)

    def _after(self, alert_id: int, outcome: Outcome) -> None:
        self._observe(outcome.kind)
        if outcome.kind == "retry":
            self._retry(alert_id)
        elif outcome.kind == "held":
            self._not_before[alert_id] = time.monotonic() + HELD_RECHECK
        else:
            self.reset(alert_id)

    def _retry(self, alert_id: int) -> None:
        delay = min(self._backoff.get(alert_id, FIRST_RETRY / 2) * 2, MAX_RETRY)
        self._backoff[alert_id] = delay
        self._not_before[alert_id] = time.monotonic() + delay

    def _observe(self, kind: str) -> None:
        if self.observe is not None:
            self.observe(kind)

    async def _maybe_prune(self) -> None:
        clock = time.monotonic()
        if self._last_prune and clock - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = clock
        try:
            removed = await self.repo.prune(self.service.clock() - KEEP)
        except Exception:
            log.exception("pruning old alert arrivals and deliveries failed")
            return
        if removed:
            log.info("forgot %d alert arrivals and deliveries older than %s", removed, KEEP)
