"""The command tree: one error path for every slash command, context menu and autocomplete."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.ops.telemetry import record_outcome, track_interaction
from bot.render.limits import permission_name
from bot.render.text import escape_markdown

if TYPE_CHECKING:
    from bot.ops.metrics import BotMetrics

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side while handling that. It has been logged; please try again later."
ERROR_COLOUR = discord.Colour.red()


def error_embed(message: str, title: str | None = None) -> discord.Embed:
    embed = discord.Embed(description=message[:4000], colour=ERROR_COLOUR)
    if title:
        embed.title = title[:256]
    return embed


async def send_private(interaction: discord.Interaction[Any], embed: discord.Embed) -> None:
    """Answer privately whether or not the interaction was already answered or deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, ephemeral=True)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=True)


def describe_check_failure(error: app_commands.AppCommandError) -> str | None:
    """A private explanation for the errors that are the user's (or the server's) to fix."""
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(map(permission_name, error.missing_permissions))
        return f"You need the **{needed}** permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = ", ".join(map(permission_name, error.missing_permissions))
        return f"I need the **{needed}** permission in this channel to do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works inside a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"{escape_markdown(str(error.value))!s} is not a valid value for this option."
    if isinstance(error, app_commands.CheckFailure):
        return "You are not allowed to use this command here."
    return None


class NewsTree(app_commands.CommandTree[Any]):
    """Errors become replies: user-facing ones privately and verbatim, anything else is logged with
    the ids needed to trace it and answered with a short apology. ``metrics`` is set by the bot
    that owns the tree (it times and counts every interaction)."""

    metrics: BotMetrics | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # Runs first, in the task that handles the interaction, for commands, context menus and
        # autocomplete alike: where they are timed and counted (see bot.ops.telemetry).
        if self.metrics is not None:
            track_interaction(interaction, self.metrics)
        return True

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(original, UserFacingError):
            record_outcome(interaction, "user_error")
            embed = error_embed(original.message, original.title)
        elif (text := describe_check_failure(error)) is not None:
            record_outcome(interaction, "user_error")
            embed = error_embed(text)
        else:
            record_outcome(interaction, "error")
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "command %r failed (guild=%s channel=%s user=%s interaction=%s)",
                command,
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
                interaction.id,
                exc_info=original,
            )
            embed = error_embed(APOLOGY)
        if interaction.type is discord.InteractionType.autocomplete:
            return  # autocomplete cannot show messages; the user just sees no choices
        try:
            await send_private(interaction, embed)
        except discord.HTTPException:
            log.warning("could not report an error to user %s (interaction %s)", interaction.user.id, interaction.id)


def tree_hash(tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None) -> str:
    """A stable fingerprint of what registering the tree would send, to sync only on change."""
    commands = tree._get_all_commands(guild=guild)
    payload = sorted((command.to_dict(tree) for command in commands), key=lambda c: (c.get("type", 1), c["name"]))
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
