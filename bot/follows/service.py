"""Matching new articles to members' follows and sending their DMs exactly once; reconciling what a
crash left open.

The digests' and alerts' design, for direct messages:

1. ``judge_new``: arrivals after the follows' cursor (the alerts' arrivals log, written by the index
   in the same transaction as the article) are matched with the alerts' ``Matcher``; the articles a
   follow takes are stored (``follow_items``, once per follow and article) and the cursor moved, in
   one transaction. A restart neither skips nor repeats an arrival.
2. ``deliver_user`` / ``deliver_digest``: a DM's message and the claim on its articles (or its
   digest slot) are recorded before anything is sent (``begin_delivery``).
3. The DM is sent with a nonce (``enforce_nonce``; the nonce is also in the footer) and its message
   id recorded after (``finish_delivery``).

A crash before 2 leaves the articles waiting (or the slot due): they go out on start. A crash
between 2 and 3 leaves a pending delivery; on start (``recover``) the DM channel's recent messages
are searched for ours with that nonce: found, it is recorded; not found, the recorded message is
sent again with the same nonce. So no crash loses or repeats a DM.

Members' limits: at most ``INSTANT_CAP`` instant DMs per hour, the rest held and sent as one
roundup when the hour has room; nothing during quiet hours, what arrived then is sent as one roundup
when they end. Discord refusing a DM (50007: DMs closed, the bot blocked, no shared server and no
user install) pauses all of the member's follows with that reason (``pause_member``).

Privacy: logs name user and follow ids, never topics, keywords or article titles.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, TypeVar

from bot.alerts.keywords import parse
from bot.alerts.match import AlertFilter, Arrival, ArticleFacts, Matcher, content_failure, decide, topic_key
from bot.db.alert_types import ArrivalRow, ArrivedArticle
from bot.db.follow_types import DeliveryConflict, Follow, FollowDelivery, FollowItem, FollowRepository, Member
from bot.db.types import ArticleSummary, Visibility
from bot.delivery import MAX_NONCE, RECONCILE_MARGIN, base36
from bot.digests.compose import compose, title_story_key
from bot.digests.schedule import Schedule, digest_window, slot_date
from bot.follows.quiet import quiet_until, schedule
from bot.follows.rules import DIGEST_GRACE, DIGEST_ITEMS, INSTANT_CAP, INSTANT_WINDOW, MAX_AGE, ROUNDUP_ITEMS
from bot.render.follow import digest_dm, instant_message, roundup_message
from bot.store.models import Article

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Arrivals judged per transaction.
JUDGE_BATCH: Final = 2000
#: Articles of one digest window read at most (best first): far more than a digest shows.
WINDOW_LIMIT: Final = 5000
#: Said to the member (once, in a command's private answer) when Discord refused a DM.
REFUSED: Final = (
    "Discord refused my direct messages to you: you may have closed direct messages from server members, "
    "blocked me, or left every server we share without adding the app to your account"
)


def digest_nonce(follow_id: int, slot: datetime) -> str:
    """A personal digest's nonce: ``p``, the follow id and the slot's minute (base 36)."""
    return f"p{base36(follow_id)}-{base36(int(slot.timestamp()) // 60)}"


class DmRefused(Exception):
    """Discord will not deliver our DMs to this member (50007): their follows pause with ``reason``."""

    def __init__(self, reason: str = REFUSED) -> None:
        super().__init__(reason)
        self.reason = reason


class DmOutbox(Protocol):
    """Direct messages (Discord, or a fake in tests). ``DmRefused``: the member's follows pause;
    anything else is transient (the delivery stays pending and is retried)."""

    async def open(self, user_id: int) -> int:
        """The DM channel's id (``POST /users/@me/channels``)."""
        ...

    async def send(self, channel_id: int, embeds: Sequence[dict[str, Any]], nonce: str) -> int: ...

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        """Our message sent with ``nonce`` (or carrying its footer marker) after ``after``, if any."""
        ...


class Pacer(Protocol):
    """Where every Discord request of a delivery waits its turn: the bot's paced queue, in its DM lane
    (``bot.alerts.queue.PostQueue.lane``), behind channel alerts and never in a slash-command answer's way."""

    async def call(self, request: Callable[[], Awaitable[T]]) -> T: ...


class FollowCounters(Protocol):
    """Where DMs are counted (``bot.ops.metrics.BotMetrics``)."""

    def follow_dm(self, kind: str, outcome: str) -> None:
        """``kind``: instant, roundup or digest; ``outcome``: sent or refused."""


class Unpaced:
    """No queue: requests go out at once (tests)."""

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        return await request()


class Arrivals(Protocol):
    """The alerts' arrivals log (``bot.db.alert_types.AlertRepository``)."""

    async def last_arrival(self) -> int: ...

    async def arrivals_after(self, seq: int, limit: int) -> list[ArrivalRow]: ...

    async def articles(self, article_ids: Collection[str]) -> list[ArrivedArticle]: ...


class Articles(Protocol):
    async def get(self, article_id: str, vis: Visibility) -> Article | None: ...


@dataclass(frozen=True, slots=True)
class PersonalDigest:
    follow: Follow
    slot: datetime
    since: datetime
    until: datetime
    items: tuple[ArticleSummary, ...]


def schedule_of(follow: Follow) -> Schedule:
    return schedule(follow.at_time, follow.timezone, follow.delivery, follow.weekday)


def follow_filter(follow: Follow, *, for_arrivals: bool = True) -> AlertFilter:
    """The alerts' matcher's view of a follow. Its own user is kept by the caller; ``guild_id`` 0
    (no server) means only arrivals for everyone are judged, never an unhiding in one server. No
    backlog comes from ``after_seq`` (arrivals recorded before the follow), not from publication
    dates: a file added now with this morning's date is news to the member."""
    return AlertFilter(
        id=follow.id,
        guild_id=0,
        topic=topic_key(follow.topic) if follow.topic else None,
        query=parse(follow.keywords) if follow.keywords else None,
        created_at=None,
        paused=not follow.active,
        after_seq=follow.created_seq if for_arrivals else 0,
    )


def facts_of(article: ArrivedArticle | ArticleSummary) -> ArticleFacts:
    published = article.published if isinstance(article, ArrivedArticle) else True
    return ArticleFacts.of(
        article.id,
        article.title,
        article.excerpt,
        article.topics,
        article.provider_domain,
        article.quality,
        published,
        article.published_at,
    )


def summary_of(article: Article) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        title=article.title,
        url=article.url,
        excerpt=article.excerpt,
        published_at=article.published_at,
        provider_name=article.provider.name,
        provider_domain=article.provider.domain,
        image_url=None,
        quality=article.quality,
        heat=article.heat,
        type=article.type,
        topics=article.topics,
    )


#: What every follow shares beyond its topic and keywords (no providers, no quality floor of its own,
#: no server): judged once per article with the alerts' ``decide``.
_ANY = AlertFilter(id=0, guild_id=0, topic=None, query=None)


def match_arrivals(
    matcher: Matcher, arrivals: Sequence[Arrival], vis: Visibility, *, now: datetime, max_age: timedelta
) -> list[tuple[int, Arrival]]:
    """``(follow id, arrival)`` for each active follow an arrival is for: what ``Matcher.judge`` says
    for follows (a property test checks they agree), but an article's visibility and age are
    judged once, not once per follow, since every follow sees the same (the deployment's defaults).
    Arrivals for one server only (an unhiding there) are for no follow."""
    out: list[tuple[int, Arrival]] = []
    for arrival in arrivals:
        if arrival.guild_id is not None:
            continue
        article = arrival.article
        if not decide(_ANY, article, vis, now=now, max_age=max_age).matched:
            continue
        for candidate in matcher.candidates(article):
            if (
                arrival.seq > candidate.after_seq
                and not candidate.paused
                and content_failure(candidate, article) is None
            ):
                out.append((candidate.id, arrival))
    return out


def match_window(follows: Sequence[Follow], window: Sequence[ArticleSummary]) -> dict[int, list[ArticleSummary]]:
    """Each follow's articles among ``window`` (what it is about: topic and keywords), indexed by
    the alerts' ``Matcher`` so an article is tested only against the follows it could match."""
    matcher = Matcher(follow_filter(f, for_arrivals=False) for f in follows)
    out: dict[int, list[ArticleSummary]] = defaultdict(list)
    for article in window:
        facts = facts_of(article)
        for candidate in matcher.candidates(facts):
            if content_failure(candidate, facts) is None:
                out[candidate.id].append(article)
    return out


def shared_story_key() -> Callable[[ArticleSummary], str]:
    """The digests' story key (``title_story_key``), remembered per article: one window's articles
    are composed into thousands of digests, and normalising a title is most of ``compose``'s cost."""
    keys: dict[str, str] = {}

    def key(article: ArticleSummary) -> str:
        found = keys.get(article.id)
        if found is None:
            found = keys[article.id] = title_story_key(article)
        return found

    return key


class FollowService:
    def __init__(
        self,
        repo: FollowRepository,
        arrivals: Arrivals,
        articles: Articles,
        outbox: DmOutbox,
        visibility: Visibility,
        *,
        pacer: Pacer | None = None,
        counters: FollowCounters | None = None,
        max_age: timedelta = MAX_AGE,
        grace: timedelta = DIGEST_GRACE,
    ) -> None:
        """``visibility``: the deployment's defaults (personal deliveries belong to no server)."""
        self.repo = repo
        self.arrivals = arrivals
        self.articles = articles
        self.outbox = outbox
        self.vis = visibility
        self.pacer: Pacer = pacer or Unpaced()
        self.counters = counters
        self.max_age = max_age
        self.grace = grace
        self._locks: dict[int, asyncio.Lock] = {}
        self._last_ms = 0

    def _lock(self, user_id: int) -> asyncio.Lock:
        # One delivery per member at a time: the loop, digests and `/follow forget` never race.
        return self._locks.setdefault(user_id, asyncio.Lock())

    def _nonce(self, user_id: int, now: datetime) -> str:
        # Unique per process: milliseconds, never twice the same (one process sends all DMs).
        ms = max(int(now.timestamp() * 1000), self._last_ms + 1)
        self._last_ms = ms
        nonce = f"f{base36(user_id)}-{base36(ms)}"
        assert len(nonce) <= MAX_NONCE
        return nonce

    # --- judging ---------------------------------------------------------------------------------

    async def judge_new(self, now: datetime) -> int:
        """Match every arrival after the cursor against the active instant follows; returns how many
        articles were taken."""
        start = await self.repo.cursor()
        follows = await self.repo.active("instant")
        owner = {f.id: f.user_id for f in follows}
        matcher = Matcher(follow_filter(f) for f in follows)
        taken = 0
        while True:
            rows = await self.arrivals.arrivals_after(start, JUDGE_BATCH)
            if not rows:
                return taken
            items: list[tuple[int, int, str, int]] = []
            if follows:
                stored = {a.id: facts_of(a) for a in await self.arrivals.articles({r.article_id for r in rows})}
                arrivals = [Arrival(r.seq, stored[r.article_id], r.guild_id) for r in rows if r.article_id in stored]
                matched = match_arrivals(matcher, arrivals, self.vis, now=now, max_age=self.max_age)
                items = [(fid, owner[fid], a.article.id, a.seq) for fid, a in matched]
            taken += await self.repo.record_matched(rows[-1].seq, items, now)
            start = rows[-1].seq

    # --- sending ---------------------------------------------------------------------------------

    async def _channel(self, member: Member) -> int:
        if member.dm_channel_id is not None:
            return member.dm_channel_id
        channel_id = await self.pacer.call(lambda: self.outbox.open(member.user_id))
        await self.repo.set_dm_channel(member.user_id, channel_id)
        return channel_id

    async def _send(self, delivery: FollowDelivery, member: Member, now: datetime) -> bool:
        """Send a recorded DM; False when Discord refused it (the member is paused)."""
        embeds: list[dict[str, Any]] = json.loads(delivery.payload)
        try:
            channel_id = await self._channel(member)
            message_id = await self.pacer.call(lambda: self.outbox.send(channel_id, embeds, delivery.nonce))
        except DmRefused as exc:
            await self.repo.abandon_delivery(delivery.id, at=now)
            if delivery.follow_id is not None and delivery.slot is not None:
                await self.repo.settle(delivery.follow_id, delivery.slot)
            await self.repo.pause_member(member.user_id, exc.reason)
            log.warning("follows of user %d paused: Discord refused a direct message", member.user_id)
            self._count(delivery.kind, "refused")
            return False
        await self.repo.finish_delivery(delivery.id, message_id=message_id, at=now)
        self._count(delivery.kind, "sent")
        log.info("user %d: sent a %s DM (message %d)", member.user_id, delivery.kind, message_id)
        return True

    def _count(self, kind: str, outcome: str) -> None:
        if self.counters is not None:
            self.counters.follow_dm(kind, outcome)

    async def _complete(self, delivery: FollowDelivery, member: Member, now: datetime) -> bool:
        """A pending DM: record it if it was sent, else send it again (or give it up); False when
        the member is (now) paused."""
        if member.paused_reason is not None:
            await self.repo.abandon_delivery(delivery.id, at=now)
            return False
        if member.dm_channel_id is not None:
            channel_id = member.dm_channel_id
            after = delivery.created_at - RECONCILE_MARGIN
            found = await self.pacer.call(lambda: self.outbox.find(channel_id, delivery.nonce, after=after))
            if found is not None:
                log.info("user %d: DM %s was sent before a restart (message %d)", member.user_id, delivery.nonce, found)
                await self.repo.finish_delivery(delivery.id, message_id=found, at=now)
                return True
        if delivery.slot is not None and now - delivery.slot > self.grace:
            log.warning("user %d: giving up personal digest %s (too late)", member.user_id, delivery.nonce)
            await self.repo.abandon_delivery(delivery.id, at=now)
            if delivery.follow_id is not None:
                await self.repo.settle(delivery.follow_id, delivery.slot)
            return True
        return await self._send(delivery, member, now)

    async def recover(self, now: datetime) -> int:
        """Settle every DM a crash left pending; one failing member does not stop the others."""
        done = 0
        for delivery in await self.repo.pending():
            try:
                async with self._lock(delivery.user_id):
                    member = await self.repo.member(delivery.user_id)
                    if member is None:
                        continue
                    await self._complete(delivery, member, now)
                    done += 1
            except Exception:
                log.exception("could not reconcile DM %s of user %d", delivery.nonce, delivery.user_id)
        return done

    # --- instant ---------------------------------------------------------------------------------

    async def deliver_user(self, user_id: int, now: datetime) -> datetime | None:
        """Finish the member's pending DMs, then send what waits within the cap and outside quiet
        hours. Returns when held articles can go out (None: nothing waits)."""
        async with self._lock(user_id):
            member = await self.repo.member(user_id)
            if member is None:
                return None
            for delivery in await self.repo.pending(user_id):
                if not await self._complete(delivery, member, now):
                    return None
                member = await self.repo.member(user_id) or member
            if member.paused_reason is not None:
                return None
            waiting = await self.repo.waiting(user_id)
            if not waiting:
                return None
            quiet_end = quiet_until(member.quiet_start, member.quiet_end, member.timezone, now)
            if quiet_end is not None:
                await self._hold(user_id, waiting)
                return quiet_end
            sent = await self.repo.sent_since(user_id, now - INSTANT_WINDOW)
            free = INSTANT_CAP - len(sent)
            if free <= 0:
                await self._hold(user_id, waiting)
                return sent[0] + INSTANT_WINDOW
            groups: dict[str, list[FollowItem]] = defaultdict(list)
            for item in waiting:
                groups[item.article_id].append(item)
            if any(item.held for item in waiting):
                await self._roundup(member, groups, now)
                return None
            ordered = list(groups.items())
            later = ordered[free:]
            if later:
                await self._hold(user_id, [i for _, items in later for i in items])
            for article_id, items in ordered[:free]:
                article = await self.articles.get(article_id, self.vis)
                keys = [(i.follow_id, i.article_id) for i in items]
                if article is None:
                    await self.repo.drop(keys)
                    continue
                nonce = self._nonce(user_id, now)
                payload = instant_message(article, [i.follow_id for i in items], nonce)
                delivery = await self.repo.begin_delivery(
                    user_id, kind="instant", nonce=nonce, payload=json.dumps(payload), article_keys=keys, at=now
                )
                if not await self._send(delivery, member, now):
                    return None
            if later:
                return (sent[0] if sent else now) + INSTANT_WINDOW
            return None

    async def _hold(self, user_id: int, items: Sequence[FollowItem]) -> None:
        fresh = [(i.follow_id, i.article_id) for i in items if not i.held]
        if fresh:
            await self.repo.hold(user_id, fresh)

    async def _roundup(self, member: Member, groups: dict[str, list[FollowItem]], now: datetime) -> None:
        found: list[ArticleSummary] = []
        keys: list[tuple[int, str]] = []
        gone: list[tuple[int, str]] = []
        for article_id, items in groups.items():
            article = await self.articles.get(article_id, self.vis)
            pairs = [(i.follow_id, i.article_id) for i in items]
            if article is None:
                gone += pairs
            else:
                found.append(summary_of(article))
                keys += pairs
        if gone:
            await self.repo.drop(gone)
        if not found:
            return
        nonce = self._nonce(member.user_id, now)
        why = "Held back by your quiet hours or the hourly limit"
        payload = roundup_message(found, why, nonce, limit=ROUNDUP_ITEMS)
        delivery = await self.repo.begin_delivery(
            member.user_id, kind="roundup", nonce=nonce, payload=json.dumps(payload), article_keys=keys, at=now
        )
        await self._send(delivery, member, now)

    # --- personal digests ------------------------------------------------------------------------

    async def compose_digests(self, due: Sequence[tuple[Follow, datetime]]) -> list[PersonalDigest]:
        """What each due (follow, slot) would send. Follows due together mostly share a window: each
        window's articles are read and matched once, for all of them."""
        groups: dict[tuple[datetime, datetime], list[tuple[Follow, datetime]]] = defaultdict(list)
        for follow, slot in due:
            since, until = digest_window(schedule_of(follow), slot, follow.last_slot)
            groups[(since, until)].append((follow, slot))
        out: list[PersonalDigest] = []
        for (since, until), members in groups.items():
            window = await self.repo.window(since=since, until=until, vis=self.vis, limit=WINDOW_LIMIT)
            matched = match_window([f for f, _ in members], window)
            ids = {a.id for articles in matched.values() for a in articles}
            delivered = await self.repo.delivered(list(matched), ids)
            taken: dict[int, set[str]] = defaultdict(set)
            for follow_id, article_id in delivered:
                taken[follow_id].add(article_id)
            story_key = shared_story_key()
            for follow, slot in members:
                items = compose(
                    matched.get(follow.id, ()),
                    delivered_ids=taken.get(follow.id, set()),
                    since=since,
                    until=until,
                    min_quality=self.vis.min_quality,
                    max_items=DIGEST_ITEMS,
                    story_key=story_key,
                )
                out.append(PersonalDigest(follow, slot, since, until, tuple(items)))
        return out

    async def deliver_digest(self, digest: PersonalDigest, now: datetime) -> str:
        """Send one personal digest exactly once; returns what happened (for logs and tests)."""
        follow, slot = digest.follow, digest.slot
        async with self._lock(follow.user_id):
            member = await self.repo.member(follow.user_id)
            if member is None or member.paused_reason is not None:
                return "paused"
            existing = await self.repo.delivery_for_slot(follow.id, slot)
            if existing is not None:
                if existing.state == "pending":
                    await self._complete(existing, member, now)
                return "already"
            if not digest.items:
                await self.repo.settle(follow.id, slot)
                return "empty"
            nonce = digest_nonce(follow.id, slot)
            payload = digest_dm(follow, slot_date(schedule_of(follow), slot), digest.items, nonce)
            try:
                delivery = await self.repo.begin_delivery(
                    follow.user_id,
                    kind="digest",
                    nonce=nonce,
                    payload=json.dumps(payload),
                    article_keys=[(follow.id, a.id) for a in digest.items],
                    at=now,
                    follow_id=follow.id,
                    slot=slot,
                )
            except DeliveryConflict:
                log.warning("follow %d: digest %s was recorded concurrently; not sending", follow.id, nonce)
                return "already"
            return "sent" if await self._send(delivery, member, now) else "paused"

    # --- privacy ---------------------------------------------------------------------------------

    async def forget(self, user_id: int) -> int:
        """Delete everything about the member, waiting for a DM being sent to them to finish first."""
        async with self._lock(user_id):
            removed = await self.repo.forget(user_id)
        self._locks.pop(user_id, None)
        log.info("user %d: forgot everything stored about them", user_id)
        return removed
