"""``/digest``: scheduled topic digests posted in a channel (Manage Server; answers are private).

The cog owns the digest loop (``bot.digests.scheduler``): started in ``cog_load``, cancelled in
``cog_unload``. Commands change digests through the repository and wake the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.actors import Actor
from bot.app.client import NewsBot
from bot.app.respond import reply, within_deadline
from bot.db.digest_types import Digest
from bot.digests.actions import DigestActions, DigestChanges, DigestForm
from bot.digests.limits import DEFAULT_ITEMS, MAX_ITEMS, MIN_ITEMS, WEEKDAY_NAMES
from bot.digests.schedule import next_slot, timezone_suggestions
from bot.digests.scheduler import Scheduler, SystemClock
from bot.digests.service import DigestService, DiscordOutbox, schedule_of
from bot.errors import UserFacingError
from bot.modules._checks import Refused
from bot.modules._lookup import resolve_topic, topic_choices
from bot.render.embeds import DEFAULT_COLOR, fit_embed
from bot.render.limits import MAX_CHOICES, choice_name
from bot.render.text import escape_markdown, masked_link
from bot.store.limits import QUALITY

log = logging.getLogger(__name__)

RESTART_DELAY: Final = 60


def timestamp(moment: datetime, style: str = "F") -> str:
    """A Discord timestamp: every member sees it in their own timezone and language."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def local_text(moment: datetime, timezone: Any) -> str:
    local = moment.astimezone(timezone)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def list_field(digest: Digest, now: datetime, channel: str) -> tuple[str, str]:
    """One digest in ``/digest list``: at most about 280 characters, so a server's 20 digests fit
    in one embed (6,000 characters) with no line cut inside a timestamp or a mention."""
    schedule = schedule_of(digest)
    days = {"daily": "daily", "weekdays": "Mon–Fri"}.get(digest.cadence, f"{WEEKDAY_NAMES[digest.weekday]}s")
    name = f"#{digest.id} · {_cut(digest.topic, 40)} · {days} {digest.at_time}"
    if digest.paused:
        state = f"⏸ paused: {_cut(digest.pause_reason or 'paused', 80)}"
    else:
        when = next_slot(schedule, max(now, digest.last_slot or now))
        state = f"next {timestamp(when)} ({timestamp(when, 'R')}), {local_text(when, schedule.zone)} local"
    last = "never run yet"
    if digest.last_result:
        last = _cut(digest.last_result, 50)
        if digest.last_result_at is not None:
            last += f" {timestamp(digest.last_result_at, 'R')}"
    return name, f"{channel} · {digest.timezone}\n{state}\nlast: {last}"


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class DigestCog(
    commands.GroupCog, group_name="digest", group_description="Scheduled topic digests posted in a channel"
):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self._service: DigestService | None = None
        self._scheduler: Scheduler | None = None
        self._actions: DigestActions | None = None
        self._task: asyncio.Task[None] | None = None
        super().__init__()

    @property
    def service(self) -> DigestService:
        # Built on first use: the database is opened in setup_hook, after the cog is constructed.
        if self._service is None:
            self._service = DigestService(
                self.bot.db.digests,
                DiscordOutbox(self.bot),
                self.bot.visibility_for,
                grace=timedelta(hours=self.bot.settings.digest_grace_hours),
                audit=self.bot.audit,
            )
        return self._service

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            self._scheduler = Scheduler(
                self.service,
                self.bot.db.digests,
                SystemClock(),
                before_start=self.bot.wait_until_ready,
                owns=self.bot.handles_guild,
                observe=self._count,
            )
        return self._scheduler

    @property
    def actions(self) -> DigestActions:
        """What moderators do to digests; the web panel reaches it as ``bot.digest_actions``."""
        if self._actions is None:
            self._actions = DigestActions(
                self.bot.db.digests,
                self.service,
                now=self._now,
                wake=self.scheduler.wake,
                audit=self.bot.audit,
                topics=lambda raw, vis: resolve_topic(self.bot, raw, vis),
                visibility_for=self.bot.visibility_for,
            )
        return self._actions

    async def cog_load(self) -> None:
        if not hasattr(self.bot, "db"):
            return  # extensions loaded only to inspect the commands: no database, no loop
        self.bot.digest_actions = self.actions
        self._task = asyncio.create_task(self._run(), name="digest-scheduler")

    async def cog_unload(self) -> None:
        if self.bot.digest_actions is self._actions:
            self.bot.digest_actions = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        # The loop catches per digest; what escapes it (the database unavailable for a moment) must
        # not end digests for good: start it again, which reconciles and re-reads everything.
        while True:
            try:
                await self.scheduler.run()
            except Exception:
                log.exception("the digest scheduler stopped; starting it again in %d s", RESTART_DELAY)
            await asyncio.sleep(RESTART_DELAY)

    def _count(self, kind: str) -> None:
        if kind == "posted":
            self.bot.metrics.digests_delivered.inc()
        elif kind in ("failed", "paused"):
            self.bot.metrics.digests_failed.inc()

    @commands.Cog.listener()
    async def on_digests_changed(self, guild_id: int | None = None) -> None:
        """Other features that change digests (``/admin import``) call
        ``bot.dispatch("digests_changed", guild_id)`` so the loop re-reads them now."""
        self.scheduler.wake()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # default_permissions only hides the command; a server can open it to anyone, so check here.
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not interaction.permissions.manage_guild:
            raise Refused("You need the **Manage Server** permission to manage digests.")
        return True

    # --- helpers ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.scheduler.clock.now()

    async def _digest(self, interaction: discord.Interaction[Any], raw: str) -> Digest:
        return await self.actions.find(interaction.guild_id or 0, raw)

    @staticmethod
    def _actor(interaction: discord.Interaction[Any]) -> Actor:
        return Actor(interaction.user.id, interaction.user.display_name)

    def _channel_name(self, channel_id: int) -> str:
        channel = self.bot.get_channel(channel_id)
        return f"<#{channel_id}>" if channel is not None else "a deleted channel"

    def _describe(self, digest: Digest) -> str:
        return f"**#{digest.id}** · {escape_markdown(digest.topic)} in {self._channel_name(digest.channel_id)}"

    async def _answer(self, interaction: discord.Interaction[Any], text: str, *, title: str | None = None) -> None:
        embed = discord.Embed(title=title, description=text, colour=DEFAULT_COLOR)
        await reply(interaction, embed=fit_embed(embed), ephemeral=True)

    # --- autocomplete -----------------------------------------------------------------------

    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.bot, interaction, current)

    async def timezone_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in timezone_suggestions(current, MAX_CHOICES)]

    async def digest_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        text = current.strip().lstrip("#").casefold()
        choices: list[app_commands.Choice[str]] = []
        for digest in await self.bot.db.digests.for_guild(interaction.guild_id):
            channel = self.bot.get_channel(digest.channel_id)
            where = f"#{channel.name}" if isinstance(channel, discord.abc.GuildChannel) else "deleted channel"
            paused = " (paused)" if digest.paused else ""
            name = f"#{digest.id} · {digest.topic} in {where} at {digest.at_time} {digest.timezone}{paused}"
            if not text or text in name.casefold():
                choices.append(app_commands.Choice(name=choice_name(name), value=str(digest.id)))
        return choices[:MAX_CHOICES]

    # --- commands ---------------------------------------------------------------------------

    @app_commands.command(name="add")
    @app_commands.describe(
        channel="Where to post it",
        topic="The topic (start typing to see suggestions)",
        time="When, on the 24-hour clock: HH:MM",
        timezone="The timezone of that time (IANA name, e.g. Europe/London); default UTC",
        days="Every day, Monday to Friday, or once a week (on today's weekday)",
        min_quality=f"Only articles of at least this quality ({QUALITY})",
        max_items=f"At most this many articles per digest ({MIN_ITEMS} to {MAX_ITEMS})",
    )
    @app_commands.autocomplete(topic=topic_autocomplete, timezone=timezone_autocomplete)
    async def add(
        self,
        interaction: discord.Interaction[NewsBot],
        channel: discord.TextChannel,
        topic: app_commands.Range[str, 1, 100],
        time: app_commands.Range[str, 1, 20],
        timezone: app_commands.Range[str, 1, 64] = "UTC",
        days: Literal["daily", "weekdays", "weekly"] = "daily",
        min_quality: app_commands.Range[int, QUALITY.low, QUALITY.high] = QUALITY.low,
        max_items: app_commands.Range[int, MIN_ITEMS, MAX_ITEMS] = DEFAULT_ITEMS,
    ) -> None:
        """Post a digest of one topic in a channel on a schedule"""
        assert interaction.guild is not None  # interaction_check
        form = DigestForm(channel.id, topic, time, timezone, days, min_quality, max_items)
        added = await self.actions.add(interaction.guild, self._actor(interaction), form)
        digest, first = added.digest, added.first
        lines = [
            f"Digest **#{digest.id}**: **{escape_markdown(digest.topic)}** in {channel.mention}, "
            f"{added.schedule.describe()}.",
            f"First run: {timestamp(first)} ({timestamp(first, 'R')}).",
            f"Up to {max_items} new articles each time"
            + (f", quality {min_quality} or more" if min_quality else "")
            + "; nothing is posted when there is nothing new.",
        ]
        if added.no_history:
            lines.append(
                "Tip: give me **Read Message History** there, so after a crash I can check what I already posted."
            )
        await self._answer(interaction, "\n".join(lines), title="Digest scheduled")

    @app_commands.command(name="edit")
    @app_commands.describe(
        digest="The digest (start typing its topic or id)",
        channel="Post it here instead",
        topic="The new topic (start typing to see suggestions)",
        time="The new time, on the 24-hour clock: HH:MM",
        timezone="The timezone of its time (IANA name, e.g. Europe/London)",
        days="Every day, Monday to Friday, or once a week",
        weekday="For a weekly digest: the day it posts (default: today's, when it becomes weekly)",
        min_quality=f"Only articles of at least this quality ({QUALITY})",
        max_items=f"At most this many articles per digest ({MIN_ITEMS} to {MAX_ITEMS})",
    )
    @app_commands.choices(
        weekday=[app_commands.Choice(name=name, value=number) for number, name in enumerate(WEEKDAY_NAMES)]
    )
    @app_commands.autocomplete(digest=digest_autocomplete, topic=topic_autocomplete, timezone=timezone_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction[NewsBot],
        digest: app_commands.Range[str, 1, 100],
        channel: discord.TextChannel | None = None,
        topic: app_commands.Range[str, 1, 100] | None = None,
        time: app_commands.Range[str, 1, 20] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        days: Literal["daily", "weekdays", "weekly"] | None = None,
        weekday: int | None = None,
        min_quality: app_commands.Range[int, QUALITY.low, QUALITY.high] | None = None,
        max_items: app_commands.Range[int, MIN_ITEMS, MAX_ITEMS] | None = None,
    ) -> None:
        """Change a digest's channel, topic, schedule or size (only the options given change)"""
        assert interaction.guild is not None
        found = await self._digest(interaction, digest)
        changes = DigestChanges(
            channel_id=channel.id if channel is not None else None,
            topic=topic,
            time=time,
            timezone=timezone,
            days=days,
            weekday=weekday,
            min_quality=min_quality,
            max_items=max_items,
        )
        edited = await self.actions.edit(interaction.guild, self._actor(interaction), found, changes)
        saved, when = edited.digest, edited.next
        if not edited.changed:
            head = f"Nothing changed: digest {self._describe(saved)} already has these settings."
        else:
            head = f"Changed {', '.join(edited.options)} of digest {self._describe(saved)}."
        lines = [
            head,
            f"It posts {edited.schedule.describe()}, up to {saved.max_items} new articles"
            + (f" of quality {saved.min_quality} or more" if saved.min_quality else "")
            + ".",
            "⏸ It is paused: `/digest resume` restarts it."
            if saved.paused
            else f"Next run: {timestamp(when)} ({timestamp(when, 'R')}).",
        ]
        if edited.no_history:
            lines.append(
                "Tip: give me **Read Message History** there, so after a crash I can check what I already posted."
            )
        await self._answer(interaction, "\n".join(lines), title="Digest changed" if edited.changed else None)

    @app_commands.command(name="list")
    async def list_(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Every digest of this server with its next run and last result"""
        assert interaction.guild is not None
        digests = await self.bot.db.digests.for_guild(interaction.guild.id)
        if not digests:
            raise UserFacingError("This server has no digests yet. `/digest add` schedules one.")
        now = self._now()
        embed = discord.Embed(title=f"Digests in {interaction.guild.name}"[:100], colour=DEFAULT_COLOR)
        for digest in digests:
            name, value = list_field(digest, now, self._channel_name(digest.channel_id))
            embed.add_field(name=name, value=value, inline=False)
        embed.set_footer(text="Dates show in your own timezone; “local” times are the digest's.")
        await reply(interaction, embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="remove")
    @app_commands.describe(digest="The digest (start typing its topic or id)")
    @app_commands.autocomplete(digest=digest_autocomplete)
    async def remove(self, interaction: discord.Interaction[NewsBot], digest: app_commands.Range[str, 1, 100]) -> None:
        """Delete a digest"""
        assert interaction.guild is not None
        found = await self._digest(interaction, digest)
        await self.actions.remove(interaction.guild, self._actor(interaction), found)
        await self._answer(interaction, f"Removed digest {self._describe(found)}. Nothing more will be posted.")

    @app_commands.command(name="pause")
    @app_commands.describe(digest="The digest (start typing its topic or id)")
    @app_commands.autocomplete(digest=digest_autocomplete)
    async def pause(self, interaction: discord.Interaction[NewsBot], digest: app_commands.Range[str, 1, 100]) -> None:
        """Stop posting a digest for now (its settings are kept)"""
        assert interaction.guild is not None
        found = await self._digest(interaction, digest)
        await self.actions.pause(interaction.guild, self._actor(interaction), found)
        await self._answer(interaction, f"Paused digest {self._describe(found)}. `/digest resume` restarts it.")

    @app_commands.command(name="resume")
    @app_commands.describe(digest="The digest (start typing its topic or id)")
    @app_commands.autocomplete(digest=digest_autocomplete)
    async def resume(self, interaction: discord.Interaction[NewsBot], digest: app_commands.Range[str, 1, 100]) -> None:
        """Start posting a paused digest again"""
        assert interaction.guild is not None
        found = await self._digest(interaction, digest)
        when = await self.actions.resume(interaction.guild, self._actor(interaction), found)
        await self._answer(
            interaction,
            f"Resumed digest {self._describe(found)}. Next run: {timestamp(when)} ({timestamp(when, 'R')}).",
        )

    @app_commands.command(name="preview")
    @app_commands.describe(digest="The digest (start typing its topic or id)")
    @app_commands.autocomplete(digest=digest_autocomplete)
    async def preview(self, interaction: discord.Interaction[NewsBot], digest: app_commands.Range[str, 1, 100]) -> None:
        """Show privately what a digest would post now"""
        found = await self._digest(interaction, digest)
        composed = await within_deadline(interaction, self.actions.preview(found), ephemeral=True)
        note = (
            f"Preview of digest **#{found.id}**: this is what it would post in "
            f"{self._channel_name(found.channel_id)} now. Nothing was posted."
        )
        if not composed.items:
            note += " There is nothing new for it, so it would post nothing."
        embeds = list(composed.embeds)
        await reply(interaction, note, embeds=embeds, ephemeral=True)

    @app_commands.command(name="send")
    @app_commands.describe(digest="The digest (start typing its topic or id)")
    @app_commands.autocomplete(digest=digest_autocomplete)
    async def send(self, interaction: discord.Interaction[NewsBot], digest: app_commands.Range[str, 1, 100]) -> None:
        """Post a digest now (its articles count as delivered)"""
        assert interaction.guild is not None
        found = await self._digest(interaction, digest)
        outcome = await within_deadline(
            interaction, self.actions.send_now(interaction.guild, self._actor(interaction), found), ephemeral=True
        )
        channel = self.bot.get_channel(found.channel_id)
        jump = f"https://discord.com/channels/{found.guild_id}/{found.channel_id}/{outcome.message_id}"
        link = f" ({masked_link('jump', jump, limit=10)})" if channel is not None and outcome.message_id else ""
        await self._answer(interaction, f"Posted digest {self._describe(found)}: {outcome.detail}{link}.")


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(DigestCog(bot))
