"""``/alert``: live alerts, each new article posted once as it arrives (Manage Server; private answers).

The cog owns the alert loop (``bot.alerts.loop``): started in ``cog_load``, cancelled in
``cog_unload``. Commands validate with the rules of ``bot.alerts.rules`` (the same the backup
validator and the database use), change alerts through the repository, audit, and wake the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import discord
from discord import app_commands
from discord.ext import commands

from bot.actors import Actor
from bot.alerts import rules
from bot.alerts.actions import ALL, AlertActions, AlertChanges, AlertForm, describe_filters
from bot.alerts.loop import AlertLoop
from bot.alerts.outbox import DiscordAlertOutbox, RelatedButton
from bot.alerts.rules import Style
from bot.alerts.service import AlertService, jump_link
from bot.app.client import NewsBot
from bot.app.respond import reply, within_deadline
from bot.db.alert_types import Alert, NewAlert
from bot.errors import UserFacingError
from bot.modules._checks import Refused
from bot.modules._lookup import resolve_topic, topic_choices
from bot.render.embeds import DEFAULT_COLOR, fit_embed
from bot.render.limits import MAX_CHOICE_CHARS, MAX_CHOICES, choice_name
from bot.render.text import escape_markdown
from bot.store.limits import QUALITY

log = logging.getLogger(__name__)

RESTART_DELAY: Final = 60
#: Characters per `/alert list` embed (Discord allows 6,000 per message, title and footer included).
LIST_PAGE_CHARS: Final = 5500


class _ChannelOption(app_commands.Transformer):
    """A text, announcement or forum channel (the picker offers only those), resolved from the cache."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]

    async def transform(self, interaction: discord.Interaction[Any], value: Any, /) -> Any:
        found = interaction.guild.get_channel(value.id) if interaction.guild is not None else None
        if found is None:
            raise UserFacingError("I can't see that channel: give me **View Channel** there, or pick another one.")
        return found


AlertChannel = app_commands.Transform[discord.abc.GuildChannel, _ChannelOption]


@dataclass
class OffsetClock:
    """The wall clock, plus an offset tests move forward (a flood window passes in no time)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def style_text(alert: Alert | NewAlert) -> str:
    if alert.channel_kind == "forum":
        return "a forum post per article"
    text = {"embed": "a card per article", "compact": "one line per article", "thread": "a card and a thread"}[
        alert.style
    ]
    if alert.publish:
        text += ", published"
    return text


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class AlertCog(
    commands.GroupCog, group_name="alert", group_description="Post each new article in a channel as it arrives"
):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.clock = OffsetClock()
        self._service: AlertService | None = None
        self._loop: AlertLoop | None = None
        self._actions: AlertActions | None = None
        self._task: asyncio.Task[None] | None = None
        super().__init__()

    @property
    def service(self) -> AlertService:
        if self._service is None:
            self._service = AlertService(
                self.bot.db.alerts,
                self.bot.db.articles,
                DiscordAlertOutbox(self.bot, self.bot.post_queue),
                self.bot.visibility_for,
                max_age=timedelta(hours=self.bot.settings.alert_max_age_hours),
                clock=self.clock,
                audit=self.bot.audit,
                counters=self.bot.metrics,
            )
        return self._service

    @property
    def loop(self) -> AlertLoop:
        if self._loop is None:
            self._loop = AlertLoop(
                self.service,
                self.bot.db.alerts,
                owns=self.bot.handles_guild,
                before_start=self.bot.wait_until_ready,
                observe=self._count,
            )
        return self._loop

    @property
    def actions(self) -> AlertActions:
        """What moderators do to alerts; the web panel reaches it as ``bot.alert_actions``."""
        if self._actions is None:
            self._actions = AlertActions(
                self.bot.db.alerts,
                self.bot.db.articles,
                self.service,
                wake=self.loop.wake,
                reset=self.loop.reset,
                audit=self.bot.audit,
                topics=lambda raw, vis: resolve_topic(self.bot, raw, vis),
                visibility_for=self.bot.visibility_for,
            )
        return self._actions

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RelatedButton)
        if not hasattr(self.bot, "db"):
            return  # loaded only to inspect the commands: no database, no loop
        self.bot.alert_actions = self.actions
        self._task = asyncio.create_task(self._run(), name="alert-loop")

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RelatedButton)
        if self.bot.alert_actions is self._actions:
            self.bot.alert_actions = None
        if self._task is None:
            return
        if self._task.done():
            # Died of something no handler catches: say so, and let the rest of the shutdown run.
            if not self._task.cancelled() and self._task.exception() is not None:
                log.error("the alert loop had stopped", exc_info=self._task.exception())
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        # The loop catches per alert; what escapes it (the database gone for a moment) must not end
        # alerts for good: start again, which reconciles and carries on from the stored cursors.
        while True:
            try:
                await self.loop.run()
            except Exception:
                log.exception("the alert loop stopped; starting it again in %d s", RESTART_DELAY)
            await asyncio.sleep(RESTART_DELAY)

    def _count(self, kind: str) -> None:
        log.debug("alert delivery outcome: %s", kind)

    @commands.Cog.listener()
    async def on_alerts_changed(self, guild_id: int | None = None) -> None:
        """``bot.dispatch("alerts_changed", guild_id)`` (an import, a reindex) wakes the loop now."""
        self.loop.wake()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # default_permissions only hides the command; a server can open it to anyone, so check here.
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not interaction.permissions.manage_guild:
            raise Refused("You need the **Manage Server** permission to manage alerts.")
        return True

    # --- helpers ----------------------------------------------------------------------------

    async def _alert(self, interaction: discord.Interaction[Any], raw: str) -> Alert:
        return await self.actions.find(interaction.guild_id or 0, raw)

    def _where(self, channel_id: int) -> str:
        return f"<#{channel_id}>" if self.bot.get_channel(channel_id) is not None else "a deleted channel"

    def _describe(self, alert: Alert) -> str:
        return f"**#{alert.id}** ({describe_filters(alert)}) in {self._where(alert.channel_id)}"

    @staticmethod
    def _actor(interaction: discord.Interaction[Any]) -> Actor:
        return Actor(interaction.user.id, interaction.user.display_name)

    async def _answer(self, interaction: discord.Interaction[Any], text: str, *, title: str | None = None) -> None:
        embed = discord.Embed(title=title, description=text, colour=DEFAULT_COLOR)
        await reply(interaction, embed=fit_embed(embed), ephemeral=True)

    # --- autocomplete -----------------------------------------------------------------------

    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.bot, interaction, current)

    async def alert_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        text = current.strip().lstrip("#").casefold()
        choices: list[app_commands.Choice[str]] = []
        for alert in await self.bot.db.alerts.for_guild(interaction.guild_id):
            channel = self.bot.get_channel(alert.channel_id)
            where = f"#{channel.name}" if isinstance(channel, discord.abc.GuildChannel) else "deleted channel"
            what = " · ".join(x for x in (alert.topic, alert.keywords) if x)
            name = f"#{alert.id} · {what} in {where}" + (" (paused)" if alert.paused else "")
            if not text or text in name.casefold():
                choices.append(app_commands.Choice(name=choice_name(name), value=str(alert.id)))
        return choices[:MAX_CHOICES]

    async def article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=choice_name(c.title, c.id), value=c.id[:MAX_CHOICE_CHARS])
            for c in self.bot.catalog.complete_articles(current, ALL, limit=MAX_CHOICES)
        ]

    # --- commands ---------------------------------------------------------------------------

    @app_commands.command(name="add")
    @app_commands.describe(
        channel="Where to post: a text, announcement or forum channel",
        topic="Only articles of this topic (start typing to see suggestions)",
        keywords='Words that must all occur; "a phrase", -excluded, a | b',
        providers="Only from these provider domains, comma-separated",
        min_quality=f"Only articles of at least this quality ({QUALITY})",
        mention="A role to ping on each post (at most 3 pings an hour)",
        style="A card (default), one line, or a card with a thread",
        publish="In an announcement channel: publish each post to following servers",
        template="The message text, with {title} {url} {excerpt} {provider} {topics} {published} {mention}",
        posts_per_10min="At most this many posts per 10 minutes; the rest come as one roundup (1 to 30)",
    )
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def add(
        self,
        interaction: discord.Interaction[NewsBot],
        channel: AlertChannel,
        topic: app_commands.Range[str, 1, 100] | None = None,
        keywords: app_commands.Range[str, 1, 200] | None = None,
        providers: app_commands.Range[str, 1, 1000] | None = None,
        min_quality: app_commands.Range[int, QUALITY.low, QUALITY.high] = QUALITY.low,
        mention: discord.Role | None = None,
        style: Style = "embed",
        publish: bool = False,
        template: app_commands.Range[str, 1, 4000] | None = None,
        posts_per_10min: app_commands.Range[int, 1, 30] = rules.DEFAULT_POSTS_PER_WINDOW,
    ) -> None:
        """Post each new article about a topic or keywords as it arrives"""
        assert interaction.guild is not None
        form = AlertForm(
            channel_id=channel.id,
            topic=topic,
            keywords=keywords,
            providers=providers,
            min_quality=min_quality,
            role_id=mention.id if mention is not None else None,
            style=style,
            publish=publish,
            template=template,
            posts_per_window=posts_per_10min,
        )
        saved = await self.actions.add(interaction.guild, self._actor(interaction), form)
        alert, notes = saved.alert, saved.notes
        lines = [
            f"Alert **#{alert.id}**: {describe_filters(alert)}, posted in {self._where(alert.channel_id)} as "
            f"{style_text(alert)}" + (f", pinging <@&{alert.role_id}>" if alert.role_id else "") + ".",
            f"Only articles that arrive from now on and are at most {self.bot.settings.alert_max_age_hours} hours "
            f"old; at most {alert.posts_per_window} posts per 10 minutes (the rest as one roundup).",
            *notes,
        ]
        await self._answer(interaction, "\n".join(lines), title="Alert created")

    @app_commands.command(name="list")
    async def list_(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Every alert of this server with its state and last posts"""
        assert interaction.guild is not None
        alerts = await self.bot.db.alerts.for_guild(interaction.guild.id)
        if not alerts:
            raise UserFacingError("This server has no alerts yet. `/alert add` creates one.")
        now = self.clock()
        fields: list[tuple[str, str]] = []
        for alert in alerts:
            fields.append(await self._list_field(alert, now))
        # A full server (25 alerts) can need more than one message's 6,000 characters: the rest
        # follow privately, nothing is cut.
        pages: list[discord.Embed] = []
        for name, value in fields:
            if not pages or len(pages[-1]) + len(name) + len(value) > LIST_PAGE_CHARS or len(pages[-1].fields) >= 25:
                title = f"Alerts in {interaction.guild.name}"[:90] + (f" ({len(pages) + 1})" if pages else "")
                pages.append(discord.Embed(title=title, colour=DEFAULT_COLOR))
            pages[-1].add_field(name=name, value=value, inline=False)
        await reply(interaction, embed=fit_embed(pages[0]), ephemeral=True)
        for page in pages[1:]:
            await interaction.followup.send(embed=fit_embed(page), ephemeral=True)

    async def _list_field(self, alert: Alert, now: datetime) -> tuple[str, str]:
        stats = await self.bot.db.alerts.stats(alert.id, now)
        state = f"⏸ paused: {_cut(alert.pause_reason or 'paused', 120)}" if alert.paused else "active"
        lines = [f"{self._where(alert.channel_id)} · {style_text(alert)} · {state}"]
        last = "no post yet"
        if stats.last is not None:
            link = jump_link(alert.guild_id, stats.last)
            last = f"[last post]({link})" if link else "last post"
        lines.append(f"{stats.posts_24h} post(s) in 24 h · {last}")
        if stats.held:
            lines.append(f"{stats.held} held back by the rate limit, for the next roundup")
        if stats.ping_limited_1h:
            lines.append(f"{stats.ping_limited_1h} post(s) this hour did not ping: 3 pings an hour at most")
        if stats.publish_limited_1h:
            lines.append(f"{stats.publish_limited_1h} post(s) this hour were not published: Discord allows 10 an hour")
        if alert.last_skip_title:
            lines.append(
                f"last skipped: “{escape_markdown(_cut(alert.last_skip_title, 60))}”: "
                f"{escape_markdown(_cut(alert.last_skip_reason or '', 90))}"
            )
        name = f"#{alert.id} · " + _cut(" · ".join(x for x in (alert.topic, alert.keywords) if x), 80)
        return name, "\n".join(lines)[:1024]

    @app_commands.command(name="edit")
    @app_commands.describe(
        alert="The alert (start typing its topic or id)",
        channel="Where to post",
        topic="The topic (`none` removes it)",
        keywords="The keywords (`none` removes them)",
        providers="Provider domains, comma-separated (`none`: any)",
        min_quality=f"Only articles of at least this quality ({QUALITY})",
        mention="A role to ping on each post",
        no_mention="Stop pinging a role",
        style="A card, one line, or a card with a thread",
        publish="Publish each post (announcement channels)",
        template="The message text (`none` removes it)",
        posts_per_10min="Posts per 10 minutes before a roundup (1 to 30)",
    )
    @app_commands.autocomplete(alert=alert_autocomplete, topic=topic_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction[NewsBot],
        alert: app_commands.Range[str, 1, 100],
        channel: AlertChannel | None = None,
        topic: app_commands.Range[str, 1, 100] | None = None,
        keywords: app_commands.Range[str, 1, 200] | None = None,
        providers: app_commands.Range[str, 1, 1000] | None = None,
        min_quality: app_commands.Range[int, QUALITY.low, QUALITY.high] | None = None,
        mention: discord.Role | None = None,
        no_mention: bool = False,
        style: Style | None = None,
        publish: bool | None = None,
        template: app_commands.Range[str, 1, 4000] | None = None,
        posts_per_10min: app_commands.Range[int, 1, 30] | None = None,
    ) -> None:
        """Change an alert (only the options you give)"""
        assert interaction.guild is not None
        found = await self._alert(interaction, alert)
        given = AlertChanges(
            channel_id=channel.id if channel is not None else None,
            topic=topic,
            keywords=keywords,
            providers=providers,
            min_quality=min_quality,
            role_id=mention.id if mention is not None else None,
            no_mention=no_mention,
            style=style,
            publish=publish,
            template=template,
            posts_per_window=posts_per_10min,
        )
        saved = await self.actions.edit(interaction.guild, self._actor(interaction), found, given)
        what = ", ".join(f"`{c}`" for c in saved.changed) or "nothing (the values were the same)"
        await self._answer(
            interaction, "\n".join([f"Changed {what} of alert {self._describe(saved.alert)}.", *saved.notes])
        )

    @app_commands.command(name="pause")
    @app_commands.describe(alert="The alert (start typing its topic or id)")
    @app_commands.autocomplete(alert=alert_autocomplete)
    async def pause(self, interaction: discord.Interaction[NewsBot], alert: app_commands.Range[str, 1, 100]) -> None:
        """Stop an alert for now (its settings are kept)"""
        assert interaction.guild is not None
        found = await self._alert(interaction, alert)
        await self.actions.pause(interaction.guild, self._actor(interaction), found)
        await self._answer(
            interaction,
            f"Paused alert {self._describe(found)}. Articles arriving meanwhile are skipped; "
            "`/alert resume` restarts it.",
        )

    @app_commands.command(name="resume")
    @app_commands.describe(alert="The alert (start typing its topic or id)")
    @app_commands.autocomplete(alert=alert_autocomplete)
    async def resume(self, interaction: discord.Interaction[NewsBot], alert: app_commands.Range[str, 1, 100]) -> None:
        """Start a paused alert again"""
        assert interaction.guild is not None
        found = await self._alert(interaction, alert)
        await self.actions.resume(interaction.guild, self._actor(interaction), found)
        await self._answer(interaction, f"Resumed alert {self._describe(found)}.")

    @app_commands.command(name="remove")
    @app_commands.describe(alert="The alert (start typing its topic or id)")
    @app_commands.autocomplete(alert=alert_autocomplete)
    async def remove(self, interaction: discord.Interaction[NewsBot], alert: app_commands.Range[str, 1, 100]) -> None:
        """Delete an alert"""
        assert interaction.guild is not None
        found = await self._alert(interaction, alert)
        await self.actions.remove(interaction.guild, self._actor(interaction), found)
        await self._answer(interaction, f"Removed alert {self._describe(found)}. Nothing more will be posted.")

    @app_commands.command(name="test")
    @app_commands.describe(alert="The alert (start typing its topic or id)")
    @app_commands.autocomplete(alert=alert_autocomplete)
    async def test(self, interaction: discord.Interaction[NewsBot], alert: app_commands.Range[str, 1, 100]) -> None:
        """Post the newest matching article now, marked as a test"""
        assert interaction.guild is not None
        found = await self._alert(interaction, alert)
        outcome = await within_deadline(
            interaction, self.actions.test(interaction.guild, self._actor(interaction), found), ephemeral=True
        )
        link = f"https://discord.com/channels/{found.guild_id}/{found.channel_id}/{outcome.message_id}"
        await self._answer(
            interaction,
            f"Posted a test of alert {self._describe(found)}: “{escape_markdown(_cut(outcome.detail, 100))}” "
            f"([jump]({link})). It does not count as delivered.",
        )

    @app_commands.command(name="why")
    @app_commands.describe(article="The article (start typing its title)")
    @app_commands.autocomplete(article=article_autocomplete)
    async def why(self, interaction: discord.Interaction[NewsBot], article: app_commands.Range[str, 1, 200]) -> None:
        """Why an article was or was not posted by each alert"""
        assert interaction.guild is not None
        found = await self.actions.article(article)
        answers = await self.actions.why(interaction.guild.id, found)
        lines = []
        for answer in answers:
            alert_ = answer.alert
            if answer.posted:
                link = f" ([jump]({answer.link}))" if answer.link else ""
                lines.append(f"**#{alert_.id}**: ✅ {answer.detail}{link}")
            else:
                lines.append(f"**#{alert_.id}**: not posted: {escape_markdown(answer.detail)}")
        title = f"Why “{_cut(found.title, 80)}”"
        await self._answer(interaction, "\n".join(lines), title=title)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(AlertCog(bot))
