"""``MetaRepository`` on PostgreSQL."""

from __future__ import annotations

from bot.db.pg_connect import Pg


class PgMetaRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    async def get(self, key: str) -> str | None:
        value = await self._pg.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return str(value) if value is not None else None

    async def set(self, key: str, value: str) -> None:
        # Idempotent: safe to repeat on a fresh connection.
        await self._pg.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
            retry=True,
        )
