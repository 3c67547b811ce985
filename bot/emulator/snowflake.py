"""Discord-style snowflake ids: milliseconds since the Discord epoch in the high bits.

Real ids matter here: discord.py routes guilds to shards with ``(guild_id >> 22) % shard_count`` and
pages message history by id, so the emulator's ids must carry time and sort by creation.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Strictly increasing snowflakes.

    Each id gets its own millisecond (the clock is pushed forward when ids are drawn faster than
    that), so consecutive guild ids spread over shards the way guilds created at different times do.
    """

    def __init__(self, worker_id: int = 1) -> None:
        self._worker = worker_id & 0x1F
        self._last_ms = 0

    def next(self) -> int:
        now_ms = time.time_ns() // 1_000_000 - DISCORD_EPOCH_MS
        self._last_ms = max(now_ms, self._last_ms + 1)
        return (self._last_ms << 22) | (self._worker << 17)


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def iso_timestamp(snowflake: int) -> str:
    """The ISO 8601 timestamp Discord puts on a message with this id."""
    return snowflake_time(snowflake).isoformat(timespec="microseconds")
