"""``MetaRepository`` on SQLite."""

from __future__ import annotations

import aiosqlite


class SqliteMetaRepository:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def get(self, key: str) -> str | None:
        rows = list(await self._conn.execute_fetchall("SELECT value FROM meta WHERE key = ?", [key]))
        return str(rows[0][0]) if rows else None

    async def set(self, key: str, value: str) -> None:
        await self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )
