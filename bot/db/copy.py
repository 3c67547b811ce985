"""``newsbot db copy``: move settings, digests, alerts, follows, audit and delivery state between databases.

The article index is not copied: it is rebuilt from the content folder by the first index run on the
target. The alerts' arrivals are copied (their sequence numbers are the cursors of alerts and
follows), so the index rebuilt on the target only adds arrivals after them, and what was already
posted or sent stays recorded per (alert or follow, article): nothing is posted twice. Rows are
written with ``ON CONFLICT DO NOTHING`` in one transaction per table, and a marker in the target's
``meta`` says a copy from this source is under way, so a copy that stopped half-way is resumed by
running the same command again; a target that holds data of its own is refused unless ``force``
(which empties the copied tables first). At the end every table's row count is compared with the
source's.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.factory import open_database
from bot.db.sqlite_articles import ARTICLES_VERSION_KEY
from bot.settings import DatabaseTarget

MARKER_KEY = "db_copy.source"
BATCH = 1000


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    flags: tuple[str, ...] = ()  # 0/1 in SQLite, boolean in PostgreSQL
    identity: str | None = None  # a column whose sequence must move past the copied values
    where: str = "true"
    upsert: bool = False  # a row the target's migration already wrote (copied over it, not beside it)
    reset: str | None = None  # with --force, how such a table is put back as its migration left it


#: In dependency order (digests before their deliveries before their items).
TABLES = (
    Table("meta", ("key", "value"), ("key",), where=f"key NOT IN ('{ARTICLES_VERSION_KEY}', '{MARKER_KEY}')"),
    Table(
        "guild_settings",
        (
            "guild_id",
            "min_quality",
            "include_unpublished",
            "public_results",
            "blocked_providers",
            "blocked_topics",
            "log_channel_id",
            "updated_at",
            "updated_by",
        ),
        ("guild_id",),
        flags=("include_unpublished", "public_results"),
    ),
    Table(
        "hidden_articles",
        ("guild_id", "article_id", "title", "reason", "hidden_by", "hidden_at"),
        ("guild_id", "article_id"),
    ),
    Table("audit_log", ("id", "guild_id", "user_id", "action", "details", "created_at"), ("id",), identity="id"),
    Table(
        "digests",
        (
            "id",
            "guild_id",
            "channel_id",
            "topic",
            "at_time",
            "timezone",
            "cadence",
            "weekday",
            "min_quality",
            "max_items",
            "created_at",
            "created_by",
            "paused",
            "pause_reason",
            "last_slot",
            "last_result",
            "last_result_at",
        ),
        ("id",),
        flags=("paused",),
        identity="id",
    ),
    Table(
        "digest_deliveries",
        (
            "id",
            "digest_id",
            "slot",
            "nonce",
            "channel_id",
            "state",
            "message_id",
            "payload",
            "created_at",
            "finished_at",
        ),
        ("id",),
        identity="id",
    ),
    Table("digest_items", ("digest_id", "article_id", "delivery_id", "position"), ("digest_id", "article_id")),
    # Live alerts (issue #12): arrivals first (the cursors point into them), then alerts, then posts.
    Table("alert_arrivals", ("seq", "article_id", "guild_id", "published_at", "arrived_at"), ("seq",), identity="seq"),
    Table(
        "alerts",
        (
            "id",
            "guild_id",
            "channel_id",
            "channel_kind",
            "topic",
            "keywords",
            "providers",
            "min_quality",
            "role_id",
            "style",
            "publish",
            "template",
            "posts_per_window",
            "forum_tags",
            "created_at",
            "created_by",
            "paused",
            "pause_reason",
            "cursor",
            "last_skip_article",
            "last_skip_title",
            "last_skip_reason",
            "last_skip_at",
        ),
        ("id",),
        flags=("publish", "paused"),
        identity="id",
    ),
    Table(
        "alert_deliveries",
        (
            "id",
            "alert_id",
            "kind",
            "nonce",
            "channel_id",
            "state",
            "plan",
            "results",
            "message_id",
            "thread_id",
            "pinged",
            "publish",
            "publish_limited",
            "ping_limited",
            "created_at",
            "finished_at",
            "note",
        ),
        ("id",),
        flags=("pinged", "publish", "publish_limited", "ping_limited"),
        identity="id",
    ),
    Table(
        "alert_items",
        ("alert_id", "article_id", "seq", "title", "queued_at", "held", "delivery_id"),
        ("alert_id", "article_id"),
        flags=("held",),
    ),
    # Personal follows (issue #14): members' own data, moved whole.
    Table(
        "follow_members",
        (
            "user_id",
            "timezone",
            "quiet_start",
            "quiet_end",
            "dm_channel_id",
            "paused_reason",
            "notice_pending",
            "created_at",
        ),
        ("user_id",),
        flags=("notice_pending",),
    ),
    Table(
        "follows",
        (
            "id",
            "user_id",
            "topic",
            "keywords",
            "delivery",
            "at_time",
            "weekday",
            "created_at",
            "created_seq",
            "paused",
            "last_slot",
        ),
        ("id",),
        flags=("paused",),
        identity="id",
    ),
    Table(
        "follow_cursor", ("id", "seq"), ("id",), where="seq > 0", upsert=True, reset="UPDATE follow_cursor SET seq = 0"
    ),
    Table(
        "follow_deliveries",
        (
            "id",
            "user_id",
            "kind",
            "follow_id",
            "slot",
            "nonce",
            "state",
            "payload",
            "message_id",
            "created_at",
            "finished_at",
        ),
        ("id",),
        identity="id",
    ),
    Table(
        "follow_items",
        ("follow_id", "article_id", "user_id", "seq", "queued_at", "held", "delivery_id"),
        ("follow_id", "article_id"),
        flags=("held",),
    ),
)


class CopyError(Exception):
    """One line for the operator; database URLs in it are masked."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    counts: dict[str, int]  # rows per table, equal on both sides
    resumed: bool


Progress = Callable[[str, int], None]


async def copy_database(
    source: DatabaseTarget, target: DatabaseTarget, *, force: bool = False, progress: Progress | None = None
) -> CopyReport:
    if target.kind != "postgresql":
        raise CopyError("the target must be a PostgreSQL database (postgresql://...)")
    if source.kind == "postgresql" and source.dsn == target.dsn:
        raise CopyError("the source and the target are the same database")
    if source.kind == "sqlite" and (source.path is None or not source.path.is_file()):
        raise CopyError(f"no SQLite database at {source.path}")
    src = await open_database(source)  # brings an older file's schema up to date first
    try:
        dst = await open_database(target)
        try:
            read = _sqlite_reader(source) if source.kind == "sqlite" else _pg_reader(src)
            return await _copy(read, dst, source, force, progress)
        finally:
            await dst.close()
    finally:
        await src.close()


Reader = Callable[[str], Any]


def _sqlite_reader(source: DatabaseTarget) -> Reader:
    async def read(sql: str) -> list[tuple[Any, ...]]:
        assert source.path is not None
        with contextlib.closing(sqlite3.connect(source.path)) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    return read


def _pg_reader(db: Any) -> Reader:
    async def read(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await db.pg.fetch(sql)]

    return read


def _select(table: Table) -> str:
    return f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {table.where} ORDER BY {', '.join(table.key)}"


async def _copy(read: Reader, dst: Any, source: DatabaseTarget, force: bool, progress: Progress | None) -> CopyReport:
    pg = dst.pg
    marker = await pg.fetchval("SELECT value FROM meta WHERE key = $1", MARKER_KEY)
    resumed = marker == source.masked and not force
    if not resumed:
        occupied = [
            t.name for t in TABLES if await pg.fetchval(f"SELECT EXISTS (SELECT 1 FROM {t.name} WHERE {t.where})")
        ]
        if occupied and not force:
            raise CopyError(
                f"the target already holds data ({', '.join(occupied)}); copy into an empty database, "
                "or pass --force to replace those tables"
            )

    async def begin(conn: Any) -> None:
        if force:
            await conn.execute(
                f"TRUNCATE {', '.join(t.name for t in TABLES if t.name != 'meta' and not t.reset)} CASCADE"
            )
            for table in TABLES:
                if table.reset:
                    await conn.execute(table.reset)
            await conn.execute("DELETE FROM meta WHERE key <> $1", ARTICLES_VERSION_KEY)
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            MARKER_KEY,
            source.masked,
        )

    await pg.transaction(begin)
    counts: dict[str, int] = {}
    for table in TABLES:
        found = await read(_select(table))
        rows = [_convert(table, row) for row in found]
        await pg.transaction(lambda conn, t=table, r=rows: _insert(conn, t, r))
        copied = int(await pg.fetchval(f"SELECT count(*) FROM {table.name} WHERE {table.where}"))
        if copied != len(rows):
            raise CopyError(
                f"{table.name}: the source has {len(rows)} rows but the target {copied} after copying; "
                "nothing was removed, run the copy again or with --force"
            )
        counts[table.name] = copied
        if progress:
            progress(table.name, copied)
    await pg.execute("DELETE FROM meta WHERE key = $1", MARKER_KEY)
    return CopyReport(counts, resumed)


def _convert(table: Table, row: Sequence[Any]) -> tuple[Any, ...]:
    if not table.flags:
        return tuple(row)
    return tuple(bool(v) if c in table.flags and v is not None else v for c, v in zip(table.columns, row, strict=True))


async def _insert(conn: Any, table: Table, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join(f"${i}" for i in range(1, len(table.columns) + 1))
    if table.upsert:
        changes = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
        conflict = f"DO UPDATE SET {changes}"
    else:
        conflict = "DO NOTHING"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(table.key)}) {conflict}"
    )
    for start in range(0, len(rows), BATCH):
        await conn.executemany(sql, rows[start : start + BATCH])
    if table.identity:
        column = table.identity
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), max({column})) FROM {table.name} "
            f"HAVING max({column}) > 0"
        )
