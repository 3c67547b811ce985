"""The bot: a ``commands.Bot`` that owns the database, the autocomplete catalog and the settings."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import pkgutil
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.alerts.actions import AlertActions
from bot.alerts.queue import PostQueue
from bot.app.operations import Operations
from bot.app.sharding import handles_guild
from bot.app.tree import NewsTree, tree_hash
from bot.content.catalog import Catalog
from bot.content.indexing import ContentUnavailable, reindex
from bot.db import DatabaseHandle, open_database
from bot.db.errors import DatabaseUnavailable
from bot.db.factory import notify, subscribe
from bot.db.types import IndexReport, Visibility
from bot.digests.actions import DigestActions
from bot.guilds.actions import GuildActions
from bot.guilds.audit import Auditor
from bot.guilds.backup import BackupService
from bot.guilds.policy import Policy
from bot.ops.health import shard_states
from bot.ops.metrics import BotMetrics
from bot.ops.view import ShardState
from bot.render.follow import paused_notice
from bot.settings import Settings

log = logging.getLogger(__name__)


#: Where the cogs are: found by name, so the running bot imports none of them directly (they use it).
EXTENSIONS_PACKAGE = "bot.modules"


def discover_extensions(package: str = EXTENSIONS_PACKAGE) -> list[str]:
    """Every public module in ``package``; ``_private`` helpers are not extensions."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"no extension package {package!r}")
    return sorted(
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(spec.submodule_search_locations)
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

    db: DatabaseHandle
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
        self.metrics = BotMetrics()
        # One pace for every channel alert and DM this process sends (alerts first: issue #14).
        self.post_queue = PostQueue()
        cast(NewsTree, self.tree).metrics = self.metrics
        cast(NewsTree, self.tree).notices = self.take_follow_notice
        # The content watcher and the status server (with the web pages), per settings.
        self.operations = Operations(settings, self.metrics, source=self, reindex=self.reindex, pages=self)
        self._event_tasks: set[asyncio.Task[None]] = set()
        # Set by the /digest and /alert cogs, which own the loops these wake: the web panel acts
        # through them, so a change made on the web is the same change a command makes.
        self.digest_actions: DigestActions | None = None
        self.alert_actions: AlertActions | None = None

    async def setup_hook(self) -> None:
        self.db = await open_database(self.settings.database)
        await self.operations.start()
        if not self.settings.indexes_content():
            # Another process (host) indexes; this one serves what the shared index holds.
            log.info("not indexing here (NEWSBOT_INDEXER=%s): serving the shared index", self.settings.indexer)
            self.catalog = await Catalog.load(self.db)
        else:
            try:
                await self.reindex()
            except ContentUnavailable as exc:
                # An unmounted volume must not wipe what is served: keep the last index and say why.
                log.error("content directory unavailable, serving the existing index: %s", exc)
                self.catalog = await Catalog.load(self.db)
        await subscribe(self.db, self._on_database_event)
        for name in discover_extensions():
            await self.load_extension(name)
        restrict_guild_only(self.tree)
        await self.sync_commands_if_changed()

    async def reindex(self) -> IndexReport:
        """Bring the index up to date with the content directory and refresh autocomplete. A
        process that does not index (``NEWSBOT_INDEXER``) only refreshes from the shared index."""
        if not self.settings.indexes_content():
            await self.catalog.refresh()
            return IndexReport()
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

    # --- several processes on one database server ---------------------------------------------

    async def reload_everywhere(self) -> None:
        """``/owner reload`` reaches every process sharing the database (PostgreSQL NOTIFY)."""
        await notify(self.db, "reload")

    def _on_database_event(self, event: str) -> None:
        task = asyncio.get_running_loop().create_task(self._follow(event))
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _follow(self, event: str) -> None:
        """Another process changed the shared index (``articles``) or an owner reloaded (``reload``)."""
        try:
            if event == "reload":
                self.policy.invalidate()
                if self.settings.indexes_content():
                    await self.reindex()
                    return
            if hasattr(self, "catalog"):
                await self.catalog.refresh()
        except (ContentUnavailable, DatabaseUnavailable) as exc:
            log.warning("could not follow a %r event from another process: %s", event, exc)

    # --- what /healthz and /metrics read (bot.ops.view.StatusSource) ------------------------------

    def shard_states(self) -> list[ShardState]:
        return shard_states(self)

    def articles_served(self) -> int:
        return len(self.catalog) if hasattr(self, "catalog") else 0

    async def ping_database(self) -> None:
        if not hasattr(self, "db"):
            raise LookupError("the database is not open yet")
        await self.db.meta.get("healthz")

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

    @functools.cached_property
    def guild_actions(self) -> GuildActions:
        """Settings, hidden articles and imports, for ``/admin`` and the web panel alike."""
        db = self.db
        backups = BackupService(
            articles=db.articles, guilds=db.guilds, digests=db.digests, alerts=db.alerts, policy=self.policy
        )
        return GuildActions(
            self.policy,
            db.articles,
            backups,
            audit=self.audit,
            # The catalog is replaced at each reindex: look it up at each call.
            complete=lambda text, vis, limit: self.catalog.complete_articles(text, vis, limit=limit),
            notify=lambda event, guild_id: self.dispatch(event, guild_id),
        )

    async def take_follow_notice(self, user_id: int) -> discord.Embed | None:
        """The notice owed to a member whose follows were paused because Discord refused a DM, once
        (issue #14): a read for everyone, a write only when one is due."""
        try:
            member = await self.db.follows.member(user_id)
            reason = (
                await self.db.follows.take_notice(user_id) if member is not None and member.notice_pending else None
            )
        except DatabaseUnavailable as exc:
            log.warning("could not look for user %d's paused-follows notice: %s", user_id, exc)
            return None
        return paused_notice(reason) if reason is not None else None

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
            await self.operations.stop()  # no reindex or health probe may touch the database once it closes
            if "auditor" in self.__dict__:
                await self.auditor.wait_announced()  # post what was already audited before logging out
            await super().close()
        finally:
            await self.post_queue.close()
            if hasattr(self, "db"):
                await self.db.close()
