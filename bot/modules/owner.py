"""``/owner``: tools for whoever runs the bot (the Discord application's owner or team), not for
server moderators.

Discord cannot restrict a command to one user, so the commands are hidden from everyone but
server administrators by default and every run checks ``Bot.is_owner`` (the application's owner,
or its team's admins and developers, as the developer portal says).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import NewsBot
from bot.errors import UserFacingError
from bot.indexing import ContentUnavailable
from bot.modules._checks import Refused
from bot.render.admin import reload_embed

log = logging.getLogger(__name__)


@app_commands.default_permissions()
class Owner(commands.GroupCog, group_name="owner", group_description="Tools for the bot's owner"):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if not await self.bot.is_owner(interaction.user):
            raise Refused("Only the bot's owner can use /owner commands.")
        return True

    @app_commands.command(name="reload", description="Re-read the content store and every server's settings")
    async def reload(self, interaction: discord.Interaction[NewsBot]) -> None:
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


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Owner(bot))
