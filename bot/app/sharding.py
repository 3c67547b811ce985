"""Sharding: several processes split a large bot's servers between them.

Discord assigns every server to shard ``(guild_id >> 22) % shard_count``. With
``NEWSBOT_SHARD_COUNT`` set, the bot runs as discord.py's ``AutoShardedBot`` with exactly that
count (and ``NEWSBOT_SHARD_IDS``, the shards this process holds; all of them when unset), so
processes can share the shards, the database and the content directory. Without it the bot stays
a plain ``commands.Bot``: ``AutoShardedBot`` without a count would ask Discord for one and could
change how a small deployment connects.

A sharded bot opens its gateways at ``DiscordWebSocket.DEFAULT_GATEWAY`` when the count is given,
the same URL ``bot.app.endpoints.configure_discord`` overrides, so the emulator works for it too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar, cast

from discord.ext import commands

from bot.settings import Settings

#: A bot class built from settings (``NewsBot`` and its subclasses).
B = TypeVar("B", bound=commands.Bot)


def shard_for(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a server's events to."""
    return (guild_id >> 22) % shard_count


def handles_guild(guild_id: int, shard_count: int | None, shard_ids: Collection[int] | None) -> bool:
    """Whether a process holding ``shard_ids`` of ``shard_count`` shards serves ``guild_id``.
    Unsharded (``shard_count`` None) or holding every shard (``shard_ids`` None): always."""
    if shard_count is None or shard_ids is None:
        return True
    return shard_for(guild_id, shard_count) in shard_ids


_SHARDED: dict[type[commands.Bot], type[commands.Bot]] = {}


def sharded(cls: type[B]) -> type[B]:
    """``cls`` (``NewsBot`` or a subclass of it) on top of ``AutoShardedBot``, made once per class."""
    if cls not in _SHARDED:
        # NewsBot's own methods win; AutoShardedBot's gateway handling replaces Client's.
        _SHARDED[cls] = type(f"Sharded{cls.__name__}", (cls, commands.AutoShardedBot), {})
    return cast(type[B], _SHARDED[cls])


def create_bot(cls: type[B], settings: Settings, **options: Any) -> B:
    """A ``cls`` for these settings: sharded when ``settings.shard_count`` is set."""
    if settings.shard_count is None:
        return cast(Callable[..., B], cls)(settings, **options)  # our bots take the settings first
    options.setdefault("shard_count", settings.shard_count)
    if settings.shard_ids is not None:
        options.setdefault("shard_ids", list(settings.shard_ids))
    return cast(Callable[..., B], sharded(cls))(settings, **options)
