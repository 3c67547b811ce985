"""``DmOutbox`` over a connected discord.py client: direct messages to members."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import discord

from bot.delivery import TryLater, find_own_message
from bot.follows.service import DmRefused

log = logging.getLogger(__name__)

#: Discord's "Cannot send messages to this user": DMs closed, the bot blocked, or no way to reach them.
CANNOT_DM: Final = 50007


class DiscordDmOutbox:
    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, channel_id: int) -> discord.PartialMessageable:
        # The DM channel's id is stored: after a restart the channel is not in the cache, and a
        # partial messageable needs none.
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    @staticmethod
    def _failed(exc: discord.HTTPException) -> Exception:
        if isinstance(exc, discord.Forbidden):
            return DmRefused()  # 50007 and any other refusal: Discord will not let us DM them
        if isinstance(exc, discord.DiscordServerError):
            return TryLater(f"Discord answered {exc.status}")
        return exc

    async def open(self, user_id: int) -> int:
        try:
            channel = await self.client.create_dm(discord.Object(user_id))
        except discord.HTTPException as exc:
            raise self._failed(exc) from exc
        return channel.id

    async def send(self, channel_id: int, embeds: Sequence[dict[str, Any]], nonce: str) -> int:
        try:
            message = await self._channel(channel_id).send(
                embeds=[discord.Embed.from_dict(e) for e in embeds],
                nonce=nonce,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            raise self._failed(exc) from exc
        return message.id

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        try:
            return await find_own_message(self._channel(channel_id), self.client.user, nonce, after=after)
        except discord.Forbidden:
            return None
