"""The follows loop: judge arrivals, send members' DMs, and deliver personal digests when due.

``tick(now)`` does one round and returns when the next one is needed; ``run`` repeats it with a
``Clock`` (the digests' ``SystemClock`` in production, a fake one in tests, which call ``tick``
directly to run days of schedule in milliseconds). Progress lives in the database (the cursor,
items, deliveries, each follow's settled slot), so a restart neither skips nor repeats anything:
pending DMs are reconciled first.

One process sends every member's DMs: the one holding shard 0 (``sends_dms``). DMs belong to no
server, Discord delivers DM events on shard 0, and a single sender keeps the per-member limits
(the hourly cap, quiet hours) in one place without coordination.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Final

from bot.db.follow_types import Follow, FollowRepository
from bot.digests.schedule import due_slots, next_slot
from bot.digests.scheduler import Clock
from bot.follows.quiet import quiet_until
from bot.follows.service import FollowService, schedule_of

log = logging.getLogger(__name__)

#: New arrivals are looked for at least this often (an index run adds them at any time).
POLL: Final = timedelta(seconds=5)
#: Follows are re-read at least this often (changes made by another process).
RESYNC_EVERY: Final = timedelta(minutes=15)
#: A member whose delivery failed (Discord 5xx, a timeout) is tried again after this.
RETRY: Final = timedelta(minutes=1)
#: Settled DMs older than this are forgotten (far past the cap's hour and any digest window).
KEEP_DELIVERIES: Final = timedelta(days=60)
PRUNE_EVERY: Final = timedelta(days=1)


def sends_dms(shard_ids: Collection[int] | None) -> bool:
    """Whether this process sends members' DMs: unsharded, holding every shard, or holding shard 0."""
    return shard_ids is None or 0 in shard_ids


class FollowEngine:
    def __init__(
        self,
        service: FollowService,
        repo: FollowRepository,
        *,
        before_start: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.repo = repo
        self.before_start = before_start
        self._recovered = False
        self._loaded_at: datetime | None = None
        self._changed = asyncio.Event()
        self._heap: list[tuple[datetime, int]] = []
        self._follows: dict[int, Follow] = {}
        self._due_at: dict[int, datetime] = {}
        #: Members with held articles: when to look at them again.
        self._user_wake: dict[int, datetime] = {}
        self._last_prune: datetime | None = None
        self.started = asyncio.Event()
        #: Outcomes of digest deliveries, newest last (bounded), for tests and logs.
        self.outcomes: list[tuple[int, datetime, str]] = []

    def wake(self) -> None:
        """Follows changed (added, removed, paused): re-read them before sleeping again."""
        self._changed.set()

    def next_digest(self) -> datetime | None:
        """When the next personal digest is due (for tests and status displays)."""
        while self._heap and self._due_at.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # superseded entries
        return self._heap[0][0] if self._heap else None

    # --- the loop --------------------------------------------------------------------------------

    async def run(self, clock: Clock) -> None:
        if self.before_start is not None:
            await self.before_start()
        while True:
            now = clock.now()
            try:
                next_at = await self.tick(now)
            except Exception:
                log.exception("the follows loop failed; trying again in %s", RETRY)
                next_at = now + RETRY
            self.started.set()
            await self._sleep(clock, next_at)

    async def _sleep(self, clock: Clock, until: datetime) -> None:
        sleeper = asyncio.ensure_future(clock.sleep_until(until))
        waker = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    async def tick(self, now: datetime) -> datetime:
        """One round at ``now``; returns when the next round is due."""
        if not self._recovered:
            await self.service.recover(now)
            self._recovered = True
        if self._changed.is_set() or self._loaded_at is None or now - self._loaded_at >= RESYNC_EVERY:
            self._changed.clear()
            await self._reload(now)
        await self._maybe_prune(now)
        await self.service.judge_new(now)
        await self._deliver_instant(now)
        await self._deliver_digests(now)
        candidates = [now + POLL, *self._user_wake.values()]
        if self._heap:
            candidates.append(self._heap[0][0])
        return max(now, min(candidates))

    # --- instant -----------------------------------------------------------------------------------

    async def _deliver_instant(self, now: datetime) -> None:
        for user_id in await self.repo.users_with_work():
            wake = self._user_wake.get(user_id)
            if wake is not None and wake > now:
                continue
            self._user_wake.pop(user_id, None)
            try:
                later = await self.service.deliver_user(user_id, now)
            except Exception:
                log.exception("user %d: sending follows failed; trying again in %s", user_id, RETRY)
                later = now + RETRY
            if later is not None:
                self._user_wake[user_id] = later

    # --- digests -----------------------------------------------------------------------------------

    async def _reload(self, now: datetime) -> None:
        self._loaded_at = now
        self._heap = []
        self._follows = {}
        self._due_at = {}
        for follow in await self.repo.active():
            if follow.delivery != "instant":
                self._put(follow, now)

    def _put(self, follow: Follow, now: datetime, at: datetime | None = None) -> None:
        try:
            floor = follow.created_at if follow.last_slot is None else max(follow.created_at, follow.last_slot)
            due_at = at or next_slot(schedule_of(follow), floor)
        except ValueError:
            log.exception("follow %d has an invalid schedule; it is not run", follow.id)
            return
        self._follows[follow.id] = follow
        self._due_at[follow.id] = due_at
        heapq.heappush(self._heap, (due_at, follow.id))

    def _pop_due(self, now: datetime) -> list[Follow]:
        due: list[Follow] = []
        while self._heap and self._heap[0][0] <= now:
            at, follow_id = heapq.heappop(self._heap)
            if self._due_at.get(follow_id) == at:
                del self._due_at[follow_id]
                due.append(self._follows.pop(follow_id))
        return due

    async def _deliver_digests(self, now: datetime) -> None:
        due = self._pop_due(now)
        if not due:
            return
        ready: list[tuple[Follow, datetime]] = []
        for follow in due:
            quiet_end = quiet_until(follow.quiet_start, follow.quiet_end, follow.timezone, now)
            if quiet_end is not None:
                self._put(follow, now, at=quiet_end)  # no DMs in quiet hours: it goes out when they end
                continue
            slots = due_slots(
                schedule_of(follow),
                last_slot=follow.last_slot,
                created_at=follow.created_at,
                now=now,
                grace=self.service.grace,
            )
            if slots.skipped and not slots.deliver:
                log.warning("follow %d: skipped %d missed digest(s)", follow.id, len(slots.skipped))
                await self.repo.settle(follow.id, slots.skipped[-1])
            ready += [(follow, slot) for slot in slots.deliver]
        try:
            composed = await self.service.compose_digests(ready)
        except Exception:
            log.exception("composing %d personal digests failed; trying again in %s", len(ready), RETRY)
            for follow, _ in ready:
                self._put(follow, now, at=now + RETRY)
            return
        for digest in composed:
            try:
                outcome = await self.service.deliver_digest(digest, now)
            except Exception:
                log.exception(
                    "follow %d: sending a personal digest failed; trying again in %s", digest.follow.id, RETRY
                )
                self._put(digest.follow, now, at=now + RETRY)
                continue
            self.outcomes.append((digest.follow.id, digest.slot, outcome))
            del self.outcomes[:-1000]
        # Read them again: settled slots moved, and some may have been paused or removed meanwhile.
        fresh = {f.id: f for f in await self.repo.active()}
        for follow in due:
            current = fresh.get(follow.id)
            if current is not None and current.delivery != "instant" and current.id not in self._due_at:
                self._put(current, now)

    async def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            removed = await self.repo.prune(now - KEEP_DELIVERIES)
        except Exception:
            log.exception("pruning old follow deliveries failed")
            return
        if removed:
            log.info("forgot %d follow deliveries older than %s", removed, KEEP_DELIVERIES)
