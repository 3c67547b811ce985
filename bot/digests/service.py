"""Composing one digest and delivering it exactly once; reconciling what a crash left open.

Exactly once, step by step (``deliver_slot``):

1. The slot's delivery row, the chosen article ids and the rendered message are written in one
   transaction *before* anything is sent (``begin_delivery``). A slot can be recorded once.
2. The message is sent with a nonce derived from the digest and the slot (``nonce_for``) and
   ``enforce_nonce``, and the nonce is also written into the header's footer.
3. The message id is recorded *after* (``finish_delivery``), which settles the slot.

A crash before 1 leaves nothing: the slot is still due and is delivered on start (within the grace
window). A crash between 1 and 3 leaves a *pending* delivery; on start (``recover``) the channel's
recent messages are searched for our message with that nonce (or the footer marker): found, it is
recorded; not found, the recorded message is sent again with the same nonce (Discord returns the
earlier message instead of posting twice if it did arrive). So no crash loses or repeats a
delivery. Discord I/O goes through the small ``Outbox`` protocol, so all of this is testable
without Discord.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time as monotonic_time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final, Literal, Protocol

import discord

from bot.db.digest_types import Candidates, Delivery, DeliveryConflict, Digest, DigestRepository
from bot.db.types import ArticleSummary, Visibility
from bot.delivery import (
    RECONCILE_MARGIN,
    base36,
    find_own_message,
    marker,
)
from bot.delivery import (
    ChannelUnavailable as ChannelUnavailable,  # re-exported: callers catch it from here
)
from bot.digests.compose import StoryKey, compose, key_from_groups, story_groups
from bot.digests.schedule import (
    DEFAULT_GRACE,
    Schedule,
    digest_window,
    first_window,
    nonce_for,
    parse_cadence,
    previous_slot,
    slot_date,
)
from bot.render.digest import MESSAGE_TOTAL, digest_date_text, digest_message, message_text_length
from bot.render.embeds import Limit

log = logging.getLogger(__name__)

#: Candidates fetched per composition: the best-ranked ones of the window, far more than any digest shows.
CANDIDATE_LIMIT: Final = 500
WINDOW_CACHE_SECONDS: Final = 30.0
WINDOW_CACHE_SIZE: Final = 512
#: A slot is "on time" this long after it passed, whatever the grace window for downtime says.
ON_TIME: Final = timedelta(minutes=5)

Visibilities = Callable[[int], Awaitable[Visibility]]
#: ``audit(guild_id, user_id, action, details)``; user 0 is the bot itself.
Audit = Callable[[int, int, str, Mapping[str, object]], Awaitable[None]]


class Outbox(Protocol):
    """Where digests are posted (Discord, or a fake in tests)."""

    def problem(self, channel_id: int) -> str | None:
        """Why the bot cannot post digests in the channel (deleted, missing permissions), or None."""
        ...

    async def send(self, channel_id: int, embeds: Sequence[dict[str, Any]], nonce: str) -> int:
        """Post one message; returns its id. Raises ``ChannelUnavailable`` when the channel is gone
        or forbidden; anything else is transient (the delivery stays pending and is retried)."""
        ...

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        """The id of our message sent with ``nonce`` (or carrying its footer marker) among the
        channel's messages after ``after``, if any."""
        ...


Kind = Literal["posted", "empty", "paused", "skipped", "already"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one delivery attempt, for logs and replies."""

    kind: Kind
    detail: str
    message_id: int | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class _Window:
    candidates: Candidates
    story_key: StoryKey


@dataclass(frozen=True, slots=True)
class Composed:
    digest: Digest
    since: datetime
    until: datetime
    items: tuple[ArticleSummary, ...]
    embeds: tuple[discord.Embed, ...]


@lru_cache(maxsize=65536)
def _schedule(at_time: str, timezone: str, cadence: str, weekday: int) -> Schedule:
    hours, minutes = at_time.split(":")
    return Schedule(time(int(hours), int(minutes)), timezone, parse_cadence(cadence), weekday)


def schedule_of(digest: Digest) -> Schedule:
    """The digest's schedule (cached: many digests share a few schedules)."""
    return _schedule(digest.at_time, digest.timezone, digest.cadence, digest.weekday)


def footer_text(digest_id: int, nonce: str | None) -> str:
    base = f"Digest #{digest_id}"
    return f"{base} · {marker(nonce)}" if nonce else f"{base} · preview"


def manual_nonce(digest_id: int, at: datetime) -> str:
    """The nonce of a ``/digest send``: ``s``, the digest id and the millisecond (base 36); at most
    22 characters, and never equal to a scheduled slot's (those start with ``d``)."""
    return f"s{base36(digest_id)}-{base36(int(at.timestamp() * 1000))}"


def posted_text(count: int) -> str:
    return f"posted {count} article{'s' if count != 1 else ''}"


def _with_footer(embeds: Sequence[discord.Embed], text: str) -> list[discord.Embed]:
    """The header carries the footer (our marker for reconciliation); the message stays within
    Discord's 6,000-character total by shortening the last embed's description if needed."""
    out = [discord.Embed.from_dict(embed.to_dict()) for embed in embeds]
    out[0].set_footer(text=text[: Limit.FOOTER])
    excess = message_text_length(out) - MESSAGE_TOTAL
    if excess > 0 and len(out) > 1 and out[-1].description:
        description = out[-1].description
        out[-1].description = description[: max(1, len(description) - excess - 1)] + "…"
    return out


class DigestService:
    """Compose, deliver and reconcile digests. ``grace``: how late a slot may still be posted
    (at least ``ON_TIME``)."""

    def __init__(
        self,
        repo: DigestRepository,
        outbox: Outbox,
        visibility_for: Visibilities,
        *,
        grace: timedelta = DEFAULT_GRACE,
        audit: Audit | None = None,
    ) -> None:
        self.repo = repo
        self.outbox = outbox
        self.visibility_for = visibility_for
        self.audit = audit
        # A loop that wakes on time is still a moment late; the grace window is about downtime.
        self.grace = max(grace, ON_TIME)
        self._locks: dict[int, asyncio.Lock] = {}
        self._windows: dict[tuple[str, datetime, datetime, Visibility], tuple[float, _Window]] = {}

    def _lock(self, digest_id: int) -> asyncio.Lock:
        # One delivery per digest at a time: the scheduler and `/digest send` never race.
        return self._locks.setdefault(digest_id, asyncio.Lock())

    def forget(self, digest_id: int) -> None:
        self._locks.pop(digest_id, None)

    # --- composition -----------------------------------------------------------------------------

    async def compose(self, digest: Digest, *, slot: datetime | None, now: datetime) -> Composed:
        """What the digest would post for ``slot`` (or, with ``slot=None``, right ``now``: preview and send)."""
        schedule = schedule_of(digest)
        if slot is not None:
            since, until = digest_window(schedule, slot, digest.last_slot)
        else:
            # Posting now: since the previous delivery, at most one period before the latest slot
            # (a digest that never ran covers its last full period and what came since).
            since = first_window(schedule, previous_slot(schedule, now))
            if digest.last_slot is not None and digest.last_slot < now:
                since = max(since, digest.last_slot)
            until = now
        vis = await self.visibility_for(digest.guild_id)
        window = await self._window(digest.topic, since, until, vis, shared=slot is not None)
        delivered = await self.repo.delivered(digest.id, [item.id for item in window.candidates.items])
        items = compose(
            window.candidates.items,
            delivered_ids=delivered,
            since=since,
            until=until,
            min_quality=max(digest.min_quality, vis.min_quality),
            max_items=digest.max_items,
            story_key=window.story_key,
        )
        if not items and slot is not None:
            return Composed(digest, since, until, (), ())  # nothing to post, nothing to render
        local_date = slot_date(schedule, slot) if slot is not None else now.astimezone(schedule.zone).date()
        embeds = digest_message(digest.topic, digest_date_text(local_date), items, timezone=digest.timezone)
        return Composed(digest, since, until, tuple(items), tuple(embeds))

    async def _window(self, topic: str, since: datetime, until: datetime, vis: Visibility, *, shared: bool) -> _Window:
        """A topic's candidates over a window, with its stories grouped. Digests due together often
        share topic and window (a peak minute of hundreds of digests has a few dozen of them), so
        scheduled windows are kept for a few seconds and queried once."""
        key = (" ".join(topic.split()).casefold(), since, until, vis)
        clock = monotonic_time.monotonic()
        if shared:
            cached = self._windows.get(key)
            if cached is not None and cached[0] > clock:
                return cached[1]
        found = await self.repo.candidates(topic, since=since, until=until, vis=vis, limit=CANDIDATE_LIMIT)
        window = _Window(found, key_from_groups(story_groups(found.items, found.related_pairs)))
        if shared:
            self._windows[key] = (clock + WINDOW_CACHE_SECONDS, window)
            while len(self._windows) > WINDOW_CACHE_SIZE:
                self._windows.pop(next(iter(self._windows)))
        return window

    async def preview(self, digest: Digest, now: datetime) -> Composed:
        composed = await self.compose(digest, slot=None, now=now)
        embeds = _with_footer(composed.embeds, footer_text(digest.id, None))
        return Composed(composed.digest, composed.since, composed.until, composed.items, tuple(embeds))

    # --- delivery --------------------------------------------------------------------------------

    async def deliver_slot(self, digest: Digest, slot: datetime, now: datetime) -> Outcome:
        """Deliver one scheduled slot exactly once (see the module doc)."""
        async with self._lock(digest.id):
            existing = await self.repo.delivery_for_slot(digest.id, slot)
            if existing is not None:
                if existing.state == "pending":
                    return await self._complete(existing, digest, now)
                return Outcome("already", f"slot {slot.isoformat()} was already {existing.state}")
            problem = self.outbox.problem(digest.channel_id)
            if problem is not None:
                await self.pause_for(digest, problem, now, slot=slot)
                return Outcome("paused", problem)
            composed = await self.compose(digest, slot=slot, now=now)
            if not composed.items:
                await self.repo.settle(digest.id, slot, "nothing new: nothing was posted", now)
                return Outcome("empty", "nothing new")
            nonce = nonce_for(digest.id, slot)
            delivery = await self._begin(composed, slot=slot, nonce=nonce, now=now)
            return await self._send(delivery, digest, now)

    async def send_now(self, digest: Digest, now: datetime) -> Outcome:
        """``/digest send``: post what the digest would post now; its articles count as delivered.

        Raises ``ChannelUnavailable`` when the bot cannot post in the channel (the digest is paused
        only when Discord refuses a message it expected to be able to send).
        """
        async with self._lock(digest.id):
            problem = self.outbox.problem(digest.channel_id)
            if problem is not None:
                raise ChannelUnavailable(problem)
            composed = await self.compose(digest, slot=None, now=now)
            if not composed.items:
                return Outcome("empty", "nothing new")
            delivery = await self._begin(composed, slot=None, nonce=manual_nonce(digest.id, now), now=now)
            outcome = await self._send(delivery, digest, now)
            if outcome.kind == "paused":
                raise ChannelUnavailable(outcome.detail)
            return outcome

    async def _begin(self, composed: Composed, *, slot: datetime | None, nonce: str, now: datetime) -> Delivery:
        embeds = _with_footer(composed.embeds, footer_text(composed.digest.id, nonce))
        payload = json.dumps([embed.to_dict() for embed in embeds], ensure_ascii=False)
        try:
            return await self.repo.begin_delivery(
                composed.digest.id,
                slot=slot,
                nonce=nonce,
                channel_id=composed.digest.channel_id,
                article_ids=[item.id for item in composed.items],
                payload=payload,
                at=now,
            )
        except DeliveryConflict:
            # Another process (a second bot instance on the same database) recorded it first.
            log.warning("digest %d: delivery %s was recorded concurrently; not sending", composed.digest.id, nonce)
            raise

    async def _send(self, delivery: Delivery, digest: Digest, now: datetime) -> Outcome:
        embeds: list[dict[str, Any]] = json.loads(delivery.payload)
        count = len(delivery.article_ids) or len(await self.repo.delivery_items(delivery.id))
        try:
            message_id = await self.outbox.send(delivery.channel_id, embeds, delivery.nonce)
        except ChannelUnavailable as exc:
            await self.repo.abandon_delivery(delivery.id, result=f"not posted: {exc.reason}", at=now)
            await self.pause_for(digest, exc.reason, now)
            return Outcome("paused", exc.reason)
        await self.repo.finish_delivery(delivery.id, message_id=message_id, result=posted_text(count), at=now)
        log.info(
            "digest %d: posted %d articles in channel %d (message %d)", digest.id, count, digest.channel_id, message_id
        )
        return Outcome("posted", posted_text(count), message_id=message_id, count=count)

    async def pause_for(self, digest: Digest, reason: str, now: datetime, *, slot: datetime | None = None) -> None:
        """Pause a digest whose channel is unusable; its settings are kept and ``/digest resume``
        restarts it."""
        log.warning("digest %d paused: %s", digest.id, reason)
        await self.repo.set_paused(digest.id, paused=True, reason=reason)
        if self.audit is not None:
            # The server's moderators learn of it in their log channel, not only in /digest list.
            details = {"digest": digest.id, "topic": digest.topic, "channel": digest.channel_id, "reason": reason}
            try:
                await self.audit(digest.guild_id, 0, "digest.pause", details)
            except Exception:
                log.exception("auditing the pause of digest %d failed", digest.id)
        if slot is not None:
            await self.repo.settle(digest.id, slot, f"not posted: {reason}", now)
        else:
            await self.repo.note_result(digest.id, f"not posted: {reason}", now)

    async def resume(self, digest: Digest, now: datetime) -> bool:
        """Resume; slots that passed while paused are not posted afterwards."""
        settle = previous_slot(schedule_of(digest), now)
        return await self.repo.set_paused(digest.id, paused=False, reason=None, settle_until=settle)

    async def skip(self, digest: Digest, slots: Sequence[datetime], now: datetime) -> None:
        """Slots missed by more than the grace window: logged and settled, never posted."""
        for slot in slots:
            pending = await self.repo.delivery_for_slot(digest.id, slot)
            if pending is not None and pending.state == "pending":
                async with self._lock(digest.id):
                    await self._complete(pending, digest, now)
        if slots:
            late = now - slots[-1]
            log.warning(
                "digest %d: skipped %d missed slot(s) (newest %s, %s late; grace %s)",
                digest.id,
                len(slots),
                slots[-1].isoformat(),
                late,
                self.grace,
            )
            await self.repo.settle(digest.id, slots[-1], "skipped: the bot was offline at that time", now)

    # --- reconciliation ----------------------------------------------------------------------------

    async def recover(self, now: datetime, *, owns: Callable[[int], bool] | None = None) -> list[Outcome]:
        """Settle every delivery a crash left pending (see the module doc); one failing delivery
        does not stop the others (it stays pending for the next start). ``owns``: only the servers
        this process runs."""
        outcomes: list[Outcome] = []
        for delivery in await self.repo.pending():
            try:
                digest = await self.repo.get(delivery.digest_id)
                if digest is None or (owns is not None and not owns(digest.guild_id)):
                    continue
                async with self._lock(digest.id):
                    outcomes.append(await self._complete(delivery, digest, now))
            except Exception:
                log.exception("could not reconcile delivery %s of digest %d", delivery.nonce, delivery.digest_id)
        return outcomes

    async def _complete(self, delivery: Delivery, digest: Digest, now: datetime) -> Outcome:
        """A pending delivery: record it if the message exists, else send it again or give it up."""
        problem = self.outbox.problem(delivery.channel_id)
        if problem is not None:
            await self.repo.abandon_delivery(delivery.id, result=f"not posted: {problem}", at=now)
            await self.pause_for(digest, problem, now)
            return Outcome("paused", problem)
        found = await self.outbox.find(
            delivery.channel_id, delivery.nonce, after=delivery.created_at - RECONCILE_MARGIN
        )
        count = len(await self.repo.delivery_items(delivery.id))
        if found is not None:
            log.info(
                "digest %d: delivery %s was posted before a restart (message %d)", digest.id, delivery.nonce, found
            )
            await self.repo.finish_delivery(delivery.id, message_id=found, result=posted_text(count), at=now)
            return Outcome("posted", posted_text(count), message_id=found, count=count)
        too_late = delivery.slot is None or now - delivery.slot > self.grace or digest.paused
        if too_late:
            # A `/digest send` is never replayed later on its own: the member saw it fail.
            reason = "not posted: the bot stopped before posting it"
            log.warning("digest %d: giving up delivery %s (%s)", digest.id, delivery.nonce, reason)
            await self.repo.abandon_delivery(delivery.id, result=reason, at=now)
            return Outcome("skipped", reason)
        return await self._send(delivery, digest, now)


# --- Discord -------------------------------------------------------------------------------------

NEEDED_PERMISSIONS: Final = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)


def missing_permissions(permissions: discord.Permissions) -> list[str]:
    """The permissions digests need that ``permissions`` lacks, by their names in Discord's UI."""
    return [label for flag, label in NEEDED_PERMISSIONS if not getattr(permissions, flag)]


def channel_problem(channel: discord.abc.GuildChannel | discord.Thread | None, name: str | None = None) -> str | None:
    """Why digests cannot be posted in ``channel`` (from the client's cache), or None."""
    if channel is None:
        where = f"#{name}" if name else "the channel"
        return f"{where} was deleted (or I can no longer see it)"
    if not isinstance(channel, discord.TextChannel):
        return f"#{channel.name} is not a text channel"
    missing = missing_permissions(channel.permissions_for(channel.guild.me))
    if missing:
        names = ", ".join(f"**{m}**" for m in missing)
        return f"I lack the {names} permission{'s' if len(missing) > 1 else ''} in #{channel.name}"
    return None


class DiscordOutbox:
    """``Outbox`` over a connected discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, channel_id: int) -> discord.TextChannel | None:
        channel = self.client.get_channel(channel_id)
        return channel if isinstance(channel, discord.TextChannel) else None

    def problem(self, channel_id: int) -> str | None:
        channel = self.client.get_channel(channel_id)
        if channel is None or isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return channel_problem(channel)
        return "that channel is not a server text channel"

    async def send(self, channel_id: int, embeds: Sequence[dict[str, Any]], nonce: str) -> int:
        channel = self._channel(channel_id)
        if channel is None:
            raise ChannelUnavailable(channel_problem(None) or "the channel is gone")
        try:
            message = await channel.send(
                embeds=[discord.Embed.from_dict(embed) for embed in embeds],
                nonce=nonce,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"#{channel.name} was deleted") from exc
        except discord.Forbidden as exc:
            reason = channel_problem(channel) or f"Discord refused my message in #{channel.name} (missing access)"
            raise ChannelUnavailable(reason) from exc
        return message.id

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        channel = self._channel(channel_id)
        if channel is None:
            return None
        me = self.client.user
        if not channel.permissions_for(channel.guild.me).read_message_history:
            # Without history only Discord's own nonce check (a few minutes) guards a resend.
            log.warning("cannot read #%s's history to look for delivery %s", channel.name, nonce)
            return None
        return await find_own_message(channel, me, nonce, after=after)
