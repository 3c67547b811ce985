"""The SQLite database: schema migrations, connections, and the repositories hung off it.

``bot.db.pg_database.PgDatabase`` is its PostgreSQL twin with the same attributes; a new repository
is one ``sqlite_<name>.py`` file, one numbered file in ``migrations/`` and one line in ``__init__``
below. Callers only ever see the protocols (``bot.db.repository``, ``digest_types``, ``guild_types``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

import aiosqlite

from bot.db.alert_types import AlertRepository
from bot.db.connect import connect_async, connect_sync
from bot.db.digest_types import DigestRepository
from bot.db.follow_types import FollowRepository
from bot.db.guild_types import AuditRepository, GuildRepository
from bot.db.migrate import Migration, apply_migrations, load_migrations
from bot.db.repository import ArticleRepository, IndexStore, MetaRepository
from bot.db.sqlite_alerts import SqliteAlertRepository
from bot.db.sqlite_articles import SqliteArticleRepository
from bot.db.sqlite_digests import SqliteDigestRepository
from bot.db.sqlite_follows import SqliteFollowRepository
from bot.db.sqlite_guilds import SqliteAuditRepository, SqliteGuildRepository
from bot.db.sqlite_index import SqliteIndexStore
from bot.db.sqlite_meta import SqliteMetaRepository

log = logging.getLogger(__name__)


def _prepare(path: Path, migrations: list[Migration]) -> list[int]:
    conn = connect_sync(path)
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("database %s is not in WAL mode (%s): readers may wait for writers", path, mode)
        return apply_migrations(conn, migrations)
    finally:
        conn.close()


class Database:
    """Open with ``await Database.open(path)``; close with ``await db.close()``.

    Two serving connections: ``light`` for short lookups and writes of small facts, ``search`` for
    full-text queries, so a slow search never delays autocomplete or a topic page. Index runs
    write on a third, short-lived connection (see ``SqliteIndexStore``).
    """

    articles: ArticleRepository
    index: IndexStore
    meta: MetaRepository
    digests: DigestRepository
    guilds: GuildRepository
    audit: AuditRepository
    alerts: AlertRepository
    follows: FollowRepository

    def __init__(self, path: Path, light: aiosqlite.Connection, search: aiosqlite.Connection) -> None:
        self.path = path
        self._light = light
        self._search = search
        self.articles = SqliteArticleRepository(path, light, search)
        self.index = SqliteIndexStore(path, light)
        self.meta = SqliteMetaRepository(light)
        self.digests = SqliteDigestRepository(path, light)
        self.guilds = SqliteGuildRepository(path, light)
        self.audit = SqliteAuditRepository(light)
        self.alerts = SqliteAlertRepository(path, light)
        self.follows = SqliteFollowRepository(path, light)
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, migrations: list[Migration] | None = None) -> Database:
        """Create the file and its directory if needed and bring the schema up to date."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pending = migrations if migrations is not None else load_migrations()
        applied = await asyncio.to_thread(_prepare, path, pending)
        if applied:
            log.info("database %s migrated to schema version %d", path, applied[-1])
        light = await connect_async(path, cache_mib=8)
        try:
            search = await connect_async(path, cache_mib=24)
        except BaseException:
            await light.close()
            raise
        return cls(path, light, search)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in (self._search, self._light):
            try:
                await conn.close()
            except (sqlite3.Error, ValueError):
                log.exception("closing a database connection failed")
            # aiosqlite's thread finishes just after close() returns; wait so that nothing of ours
            # outlives close() (tests and clean shutdowns check for stray threads).
            thread = getattr(conn, "_thread", None)
            if isinstance(thread, threading.Thread) and thread.is_alive():
                await asyncio.to_thread(thread.join, 5)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
