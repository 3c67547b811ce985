"""Judging arrivals and delivering alert posts exactly once; reconciling what a crash left open.

The digests' design (``bot.delivery``), step by step:

1. ``judge_new``: arrivals after the alerts' cursors are matched (``bot.alerts.match``); the articles
   an alert takes are queued (``alert_items``, once per alert and article), skips noted, and the
   cursors moved, in one transaction. A restart neither skips nor repeats an arrival.
2. ``deliver``: a post's plan (its messages, thread, publish: every payload rendered) and the claim
   on its articles are recorded before anything is sent (``begin_delivery``).
3. Each step is sent with a nonce (``enforce_nonce``; the nonce is also in the embed footer), and its
   result (a message id) recorded after (``step_done``); the last one settles the delivery.

A crash before 2 leaves the articles waiting: they are delivered on start. A crash during 3 leaves a
pending delivery; on start (``recover``) its first unfinished step is looked for (the message with
that nonce; the thread started from the message; the forum post with that marker; the publish
flag): found, it is recorded; not found, it is done again. So no crash loses or repeats a post.

Floods: an alert makes at most ``posts_per_window`` posts per ``FLOOD_WINDOW``; what exceeds it is
held and goes out as one roundup (as many messages as its lines need) when the window has room.
Pings stop after ``MAX_PINGS`` per hour, publishing after Discord's ``MAX_PUBLISHES`` per channel
per hour; each post records whether it was limited, for ``/alert list``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol

from bot.alerts.keywords import parse
from bot.alerts.match import AlertFilter, Arrival, ArticleFacts, Decision, Matcher, decide, topic_key
from bot.alerts.rules import (
    FLOOD_WINDOW,
    MAX_FORUM_TAGS,
    MAX_PINGS,
    MAX_PUBLISHES,
    PING_WINDOW,
    PUBLISH_WINDOW,
    Reason,
)
from bot.db.alert_types import Alert, AlertDelivery, AlertItem, AlertRepository, ArrivedArticle, DeliveryKind, Skip
from bot.db.types import RelatedItem, Visibility
from bot.delivery import MAX_NONCE, RECONCILE_MARGIN, ChannelUnavailable, TryLater, base36
from bot.render.alert import (
    Message,
    card_message,
    compact_message,
    related_message,
    roundup_messages,
    thread_name,
)
from bot.store.models import Article

log = logging.getLogger(__name__)

#: Arrivals judged per transaction.
JUDGE_BATCH: Final = 2000
RELATED_LIMIT: Final = 10
#: How many recent articles ``/alert test`` looks through for the newest match.
TEST_CANDIDATES: Final = 100

Visibilities = Callable[[int], Awaitable[Visibility]]
Audit = Callable[[int, int, str, Mapping[str, object]], Awaitable[None]]


class AlertOutbox(Protocol):
    """Where alerts post (Discord, or a fake in tests). ``ChannelUnavailable``: the alert pauses;
    ``TryLater`` (or any other error): the delivery stays pending and is retried."""

    def problem(self, alert: Alert) -> str | None:
        """Why the alert cannot post now (channel deleted, a permission missing, role or forum tag
        deleted), or None."""
        ...

    def forum_tags(self, channel_id: int) -> list[tuple[int, str]]:
        """The forum's available tags (id, name)."""
        ...

    async def send(self, channel_id: int, message: Message, nonce: str) -> int: ...

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None: ...

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int: ...

    async def thread_exists(self, thread_id: int) -> bool: ...

    async def forum_post(self, forum_id: int, name: str, tags: Sequence[int], message: Message, nonce: str) -> int:
        """Create a forum post; returns its thread id (its first message has the same id)."""
        ...

    async def find_forum_post(self, forum_id: int, nonce: str, *, after: datetime) -> int | None: ...

    async def publish(self, channel_id: int, message_id: int) -> None:
        """Crosspost; a message already published counts as done."""
        ...


class Articles(Protocol):
    async def get(self, article_id: str, vis: Visibility) -> Article | None: ...

    async def related(self, article_id: str, vis: Visibility, limit: int = 10) -> list[RelatedItem]: ...


Kind = Literal["posted", "held", "paused", "retry", "idle", "dropped"]


class AlertCounters(Protocol):
    """Where deliveries are counted (``bot.ops.metrics.BotMetrics``)."""

    def alert_delivery(self, style: str, kind: str, outcome: str) -> None:
        """``kind``: post, roundup or test; ``outcome``: posted, paused or retry."""

    def alert_paused(self) -> None: ...


def style_of(alert: Alert) -> str:
    """The alert's style as counted: ``forum`` in a forum channel, else its own style."""
    return "forum" if alert.channel_kind == "forum" else alert.style


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    detail: str = ""
    message_id: int | None = None
    count: int = 0


def facts(article: ArrivedArticle | Article) -> ArticleFacts:
    if isinstance(article, Article):
        return ArticleFacts.of(
            article.id,
            article.title,
            article.excerpt,
            article.topics,
            article.provider.domain,
            article.quality,
            article.published,
            article.published_at,
        )
    return ArticleFacts.of(
        article.id,
        article.title,
        article.excerpt,
        article.topics,
        article.provider_domain,
        article.quality,
        article.published,
        article.published_at,
    )


def alert_filter(alert: Alert, *, ignore_time: bool = False) -> AlertFilter:
    return AlertFilter(
        id=alert.id,
        guild_id=alert.guild_id,
        topic=topic_key(alert.topic) if alert.topic else None,
        query=parse(alert.keywords) if alert.keywords else None,
        providers=frozenset(alert.providers),
        min_quality=alert.min_quality,
        created_at=None if ignore_time else alert.created_at,
        paused=alert.paused and not ignore_time,
        after_seq=alert.cursor,
    )


def forum_tags_for(topics: Sequence[str], tags: Sequence[tuple[int, str]]) -> list[int]:
    """The forum's tags whose names equal the article's topics (case-insensitively), at most 5."""
    by_name = {topic_key(name): tag_id for tag_id, name in tags}
    found = [by_name[topic_key(t)] for t in topics if topic_key(t) in by_name]
    return list(dict.fromkeys(found))[:MAX_FORUM_TAGS]


def jump_link(guild_id: int, delivery: AlertDelivery) -> str | None:
    if delivery.message_id is None:
        return None
    channel = delivery.thread_id if delivery.thread_id is not None else delivery.channel_id
    return f"https://discord.com/channels/{guild_id}/{channel}/{delivery.message_id}"


@dataclass(frozen=True, slots=True)
class WhyAnswer:
    alert: Alert
    posted: bool
    detail: str
    link: str | None = None


class AlertService:
    def __init__(
        self,
        repo: AlertRepository,
        articles: Articles,
        outbox: AlertOutbox,
        visibility_for: Visibilities,
        *,
        max_age: timedelta,
        clock: Callable[[], datetime],
        audit: Audit | None = None,
        counters: AlertCounters | None = None,
    ) -> None:
        self.repo = repo
        self.counters = counters
        self.articles = articles
        self.outbox = outbox
        self.visibility_for = visibility_for
        self.max_age = max_age
        self.clock = clock
        self.audit = audit
        self._locks: dict[int, asyncio.Lock] = {}
        self._last_ms = 0

    def _lock(self, alert_id: int) -> asyncio.Lock:
        # One delivery per alert at a time: the loop and `/alert test` never race.
        return self._locks.setdefault(alert_id, asyncio.Lock())

    def forget(self, alert_id: int) -> None:
        self._locks.pop(alert_id, None)

    def _nonce(self, kind: str, alert_id: int) -> str:
        # Milliseconds never twice the same in a process, and a random tail so that a restarted
        # process (or a clock set back) does not repeat an earlier delivery's nonce.
        ms = max(int(self.clock().timestamp() * 1000), self._last_ms + 1)
        self._last_ms = ms
        nonce = f"{kind}{base36(alert_id)}-{base36(ms)}{base36(secrets.randbelow(36**3)):0>3}"
        assert len(nonce) + 3 <= MAX_NONCE  # room for ".NN" step suffixes
        return nonce

    # --- judging ---------------------------------------------------------------------------------

    async def judge_new(self, owns: Callable[[int], bool] = lambda guild_id: True) -> int:
        """Judge every arrival after the owned alerts' cursors; returns how many posts were queued."""
        alerts = [a for a in await self.repo.all() if owns(a.guild_id)]
        if not alerts:
            return 0
        start = min(a.cursor for a in alerts)
        filters = [alert_filter(a) for a in alerts]
        matcher = Matcher(filters)
        vis_cache: dict[int, Visibility] = {}
        queued = 0
        while True:
            rows = await self.repo.arrivals_after(start, JUDGE_BATCH)
            if not rows:
                return queued
            now = self.clock()
            stored = {a.id: facts(a) for a in await self.repo.articles({r.article_id for r in rows})}
            arrivals = [Arrival(r.seq, stored[r.article_id], r.guild_id) for r in rows if r.article_id in stored]
            for guild_id in {f.guild_id for f in filters} - vis_cache.keys():
                vis_cache[guild_id] = await self.visibility_for(guild_id)
            judged = matcher.judge(arrivals, vis_cache.__getitem__, now=now, max_age=self.max_age)
            items = [
                (j.alert.id, j.arrival.article.id, j.arrival.seq, j.arrival.article.title)
                for j in judged
                if j.decision.matched
            ]
            skips = [
                Skip(j.alert.id, j.arrival.article.id, j.arrival.article.title, j.decision.detail)
                for j in judged
                if not j.decision.matched and j.decision.reason not in (Reason.TOPIC, Reason.KEYWORDS)
            ]
            queued += await self.repo.record_judged([a.id for a in alerts], rows[-1].seq, items, skips, now)
            start = rows[-1].seq

    # --- delivering ------------------------------------------------------------------------------

    async def deliver(self, alert_id: int) -> Outcome:
        """Finish what is pending, then post what waits, within the alert's limits."""
        async with self._lock(alert_id):
            alert = await self.repo.get(alert_id)
            if alert is None:
                return Outcome("idle", "the alert was removed")
            finished = Outcome("idle")
            for delivery in await self.repo.pending(alert.id):
                finished = await self._complete(delivery, alert)
                if finished.kind in ("paused", "retry"):
                    return finished
            alert = await self.repo.get(alert_id)
            if alert is None or alert.paused:
                return Outcome("idle", "paused")
            waiting = await self.repo.waiting(alert.id)
            if not waiting:
                return finished
            problem = self.outbox.problem(alert)
            if problem is not None:
                await self.pause_for(alert, problem)
                return Outcome("paused", problem)
            now = self.clock()
            used = await self.repo.sent_since(alert.id, now - FLOOD_WINDOW)
            free = alert.posts_per_window - used
            if free <= 0:
                fresh = [i.article_id for i in waiting if not i.held]
                if fresh:
                    await self.repo.hold(alert.id, fresh)
                return Outcome("held", f"{len(waiting)} held until the window has room")
            vis = await self.visibility_for(alert.guild_id)
            if any(i.held for i in waiting):
                return await self._roundup(alert, waiting, vis)
            now_items, later = waiting[:free], waiting[free:]
            if later:
                await self.repo.hold(alert.id, [i.article_id for i in later])
            last = Outcome("idle")
            for item in now_items:
                last = await self._post(alert, item, vis)
                if last.kind in ("paused", "retry"):
                    return last
            return last

    async def _ping(self, alert: Alert) -> tuple[int | None, bool]:
        """The role to ping now (None once the hourly cap is reached), and whether it was capped."""
        if alert.role_id is None:
            return None, False
        if await self.repo.pings_since(alert.id, self.clock() - PING_WINDOW) >= MAX_PINGS:
            return None, True
        return alert.role_id, False

    async def _publish(self, alert: Alert) -> tuple[bool, bool]:
        if not alert.publish or alert.channel_kind != "announcement":
            return False, False
        if await self.repo.publishes_since(alert.channel_id, self.clock() - PUBLISH_WINDOW) >= MAX_PUBLISHES:
            return False, True
        return True, False

    async def _gone(self, alert: Alert, items: Sequence[AlertItem]) -> None:
        for item in items:
            skip = Skip(alert.id, item.article_id, item.title, "it was removed or hidden before it could be posted")
            await self.repo.drop(alert.id, [item.article_id], skip, self.clock())

    def _plan(
        self,
        alert: Alert,
        article: Article,
        nonce: str,
        role: int | None,
        publish: bool,
        related: list[RelatedItem],
        *,
        test: bool = False,
    ) -> list[dict[str, Any]]:
        kwargs = {"alert_id": alert.id, "role_id": role, "template": alert.template, "test": test}
        if alert.channel_kind == "forum":
            tags = forum_tags_for(article.topics, self.outbox.forum_tags(alert.channel_id))
            first = card_message(article, nonce=f"{nonce}.0", **kwargs)  # type: ignore[arg-type]
            name = thread_name(("[test] " if test else "") + article.title)
            return [{"op": "forum", "name": name, "tags": tags, "message": first, "nonce": f"{nonce}.0"}]
        if alert.style == "compact":
            steps = [
                {
                    "op": "send",
                    "to": "channel",
                    "message": compact_message(article, nonce=f"{nonce}.0", **kwargs),  # type: ignore[arg-type]
                    "nonce": f"{nonce}.0",
                }
            ]
        else:
            card = card_message(article, nonce=f"{nonce}.0", **kwargs)  # type: ignore[arg-type]
            steps = [{"op": "send", "to": "channel", "message": card, "nonce": f"{nonce}.0"}]
        if publish:
            steps.append({"op": "publish"})
        if alert.style == "thread":
            steps.append({"op": "thread", "name": thread_name(article.title)})
            steps.append(
                {
                    "op": "send",
                    "to": "thread",
                    "message": related_message(article, related, nonce=f"{nonce}.2"),
                    "nonce": f"{nonce}.2",
                }
            )
        return steps

    async def _post(self, alert: Alert, item: AlertItem, vis: Visibility) -> Outcome:
        article = await self.articles.get(item.article_id, vis)
        if article is None:
            await self._gone(alert, [item])
            return Outcome("dropped", "the article is gone")
        role, ping_limited = await self._ping(alert)
        publish, publish_limited = await self._publish(alert)
        related = await self.articles.related(article.id, vis, RELATED_LIMIT) if alert.style == "thread" else []
        nonce = self._nonce("a", alert.id)
        steps = self._plan(alert, article, nonce, role, publish, related)
        delivery = await self.repo.begin_delivery(
            alert.id,
            kind="post",
            nonce=nonce,
            channel_id=alert.channel_id,
            plan=json.dumps(steps, ensure_ascii=False),
            article_ids=[item.article_id],
            pinged=role is not None,
            publish=publish,
            publish_limited=publish_limited,
            ping_limited=ping_limited,
            at=self.clock(),
        )
        return await self._run(delivery, alert, steps, reconcile=False)

    async def _roundup(self, alert: Alert, waiting: Sequence[AlertItem], vis: Visibility) -> Outcome:
        found: list[tuple[AlertItem, Article]] = []
        gone: list[AlertItem] = []
        for item in waiting:
            article = await self.articles.get(item.article_id, vis)
            if article is None:
                gone.append(item)
            else:
                found.append((item, article))
        if gone:
            await self._gone(alert, gone)
        if not found:
            return Outcome("dropped", "the held articles are gone")
        role, ping_limited = await self._ping(alert)
        nonce = self._nonce("r", alert.id)
        lines = [(a.title, a.url, a.provider.name or a.provider.domain) for _, a in found]
        messages = roundup_messages(alert.id, lines, nonce=nonce, role_id=role)
        steps: list[dict[str, Any]]
        if alert.channel_kind == "forum":
            title = messages[0]["embeds"][0].get("title") or "More new articles"
            steps = [
                {"op": "forum", "name": thread_name(title), "tags": [], "message": messages[0], "nonce": f"{nonce}.0"}
            ]
            steps += [
                {"op": "send", "to": "thread", "message": m, "nonce": f"{nonce}.{i}"}
                for i, m in enumerate(messages[1:], start=1)
            ]
        else:
            steps = [
                {"op": "send", "to": "channel", "message": m, "nonce": f"{nonce}.{i}"} for i, m in enumerate(messages)
            ]
        delivery = await self.repo.begin_delivery(
            alert.id,
            kind="roundup",
            nonce=nonce,
            channel_id=alert.channel_id,
            plan=json.dumps(steps, ensure_ascii=False),
            article_ids=[i.article_id for i, _ in found],
            pinged=role is not None,
            publish=False,
            publish_limited=False,
            ping_limited=ping_limited,
            at=self.clock(),
        )
        return await self._run(delivery, alert, steps, reconcile=False)

    async def _complete(self, delivery: AlertDelivery, alert: Alert) -> Outcome:
        """A pending delivery (after a crash or a failed attempt): finish it from where it stopped."""
        if not delivery.plan:
            return Outcome("idle")
        steps: list[dict[str, Any]] = json.loads(delivery.plan)
        return await self._run(delivery, alert, steps, reconcile=True)

    async def _run(
        self, delivery: AlertDelivery, alert: Alert, steps: list[dict[str, Any]], *, reconcile: bool
    ) -> Outcome:
        outcome = await self._attempt(delivery, alert, steps, reconcile=reconcile)
        if self.counters is not None and outcome.kind in ("posted", "paused", "retry"):
            self.counters.alert_delivery(style_of(alert), delivery.kind, outcome.kind)
        return outcome

    async def _attempt(
        self, delivery: AlertDelivery, alert: Alert, steps: list[dict[str, Any]], *, reconcile: bool
    ) -> Outcome:
        results: list[int | None] = list(delivery.results) + [None] * (len(steps) - len(delivery.results))
        after = delivery.created_at - RECONCILE_MARGIN
        channel = delivery.channel_id
        checked = not reconcile  # only the first unfinished step may have been tried before
        thread: int | None = None
        try:
            for i, step in enumerate(steps):
                op = step["op"]
                if op in ("thread", "forum") and results[i] is not None:
                    thread = results[i]
                if results[i] is not None:
                    continue
                look = not checked
                checked = True
                if op == "send":
                    target = channel if step["to"] == "channel" else thread
                    assert target is not None
                    found = await self.outbox.find(target, step["nonce"], after=after) if look else None
                    results[i] = (
                        found if found is not None else await self.outbox.send(target, step["message"], step["nonce"])
                    )
                elif op == "forum":
                    found = await self.outbox.find_forum_post(channel, step["nonce"], after=after) if look else None
                    results[i] = (
                        found
                        if found is not None
                        else await self.outbox.forum_post(
                            channel, step["name"], step["tags"], step["message"], step["nonce"]
                        )
                    )
                    thread = results[i]
                elif op == "thread":
                    first = results[0]
                    assert first is not None
                    if look and await self.outbox.thread_exists(first):
                        results[i] = first
                    else:
                        results[i] = await self.outbox.start_thread(channel, first, step["name"])
                    thread = results[i]
                elif op == "publish":
                    first = results[0]
                    assert first is not None
                    await self.outbox.publish(channel, first)
                    results[i] = first
                await self.repo.step_done(delivery.id, results)
        except ChannelUnavailable as exc:
            if results[0] is None:
                await self.repo.abandon_delivery(delivery.id, at=self.clock(), note=f"not posted: {exc.reason}")
            else:
                await self.repo.finish_delivery(
                    delivery.id,
                    message_id=results[0],
                    thread_id=thread,
                    at=self.clock(),
                    note=f"incomplete: {exc.reason}",
                )
            await self.pause_for(alert, exc.reason)
            return Outcome("paused", exc.reason)
        except (TryLater, TimeoutError, OSError) as exc:
            log.warning("alert %d: delivery %s failed for now (%s); it stays pending", alert.id, delivery.nonce, exc)
            return Outcome("retry", str(exc) or type(exc).__name__)
        first_id = results[0]
        await self.repo.finish_delivery(delivery.id, message_id=first_id, thread_id=thread, at=self.clock())
        count = len(delivery.article_ids)
        log.info(
            "alert %d: %s %s sent (%d article(s), message %s)", alert.id, delivery.kind, delivery.nonce, count, first_id
        )
        return Outcome("posted", delivery.kind, message_id=first_id, count=count)

    async def pause_for(self, alert: Alert, reason: str) -> None:
        """Pause an alert that cannot post; ``/alert resume`` restarts it. Its waiting articles stay."""
        log.warning("alert %d paused: %s", alert.id, reason)
        await self.repo.set_paused(alert.id, paused=True, reason=reason)
        if self.counters is not None:
            self.counters.alert_paused()
        if self.audit is not None:
            details = {"alert": alert.id, "channel": alert.channel_id, "reason": reason}
            try:
                await self.audit(alert.guild_id, 0, "alert.pause", details)
            except Exception:
                log.exception("auditing the pause of alert %d failed", alert.id)

    async def recover(self, owns: Callable[[int], bool] = lambda guild_id: True) -> list[Outcome]:
        """Settle every delivery a crash left pending; one failing does not stop the others."""
        outcomes: list[Outcome] = []
        for delivery in await self.repo.pending():
            try:
                alert = await self.repo.get(delivery.alert_id)
                if alert is None or not owns(alert.guild_id):
                    continue
                async with self._lock(alert.id):
                    outcomes.append(await self._complete(delivery, alert))
            except Exception:
                log.exception("could not reconcile delivery %s of alert %d", delivery.nonce, delivery.alert_id)
        return outcomes

    # --- moderators' tools -------------------------------------------------------------------------

    async def test_post(self, alert: Alert, candidates: Sequence[Article]) -> Outcome:
        """Post the newest of ``candidates`` the alert matches (ignoring its age and creation time),
        marked as a test; it is not recorded as delivered. Raises ``ChannelUnavailable``."""
        vis = await self.visibility_for(alert.guild_id)
        rule = alert_filter(alert, ignore_time=True)
        now = self.clock()
        for article in sorted(candidates, key=lambda a: a.published_at, reverse=True):
            if decide(rule, facts(article), vis, now=now, max_age=timedelta(days=36500)).matched:
                break
        else:
            return Outcome("idle", "no recent article matches this alert")
        problem = self.outbox.problem(alert)
        if problem is not None:
            raise ChannelUnavailable(problem)
        async with self._lock(alert.id):
            related = await self.articles.related(article.id, vis, RELATED_LIMIT) if alert.style == "thread" else []
            nonce = self._nonce("t", alert.id)
            # No ping and no publishing for a test: nobody should be woken up or followed for it.
            steps = self._plan(alert, article, nonce, None, False, related, test=True)
            delivery = await self.repo.begin_delivery(
                alert.id,
                kind="test",
                nonce=nonce,
                channel_id=alert.channel_id,
                plan=json.dumps(steps, ensure_ascii=False),
                article_ids=[],
                pinged=False,
                publish=False,
                publish_limited=False,
                ping_limited=False,
                at=now,
            )
            outcome = await self._run(delivery, alert, steps, reconcile=False)
        if outcome.kind == "paused":
            raise ChannelUnavailable(outcome.detail)
        return Outcome(outcome.kind, article.title, outcome.message_id)

    async def why(self, alert: Alert, article: Article) -> WhyAnswer:
        """Whether ``alert`` posted ``article``, or the first reason it did not."""
        taken = await self.repo.delivery_of(alert.id, article.id)
        if taken is not None:
            item, delivery = taken
            if delivery is not None and delivery.state == "sent":
                what = "in a roundup" if delivery.kind == "roundup" else ""
                return WhyAnswer(alert, True, f"posted {what}".strip(), jump_link(alert.guild_id, delivery))
            if delivery is not None:
                return WhyAnswer(alert, False, "being posted right now")
            if item.held:
                return WhyAnswer(
                    alert, False, f"{Reason.HELD.value}: held back by the rate limit; it goes out in the next roundup"
                )
            return WhyAnswer(alert, False, "waiting to be posted (within a few seconds)")
        vis = await self.visibility_for(alert.guild_id)
        decision: Decision = decide(alert_filter(alert), facts(article), vis, now=self.clock(), max_age=self.max_age)
        if not decision.matched:
            return WhyAnswer(alert, False, decision.detail)
        if alert.last_skip_article == article.id and alert.last_skip_reason:
            return WhyAnswer(alert, False, alert.last_skip_reason)
        if alert.cursor < await self.repo.last_arrival():
            return WhyAnswer(alert, False, "it matches and is being checked now")
        return WhyAnswer(
            alert, False, "it matches now, but did not when it arrived (the alert or the article changed since)"
        )


def kind_of(delivery: AlertDelivery) -> DeliveryKind:
    return delivery.kind
