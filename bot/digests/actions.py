"""What a moderator can do to a server's digests, once for ``/digest`` and the web panel.

Each action checks its input with the digest rules (``bot.digests.limits``, ``bot.digests.schedule``),
changes the repository, wakes the scheduler and writes the audit entry (marked ``via`` where it was
made). Wrong input raises ``InvalidInput`` naming the option; the answer's wording is the caller's.
Discord is read only through the ``discord.Guild`` from the bot's cache that both callers have.
"""

from __future__ import annotations

import dataclasses
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
from bot.digests.limits import MAX_ITEMS, MAX_PER_SERVER, MIN_ITEMS, WEEKDAY_NAMES
from bot.digests.schedule import (
    Schedule,
    canonical_timezone,
    next_slot,
    parse_cadence,
    parse_time,
    previous_slot,
    schedule_for,
)
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
class DigestChanges:
    """The options of ``/digest edit`` (and the panel's edit form): ``None`` keeps a value."""

    channel_id: int | None = None
    topic: str | None = None
    time: str | None = None
    timezone: str | None = None
    days: str | None = None
    #: Monday = 0; only for weekly digests. Without it a digest made weekly runs on today's weekday.
    weekday: int | None = None
    min_quality: int | None = None
    max_items: int | None = None


#: ``/digest edit``'s options, as the message asking for one names them.
EDITABLE_OPTIONS: Final = ("channel", "topic", "time", "timezone", "days", "weekday", "min_quality", "max_items")
# Columns named otherwise as options.
_OPTION_OF: Final = {"channel_id": "channel", "at_time": "time", "cadence": "days"}
# Columns whose change moves the digest's slots.
_SCHEDULE_FIELDS: Final = frozenset({"at_time", "timezone", "cadence", "weekday"})


@dataclass(frozen=True, slots=True)
class Edited:
    digest: Digest
    schedule: Schedule
    #: The next run after the change.
    next: datetime
    #: The columns changed (empty when every value given was the current one).
    changed: tuple[str, ...]
    no_history: bool

    @property
    def options(self) -> tuple[str, ...]:
        """The options changed, as ``/digest edit`` and the panel's form name them."""
        return tuple(_OPTION_OF.get(name, name) for name in self.changed)


@dataclass(frozen=True, slots=True)
class Added:
    digest: Digest
    schedule: Schedule
    first: datetime
    #: The bot cannot read the channel's history (it could not check what it posted after a crash).
    no_history: bool


def _check_schedule(time: str, timezone: str, days: str) -> None:
    for field, check, value in (("time", parse_time, time), ("timezone", canonical_timezone, timezone)):
        try:
            check(value)
        except ValueError as exc:
            raise InvalidInput(_sentence(str(exc)), field=field) from None
    try:
        parse_cadence(days)
    except ValueError as exc:
        raise InvalidInput(_sentence(str(exc)), field="days") from None


def _check_sizes(min_quality: int, max_items: int) -> None:
    if not QUALITY.low <= min_quality <= QUALITY.high:
        raise InvalidInput(f"The minimum quality goes from {QUALITY}.", field="min_quality")
    if not MIN_ITEMS <= max_items <= MAX_ITEMS:
        raise InvalidInput(f"A digest lists {MIN_ITEMS} to {MAX_ITEMS} articles.", field="max_items")


def _postable(guild: discord.Guild, channel_id: int | None) -> discord.TextChannel:
    """The channel a digest may post in, or ``InvalidInput`` saying what is missing there."""
    if channel_id is None:
        raise InvalidInput("Pick the channel to post in.", field="channel")
    channel = guild.get_channel(channel_id)
    problem = channel_problem(channel)
    if problem is not None:
        raise InvalidInput(
            f"I can't post digests there: {problem}. Give me what is missing there, or pick another channel.",
            field="channel",
        )
    assert isinstance(channel, discord.TextChannel)  # channel_problem said so
    return channel


def _no_history(guild: discord.Guild, channel_id: int) -> bool:
    """The bot cannot read the channel's history (it could not check what it posted after a crash)."""
    channel = guild.get_channel(channel_id)
    return isinstance(channel, discord.TextChannel) and not channel.permissions_for(guild.me).read_message_history


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
        _check_schedule(form.time, form.timezone, form.days)
        schedule = schedule_for(form.time, form.timezone, form.days, created_at=now)
        _check_sizes(form.min_quality, form.max_items)
        channel = _postable(guild, form.channel_id)
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
        return Added(digest, schedule, next_slot(schedule, now), _no_history(guild, channel.id))

    async def edit(self, guild: discord.Guild, actor: Actor, digest: Digest, given: DigestChanges) -> Edited:
        """Change the options given, checked by the rules ``add`` uses. A new schedule starts after the
        change: its slots that already passed are settled (never posted), its next one is posted."""
        if given == DigestChanges():
            raise UserFacingError(f"Give at least one option to change: {', '.join(EDITABLE_OPTIONS)}.")
        now = self.now()
        topic = digest.topic
        if given.topic is not None:
            topic = await self.topics(given.topic, await self.visibility_for(guild.id))
        time = digest.at_time if given.time is None else given.time
        zone = digest.timezone if given.timezone is None else given.timezone
        days = digest.cadence if given.days is None else given.days
        _check_schedule(time, zone, days)
        # A weekly digest runs on the weekday it was made weekly on, as with `add`, unless one is given.
        schedule = schedule_for(time, zone, days, created_at=now)
        if given.weekday is not None:
            if not 0 <= given.weekday < len(WEEKDAY_NAMES):
                raise InvalidInput("The weekday goes from 0 (Monday) to 6 (Sunday).", field="weekday")
            if schedule.cadence != "weekly":
                raise InvalidInput("A weekday is only for weekly digests: set the days to weekly too.", field="weekday")
            schedule = dataclasses.replace(schedule, weekday=given.weekday)
        elif schedule.cadence != "weekly" or digest.cadence == "weekly":
            schedule = dataclasses.replace(schedule, weekday=digest.weekday)
        min_quality = digest.min_quality if given.min_quality is None else given.min_quality
        max_items = digest.max_items if given.max_items is None else given.max_items
        _check_sizes(min_quality, max_items)
        channel_id = digest.channel_id if given.channel_id is None else _postable(guild, given.channel_id).id
        wanted: dict[str, object] = {
            "channel_id": channel_id,
            "topic": topic,
            "at_time": f"{schedule.time:%H:%M}",
            "timezone": schedule.timezone,
            "cadence": schedule.cadence,
            "weekday": schedule.weekday,
            "min_quality": min_quality,
            "max_items": max_items,
        }
        changes = {name: value for name, value in wanted.items() if getattr(digest, name) != value}
        no_history = _no_history(guild, channel_id)
        if not changes:
            return Edited(digest, schedule, next_slot(schedule, max(now, digest.last_slot or now)), (), no_history)
        # A new schedule starts from its own newest slot at or before now: that one passed before the
        # change and is never posted late, the next one (after now) is due, and its window is one
        # period of the new schedule (the old progress may not be a slot of it; already delivered
        # articles and slots never repeat whatever the window).
        progress = previous_slot(schedule, now) if changes.keys() & _SCHEDULE_FIELDS else None
        updated = await self.repo.update(
            digest.id,
            channel_id=channel_id,
            topic=topic,
            at_time=f"{schedule.time:%H:%M}",
            timezone=schedule.timezone,
            cadence=schedule.cadence,
            weekday=schedule.weekday,
            min_quality=min_quality,
            max_items=max_items,
            last_slot=progress,
        )
        if updated is None:
            raise UserFacingError(f"Digest **#{digest.id}** was removed meanwhile.")
        self.wake()
        await self._audit(
            actor,
            "digest.edit",
            updated,
            changed=sorted(changes),
            before=[f"{name}: {getattr(digest, name)}" for name in sorted(changes)],
            after=[f"{name}: {changes[name]}" for name in sorted(changes)],
        )
        when = next_slot(schedule, max(now, updated.last_slot or now))
        return Edited(updated, schedule, when, tuple(sorted(changes)), no_history)

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
