"""Topic lookups shared by the cogs: one answer for an unknown or blocked topic, one autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.content import lookup
from bot.content.lookup import quote
from bot.db.types import Visibility
from bot.render.limits import MAX_CHOICE_CHARS, MAX_CHOICES, choice_name

__all__ = ["quote", "resolve_topic", "topic_choices"]

if TYPE_CHECKING:
    from bot.app.client import NewsBot


async def resolve_topic(bot: NewsBot, raw: str, vis: Visibility) -> str:
    """The store's spelling of a topic (``bot.content.lookup.resolve_topic``)."""
    return await lookup.resolve_topic(bot.db.articles, bot.catalog, raw, vis)


async def topic_choices(
    bot: NewsBot, interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete for a topic option, with article counts, as this server sees them."""
    vis = await bot.visibility_for(interaction.guild_id)
    return [
        app_commands.Choice(name=choice_name(f"{t.name} ({t.count})"), value=t.name[:MAX_CHOICE_CHARS])
        for t in bot.catalog.complete_topics(current, vis, limit=MAX_CHOICES)
    ]
