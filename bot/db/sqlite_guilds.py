"""``GuildRepository`` and ``AuditRepository`` on SQLite.

Single-statement writes go through the serving connection (each is atomic on its own). Replacing a
server's whole configuration (an import) runs on a short-lived connection of its own inside one
``BEGIN IMMEDIATE`` transaction, so that statements other tasks send meanwhile on the shared
connection can never end up inside it, and a failure leaves the old configuration intact.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.alerts.rules import ARRIVAL_HORIZON
from bot.db.connect import connect_sync, transaction
from bot.db.guild_types import AuditEntry, GuildSettings, HiddenArticle
from bot.db.records import epoch, from_epoch

_SETTINGS_COLUMNS = (
    "min_quality, include_unpublished, public_results, blocked_providers, blocked_topics, log_channel_id, "
    "updated_at, updated_by"
)
_UPSERT_SETTINGS = (
    f"INSERT INTO guild_settings (guild_id, {_SETTINGS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (guild_id) DO UPDATE SET min_quality = excluded.min_quality, "
    "include_unpublished = excluded.include_unpublished, public_results = excluded.public_results, "
    "blocked_providers = excluded.blocked_providers, blocked_topics = excluded.blocked_topics, "
    "log_channel_id = excluded.log_channel_id, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
)
_HIDDEN_INSERT = (
    "INTO hidden_articles (guild_id, article_id, title, reason, hidden_by, hidden_at) VALUES (?, ?, ?, ?, ?, ?)"
)


def _now() -> int:
    return epoch(datetime.now(UTC))


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _settings_params(settings: GuildSettings, user_id: int) -> list[Any]:
    return [
        settings.guild_id,
        settings.min_quality,
        _flag(settings.include_unpublished),
        _flag(settings.public_results),
        json.dumps(list(settings.blocked_providers), ensure_ascii=False),
        json.dumps(list(settings.blocked_topics), ensure_ascii=False),
        settings.log_channel_id,
        _now(),
        user_id,
    ]


def _hidden_params(guild_id: int, article: HiddenArticle) -> list[Any]:
    hidden_at = epoch(article.hidden_at) if article.hidden_at is not None else _now()
    return [guild_id, article.article_id, article.title, article.reason, article.hidden_by, hidden_at]


class SqliteGuildRepository:
    def __init__(self, path: Path, light: aiosqlite.Connection) -> None:
        self._path = path
        self._light = light

    async def settings(self, guild_id: int) -> GuildSettings:
        rows = list(
            await self._light.execute_fetchall(
                f"SELECT {_SETTINGS_COLUMNS} FROM guild_settings WHERE guild_id = ?", [guild_id]
            )
        )
        if not rows:
            return GuildSettings(guild_id)
        quality, unpublished, public, providers, topics, channel, updated_at, updated_by = rows[0]
        return GuildSettings(
            guild_id=guild_id,
            min_quality=quality,
            include_unpublished=None if unpublished is None else bool(unpublished),
            public_results=None if public is None else bool(public),
            blocked_providers=tuple(json.loads(providers)),
            blocked_topics=tuple(json.loads(topics)),
            log_channel_id=channel,
            updated_at=from_epoch(updated_at),
            updated_by=updated_by,
        )

    async def save_settings(self, settings: GuildSettings, *, user_id: int) -> None:
        await self._light.execute(_UPSERT_SETTINGS, _settings_params(settings, user_id))

    async def hidden(self, guild_id: int) -> list[HiddenArticle]:
        rows = await self._light.execute_fetchall(
            "SELECT article_id, title, reason, hidden_by, hidden_at FROM hidden_articles WHERE guild_id = ? "
            "ORDER BY hidden_at DESC, article_id",
            [guild_id],
        )
        return [HiddenArticle(a, t, r, by, from_epoch(at)) for a, t, r, by, at in rows]

    async def hidden_ids(self, guild_id: int) -> frozenset[str]:
        rows = await self._light.execute_fetchall(
            "SELECT article_id FROM hidden_articles WHERE guild_id = ?", [guild_id]
        )
        return frozenset(str(r[0]) for r in rows)

    async def hide(self, guild_id: int, article: HiddenArticle) -> bool:
        cursor = await self._light.execute(f"INSERT OR IGNORE {_HIDDEN_INSERT}", _hidden_params(guild_id, article))
        return cursor.rowcount > 0

    async def unhide(self, guild_id: int, article_id: str) -> bool:
        # Visible again in this server: an arrival for its alerts, in the same transaction (an
        # article that is not served, or too old for any alert, arrives nowhere).
        results = await asyncio.to_thread(
            transaction,
            self._path,
            [
                (
                    "DELETE FROM hidden_articles WHERE guild_id = ? AND article_id = ? RETURNING article_id",
                    [guild_id, article_id],
                ),
                (
                    "INSERT INTO alert_arrivals (article_id, guild_id, published_at, arrived_at) "
                    "SELECT id, ?, published_at, unixepoch() FROM articles WHERE id = ? AND published_at >= ? "
                    "AND changes() > 0",
                    [guild_id, article_id, int(time.time() - ARRIVAL_HORIZON.total_seconds())],
                ),
            ],
        )
        return bool(results[0])

    async def replace(self, settings: GuildSettings, hidden: Sequence[HiddenArticle], *, user_id: int) -> None:
        await asyncio.to_thread(_replace, self._path, settings, list(hidden), user_id)

    async def known_providers(self, domains: Collection[str]) -> set[str]:
        if not domains:
            return set()
        rows = await self._light.execute_fetchall(
            "SELECT domain FROM providers WHERE domain IN (SELECT value FROM json_each(?))",
            [json.dumps(list(domains))],
        )
        return {str(r[0]) for r in rows}


def _replace(path: Path, settings: GuildSettings, hidden: list[HiddenArticle], user_id: int) -> None:
    conn = connect_sync(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_UPSERT_SETTINGS, _settings_params(settings, user_id))
        conn.execute("DELETE FROM hidden_articles WHERE guild_id = ?", [settings.guild_id])
        conn.executemany(f"INSERT OR REPLACE {_HIDDEN_INSERT}", [_hidden_params(settings.guild_id, h) for h in hidden])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()


class SqliteAuditRepository:
    def __init__(self, light: aiosqlite.Connection) -> None:
        self._light = light

    async def add(self, guild_id: int, user_id: int, action: str, details: Mapping[str, Any]) -> AuditEntry:
        now = datetime.now(UTC).replace(microsecond=0)
        # default=str: details come from commands (ids, names, datetimes); a record must never fail on them.
        text = json.dumps(dict(details), ensure_ascii=False, default=str, sort_keys=True)
        cursor = await self._light.execute(
            "INSERT INTO audit_log (guild_id, user_id, action, details, created_at) VALUES (?, ?, ?, ?, ?)",
            [guild_id, user_id, action, text, epoch(now)],
        )
        entry_id = cursor.lastrowid
        if entry_id is None:  # pragma: no cover - an INSERT into a rowid table always has one
            raise sqlite3.DatabaseError("audit insert returned no row id")
        return AuditEntry(entry_id, guild_id, user_id, action, now, json.loads(text))

    async def latest(self, guild_id: int, limit: int = 10) -> list[AuditEntry]:
        rows = await self._light.execute_fetchall(
            "SELECT id, user_id, action, details, created_at FROM audit_log WHERE guild_id = ? "
            "ORDER BY id DESC LIMIT ?",
            [guild_id, max(1, limit)],
        )
        return [AuditEntry(i, guild_id, u, a, from_epoch(at), json.loads(d)) for i, u, a, d, at in rows]
