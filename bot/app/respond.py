"""Answering interactions on time: Discord drops an interaction not answered within 3 seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

T = TypeVar("T")

# Work that is not done by then is deferred ("thinking..."), leaving ample margin below 3 s.
DEFER_AFTER = 1.5


async def within_deadline(interaction: discord.Interaction[Any], work: Awaitable[T], *, ephemeral: bool) -> T:
    """Await ``work``; if it is slow, defer the interaction first so it never times out."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    return await task


async def reply(
    interaction: discord.Interaction[Any],
    *,
    embed: discord.Embed,
    view: discord.ui.View | None = None,
    ephemeral: bool,
) -> None:
    """Send the answer as the first response, or as a follow-up when the interaction was deferred."""
    if interaction.response.is_done():
        if view is None:
            await interaction.followup.send(embed=embed, ephemeral=ephemeral)
        else:
            await interaction.followup.send(embed=embed, view=view, ephemeral=ephemeral)
    elif view is None:
        await interaction.response.send_message(embed=embed, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(embed=embed, view=view, ephemeral=ephemeral)
