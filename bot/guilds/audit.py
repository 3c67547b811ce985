"""The audit log: every admin action and digest change is stored, then announced in the server's log
channel when it has one.

Recording never fails the caller: a database error is logged, and the announcement runs in the
background after the row is stored (so a slow or forbidden log channel never delays or breaks the
command that was audited).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot.db.guild_types import AuditEntry, AuditRepository
from bot.render.admin import audit_embed

log = logging.getLogger(__name__)

LogChannelLookup = Callable[[int], Awaitable[int | None]]


class Auditor:
    """``await record(...)`` stores an entry and schedules its announcement."""

    def __init__(self, repo: AuditRepository, client: discord.Client, log_channel: LogChannelLookup) -> None:
        self._repo = repo
        self._client = client
        self._log_channel = log_channel
        self._pending: set[asyncio.Task[None]] = set()

    async def record(self, guild_id: int, user_id: int, action: str, details: Mapping[str, Any]) -> AuditEntry | None:
        try:
            entry = await self._repo.add(guild_id, user_id, action, details)
        except (sqlite3.Error, ValueError):
            log.exception("could not store audit entry %s for guild %s", action, guild_id)
            return None
        log.info("audit guild=%s user=%s action=%s", guild_id, user_id, action)
        task = asyncio.create_task(self._announce(entry), name=f"audit-announce-{entry.id}")
        self._pending.add(task)  # keep a reference until it is done (asyncio holds only weak ones)
        task.add_done_callback(self._pending.discard)
        return entry

    async def wait_announced(self) -> None:
        """Wait for the announcements scheduled so far (for shutdown and tests)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _announce(self, entry: AuditEntry) -> None:
        try:
            channel_id = await self._log_channel(entry.guild_id)
        except sqlite3.Error:
            log.exception("could not read the log channel of guild %s", entry.guild_id)
            return
        if channel_id is None:
            return
        channel = self._client.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning(
                "log channel %s of guild %s is gone: audit #%s not announced", channel_id, entry.guild_id, entry.id
            )
            return
        try:
            await channel.send(embed=audit_embed(entry))
        except discord.HTTPException as exc:
            log.warning(
                "could not announce audit #%s in log channel %s of guild %s: %s %s",
                entry.id,
                channel_id,
                entry.guild_id,
                exc.status,
                exc.text,
            )
        except Exception:
            # Runs detached from any command: nothing above it would log a failure.
            log.exception("announcing audit #%s in guild %s failed", entry.id, entry.guild_id)
