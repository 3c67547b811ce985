"""The command tree: one error path for every slash command, context menu and autocomplete."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.app.respond import offer_notice, report_error
from bot.ops.telemetry import track_interaction

if TYPE_CHECKING:
    from bot.ops.metrics import BotMetrics


class NewsTree(app_commands.CommandTree[Any]):
    """Errors become replies through ``bot.app.respond.report_error`` (the one error path, shared
    with the components): user-facing ones privately and verbatim, anything else is logged with the
    ids needed to trace it and answered with a short apology. ``metrics`` is set by the bot that
    owns the tree (it times and counts every interaction); ``notices``, the member's pending notice
    (their follows paused because Discord refused a DM), which every command's answer then says once."""

    metrics: BotMetrics | None = None
    notices: Callable[[int], Awaitable[discord.Embed | None]] | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # Runs first, in the task that handles the interaction, for commands, context menus and
        # autocomplete alike: where they are timed and counted (see bot.ops.telemetry).
        if self.metrics is not None:
            track_interaction(interaction, self.metrics)
        if self.notices is not None and interaction.type is discord.InteractionType.application_command:
            offer_notice(interaction, partial(self.notices, interaction.user.id))
        return True

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        await report_error(interaction, error, what=f"command {command!r}")


def tree_hash(tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None) -> str:
    """A stable fingerprint of what registering the tree would send, to sync only on change."""
    commands = tree._get_all_commands(guild=guild)
    payload = sorted((command.to_dict(tree) for command in commands), key=lambda c: (c.get("type", 1), c["name"]))
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
