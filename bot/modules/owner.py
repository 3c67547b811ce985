"""``/owner``: tools for whoever runs the bot (the Discord application's owner or team), not for
server moderators.

Discord cannot restrict a command to one user, so the commands are hidden from everyone but
server administrators by default and every run checks ``Bot.is_owner`` (the application's owner,
or its team's admins and developers, as the developer portal says).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.client import NewsBot
from bot.content.indexing import ContentUnavailable
from bot.errors import UserFacingError
from bot.feeds.config import FeedsConfigError
from bot.feeds.known import IndexedUrls
from bot.feeds.report import describe
from bot.feeds.service import FeedService, FeedsSetup
from bot.feeds.state import StateError
from bot.feeds.task import FeedTask
from bot.modules._checks import Refused
from bot.render.admin import reload_embed

log = logging.getLogger(__name__)


@app_commands.default_permissions()
class Owner(commands.GroupCog, group_name="owner", group_description="Tools for the bot's owner"):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.feeds = FeedService(FeedsSetup.from_settings(bot.settings), known=_IndexUrls(bot))
        self.feed_task: FeedTask | None = None
        super().__init__()

    async def cog_load(self) -> None:
        # The fetcher belongs to the owner's tools: /owner feeds shows what it does. New files reach
        # the index through the content watcher; without one, the task reindexes itself.
        if self.bot.settings.feeds:
            self.feed_task = FeedTask(self.feeds, after_change=None if self.bot.settings.watch else self.bot.reindex)
            self.feed_task.start()

    async def cog_unload(self) -> None:
        task, self.feed_task = self.feed_task, None
        if task is not None:
            await task.stop()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if not await self.bot.is_owner(interaction.user):
            raise Refused("Only the bot's owner can use /owner commands.")
        return True

    @app_commands.command(name="reload")
    async def reload(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Re-read the content store and every server's settings"""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.bot.reindex()
        except ContentUnavailable as exc:
            raise UserFacingError(f"The content store cannot be read: {exc}") from None
        # Settings changed outside the bot (a restored database file) take effect now too.
        self.bot.policy.invalidate()
        await self.bot.reload_everywhere()  # the other processes on a shared database server
        servers = len(self.bot.guilds)
        log.info("owner %s reloaded the store for %d servers", interaction.user.id, servers)
        embed = reload_embed(report, title=f"Content reloaded for all {servers:,} server{'' if servers == 1 else 's'}")
        if interaction.guild_id is not None:
            await self.bot.audit(
                interaction.guild_id,
                interaction.user.id,
                "owner reload",
                {"servers": servers, "new": report.added, "changed": report.changed, "removed": report.removed},
            )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="feeds")
    async def feeds_status(self, interaction: discord.Interaction[NewsBot]) -> None:
        """The RSS and Atom feeds that fill the store, and how each is doing"""
        try:
            statuses = self.feeds.status()
        except (FeedsConfigError, StateError) as exc:
            raise UserFacingError(f"The feeds cannot be read: {exc}") from None
        embed = feeds_embed([describe(status) for status in statuses], self.feeds.setup.feeds_file.name)
        if self.feed_task is None:
            embed.set_footer(
                text="Fetching is off in this bot (NEWSBOT_FEEDS=false); `newsbot feeds fetch` still works"
            )
        elif self.feed_task.last_error:
            embed.set_footer(text=f"Last refresh failed: {self.feed_task.last_error}"[:2048])
        await interaction.response.send_message(embed=embed, ephemeral=True)


_DESCRIPTION_LIMIT = 4000


class _IndexUrls:
    """The index's URLs, looked up when a refresh needs them (the database opens after the cog is made)."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def existing(self, norm_urls: Collection[str]) -> set[str]:
        return await IndexedUrls(self.bot.db.index).existing(norm_urls)


def feeds_embed(blocks: list[list[str]], file_name: str) -> discord.Embed:
    """Every feed's lines (as ``newsbot feeds list`` prints them), escaped, within Discord's limits."""
    embed = discord.Embed(title=f"Feeds ({len(blocks)})")
    if not blocks:
        embed.description = f"No feeds yet. Add one with `newsbot feeds add URL` (they are kept in {file_name})."
        return embed
    text = ""
    for shown, lines in enumerate(blocks):
        block = "\n".join(discord.utils.escape_markdown(line.strip()) for line in lines) + "\n\n"
        rest = f"… and {len(blocks) - shown} more (`newsbot feeds list` shows all)"
        if len(text) + len(block) + len(rest) > _DESCRIPTION_LIMIT:
            text += rest
            break
        text += block
    embed.description = text.strip()
    return embed


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Owner(bot))
