"""The digest loop: one task that sleeps until the next due slot, delivers, and sleeps again.

No polling: the loop computes every active digest's next slot, sleeps until the earliest (or until
``wake()`` says digests changed), and delivers what is due. Progress lives in the database (each
digest's settled slot and its deliveries), so a restart neither skips nor repeats a slot: pending
deliveries are reconciled first (``DigestService.recover``), then each digest's missed slots are
judged by ``due_slots`` (the newest within the grace window is delivered once, older ones are
skipped and logged).

Digests due at the same moment are delivered one message at a time within a channel and a few
channels at a time (``concurrency``); discord.py waits out Discord's rate-limit buckets. A digest
that fails is logged with its id and retried with backoff; it never stops the loop. Digests are
re-read on ``wake()`` and every ``RESYNC_EVERY`` (changes made by another process or feature).

The clock is a parameter (``Clock``): tests run days of schedule in milliseconds with a fake one.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from bot.db.digest_types import Digest, DigestRepository
from bot.digests.schedule import Schedule, due_slots, next_slot
from bot.digests.service import DigestService, Outcome, schedule_of

log = logging.getLogger(__name__)

#: A long sleep is cut into pieces this long, so a wall clock that jumps (NTP, a suspended host)
#: is noticed within this time.
MAX_NAP: Final = timedelta(minutes=5)
#: A digest whose delivery failed is tried again after this, doubling up to ``MAX_RETRY``.
FIRST_RETRY: Final = timedelta(minutes=1)
MAX_RETRY: Final = timedelta(minutes=30)
#: Settled deliveries older than this are forgotten (their articles are long out of any window).
KEEP_DELIVERIES: Final = timedelta(days=60)
PRUNE_EVERY: Final = timedelta(days=1)
#: Digests are re-read at least this often, so changes made elsewhere (an `/admin import`, another
#: process on the same database) are picked up even without ``wake()``.
RESYNC_EVERY: Final = timedelta(minutes=15)
DEFAULT_CONCURRENCY: Final = 4


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware (UTC)."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return at ``when`` (or soon after)."""
        ...


class SystemClock:
    """The wall clock. Sleeps in naps of at most ``MAX_NAP`` so a clock change is noticed."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        while True:
            left = (when - self.now()).total_seconds()
            if left <= 0:
                return
            await asyncio.sleep(min(left, MAX_NAP.total_seconds()))


@dataclass(order=True, slots=True)
class _Entry:
    due_at: datetime
    digest_id: int
    digest: Digest = field(compare=False)
    schedule: Schedule = field(compare=False)
    retry: timedelta | None = field(default=None, compare=False)


def _floor(digest: Digest) -> datetime:
    return digest.created_at if digest.last_slot is None else max(digest.created_at, digest.last_slot)


class Scheduler:
    def __init__(
        self,
        service: DigestService,
        repo: DigestRepository,
        clock: Clock,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        before_start: Callable[[], Awaitable[None]] | None = None,
        owns: Callable[[int], bool] | None = None,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        """``before_start``: awaited before the first delivery (the client being ready). ``owns``:
        whether this process runs a server's digests (shards split between processes).
        ``observe``: called with each attempt's outcome kind, or ``"failed"`` (metrics)."""
        self.service = service
        self.repo = repo
        self.clock = clock
        self.concurrency = max(1, concurrency)
        self.before_start = before_start
        self.owns = owns or (lambda guild_id: True)
        self.observe = observe
        self._loaded_at: datetime | None = None
        self._changed = asyncio.Event()
        self._entries: dict[int, _Entry] = {}
        self._heap: list[_Entry] = []
        self._last_prune: datetime | None = None
        #: Every delivery attempt's outcome, newest last (bounded), for logs and tests.
        self.outcomes: list[tuple[int, datetime, Outcome]] = []
        self.started = asyncio.Event()

    def wake(self) -> None:
        """Digests were added or changed: re-read them before sleeping again."""
        self._changed.set()

    def next_due(self) -> datetime | None:
        """When the loop will next deliver something (for status displays and tests)."""
        live = [entry.due_at for entry in self._entries.values()]
        return min(live) if live else None

    # --- the loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        if self.before_start is not None:
            await self.before_start()
        for outcome in await self.service.recover(self.clock.now(), owns=self.owns):
            self._observe(outcome.kind)
        await self._reload()
        self.started.set()
        while True:
            now = self.clock.now()
            if self._changed.is_set() or self._loaded_at is None or now - self._loaded_at >= RESYNC_EVERY:
                self._changed.clear()
                await self._reload()
            await self._maybe_prune(now)
            due = self._pop_due(now)
            if due:
                await self._run_due(due, now)
                continue
            await self._sleep(self._next_wake(now))

    async def _sleep(self, until: datetime) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep_until(until))
        waker = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _next_wake(self, now: datetime) -> datetime:
        # Wake at the earliest due digest, and at least every RESYNC_EVERY to re-read digests.
        while self._heap and self._entries.get(self._heap[0].digest_id) is not self._heap[0]:
            heapq.heappop(self._heap)  # superseded entries
        limit = now + RESYNC_EVERY
        return min(self._heap[0].due_at, limit) if self._heap else limit

    # --- entries ---------------------------------------------------------------------------------

    async def _reload(self) -> None:
        digests = await self.repo.active()
        self._loaded_at = self.clock.now()
        self._entries = {}
        self._heap = []
        for digest in digests:
            if self.owns(digest.guild_id):
                self._put(digest)

    def _put(self, digest: Digest, retry: timedelta | None = None, now: datetime | None = None) -> None:
        try:
            schedule = schedule_of(digest)
        except ValueError:
            log.exception("digest %d has an invalid schedule; it is not run", digest.id)
            self._entries.pop(digest.id, None)
            return
        if retry is not None and now is not None:
            due_at = now + retry
        else:
            due_at = next_slot(schedule, _floor(digest))
        entry = _Entry(due_at, digest.id, digest, schedule, retry)
        self._entries[digest.id] = entry
        heapq.heappush(self._heap, entry)

    def _pop_due(self, now: datetime) -> list[_Entry]:
        due: list[_Entry] = []
        while self._heap and self._heap[0].due_at <= now:
            entry = heapq.heappop(self._heap)
            if self._entries.get(entry.digest_id) is entry:
                due.append(entry)
                del self._entries[entry.digest_id]
        return due

    # --- delivering --------------------------------------------------------------------------------

    async def _run_due(self, due: Iterable[_Entry], now: datetime) -> None:
        by_channel: dict[int, list[_Entry]] = defaultdict(list)
        for entry in due:
            by_channel[entry.digest.channel_id].append(entry)
        gate = asyncio.Semaphore(self.concurrency)

        async def channel_run(entries: list[_Entry]) -> None:
            async with gate:
                for entry in entries:  # one message at a time per channel
                    await self._run_one(entry, now)

        await asyncio.gather(*(channel_run(entries) for entries in by_channel.values()))

    async def _run_one(self, entry: _Entry, now: datetime) -> None:
        digest = entry.digest
        try:
            # Read it again: it may have been removed, paused or changed since the loop last looked
            # (another command, an import, another process on the same database).
            current = await self.repo.get(digest.id)
            if current is None or current.paused or not self.owns(current.guild_id):
                return
            digest = current
            due = due_slots(
                schedule_of(digest),
                last_slot=digest.last_slot,
                created_at=digest.created_at,
                now=now,
                grace=self.service.grace,
            )
            await self.service.skip(digest, due.skipped, now)
            for slot in due.deliver:
                outcome = await self.service.deliver_slot(digest, slot, now)
                self._record(digest.id, slot, outcome)
            fresh = await self.repo.get(digest.id)
        except Exception:
            retry = min(entry.retry * 2, MAX_RETRY) if entry.retry is not None else FIRST_RETRY
            log.exception("digest %d: delivery failed; trying again in %s", digest.id, retry)
            self._observe("failed")
            if digest.id not in self._entries:
                self._put(digest, retry=retry, now=now)
            return
        if fresh is not None and not fresh.paused and digest.id not in self._entries:
            self._put(fresh)

    def _observe(self, kind: str) -> None:
        if self.observe is not None:
            self.observe(kind)

    def _record(self, digest_id: int, slot: datetime, outcome: Outcome) -> None:
        self._observe(outcome.kind)
        self.outcomes.append((digest_id, slot, outcome))
        del self.outcomes[:-1000]
        log.info("digest %d slot %s: %s (%s)", digest_id, slot.isoformat(), outcome.kind, outcome.detail)

    async def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            removed = await self.repo.prune(now - KEEP_DELIVERIES)
        except Exception:
            log.exception("pruning old digest deliveries failed")
            return
        if removed:
            log.info("forgot %d digest deliveries older than %s", removed, KEEP_DELIVERIES)
