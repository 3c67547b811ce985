"""``DigestRepository`` on SQLite.

Single-statement writes and reads go through the serving connection. A delivery's writes that
must land together (the delivery row with its articles; the message id with the digest's
progress) run on a short-lived connection of their own inside one ``BEGIN IMMEDIATE``
transaction, so statements other tasks send meanwhile on the shared connection never end up
inside it, and a crash leaves either all of it or none.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.connect import transaction as _transaction
from bot.db.digest_types import (
    Candidates,
    Delivery,
    DeliveryConflict,
    DeliveryState,
    Digest,
    DigestReplacement,
    NewDigest,
)
from bot.db.records import SUMMARY_COLUMNS, epoch, from_epoch, summary
from bot.db.sqlite_articles import visibility_sql
from bot.db.types import Visibility
from bot.store.keys import topic_key

_DIGEST_COLUMNS = (
    "id, guild_id, channel_id, topic, at_time, timezone, cadence, weekday, min_quality, max_items, created_at, "
    "created_by, paused, pause_reason, last_slot, last_result, last_result_at"
)
_DELIVERY_COLUMNS = "id, digest_id, slot, nonce, channel_id, state, message_id, payload, created_at"
_INSERT_DIGEST = (
    "INSERT INTO digests (guild_id, channel_id, topic, at_time, timezone, cadence, weekday, min_quality, "
    "max_items, created_at, created_by, paused, pause_reason, last_slot) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_DIGEST_COLUMNS}"
)
#: The columns ``update`` may change, in the order of its parameters; a NULL parameter keeps the value.
UPDATABLE = ("channel_id", "topic", "at_time", "timezone", "cadence", "weekday", "min_quality", "max_items")
_UPDATE_SETS = ", ".join(f"{name} = coalesce(?, {name})" for name in UPDATABLE)
# Settled deliveries keep no copy of their message: only pending ones may need to send it again.
_SETTLED_PAYLOAD = ""
# The digest's last result, and for a scheduled delivery its slot as settled progress.
_SETTLE_FROM_DELIVERY = (
    "UPDATE digests SET last_result = ?, last_result_at = ?, "
    "last_slot = CASE WHEN d.slot IS NULL THEN last_slot ELSE max(coalesce(last_slot, d.slot), d.slot) END "
    "FROM (SELECT digest_id, slot FROM digest_deliveries WHERE id = ?) d WHERE digests.id = d.digest_id"
)


def _optional_time(value: int | None) -> datetime | None:
    return from_epoch(value) if value is not None else None


def _digest(row: Sequence[Any]) -> Digest:
    return Digest(
        id=int(row[0]),
        guild_id=int(row[1]),
        channel_id=int(row[2]),
        topic=str(row[3]),
        at_time=str(row[4]),
        timezone=str(row[5]),
        cadence=str(row[6]),
        weekday=int(row[7]),
        min_quality=int(row[8]),
        max_items=int(row[9]),
        created_at=from_epoch(row[10]),
        created_by=int(row[11]),
        paused=bool(row[12]),
        pause_reason=row[13],
        last_slot=_optional_time(row[14]),
        last_result=row[15],
        last_result_at=_optional_time(row[16]),
    )


def _state(value: str) -> DeliveryState:
    if value == "pending":
        return "pending"
    if value == "sent":
        return "sent"
    return "abandoned"


def _delivery(row: Sequence[Any], article_ids: Sequence[str] = ()) -> Delivery:
    return Delivery(
        id=int(row[0]),
        digest_id=int(row[1]),
        slot=_optional_time(row[2]),
        nonce=str(row[3]),
        channel_id=int(row[4]),
        state=_state(str(row[5])),
        message_id=int(row[6]) if row[6] is not None else None,
        payload=str(row[7]),
        created_at=from_epoch(row[8]),
        article_ids=tuple(article_ids),
    )


def _new_digest_params(digest: NewDigest) -> list[Any]:
    created = epoch(digest.created_at)
    return [
        digest.guild_id,
        digest.channel_id,
        digest.topic,
        digest.at_time,
        digest.timezone,
        digest.cadence,
        digest.weekday,
        digest.min_quality,
        digest.max_items,
        created,
        digest.created_by,
        int(digest.paused),
        digest.pause_reason if digest.paused else None,
        # Resuming must not post the slots that passed while it was paused, from before it existed here.
        created if digest.paused else None,
    ]


def replace_for_guild(conn: sqlite3.Connection, guild_id: int, change: DigestReplacement) -> list[Digest]:
    """Inside the caller's transaction on ``conn``: remove the server's digests ``change.remove``
    (with their deliveries) and add ``change.add``. Returns the digests removed."""
    removed = conn.execute(
        "DELETE FROM digests WHERE guild_id = ? AND id IN (SELECT value FROM json_each(?)) "
        f"RETURNING {_DIGEST_COLUMNS}",
        [guild_id, json.dumps(list(change.remove))],
    ).fetchall()
    for digest in change.add:
        if digest.guild_id != guild_id:
            raise ValueError(f"digest for guild {digest.guild_id} in a replacement for guild {guild_id}")
        conn.execute(_INSERT_DIGEST, _new_digest_params(digest)).fetchall()
    return sorted((_digest(row) for row in removed), key=lambda d: d.id)


class SqliteDigestRepository:
    def __init__(self, path: Path, light: aiosqlite.Connection) -> None:
        self._path = path
        self._light = light

    async def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return list(await self._light.execute_fetchall(sql, params))

    async def _write(self, work: list[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        return await asyncio.to_thread(_transaction, self._path, work)

    # --- digests -------------------------------------------------------------------------------

    async def add(self, digest: NewDigest) -> Digest:
        rows = await self._rows(_INSERT_DIGEST, _new_digest_params(digest))
        return _digest(rows[0])

    async def get(self, digest_id: int) -> Digest | None:
        rows = await self._rows(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE id = ?", [digest_id])
        return _digest(rows[0]) if rows else None

    async def for_guild(self, guild_id: int) -> list[Digest]:
        rows = await self._rows(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE guild_id = ? ORDER BY id", [guild_id])
        return [_digest(row) for row in rows]

    async def count_for_guild(self, guild_id: int) -> int:
        rows = await self._rows("SELECT count(*) FROM digests WHERE guild_id = ?", [guild_id])
        return int(rows[0][0])

    async def active(self) -> list[Digest]:
        rows = await self._rows(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE paused = 0 ORDER BY id")
        return [_digest(row) for row in rows]

    async def remove(self, digest_id: int) -> bool:
        rows = await self._rows("DELETE FROM digests WHERE id = ? RETURNING id", [digest_id])
        return bool(rows)

    async def update(
        self,
        digest_id: int,
        *,
        channel_id: int | None = None,
        topic: str | None = None,
        at_time: str | None = None,
        timezone: str | None = None,
        cadence: str | None = None,
        weekday: int | None = None,
        min_quality: int | None = None,
        max_items: int | None = None,
        last_slot: datetime | None = None,
    ) -> Digest | None:
        progress = epoch(last_slot) if last_slot is not None else None
        values = [channel_id, topic, at_time, timezone, cadence, weekday, min_quality, max_items]
        rows = await self._rows(
            f"UPDATE digests SET {_UPDATE_SETS}, "
            f"last_slot = coalesce(?, last_slot) WHERE id = ? RETURNING {_DIGEST_COLUMNS}",
            [*values, progress, digest_id],
        )
        return _digest(rows[0]) if rows else None

    async def set_paused(
        self, digest_id: int, *, paused: bool, reason: str | None, settle_until: datetime | None = None
    ) -> bool:
        settle = epoch(settle_until) if settle_until is not None else None
        rows = await self._rows(
            "UPDATE digests SET paused = ?, pause_reason = ?, "
            "last_slot = CASE WHEN ? IS NULL THEN last_slot ELSE max(coalesce(last_slot, ?), ?) END "
            "WHERE id = ? RETURNING id",
            [int(paused), reason if paused else None, settle, settle, settle, digest_id],
        )
        return bool(rows)

    async def settle(self, digest_id: int, slot: datetime, result: str, at: datetime) -> None:
        await self._rows(
            "UPDATE digests SET last_slot = max(coalesce(last_slot, ?), ?), last_result = ?, last_result_at = ? "
            "WHERE id = ?",
            [epoch(slot), epoch(slot), result, epoch(at), digest_id],
        )

    async def note_result(self, digest_id: int, result: str, at: datetime) -> None:
        await self._rows(
            "UPDATE digests SET last_result = ?, last_result_at = ? WHERE id = ?", [result, epoch(at), digest_id]
        )

    # --- deliveries ----------------------------------------------------------------------------

    async def delivery_for_slot(self, digest_id: int, slot: datetime) -> Delivery | None:
        rows = await self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM digest_deliveries WHERE digest_id = ? AND slot = ?",
            [digest_id, epoch(slot)],
        )
        return _delivery(rows[0]) if rows else None

    async def begin_delivery(
        self,
        digest_id: int,
        *,
        slot: datetime | None,
        nonce: str,
        channel_id: int,
        article_ids: Sequence[str],
        payload: str,
        at: datetime,
    ) -> Delivery:
        ids = list(dict.fromkeys(article_ids))
        work: list[tuple[str, Sequence[Any]]] = [
            (
                "INSERT INTO digest_deliveries (digest_id, slot, nonce, channel_id, state, payload, created_at) "
                f"VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING {_DELIVERY_COLUMNS}",
                [digest_id, epoch(slot) if slot is not None else None, nonce, channel_id, payload, epoch(at)],
            ),
            (
                "INSERT INTO digest_items (digest_id, article_id, delivery_id, position) "
                "SELECT ?, value, (SELECT id FROM digest_deliveries WHERE nonce = ?), key FROM json_each(?)",
                [digest_id, nonce, json.dumps(ids)],
            ),
        ]
        try:
            results = await self._write(work)
        except sqlite3.IntegrityError as exc:
            raise DeliveryConflict(str(exc)) from exc
        return _delivery(results[0][0], ids)

    async def finish_delivery(self, delivery_id: int, *, message_id: int, result: str, at: datetime) -> None:
        when = epoch(at)
        await self._write(
            [
                (
                    "UPDATE digest_deliveries SET state = 'sent', message_id = ?, payload = ?, finished_at = ? "
                    "WHERE id = ?",
                    [message_id, _SETTLED_PAYLOAD, when, delivery_id],
                ),
                (_SETTLE_FROM_DELIVERY, [result, when, delivery_id]),
            ]
        )

    async def abandon_delivery(self, delivery_id: int, *, result: str, at: datetime) -> None:
        when = epoch(at)
        await self._write(
            [
                ("DELETE FROM digest_items WHERE delivery_id = ?", [delivery_id]),
                (
                    "UPDATE digest_deliveries SET state = 'abandoned', payload = ?, finished_at = ? WHERE id = ?",
                    [_SETTLED_PAYLOAD, when, delivery_id],
                ),
                (_SETTLE_FROM_DELIVERY, [result, when, delivery_id]),
            ]
        )

    async def pending(self) -> list[Delivery]:
        rows = await self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM digest_deliveries WHERE state = 'pending' ORDER BY created_at, id"
        )
        return [_delivery(row) for row in rows]

    async def delivery_items(self, delivery_id: int) -> list[str]:
        rows = await self._rows(
            "SELECT article_id FROM digest_items WHERE delivery_id = ? ORDER BY position", [delivery_id]
        )
        return [str(row[0]) for row in rows]

    async def prune(self, before: datetime) -> int:
        rows = await self._rows(
            "DELETE FROM digest_deliveries WHERE state != 'pending' AND created_at < ? RETURNING id", [epoch(before)]
        )
        return len(rows)

    # --- composition input ---------------------------------------------------------------------

    async def candidates(
        self, topic: str, *, since: datetime, until: datetime, vis: Visibility, limit: int = 500
    ) -> Candidates:
        # Whole seconds that cover the window; compose applies the exact bounds.
        params: dict[str, Any] = {
            "topic": topic_key(topic),
            "since": math.floor(since.timestamp()),
            "until": math.ceil(until.timestamp()),
            "limit": max(1, limit),
        }
        clauses = [
            "t.topic_id = (SELECT id FROM topics WHERE name_fold = :topic)",
            "t.published_at >= :since",
            "t.published_at < :until",
            "a.rid = t.rid",
            *visibility_sql(vis, params, ranking="t"),
        ]
        # CROSS JOIN pins the order: walk the topic's (published, published_at) index over the
        # window, look each article up by rid.
        rows = await self._rows(
            f"SELECT a.rid, {SUMMARY_COLUMNS} FROM article_topics t CROSS JOIN articles a "
            f"WHERE {' AND '.join(clauses)} "
            "ORDER BY t.heat DESC, t.quality DESC, t.published_at DESC, t.rid DESC LIMIT :limit",
            params,
        )
        items = tuple(summary(row[1:]) for row in rows)
        pairs: tuple[tuple[str, str], ...] = ()
        if len(rows) > 1:
            by_rid = {int(row[0]): item.id for item, row in zip(items, rows, strict=True)}
            # "+a.rid" keeps the second IN a membership test: used as an index key, SQLite would try
            # every candidate for every link (seconds for a week of a busy topic instead of ms).
            links = await self._rows(
                "SELECT r.rid, a.rid FROM related_links r JOIN articles a ON a.url_key = r.url_key "
                "WHERE r.rid IN (SELECT value FROM json_each(:rids)) "
                "AND +a.rid IN (SELECT value FROM json_each(:rids))",
                {"rids": json.dumps(list(by_rid))},
            )
            pairs = tuple((by_rid[int(src)], by_rid[int(dst)]) for src, dst in links if src != dst)
        return Candidates(items=items, related_pairs=pairs)

    async def delivered(self, digest_id: int, article_ids: Collection[str]) -> frozenset[str]:
        if not article_ids:
            return frozenset()
        rows = await self._rows(
            "SELECT article_id FROM digest_items WHERE digest_id = ? "
            "AND article_id IN (SELECT value FROM json_each(?))",
            [digest_id, json.dumps(list(article_ids))],
        )
        return frozenset(str(row[0]) for row in rows)
