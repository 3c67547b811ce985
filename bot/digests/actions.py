"""What a moderator can do to a server's digests, once for ``/digest`` and the web panel.

Each action checks its input with the digest rules (``bot.digests.limits``, ``bot.digests.schedule``),
changes the repository, wakes the scheduler and writes the audit entry (marked ``via`` where it was
made). Wrong input raises ``InvalidInput`` naming the option; the answer's wording is the caller's.
Discord is read only through the ``discord.Guild`` from the bot's cache that both callers have.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import discord

from bot.actors import Actor
from bot.db.digest_types import Digest, DigestRepository, NewDigest
from bot.db.types import Visibility
from bot.digests.limits import MAX_ITEMS, MAX_PER_SERVER, MIN_ITEMS
from bot.digests.schedule import Schedule, canonical_timezone, next_slot, parse_cadence, parse_time, schedule_for
from bot.digests.service import (
    Audit,
    ChannelUnavailable,
    Composed,
    DigestService,
    Outcome,
    channel_problem,
    schedule_of,
)
from bot.errors import InvalidInput, UserFacingError
from bot.render.text import escape_markdown, single_line, truncate
from bot.store.keys import topic_key
from bot.store.limits import QUALITY

log = logging.getLogger(__name__)

_ID_RE: Final = re.compile(r"#?\s*(\d{1,18})")
#: ``resolve(raw, visibility)``: the store's spelling of a topic, or ``InvalidInput``.
TopicResolver = Callable[[str, Visibility], Awaitable[str]]


def _quote(text: str, limit: int) -> str:
    return escape_markdown(truncate(single_line(text), limit))


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


@dataclass(frozen=True, slots=True)
class DigestForm:
    """The options of ``/digest add`` (and the panel's form), as typed."""

    channel_id: int | None
    topic: str
    time: str
    timezone: str = "UTC"
    days: str = "daily"
    min_quality: int = QUALITY.low
    max_items: int = 5


@dataclass(frozen=True, slots=True)
class Added:
    digest: Digest
    schedule: Schedule
    first: datetime
    #: The bot cannot read the channel's history (it could not check what it posted after a crash).
    no_history: bool


class DigestActions:
    def __init__(
        self,
        repo: DigestRepository,
        service: DigestService,
        *,
        now: Callable[[], datetime],
        wake: Callable[[], None],
        audit: Audit,
        topics: TopicResolver,
        visibility_for: Callable[[int], Awaitable[Visibility]],
    ) -> None:
        self.repo = repo
        self.service = service
        self.now = now
        self.wake = wake
        self._audit_fn = audit
        self.topics = topics
        self.visibility_for = visibility_for

    # --- reading ----------------------------------------------------------------------------------

    async def find(self, guild_id: int, raw: str) -> Digest:
        """The option's value is an id when picked from autocomplete; a typed topic name also works
        when exactly one of the server's digests has that topic."""
        match = _ID_RE.fullmatch(raw.strip())
        if match:
            digest = await self.repo.get(int(match[1]))
            if digest is not None and digest.guild_id == guild_id:
                return digest
        else:
            wanted = topic_key(raw)
            found = [d for d in await self.repo.for_guild(guild_id) if topic_key(d.topic) == wanted]
            if len(found) == 1:
                return found[0]
            if found:
                ids = ", ".join(f"#{d.id}" for d in found)
                raise InvalidInput(
                    f"Several digests are about {_quote(raw, 40)} ({ids}): pick one by its id.", field="digest"
                )
        raise InvalidInput(
            f"This server has no digest “{_quote(raw, 20)}”. `/digest list` shows the digests and their ids.",
            field="digest",
        )

    @staticmethod
    def describe(guild: discord.Guild, digest: Digest) -> str:
        where = f"<#{digest.channel_id}>" if guild.get_channel(digest.channel_id) is not None else "a deleted channel"
        return f"**#{digest.id}** · {escape_markdown(digest.topic)} in {where}"

    async def _audit(self, actor: Actor, action: str, digest: Digest, **extra: object) -> None:
        details: dict[str, object] = {
            "digest": digest.id,
            "topic": digest.topic,
            "channel": digest.channel_id,
            "schedule": schedule_of(digest).describe(),
            **extra,
        }
        try:
            await self._audit_fn(digest.guild_id, actor.user_id, action, actor.audit_details(details))
        except Exception:
            log.exception("auditing %s of digest %d failed", action, digest.id)

    # --- changes ----------------------------------------------------------------------------------

    async def add(self, guild: discord.Guild, actor: Actor, form: DigestForm) -> Added:
        topic = await self.topics(form.topic, await self.visibility_for(guild.id))
        now = self.now()
        for field, check in (("time", parse_time), ("timezone", canonical_timezone), ("days", parse_cadence)):
            try:
                check(getattr(form, field))
            except ValueError as exc:
                raise InvalidInput(_sentence(str(exc)), field=field) from None
        schedule = schedule_for(form.time, form.timezone, form.days, created_at=now)
        if not QUALITY.low <= form.min_quality <= QUALITY.high:
            raise InvalidInput(f"The minimum quality goes from {QUALITY}.", field="min_quality")
        if not MIN_ITEMS <= form.max_items <= MAX_ITEMS:
            raise InvalidInput(f"A digest lists {MIN_ITEMS} to {MAX_ITEMS} articles.", field="max_items")
        channel = guild.get_channel(form.channel_id) if form.channel_id is not None else None
        if form.channel_id is None:
            raise InvalidInput("Pick the channel to post in.", field="channel")
        problem = channel_problem(channel)
        if problem is not None:
            raise InvalidInput(
                f"I can't post digests there: {problem}. Give me what is missing there, or pick another channel.",
                field="channel",
            )
        assert isinstance(channel, discord.TextChannel)  # channel_problem said so
        if await self.repo.count_for_guild(guild.id) >= MAX_PER_SERVER:
            raise UserFacingError(
                f"This server already has {MAX_PER_SERVER} digests, the most it can have. `/digest remove` one first."
            )
        digest = await self.repo.add(
            NewDigest(
                guild_id=guild.id,
                channel_id=channel.id,
                topic=topic,
                at_time=f"{schedule.time:%H:%M}",
                timezone=schedule.timezone,
                cadence=schedule.cadence,
                weekday=schedule.weekday,
                min_quality=form.min_quality,
                max_items=form.max_items,
                created_at=now,
                created_by=actor.user_id,
            )
        )
        self.wake()
        await self._audit(actor, "digest.add", digest, min_quality=form.min_quality, max_items=form.max_items)
        no_history = not channel.permissions_for(guild.me).read_message_history
        return Added(digest, schedule, next_slot(schedule, now), no_history)

    async def remove(self, guild: discord.Guild, actor: Actor, digest: Digest) -> None:
        await self.repo.remove(digest.id)
        self.service.forget(digest.id)
        self.wake()
        await self._audit(actor, "digest.remove", digest)

    async def pause(self, guild: discord.Guild, actor: Actor, digest: Digest) -> None:
        if digest.paused:
            raise UserFacingError(
                f"Digest {self.describe(guild, digest)} is already paused. `/digest resume` restarts it."
            )
        await self.repo.set_paused(digest.id, paused=True, reason=f"by {escape_markdown(actor.name)}")
        self.wake()
        await self._audit(actor, "digest.pause", digest)

    async def resume(self, guild: discord.Guild, actor: Actor, digest: Digest) -> datetime:
        """Resume; returns the next run."""
        if not digest.paused:
            raise UserFacingError(f"Digest {self.describe(guild, digest)} is not paused.")
        problem = channel_problem(guild.get_channel(digest.channel_id))
        if problem is not None:
            raise UserFacingError(
                f"Digest {self.describe(guild, digest)} stays paused: {problem}. Fix that, or remove the digest and "
                "add it again for another channel."
            )
        now = self.now()
        await self.service.resume(digest, now)
        self.wake()
        await self._audit(actor, "digest.resume", digest)
        return next_slot(schedule_of(digest), now)

    async def preview(self, digest: Digest) -> Composed:
        return await self.service.preview(digest, self.now())

    async def send_now(self, guild: discord.Guild, actor: Actor, digest: Digest) -> Outcome:
        try:
            outcome = await self.service.send_now(digest, self.now())
        except ChannelUnavailable as exc:
            self.wake()
            raise UserFacingError(f"I can't post digest **#{digest.id}**: {exc.reason}.") from None
        if outcome.kind != "posted":
            raise UserFacingError(
                f"Nothing new for digest {self.describe(guild, digest)}: every recent article was already posted. "
                "Nothing was sent."
            )
        await self._audit(actor, "digest.send", digest, articles=outcome.count)
        return outcome
