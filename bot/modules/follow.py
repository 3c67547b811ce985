"""``/follow``: a member's own news by direct message (anyone; every answer is private).

The cog owns the follows loop (``bot.follows.engine``): started in ``cog_load`` in the process that
sends DMs (``sends_dms``: unsharded, or holding shard 0), cancelled in ``cog_unload``. Commands
change follows through the repository and wake the loop. Nothing here logs what a member follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Final, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.alerts.keywords import KeywordError, parse
from bot.alerts.queue import Priority
from bot.app.client import NewsBot
from bot.app.respond import reply
from bot.db.follow_types import Follow, NewFollow
from bot.digests.schedule import canonical_timezone, next_slot, parse_time, timezone_suggestions, zone_for
from bot.digests.scheduler import SystemClock
from bot.errors import UserFacingError
from bot.follows.engine import FollowEngine, sends_dms
from bot.follows.outbox import DiscordDmOutbox
from bot.follows.quiet import clock_text, minutes
from bot.follows.rules import DEFAULT_TIME, INSTANT_CAP, MAX_FOLLOWS
from bot.follows.service import FollowService, schedule_of
from bot.modules._lookup import quote, resolve_topic, topic_choices
from bot.render.follow import answer, delivery_label, follow_label, list_embed, local_moment
from bot.render.limits import MAX_CHOICES, choice_name

log = logging.getLogger(__name__)

RESTART_DELAY: Final = 60
CONFIRM_TIMEOUT: Final = 120.0
_ID_RE: Final = re.compile(r"#?\s*(\d{1,18})")


def _time_text(value: str) -> str:
    try:
        return f"{parse_time(value):%H:%M}"
    except ValueError as exc:
        message = str(exc)
        raise UserFacingError(message[:1].upper() + message[1:] + ".") from None


class ForgetView(discord.ui.View):
    """The confirmation of ``/follow forget``: only the member who asked can press it."""

    def __init__(self, cog: FollowCog, user_id: int) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.cog = cog
        self.user_id = user_id

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Delete everything", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[ForgetView]) -> None:
        await self.cog.service.forget(self.user_id)
        self.cog.wake()
        self.stop()
        await interaction.response.edit_message(
            embed=answer("Done: everything I stored about you is deleted (follows, preferences, pending messages)."),
            view=None,
        )

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[ForgetView]) -> None:
        self.stop()
        await interaction.response.edit_message(embed=answer("Nothing was deleted."), view=None)


class FollowCog(commands.GroupCog, group_name="follow", group_description="Your own news, by direct message"):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self._service: FollowService | None = None
        self._engine: FollowEngine | None = None
        self._task: asyncio.Task[None] | None = None
        super().__init__()

    @property
    def service(self) -> FollowService:
        # Built on first use: the database is opened in setup_hook, after the cog is constructed.
        if self._service is None:
            self._service = FollowService(
                self.bot.db.follows,
                self.bot.db.alerts,
                self.bot.db.articles,
                DiscordDmOutbox(self.bot),
                self.bot.policy.default_visibility,
                # Behind channel alerts in the bot's one paced queue: personal deliveries yield to them.
                pacer=self.bot.post_queue.lane(Priority.DM),
                counters=self.bot.metrics,
            )
        return self._service

    @property
    def engine(self) -> FollowEngine:
        if self._engine is None:
            self._engine = FollowEngine(self.service, self.bot.db.follows, before_start=self.bot.wait_until_ready)
        return self._engine

    async def cog_load(self) -> None:
        if not hasattr(self.bot, "db"):
            return  # extensions loaded only to inspect the commands: no database, no loop
        if sends_dms(self.bot.settings.shard_ids):
            self._task = asyncio.create_task(self._run(), name="follows")

    async def cog_unload(self) -> None:
        await self.stop_loop()

    async def stop_loop(self) -> None:
        """Stop the background loop (tests then drive ``engine.tick`` with their own clock)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.engine.run(SystemClock())
            except Exception:
                log.exception("the follows loop stopped; starting it again in %d s", RESTART_DELAY)
            await asyncio.sleep(RESTART_DELAY)

    def wake(self) -> None:
        if self._engine is not None:
            self._engine.wake()

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    async def _answer(self, interaction: discord.Interaction[Any], text: str, *, title: str | None = None) -> None:
        await reply(interaction, embed=answer(text, title=title), ephemeral=True)

    async def _own(self, interaction: discord.Interaction[Any], raw: str) -> Follow:
        match = _ID_RE.fullmatch(raw.strip())
        if match:
            found = await self.bot.db.follows.get(int(match[1]))
            if found is not None and found.user_id == interaction.user.id:
                return found
        raise UserFacingError(f"You have no follow “{quote(raw, 20)}”. `/follow list` shows yours with their ids.")

    # --- autocomplete -----------------------------------------------------------------------

    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.bot, interaction, current)

    async def timezone_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in timezone_suggestions(current, MAX_CHOICES)]

    async def follow_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        text = current.strip().lstrip("#").casefold()
        choices: list[app_commands.Choice[str]] = []
        for follow in await self.bot.db.follows.for_user(interaction.user.id):
            name = f"#{follow.id} · {follow.topic or ''} {follow.keywords or ''} · {follow.delivery}"
            if not text or text in name.casefold():
                choices.append(app_commands.Choice(name=choice_name(name), value=str(follow.id)))
        return choices[:MAX_CHOICES]

    # --- commands ---------------------------------------------------------------------------

    @app_commands.command(name="add")
    @app_commands.describe(
        topic="A topic (start typing to see suggestions)",
        keywords='Words that must occur: "a phrase", -exclude, a | b',
        delivery="Each article as it arrives, or one digest a day or a week",
        time="Digests: when, on the 24-hour clock, HH:MM (default 08:00)",
        timezone="Your timezone (IANA name, e.g. Europe/London); asked once, then reused",
    )
    @app_commands.autocomplete(topic=topic_autocomplete, timezone=timezone_autocomplete)
    async def add(
        self,
        interaction: discord.Interaction[NewsBot],
        topic: app_commands.Range[str, 1, 100] | None = None,
        keywords: app_commands.Range[str, 1, 200] | None = None,
        delivery: Literal["instant", "daily", "weekly"] = "instant",
        time: app_commands.Range[str, 1, 20] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        """Follow a topic or keywords; news comes by direct message"""
        user_id = interaction.user.id
        if topic is None and keywords is None:
            raise UserFacingError("Give a `topic`, `keywords`, or both: that is what the follow matches.")
        repo = self.bot.db.follows
        member = await repo.member(user_id)
        if timezone is None and member is None:
            raise UserFacingError(
                "Which timezone are you in? Run `/follow add` again with the `timezone` option (start typing your "
                "city and pick it): your digests and quiet hours follow your own clock. I ask only once."
            )
        zone = member.timezone if member is not None else "UTC"
        if timezone is not None:
            try:
                zone = canonical_timezone(timezone)
            except ValueError as exc:
                message = str(exc)
                raise UserFacingError(message[:1].upper() + message[1:] + ".") from None
        topic_name = await resolve_topic(self.bot, topic, self.bot.policy.default_visibility) if topic else None
        if keywords is not None:
            try:
                parse(keywords)
            except KeywordError as exc:
                raise UserFacingError(f"Those keywords can't be used: {exc}") from None
        at_time = _time_text(time) if time is not None else f"{DEFAULT_TIME:%H:%M}"
        if await repo.count_for_user(user_id) >= MAX_FOLLOWS:
            raise UserFacingError(f"You already have {MAX_FOLLOWS} follows, the most allowed. `/follow remove` one.")
        now = self._now()
        await repo.ensure_member(user_id, zone, now)
        if member is not None and zone != member.timezone:
            await repo.set_timezone(user_id, zone)
        follow = await repo.add(
            NewFollow(
                user_id=user_id,
                topic=topic_name,
                keywords=" ".join(keywords.split()) if keywords else None,
                delivery=delivery,
                at_time=at_time,
                weekday=now.astimezone(zone_for(zone)).weekday(),
                created_at=now,
            )
        )
        self.wake()
        log.info("user %d added follow %d", user_id, follow.id)
        lines = [f"Following **#{follow.id}**: {follow_label(follow)}, {delivery_label(follow)}, by direct message."]
        if delivery != "instant":
            first = next_slot(schedule_of(follow), now)
            lines.append(f"First digest: {local_moment(first)} ({zone}).")
        else:
            lines.append(f"At most {INSTANT_CAP} an hour; more arrive together in one message.")
        lines.append("Only you can see your follows. `/follow list` shows them, `/follow forget` deletes everything.")
        await self._answer(interaction, "\n".join(lines), title="Followed")

    @app_commands.command(name="list")
    async def list_(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Your follows, your timezone and quiet hours"""
        follows = await self.bot.db.follows.for_user(interaction.user.id)
        member = await self.bot.db.follows.member(interaction.user.id)
        await reply(interaction, embed=list_embed(follows, member), ephemeral=True)

    @app_commands.command(name="remove")
    @app_commands.describe(follow="The follow (its id; start typing to see yours)")
    @app_commands.autocomplete(follow=follow_autocomplete)
    async def remove(self, interaction: discord.Interaction[NewsBot], follow: app_commands.Range[str, 1, 100]) -> None:
        """Stop one of your follows"""
        found = await self._own(interaction, follow)
        await self.bot.db.follows.remove(interaction.user.id, found.id)
        self.wake()
        await self._answer(interaction, f"Removed follow **#{found.id}** ({follow_label(found)}).")

    @app_commands.command(name="pause")
    @app_commands.describe(follow="The follow (its id); leave it out to pause all of them")
    @app_commands.autocomplete(follow=follow_autocomplete)
    async def pause(
        self, interaction: discord.Interaction[NewsBot], follow: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        """Pause one follow, or all of them"""
        target = (await self._own(interaction, follow)).id if follow is not None else None
        changed = await self.bot.db.follows.set_paused(interaction.user.id, target, paused=True)
        self.wake()
        what = f"follow **#{target}**" if target is not None else "all your follows"
        done = f"Paused {what}." if changed else f"Nothing to pause: {what} already paused (or none)."
        await self._answer(interaction, f"{done} `/follow resume` starts them again.")

    @app_commands.command(name="resume")
    @app_commands.describe(follow="The follow (its id); leave it out to resume all of them")
    @app_commands.autocomplete(follow=follow_autocomplete)
    async def resume(
        self, interaction: discord.Interaction[NewsBot], follow: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        """Resume one follow, or all of them"""
        user_id = interaction.user.id
        target = (await self._own(interaction, follow)).id if follow is not None else None
        changed = await self.bot.db.follows.set_paused(user_id, target, paused=False)
        unblocked = target is None and await self.bot.db.follows.unpause_member(user_id)
        self.wake()
        what = f"follow **#{target}**" if target is not None else "all your follows"
        text = f"Resumed {what}." if changed or unblocked else f"Nothing to resume: {what} already running."
        if unblocked:
            text += " I'll try direct messages again; if Discord still refuses them, I'll pause again and tell you."
        await self._answer(interaction, text)

    @app_commands.command(name="quiet")
    @app_commands.describe(start="From (HH:MM, your time)", end="Until (HH:MM, your time)")
    async def quiet(
        self,
        interaction: discord.Interaction[NewsBot],
        start: app_commands.Range[str, 1, 20] | None = None,
        end: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        """No messages between two times (your clock); none: off"""
        repo = self.bot.db.follows
        member = await repo.member(interaction.user.id)
        if member is None:
            raise UserFacingError("You follow nothing yet: `/follow add` first, then set quiet hours.")
        if start is None and end is None:
            await repo.set_quiet(member.user_id, None, None)
            await self._answer(interaction, "Quiet hours are off.")
            return
        if start is None or end is None:
            raise UserFacingError("Give both `start` and `end` (or neither, to turn quiet hours off).")
        try:
            begin, finish = minutes(start), minutes(end)
        except ValueError as exc:
            message = str(exc)
            raise UserFacingError(message[:1].upper() + message[1:] + ".") from None
        if begin == finish:
            raise UserFacingError("`start` and `end` are the same time: that window would be empty.")
        await repo.set_quiet(member.user_id, begin, finish)
        self.wake()
        await self._answer(
            interaction,
            f"Quiet hours: {clock_text(begin)}–{clock_text(finish)} ({member.timezone}). Articles that arrive then "
            "come together in one message when they end; digests due then wait until they end.",
        )

    @app_commands.command(name="export")
    async def export(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Everything stored about you, as a file"""
        data = await self.bot.db.follows.export(interaction.user.id)
        raw = json.dumps(data, indent=2, ensure_ascii=False).encode()
        file = discord.File(io.BytesIO(raw), filename="newsbot-follows.json")
        embed = answer(
            "Everything I store about you: your preferences, follows, the articles they took and the messages "
            "I sent you. `/follow forget` deletes all of it.",
            title="Your data",
        )
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, file=file, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, file=file, ephemeral=True)

    @app_commands.command(name="forget")
    async def forget(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Delete everything stored about you (asks first)"""
        view = ForgetView(self, interaction.user.id)
        embed = answer(
            "This deletes your follows, your timezone and quiet hours, and every message waiting to be sent to "
            "you, at once. It cannot be undone.",
            title="Delete everything?",
        )
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(FollowCog(bot))
