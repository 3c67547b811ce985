"""The PostgreSQL database: the pool, the migrations, and the repositories hung off it.

The same attributes as ``bot.db.database.Database`` (the SQLite one); callers get either from
``bot.db.open_database``. A new repository is one ``pg_<name>.py`` file, one numbered file in
``migrations_pg/`` and one line in ``__init__`` below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Callable

import asyncpg

from bot.db.alert_types import AlertRepository
from bot.db.digest_types import DigestRepository
from bot.db.follow_types import FollowRepository
from bot.db.guild_types import AuditRepository, GuildRepository
from bot.db.migrate import Migration
from bot.db.pg_alerts import PgAlertRepository
from bot.db.pg_articles import PgArticleRepository
from bot.db.pg_connect import (
    CHANNEL,
    CONNECT_ERRORS,
    CONNECT_TIMEOUT,
    CONNECTION_ERRORS,
    Pg,
    apply_pg_migrations,
    create_pool,
    pg_migrations,
)
from bot.db.pg_digests import PgDigestRepository
from bot.db.pg_follows import PgFollowRepository
from bot.db.pg_guilds import PgAuditRepository, PgGuildRepository
from bot.db.pg_index import PgIndexStore
from bot.db.pg_meta import PgMetaRepository
from bot.db.repository import ArticleRepository, IndexStore, MetaRepository
from bot.settings import DatabaseTarget

log = logging.getLogger(__name__)

#: How often the listening connection is asked whether it still answers, and how long it may take.
LISTEN_CHECK_SECONDS = 30.0
LISTEN_CHECK_TIMEOUT = 5.0
#: Reconnecting it: the first wait, doubled up to the last.
LISTEN_RETRY_FIRST = 1.0
LISTEN_RETRY_MAX = 60.0


class PgDatabase:
    """Open with ``await PgDatabase.open(target)``; close with ``await db.close()``."""

    articles: ArticleRepository
    index: IndexStore
    meta: MetaRepository
    digests: DigestRepository
    guilds: GuildRepository
    audit: AuditRepository
    alerts: AlertRepository
    follows: FollowRepository

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
        self.follows = PgFollowRepository(pg)
        self._listener: asyncpg.Connection | None = None
        self._callback: Callable[[str], None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closed = False
        #: Tells this database handle's own notifications apart from other processes'.
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

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
        await self.pg.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{event}:{self.token}", retry=True)

    async def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(event)`` for each event another process sends. The listening connection
        is watched: lost (a restart, a dropped connection, a server that stopped answering), it is
        replaced with backoff, and ``callback("articles")`` is called once it is back, since events
        sent meanwhile are gone (the catalog refreshes once instead)."""
        self._callback = callback
        await self._listen()
        self._watcher = asyncio.get_running_loop().create_task(self._keep_listening(), name="pg-listener")

    async def _listen(self) -> None:
        def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            event, _, sender = payload.partition(":")
            if sender != self.token and self._callback is not None:
                self._callback(event)

        conn = await asyncpg.connect(self.target.dsn, timeout=CONNECT_TIMEOUT)
        try:
            await conn.add_listener(CHANNEL, on_notify)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(lambda _conn: self._lost.set())
        self._lost.clear()
        self._listener = conn

    async def _keep_listening(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), LISTEN_CHECK_SECONDS)
            if self._closed:
                return
            if not self._lost.is_set() and await self._listener_answers():
                continue
            log.warning("lost the connection that listens for other processes' events; reconnecting")
            old, self._listener = self._listener, None
            if old is not None:
                old.terminate()
            delay = LISTEN_RETRY_FIRST
            while not self._closed:
                try:
                    await self._listen()
                except CONNECT_ERRORS as exc:
                    log.info("listening again failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, LISTEN_RETRY_MAX)
                    continue
                log.info("listening for other processes' events again")
                if self._callback is not None:
                    self._callback("articles")
                break

    async def _listener_answers(self) -> bool:
        """A connection can die without a word (a host gone, a firewall dropping it): ask."""
        conn = self._listener
        if conn is None or conn.is_closed():
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=LISTEN_CHECK_TIMEOUT)
        except (*CONNECTION_ERRORS, asyncpg.PostgresError):
            return False
        return True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await listener.close(timeout=5)
        await self.pg.close()

    async def __aenter__(self) -> PgDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
