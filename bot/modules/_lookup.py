"""Topic lookups shared by the cogs: one answer for an unknown or blocked topic, one autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.db.types import Visibility
from bot.errors import UserFacingError
from bot.render.limits import MAX_CHOICE_CHARS, MAX_CHOICES, choice_name
from bot.render.text import escape_markdown, single_line, truncate
from bot.store.keys import topic_key

if TYPE_CHECKING:
    from bot.app.client import NewsBot


def quote(text: str, limit: int = 80) -> str:
    """Echo what a member typed: one line, shortened, and unable to format or ping."""
    return escape_markdown(truncate(single_line(text), limit))


async def resolve_topic(bot: NewsBot, raw: str, vis: Visibility) -> str:
    """The store's spelling of a topic, or a private answer: the closest topics when it is
    unknown, a plain statement when this server blocked it."""
    name = await bot.db.articles.resolve_topic(raw.strip())
    if name is not None:
        if topic_key(name) in vis.blocked_topics:
            raise UserFacingError(f"The moderators of this server have blocked the topic **{escape_markdown(name)}**.")
        return name
    closest = bot.catalog.closest_topics(raw, 3)
    hint = (
        "Did you mean " + ", ".join(f"**{escape_markdown(t)}**" for t in closest) + "?"
        if closest
        else "Pick one from the suggestions while typing."
    )
    raise UserFacingError(f"There is no topic called “{quote(raw)}”. {hint} `/news topics` lists them all.")


async def topic_choices(
    bot: NewsBot, interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete for a topic option, with article counts, as this server sees them."""
    vis = await bot.visibility_for(interaction.guild_id)
    return [
        app_commands.Choice(name=choice_name(f"{t.name} ({t.count})"), value=t.name[:MAX_CHOICE_CHARS])
        for t in bot.catalog.complete_topics(current, vis, limit=MAX_CHOICES)
    ]
