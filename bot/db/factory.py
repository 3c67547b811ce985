"""Opening whichever database the settings name: SQLite (the embedded default) or PostgreSQL.

Callers hold a ``DatabaseHandle``: the repositories of either backend behind the protocols of
``bot.db.repository``, ``digest_types`` and ``guild_types``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.db.alert_types import AlertRepository
from bot.db.database import Database
from bot.db.digest_types import DigestRepository
from bot.db.follow_types import FollowRepository
from bot.db.guild_types import AuditRepository, GuildRepository
from bot.db.repository import ArticleRepository, IndexStore, MetaRepository
from bot.settings import DatabaseTarget, database_target


class DatabaseHandle(Protocol):
    articles: ArticleRepository
    index: IndexStore
    meta: MetaRepository
    digests: DigestRepository
    guilds: GuildRepository
    audit: AuditRepository
    alerts: AlertRepository
    follows: FollowRepository

    async def close(self) -> None: ...

    async def __aenter__(self) -> DatabaseHandle: ...

    async def __aexit__(self, *exc: object) -> None: ...


async def open_database(where: DatabaseTarget | str | Path) -> DatabaseHandle:
    """``where``: a ``DatabaseTarget``, a ``sqlite:///`` or ``postgresql://`` URL, or an SQLite file path.

    PostgreSQL connection failures raise ``pg_connect.DatabaseConnectError`` with one line naming
    the setting, password masked.
    """
    target = where if isinstance(where, DatabaseTarget) else database_target(where)
    if target.kind == "postgresql":
        from bot.db.pg_database import PgDatabase  # asyncpg is only imported when PostgreSQL is used

        return await PgDatabase.open(target)
    assert target.path is not None
    return await Database.open(target.path)


def target_of(db: DatabaseHandle) -> DatabaseTarget:
    """Where ``db`` lives, for a child process to open it again."""
    if isinstance(db, Database):
        return DatabaseTarget("sqlite", db.path)
    target = getattr(db, "target", None)
    if not isinstance(target, DatabaseTarget):
        raise TypeError(f"cannot tell where {type(db).__name__} lives")
    return target


async def notify(db: DatabaseHandle, event: str) -> None:
    """Tell the other processes on a shared database server (no-op on SQLite, where each process
    watches the content itself and the catalog follows ``articles.version()``)."""
    send = getattr(db, "notify", None)
    if send is not None:
        await send(event)


async def subscribe(db: DatabaseHandle, callback: Callable[[str], None]) -> bool:
    """Receive other processes' events; False on a backend without them (SQLite)."""
    listen = getattr(db, "subscribe", None)
    if listen is None:
        return False
    await listen(callback)
    return True
