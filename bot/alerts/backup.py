"""Alerts in ``/admin export`` and ``/admin import``: from stored alerts to ``AlertSpec`` and back.

Kept apart from the admin cog so the backup format's alert part lives in one place: what an import
stores passes the same checks as ``/alert add`` (``bot.server_config`` validated the values; here
the channel, role and topic are found in the importing server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import discord

from bot.alerts.outbox import channel_kind, channel_problem
from bot.db.alert_types import AlertRepository, NewAlert
from bot.render.text import escape_markdown
from bot.server_config import AlertSpec, ChannelRef

ResolveTopic = Callable[[str], Awaitable[str | None]]


async def export_alerts(guild: discord.Guild, repo: AlertRepository) -> tuple[AlertSpec, ...]:
    specs = []
    for alert in await repo.for_guild(guild.id):
        channel = guild.get_channel(alert.channel_id)
        role = guild.get_role(alert.role_id) if alert.role_id is not None else None
        specs.append(
            AlertSpec(
                channel=ChannelRef(alert.channel_id, channel.name if channel is not None else None),
                topic=alert.topic,
                keywords=alert.keywords,
                providers=alert.providers,
                min_quality=alert.min_quality,
                mention=ChannelRef(alert.role_id, role.name if role is not None else None) if alert.role_id else None,
                style=alert.style,
                publish=alert.publish,
                template=alert.template,
                posts_per_10min=alert.posts_per_window,
                paused=alert.paused,
                pause_reason=alert.pause_reason,
            )
        )
    return tuple(specs)


def _find(items: Sequence[discord.abc.GuildChannel | discord.Role], ref: ChannelRef) -> Any:
    if ref.id is not None:
        for item in items:
            if item.id == ref.id:
                return item
    if ref.name:
        for item in items:
            if item.name == ref.name:
                return item
    return None


async def plan_alerts(
    guild: discord.Guild,
    specs: tuple[AlertSpec, ...],
    resolve_topic: ResolveTopic,
    *,
    user_id: int,
    now: datetime,
    notes: list[str],
) -> list[NewAlert]:
    """The alerts an import stores here; what does not fit this server is left out with a note.
    An alert whose channel lacks a permission is imported paused, saying which."""
    out: list[NewAlert] = []
    channels = [c for c in guild.channels if channel_kind(c) is not None]
    for i, spec in enumerate(specs):
        what = f"Alert {i + 1} ({escape_markdown(spec.topic or spec.keywords or '')[:40]})"
        channel = _find(channels, spec.channel)
        kind = channel_kind(channel)
        if channel is None or kind is None:
            notes.append(f"{what} skipped: this server has no channel {escape_markdown(spec.channel.describe())}.")
            continue
        role_id = None
        if spec.mention is not None:
            role = _find(list(guild.roles), spec.mention)
            if not isinstance(role, discord.Role) or role.is_default():
                notes.append(f"{what}: no role {escape_markdown(spec.mention.describe())} here; it will not ping.")
            else:
                role_id = role.id
        topic = spec.topic
        if topic:
            found = await resolve_topic(topic)
            if found is None:
                notes.append(f"{what}: no article has the topic “{escape_markdown(topic[:40])}” yet (imported anyway).")
            topic = found or topic
        paused, reason = spec.paused, spec.pause_reason
        problem = channel_problem(channel, kind, spec.style)
        if problem is not None:
            paused, reason = True, problem
            notes.append(f"{what} imported paused: {problem}.")
        out.append(
            NewAlert(
                guild_id=guild.id,
                channel_id=channel.id,
                channel_kind=kind,
                topic=topic,
                keywords=spec.keywords,
                providers=spec.providers,
                min_quality=spec.min_quality,
                role_id=role_id,
                style=spec.style,
                publish=spec.publish and kind == "announcement",
                template=spec.template,
                posts_per_window=spec.posts_per_10min,
                created_at=now,
                created_by=user_id,
                paused=paused,
                pause_reason=(reason or "paused in the imported configuration") if paused else None,
            )
        )
    return out
