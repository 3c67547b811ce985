"""The one way to answer an interaction: on time, as a first response or a follow-up, and the one
error path (private errors, the apology) that commands and components share.

Discord drops an interaction not answered within 3 seconds, and an interaction answered once must
be followed up instead: :func:`reply` picks the right call, and everything here goes through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.errors import UserFacingError
from bot.ops.telemetry import record_outcome
from bot.render.digest import MAX_EMBEDS, message_text_length
from bot.render.embeds import Limit
from bot.render.limits import permission_name
from bot.render.text import escape_markdown

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Where ``offer_notice`` leaves a notice for the answer (``interaction.extras``).
NOTICE = "newsbot.notice"
# Work that is not done by then is deferred ("thinking..."), leaving ample margin below 3 s.
DEFER_AFTER = 1.5
APOLOGY = "Sorry, something went wrong on our side while handling that. It has been logged; please try again later."
ERROR_COLOUR = discord.Colour.red()


async def within_deadline(interaction: discord.Interaction[Any], work: Awaitable[T], *, ephemeral: bool) -> T:
    """Await ``work``; if it is slow, defer the interaction first so it never times out."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    return await task


def offer_notice(interaction: discord.Interaction[Any], take: Callable[[], Awaitable[discord.Embed | None]]) -> None:
    """Let the answer to ``interaction`` carry a notice for the member (``NewsTree`` offers their
    paused-follows notice to every command). ``take`` is awaited by the first answer only, after the
    command's work, so a command that settles the matter (``/follow resume``) is not told about it."""
    interaction.extras[NOTICE] = take


async def _take_notice(interaction: discord.Interaction[Any]) -> discord.Embed | None:
    take: Callable[[], Awaitable[discord.Embed | None]] | None = interaction.extras.pop(NOTICE, None)
    if take is None:
        return None
    try:
        return await take()
    except Exception:
        # A notice rides along with an answer; it must never cost the member the answer itself (the
        # database may be the very reason this answer is an apology).
        log.warning("could not look up the notice for user %s", interaction.user.id, exc_info=True)
        return None


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
    file: discord.File | None = None,
    ephemeral: bool,
) -> None:
    """Send the answer as the first response, or as a follow-up when the interaction was already
    answered or deferred. A notice offered for the member goes first in a private answer, or in a
    private follow-up of its own when the answer is public or has no room for it."""
    notice = await _take_notice(interaction)
    extra: dict[str, Any] = {}
    if content is not None:
        extra["content"] = content
    every = ([embed] if embed is not None else []) + list(embeds)
    if notice is not None and ephemeral and _fits([notice, *every]):
        every, notice = [notice, *every], None
    if len(every) == 1:
        extra["embed"] = every[0]
    elif every:
        extra["embeds"] = every
    if view is not None:  # discord.py refuses an explicit None where it expects a view
        extra["view"] = view
    if file is not None:
        extra["file"] = file
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **extra)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **extra)
    if notice is not None:
        await interaction.followup.send(embed=notice, ephemeral=True)


def _fits(embeds: Sequence[discord.Embed]) -> bool:
    return len(embeds) <= MAX_EMBEDS and message_text_length(embeds) <= Limit.TOTAL


def error_embed(message: str, title: str | None = None) -> discord.Embed:
    embed = discord.Embed(description=message[:4000], colour=ERROR_COLOUR)
    if title:
        embed.title = title[:256]
    return embed


async def send_private(interaction: discord.Interaction[Any], embed: discord.Embed) -> None:
    """Answer privately whether or not the interaction was already answered or deferred."""
    await reply(interaction, embed=embed, ephemeral=True)


def describe_check_failure(error: BaseException) -> str | None:
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


async def report_error(interaction: discord.Interaction[Any], error: BaseException, *, what: str) -> None:
    """The one error path, for commands (``NewsTree.on_error``) and components (``OwnedView``) alike.

    A ``UserFacingError`` is shown privately as written and a failed check is explained; anything
    else is logged with the ids needed to trace it (``what`` names the command or component) and
    answered with a short apology. The outcome is recorded for telemetry either way.
    """
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, UserFacingError):
        record_outcome(interaction, "user_error")
        embed = error_embed(error.message, error.title)
    elif (text := describe_check_failure(error)) is not None:
        record_outcome(interaction, "user_error")
        embed = error_embed(text)
    else:
        record_outcome(interaction, "error")
        log.error(
            "%s failed (guild=%s channel=%s user=%s interaction=%s)",
            what,
            interaction.guild_id,
            interaction.channel_id,
            interaction.user.id,
            interaction.id,
            exc_info=error,
        )
        embed = error_embed(APOLOGY)
    if interaction.type is discord.InteractionType.autocomplete:
        return  # autocomplete cannot show messages; the user just sees no choices
    try:
        await send_private(interaction, embed)
    except discord.HTTPException:
        log.warning("could not report an error to user %s (interaction %s)", interaction.user.id, interaction.id)
