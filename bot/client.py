"""The bot: a ``commands.Bot`` that owns the database, the autocomplete catalog and the settings."""

from __future__ import annotations

import functools
import logging
import pkgutil
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import bot.modules
from bot.audit import Auditor
from bot.catalog import Catalog
from bot.db import Database
from bot.db.types import IndexReport, Visibility
from bot.indexing import ContentUnavailable, reindex
from bot.metrics import BotMetrics
from bot.ops import Operations
from bot.policy import Policy
from bot.settings import Settings
from bot.sharding import handles_guild
from bot.tree import NewsTree, tree_hash

log = logging.getLogger(__name__)


def discover_extensions() -> list[str]:
    """Every public module in ``bot.modules``; ``_private`` helpers are not extensions."""
    return sorted(
        f"{bot.modules.__name__}.{info.name}"
        for info in pkgutil.iter_modules(bot.modules.__path__)
        if not info.name.startswith("_")
    )


def restrict_guild_only(tree: app_commands.CommandTree[Any]) -> None:
    """Commands limited to servers (``guild_only``: the moderators' ones) are offered only in servers
    and only through the server's install, never through a member's own install of the app (the
    tree-wide defaults would otherwise apply to a ``GroupCog`` marked ``guild_only``)."""
    for command in tree.get_commands():
        if getattr(command, "guild_only", False):
            command.allowed_contexts = app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            )
            command.allowed_installs = app_commands.AppInstallationType(guild=True, user=False)


class NewsBot(commands.Bot):
    """Opens its resources in ``setup_hook`` and closes them in ``close``.

    ``force_sync`` registers the command tree even when its fingerprint is unchanged
    (``python -m bot sync``); otherwise commands are registered only on a fresh database or when the
    tree changed, because Discord rate-limits command registration.
    """

    db: Database
    catalog: Catalog

    def __init__(self, settings: Settings, *, force_sync: bool = False, **options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),  # no privileged intents
            tree_cls=NewsTree,
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            # User-installable (issue #14): members may add the app to their account and use /news
            # and /follow in a DM with the bot or anywhere they installed it. Guild-only commands
            # stay guild installs (``restrict_guild_only``).
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True),
            **options,
        )
        self.settings = settings
        self.force_sync = force_sync
        self.started_at = datetime.now(UTC)
        self.last_index: IndexReport | None = None
        self.synced_commands: bool = False
        self.metrics = BotMetrics()
        self.ops = Operations(self)  # content watcher and status server, per settings

    async def setup_hook(self) -> None:
        self.db = await Database.open(self.settings.database_path)
        await self.ops.start()
        try:
            await self.reindex()
        except ContentUnavailable as exc:
            # An unmounted volume must not wipe what is served: keep the last index and say why.
            log.error("content directory unavailable, serving the existing index: %s", exc)
            self.catalog = await Catalog.load(self.db)
        for name in discover_extensions():
            await self.load_extension(name)
        restrict_guild_only(self.tree)
        await self.sync_commands_if_changed()

    async def reindex(self) -> IndexReport:
        """Bring the index up to date with the content directory and refresh autocomplete."""
        started = time.perf_counter()
        report = await reindex(self.db, self.settings.content_dir, isolate=True)
        for issue in report.rejected:
            log.warning("rejected %s", issue)
        if hasattr(self, "catalog"):
            await self.catalog.refresh()
        else:
            self.catalog = await Catalog.load(self.db)
        self.last_index = report
        # Arrivals were recorded with the index change: the alert loop looks at them now.
        self.dispatch("alerts_changed", None)
        log.info(
            "content indexed in %.2fs: %d added, %d changed, %d removed, %d unchanged, %d rejected",
            time.perf_counter() - started,
            report.added,
            report.changed,
            report.removed,
            report.unchanged,
            len(report.rejected),
        )
        return report

    def handles_guild(self, guild_id: int) -> bool:
        """Whether this process serves ``guild_id``: always, unless the shards are split between
        processes (``NEWSBOT_SHARD_IDS``). Background work for a server (digests) runs only here."""
        return handles_guild(guild_id, self.settings.shard_count, self.settings.shard_ids)

    @property
    def command_scope(self) -> discord.Object | None:
        return discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None

    async def sync_commands_if_changed(self) -> bool:
        scope = self.command_scope
        if scope is not None:
            self.tree.copy_global_to(guild=scope)
        # Keyed by application too: the same database used with another application (a new token,
        # or a fresh emulator) must register its commands there.
        key = f"commands_hash:{self.application_id}:{scope.id if scope else 'global'}"
        fingerprint = tree_hash(self.tree, scope)
        if not self.force_sync and await self.db.meta.get(key) == fingerprint:
            log.info("slash commands unchanged; not registering them again")
            return False
        synced = await self.tree.sync(guild=scope)
        await self.db.meta.set(key, fingerprint)
        self.synced_commands = True
        log.info("registered %d slash commands %s", len(synced), f"in guild {scope.id}" if scope else "globally")
        return True

    @functools.cached_property
    def policy(self) -> Policy:
        """Per-server settings over the deployment's defaults (first used after ``setup_hook`` opened the database)."""
        return Policy(self.db.guilds, self.settings)

    @functools.cached_property
    def auditor(self) -> Auditor:
        async def log_channel(guild_id: int) -> int | None:
            return (await self.policy.for_guild(guild_id)).settings.log_channel_id

        return Auditor(self.db.audit, self, log_channel)

    async def visibility_for(self, guild_id: int | None) -> Visibility:
        """What a server may see: its own settings and hidden articles over the deployment default."""
        return await self.policy.visibility(guild_id)

    async def public_results(self, guild_id: int | None) -> bool:
        """Whether lookups answer publicly by default in this server."""
        return await self.policy.public_results(guild_id)

    async def audit(self, guild_id: int, user_id: int, action: str, details: Mapping[str, object]) -> None:
        """Record an admin action or digest change and announce it in the server's log channel.
        ``user_id`` 0 means the bot itself. Callers never fail because auditing failed."""
        await self.auditor.record(guild_id, user_id, action, details)

    async def close(self) -> None:
        try:
            await self.ops.stop()  # no reindex or health probe may touch the database once it closes
            if "auditor" in self.__dict__:
                await self.auditor.wait_announced()  # post what was already audited before logging out
            await super().close()
        finally:
            if hasattr(self, "db"):
                await self.db.close()
