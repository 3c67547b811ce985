"""``GuildRepository`` and ``AuditRepository`` on PostgreSQL: the twins of ``bot.db.sqlite_guilds``."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.alerts.rules import ARRIVAL_HORIZON
from bot.db.alert_types import AlertReplacement
from bot.db.digest_types import DigestReplacement
from bot.db.guild_types import AuditEntry, GuildSettings, HiddenArticle, Replaced
from bot.db.pg_alerts import replace_for_guild as replace_alerts
from bot.db.pg_connect import ARRIVALS_LOCK, Pg
from bot.db.pg_digests import replace_for_guild as replace_digests
from bot.db.records import epoch, from_epoch

_SETTINGS_COLUMNS = (
    "min_quality, include_unpublished, public_results, blocked_providers, blocked_topics, log_channel_id, "
    "updated_at, updated_by"
)
_UPSERT_SETTINGS = (
    f"INSERT INTO guild_settings (guild_id, {_SETTINGS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (guild_id) DO UPDATE SET min_quality = excluded.min_quality, "
    "include_unpublished = excluded.include_unpublished, public_results = excluded.public_results, "
    "blocked_providers = excluded.blocked_providers, blocked_topics = excluded.blocked_topics, "
    "log_channel_id = excluded.log_channel_id, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
)
_HIDDEN_INSERT = (
    "INSERT INTO hidden_articles (guild_id, article_id, title, reason, hidden_by, hidden_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)"
)


def _now() -> int:
    return epoch(datetime.now(UTC))


def _settings_params(settings: GuildSettings, user_id: int) -> list[Any]:
    return [
        settings.guild_id,
        settings.min_quality,
        settings.include_unpublished,
        settings.public_results,
        json.dumps(list(settings.blocked_providers), ensure_ascii=False),
        json.dumps(list(settings.blocked_topics), ensure_ascii=False),
        settings.log_channel_id,
        _now(),
        user_id,
    ]


def _hidden_params(guild_id: int, article: HiddenArticle) -> list[Any]:
    hidden_at = epoch(article.hidden_at) if article.hidden_at is not None else _now()
    return [guild_id, article.article_id, article.title, article.reason, article.hidden_by, hidden_at]


class PgGuildRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    async def settings(self, guild_id: int) -> GuildSettings:
        row = await self._pg.fetchrow(f"SELECT {_SETTINGS_COLUMNS} FROM guild_settings WHERE guild_id = $1", guild_id)
        if row is None:
            return GuildSettings(guild_id)
        quality, unpublished, public, providers, topics, channel, updated_at, updated_by = row
        return GuildSettings(
            guild_id=guild_id,
            min_quality=quality,
            include_unpublished=unpublished,
            public_results=public,
            blocked_providers=tuple(json.loads(providers)),
            blocked_topics=tuple(json.loads(topics)),
            log_channel_id=channel,
            updated_at=from_epoch(updated_at),
            updated_by=updated_by,
        )

    async def save_settings(self, settings: GuildSettings, *, user_id: int) -> None:
        await self._pg.execute(_UPSERT_SETTINGS, *_settings_params(settings, user_id), retry=True)

    async def hidden(self, guild_id: int) -> list[HiddenArticle]:
        found = await self._pg.fetch(
            "SELECT article_id, title, reason, hidden_by, hidden_at FROM hidden_articles WHERE guild_id = $1 "
            'ORDER BY hidden_at DESC, article_id COLLATE "C"',
            guild_id,
        )
        return [HiddenArticle(a, t, r, by, from_epoch(at)) for a, t, r, by, at in found]

    async def hidden_ids(self, guild_id: int) -> frozenset[str]:
        found = await self._pg.fetch("SELECT article_id FROM hidden_articles WHERE guild_id = $1", guild_id)
        return frozenset(str(r[0]) for r in found)

    async def hide(self, guild_id: int, article: HiddenArticle) -> bool:
        status = await self._pg.execute(f"{_HIDDEN_INSERT} ON CONFLICT DO NOTHING", *_hidden_params(guild_id, article))
        return status.endswith(" 1")

    async def unhide(self, guild_id: int, article_id: str) -> bool:
        # Visible again in this server: an arrival for its alerts, in the same transaction (an
        # article that is not served, or too old for any alert, arrives nowhere).
        horizon = int(time.time() - ARRIVAL_HORIZON.total_seconds())

        async def work(conn: asyncpg.Connection) -> bool:
            status = await conn.execute(
                "DELETE FROM hidden_articles WHERE guild_id = $1 AND article_id = $2", guild_id, article_id
            )
            if not status.endswith(" 1"):
                return False
            await conn.execute("SELECT pg_advisory_xact_lock($1)", ARRIVALS_LOCK)
            await conn.execute(
                "INSERT INTO alert_arrivals (article_id, guild_id, published_at, arrived_at) "
                "SELECT id, $1, published_at, extract(epoch FROM now())::bigint FROM articles "
                "WHERE id = $2 AND published_at >= $3",
                guild_id,
                article_id,
                horizon,
            )
            return True

        return await self._pg.transaction(work)

    async def replace(
        self,
        settings: GuildSettings,
        hidden: Sequence[HiddenArticle],
        *,
        user_id: int,
        digests: DigestReplacement | None = None,
        alerts: AlertReplacement | None = None,
    ) -> Replaced:
        async def work(conn: asyncpg.Connection) -> Replaced:
            await conn.execute(_UPSERT_SETTINGS, *_settings_params(settings, user_id))
            await conn.execute("DELETE FROM hidden_articles WHERE guild_id = $1", settings.guild_id)
            if hidden:
                await conn.executemany(
                    f"{_HIDDEN_INSERT} ON CONFLICT (guild_id, article_id) DO UPDATE SET title = excluded.title, "
                    "reason = excluded.reason, hidden_by = excluded.hidden_by, hidden_at = excluded.hidden_at",
                    [_hidden_params(settings.guild_id, h) for h in hidden],
                )
            gone_digests = await replace_digests(conn, settings.guild_id, digests) if digests is not None else []
            gone_alerts = await replace_alerts(conn, settings.guild_id, alerts) if alerts is not None else []
            return Replaced(tuple(gone_digests), tuple(gone_alerts))

        return await self._pg.transaction(work)

    async def known_providers(self, domains: Collection[str]) -> set[str]:
        if not domains:
            return set()
        found = await self._pg.fetch("SELECT domain FROM providers WHERE domain = ANY($1::text[])", list(domains))
        return {str(r[0]) for r in found}


class PgAuditRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    async def add(self, guild_id: int, user_id: int, action: str, details: Mapping[str, Any]) -> AuditEntry:
        now = datetime.now(UTC).replace(microsecond=0)
        text = json.dumps(dict(details), ensure_ascii=False, default=str, sort_keys=True)
        found = await self._pg.write(
            "INSERT INTO audit_log (guild_id, user_id, action, details, created_at) VALUES ($1, $2, $3, $4, $5) "
            "RETURNING id",
            guild_id,
            user_id,
            action,
            text,
            epoch(now),
        )
        return AuditEntry(int(found[0][0]), guild_id, user_id, action, now, json.loads(text))

    async def latest(self, guild_id: int, limit: int = 10) -> list[AuditEntry]:
        found = await self._pg.fetch(
            "SELECT id, user_id, action, details, created_at FROM audit_log WHERE guild_id = $1 "
            "ORDER BY id DESC LIMIT $2",
            guild_id,
            max(1, limit),
        )
        return [AuditEntry(i, guild_id, u, a, from_epoch(at), json.loads(d)) for i, u, a, d, at in found]
