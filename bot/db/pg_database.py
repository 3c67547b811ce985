"""The PostgreSQL database: the pool, the migrations, and the repositories hung off it.

The same attributes as ``bot.db.database.Database`` (the SQLite one); callers get either from
``bot.db.open_database``. A new repository is one ``pg_<name>.py`` file, one numbered file in
``migrations_pg/`` and one line in ``__init__`` below.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable

import asyncpg

from bot.db.alert_types import AlertRepository
from bot.db.digest_types import DigestRepository
from bot.db.guild_types import AuditRepository, GuildRepository
from bot.db.migrate import Migration
from bot.db.pg_alerts import PgAlertRepository
from bot.db.pg_articles import PgArticleRepository
from bot.db.pg_connect import CHANNEL, CONNECTION_ERRORS, Pg, apply_pg_migrations, create_pool, pg_migrations
from bot.db.pg_digests import PgDigestRepository
from bot.db.pg_guilds import PgAuditRepository, PgGuildRepository
from bot.db.pg_index import PgIndexStore
from bot.db.pg_meta import PgMetaRepository
from bot.db.repository import ArticleRepository, IndexStore, MetaRepository
from bot.settings import DatabaseTarget

log = logging.getLogger(__name__)

#: Tells this process's own notifications apart from other processes'.
PROCESS_TOKEN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


class PgDatabase:
    """Open with ``await PgDatabase.open(target)``; close with ``await db.close()``."""

    articles: ArticleRepository
    index: IndexStore
    meta: MetaRepository
    digests: DigestRepository
    guilds: GuildRepository
    audit: AuditRepository
    alerts: AlertRepository

    def __init__(self, pg: Pg) -> None:
        self.pg = pg
        self.target = pg.target
        self.articles = PgArticleRepository(pg)
        self.index = PgIndexStore(pg)
        self.meta = PgMetaRepository(pg)
        self.digests = PgDigestRepository(pg)
        self.guilds = PgGuildRepository(pg)
        self.audit = PgAuditRepository(pg)
        self.alerts = PgAlertRepository(pg)
        self._listener: asyncpg.Connection | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"PgDatabase({self.target.masked!r})"

    @classmethod
    async def open(cls, target: DatabaseTarget, *, migrations: list[Migration] | None = None) -> PgDatabase:
        """Connect and bring the schema up to date (under an advisory lock: safe from several processes)."""
        pool = await create_pool(target)
        try:
            async with pool.acquire() as conn:
                applied = await apply_pg_migrations(conn, migrations if migrations is not None else pg_migrations())
        except BaseException:
            await pool.close()
            raise
        if applied:
            log.info("database %s migrated to schema version %d", target.masked, applied[-1])
        return cls(Pg(pool, target))

    # --- events between processes (LISTEN/NOTIFY) ------------------------------------------------

    async def notify(self, event: str) -> None:
        """Tell every other process on this database: ``articles`` changed, or an owner ``reload``."""
        await self.pg.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{event}:{PROCESS_TOKEN}", retry=True)

    async def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(event)`` for each event another process sends (best effort: a listener
        lost with its connection is not replaced, so callers also poll ``articles.version()``)."""

        def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            event, _, sender = payload.partition(":")
            if sender != PROCESS_TOKEN:
                callback(event)

        conn = await asyncpg.connect(self.target.dsn)
        await conn.add_listener(CHANNEL, on_notify)
        self._listener = conn

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await listener.close(timeout=5)
        await self.pg.close()

    async def __aenter__(self) -> PgDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
