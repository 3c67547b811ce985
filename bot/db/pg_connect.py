"""Connecting to PostgreSQL: the pool, its errors, and the schema migrations applied on start.

Every PostgreSQL repository holds the one ``Pg`` of its database and runs statements through it.
asyncpg prepares each statement on first use per connection and keeps it (its statement cache),
so repeated queries skip planning. The password in the URL is only ever handed to asyncpg: every
message built here shows ``mask_url`` of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib import resources
from typing import Any, TypeVar

import asyncpg

from bot.db.errors import DatabaseConnectError, DatabaseUnavailable
from bot.db.migrate import Migration, MigrationError, load_migrations
from bot.settings import DatabaseTarget

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_MIN = 1
POOL_MAX = 8
CONNECT_TIMEOUT = 10.0
#: A statement's own limit, so that a server that stopped answering fails commands instead of hanging them.
COMMAND_TIMEOUT = 30.0


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (one per purpose, shared by every process)."""
    return int.from_bytes(zlib.crc32(f"newsbot:{name}".encode()).to_bytes(4, "big") * 2, "big", signed=True)


MIGRATE_LOCK = lock_key("migrate")
INDEX_LOCK = lock_key("index")
#: Taken (for the transaction) by every transaction that records alert arrivals, just before it does:
#: their sequence numbers then become visible in order, so a cursor that has read arrival N never
#: meets a lower number committed later (which it would skip). SQLite has one writer anyway.
ARRIVALS_LOCK = lock_key("arrivals")
#: The LISTEN/NOTIFY channel: "articles" after an index run changed them, "reload" for ``/owner reload``.
CHANNEL = "newsbot_events"

#: What losing the server looks like to asyncpg: refused or dropped connections, a server shutting
#: down or restarting, a terminated backend, a pool torn down under a statement.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)


CLOSE_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *CONNECTION_ERRORS)
CONNECT_ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, ValueError, *CONNECTION_ERRORS)


def pg_migrations() -> list[Migration]:
    return load_migrations(resources.files("bot.db") / "migrations_pg")


#: Sent when each connection starts, so they are the session's defaults and survive any RESET.
#: UTC: any server-side timestamp (now(), logs) reads the same on every host. jit off: every
#: statement here is a short lookup, and compiling one (past ``jit_above_cost``, which large
#: searches reach) costs tens of milliseconds more than it could save.
SESSION_SETTINGS = {"timezone": "UTC", "jit": "off"}


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release. asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` after every statement: a second round trip that doubled a topic page's
    latency. Nothing here leaves that state on a pooled connection (no SET, cursors or LISTEN; the
    listener has its own connection; ``session_lock`` unlocks or ends the session), and asyncpg
    still rolls back a transaction left open before calling this."""


async def create_pool(target: DatabaseTarget, *, setting: str = "NEWSBOT_DATABASE_URL") -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            target.dsn,
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            timeout=CONNECT_TIMEOUT,
            command_timeout=COMMAND_TIMEOUT,
            server_settings=SESSION_SETTINGS,
            reset=_keep_session,
        )
    except CONNECT_ERRORS as exc:
        raise DatabaseConnectError(f"{setting}: cannot connect to {target.masked}: {_reason(exc, target)}") from None
    assert pool is not None
    return pool


def _reason(exc: BaseException, target: DatabaseTarget) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # Belt and braces: asyncpg's own messages never carry the password, but a DSN parse error may echo the URL.
    password = _password(target.dsn)
    if password:
        text = text.replace(password, "***")
    return text.replace(target.dsn, target.masked)


def _password(dsn: str) -> str | None:
    rest = dsn.split("://", 1)[-1]
    userinfo = rest.split("@", 1)[0] if "@" in rest.split("/", 1)[0] else ""
    return userinfo.split(":", 1)[1] if ":" in userinfo else None


class Pg:
    """The pool and the one way statements run: a lost server becomes ``DatabaseUnavailable``."""

    def __init__(self, pool: asyncpg.Pool, target: DatabaseTarget) -> None:
        self.pool = pool
        self.target = target

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]], *, retry: bool = True) -> T:
        """Run ``work`` on a pooled connection. ``retry``: safe to repeat once on a fresh connection
        (reads, and writes that are idempotent), for a connection the server dropped while idle."""
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                async with self.pool.acquire() as conn:
                    return await work(conn)
            except CONNECTION_ERRORS as exc:
                if attempt + 1 < attempts:
                    log.info("database connection lost (%s); retrying once", type(exc).__name__)
                    continue
                log.warning("database unavailable: %s", _reason(exc, self.target))
                raise DatabaseUnavailable() from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.run(lambda conn: conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.run(lambda conn: conn.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.run(lambda conn: conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any, retry: bool = False) -> str:
        return await self.run(lambda conn: conn.execute(sql, *args), retry=retry)

    async def write(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """A single statement that changes rows and returns some (not repeated on a lost connection)."""
        return await self.run(lambda conn: conn.fetch(sql, *args), retry=False)

    async def transaction(
        self, work: Callable[[asyncpg.Connection], Awaitable[T]], *, isolation: str = "read_committed"
    ) -> T:
        async def run(conn: asyncpg.Connection) -> T:
            async with conn.transaction(isolation=isolation):
                return await work(conn)

        return await self.run(run, retry=False)

    @contextlib.asynccontextmanager
    async def session_lock(self, key: int) -> AsyncIterator[asyncpg.Connection]:
        """Hold a session advisory lock on a connection taken out of the pool for as long as the
        block runs; waits (without blocking the event loop) while another process holds it."""
        conn: asyncpg.Connection = await self.pool.acquire()
        unlocked = False
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                log.info("another process holds the lock; waiting for it")
                await conn.execute("SELECT pg_advisory_lock($1)", key, timeout=None)
            try:
                yield conn
            finally:
                with contextlib.suppress(*CONNECTION_ERRORS):
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
                    unlocked = True
        finally:
            if not unlocked:
                # The lock may still be held (an unlock that failed, a wait cancelled as the lock was
                # granted) and the pool does not reset connections: ending the session releases it.
                conn.terminate()
            await self.pool.release(conn)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.pool.close(), timeout=10)
        except CLOSE_ERRORS:
            self.pool.terminate()


# --- migrations --------------------------------------------------------------------------------


async def apply_pg_migrations(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> list[int]:
    """Apply the pending migrations, each in its own transaction with its version row, under an
    advisory lock: processes starting together take turns, and the later ones find nothing to do."""
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at bigint NOT NULL DEFAULT extract(epoch FROM now())::bigint)"
        )
        current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
        if migrations and current > migrations[-1].version:
            raise MigrationError(
                f"the database is at schema version {current}, newer than this program knows "
                f"({migrations[-1].version}); upgrade newsbot"
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"migration {migration.version:03d}_{migration.name} failed: {exc}") from exc
            log.info("applied PostgreSQL migration %03d_%s", migration.version, migration.name)
            applied.append(migration.version)
    finally:
        with contextlib.suppress(*CONNECTION_ERRORS):
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK)
    return applied


async def schema_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
