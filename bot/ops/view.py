"""What observability reads from the running bot, as a ``Protocol``: ``bot.ops`` never imports the bot.

``NewsBot`` (``bot.app.client``) is one ``StatusSource``; the health check, the metrics collector and
the status server see only these members, so the layers import one way (the app uses ``ops``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import discord

    from bot.db.types import IndexReport


@dataclass(frozen=True, slots=True)
class ShardState:
    shard_id: int
    connected: bool
    latency: float  # seconds; inf before the first heartbeat is acknowledged, nan when not connected


class StatusSource(Protocol):
    """The bot's state as ``/healthz`` and ``/metrics`` report it."""

    @property
    def started_at(self) -> datetime: ...

    @property
    def last_index(self) -> IndexReport | None: ...

    @property
    def guilds(self) -> Sequence[discord.Guild]: ...

    def is_ready(self) -> bool: ...

    def is_closed(self) -> bool: ...

    def shard_states(self) -> list[ShardState]:
        """One entry per shard this process should hold (see ``bot.ops.health.shard_states``)."""
        ...

    def articles_served(self) -> int:
        """How many articles the autocomplete catalog holds (0 before the first index)."""
        ...

    async def ping_database(self) -> None:
        """A trivial query; raises when the database cannot answer (or is not open yet: ``LookupError``)."""
        ...
