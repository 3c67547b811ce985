"""What digests and alerts share to post exactly once (one design, one implementation).

The design: record what will be sent before sending it; send it with a nonce (``enforce_nonce``)
that is also written into the message (``marker``, in an embed footer); record the message id
after; on start, reconcile what is still pending by looking for our message with that nonce in the
channel (``find_own_message``): found, it is recorded; not found, it is sent again with the same
nonce. Discord I/O sits behind each feature's small outbox protocol, so the bookkeeping is tested
without Discord.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

import discord

log = logging.getLogger(__name__)

#: How far before a delivery was recorded to start looking for its message (clock skew between us
#: and Discord, whose message ids carry Discord's time).
RECONCILE_MARGIN: Final = timedelta(minutes=2)
#: How many of the channel's messages after that point are searched.
RECONCILE_LIMIT: Final = 100
MARKER_PREFIX: Final = "ref "
#: Discord's limit on a nonce's length.
MAX_NONCE: Final = 25

_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


class ChannelUnavailable(Exception):
    """The channel is gone or the bot may not post there: the feature pauses, with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TryLater(Exception):
    """Discord failed for now (5xx, timeout): the delivery stays pending and is retried."""


def base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if not number:
            return digits


def marker(nonce: str) -> str:
    """The text written into a message's footer so it is found again without its nonce."""
    return f"{MARKER_PREFIX}{nonce}"


def carries(message: discord.Message, nonce: str) -> bool:
    """Whether ``message`` is the one sent with ``nonce`` (by its nonce, or its footer marker)."""
    if message.nonce is not None and str(message.nonce) == nonce:
        return True
    wanted = marker(nonce)
    return any((embed.footer.text or "").endswith(wanted) for embed in message.embeds)


async def find_own_message(
    channel: discord.abc.Messageable, me: discord.abc.Snowflake | None, nonce: str, *, after: datetime
) -> int | None:
    """The id of our message sent with ``nonce`` among ``channel``'s messages after ``after``."""
    if me is None:
        return None
    async for message in channel.history(limit=RECONCILE_LIMIT, after=after, oldest_first=True):
        if message.author.id == me.id and carries(message, nonce):
            return message.id
    return None
