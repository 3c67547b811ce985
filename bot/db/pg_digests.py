"""``DigestRepository`` on PostgreSQL: the twin of ``bot.db.sqlite_digests``.

Exactly once rests on the same unique keys as in SQLite (a slot once per digest, an article once
per digest, a nonce once), which PostgreSQL enforces across every process and host: a second
``begin_delivery`` for the same slot waits for the first transaction and then fails with
``DeliveryConflict``. Writes that must land together run in one transaction; the digest row is
locked (``FOR UPDATE``) while its progress moves, so two processes settling the same digest take
turns instead of racing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime

import asyncpg

from bot.db.digest_types import Candidates, Delivery, DeliveryConflict, Digest, DigestReplacement, NewDigest
from bot.db.pg_connect import Pg
from bot.db.pg_sql import Params, visibility_sql
from bot.db.records import SUMMARY_COLUMNS, epoch, summary
from bot.db.sqlite_digests import (
    _DELIVERY_COLUMNS,
    _DIGEST_COLUMNS,
    _SETTLED_PAYLOAD,
    UPDATABLE,
    _delivery,
    _digest,
    _new_digest_params,
)
from bot.db.types import Visibility
from bot.store.keys import topic_key

# The digest's last result, and for a scheduled delivery its slot as settled progress.
_SETTLE_FROM_DELIVERY = (
    "UPDATE digests SET last_result = $1, last_result_at = $2, "
    "last_slot = CASE WHEN d.slot IS NULL THEN digests.last_slot "
    "ELSE greatest(coalesce(digests.last_slot, d.slot), d.slot) END "
    "FROM (SELECT digest_id, slot FROM digest_deliveries WHERE id = $3) d WHERE digests.id = d.digest_id"
)
# Typed casts: a NULL parameter alone tells PostgreSQL nothing of its type.
_PG_TYPES = {"channel_id": "bigint", "weekday": "int", "min_quality": "int", "max_items": "int"}
_UPDATE_SETS = ", ".join(
    f"{name} = coalesce(${n}::{_PG_TYPES.get(name, 'text')}, {name})" for n, name in enumerate(UPDATABLE, 1)
)
_LOCK_DIGEST_OF_DELIVERY = (
    "SELECT g.id FROM digests g JOIN digest_deliveries d ON d.digest_id = g.id WHERE d.id = $1 FOR UPDATE OF g"
)


_INSERT_DIGEST = (
    "INSERT INTO digests (guild_id, channel_id, topic, at_time, timezone, cadence, weekday, min_quality, "
    "max_items, created_at, created_by, paused, pause_reason, last_slot) "
    f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::int::boolean, $13, $14) RETURNING {_DIGEST_COLUMNS}"
)


async def replace_for_guild(conn: asyncpg.Connection, guild_id: int, change: DigestReplacement) -> list[Digest]:
    """Inside the caller's transaction on ``conn``: remove the server's digests ``change.remove``
    (with their deliveries) and add ``change.add``. Returns the digests removed (the SQLite twin is
    ``bot.db.sqlite_digests.replace_for_guild``)."""
    removed = await conn.fetch(
        f"DELETE FROM digests WHERE guild_id = $1 AND id = ANY($2::bigint[]) RETURNING {_DIGEST_COLUMNS}",
        guild_id,
        list(change.remove),
    )
    for digest in change.add:
        if digest.guild_id != guild_id:
            raise ValueError(f"digest for guild {digest.guild_id} in a replacement for guild {guild_id}")
        await conn.fetch(_INSERT_DIGEST, *_new_digest_params(digest))
    return sorted((_digest(row) for row in removed), key=lambda d: d.id)


class PgDigestRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    # --- digests -------------------------------------------------------------------------------

    async def add(self, digest: NewDigest) -> Digest:
        found = await self._pg.write(_INSERT_DIGEST, *_new_digest_params(digest))
        return _digest(found[0])

    async def get(self, digest_id: int) -> Digest | None:
        row = await self._pg.fetchrow(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE id = $1", digest_id)
        return _digest(row) if row is not None else None

    async def for_guild(self, guild_id: int) -> list[Digest]:
        found = await self._pg.fetch(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE guild_id = $1 ORDER BY id", guild_id)
        return [_digest(row) for row in found]

    async def count_for_guild(self, guild_id: int) -> int:
        return int(await self._pg.fetchval("SELECT count(*) FROM digests WHERE guild_id = $1", guild_id))

    async def active(self) -> list[Digest]:
        found = await self._pg.fetch(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE NOT paused ORDER BY id")
        return [_digest(row) for row in found]

    async def remove(self, digest_id: int) -> bool:
        return bool(await self._pg.write("DELETE FROM digests WHERE id = $1 RETURNING id", digest_id))

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
        last = len(values)
        found = await self._pg.write(
            f"UPDATE digests SET {_UPDATE_SETS}, "
            f"last_slot = coalesce(${last + 1}::bigint, last_slot) WHERE id = ${last + 2} RETURNING {_DIGEST_COLUMNS}",
            *values,
            progress,
            digest_id,
        )
        return _digest(found[0]) if found else None

    async def set_paused(
        self, digest_id: int, *, paused: bool, reason: str | None, settle_until: datetime | None = None
    ) -> bool:
        settle = epoch(settle_until) if settle_until is not None else None
        found = await self._pg.write(
            "UPDATE digests SET paused = $1, pause_reason = $2, "
            "last_slot = CASE WHEN $3::bigint IS NULL THEN last_slot ELSE greatest(coalesce(last_slot, $3), $3) END "
            "WHERE id = $4 RETURNING id",
            paused,
            reason if paused else None,
            settle,
            digest_id,
        )
        return bool(found)

    async def settle(self, digest_id: int, slot: datetime, result: str, at: datetime) -> None:
        # Idempotent (progress only moves forward): safe to repeat on a fresh connection.
        await self._pg.execute(
            "UPDATE digests SET last_slot = greatest(coalesce(last_slot, $1), $1), last_result = $2, "
            "last_result_at = $3 WHERE id = $4",
            epoch(slot),
            result,
            epoch(at),
            digest_id,
            retry=True,
        )

    async def note_result(self, digest_id: int, result: str, at: datetime) -> None:
        await self._pg.execute(
            "UPDATE digests SET last_result = $1, last_result_at = $2 WHERE id = $3",
            result,
            epoch(at),
            digest_id,
            retry=True,
        )

    # --- deliveries ----------------------------------------------------------------------------

    async def delivery_for_slot(self, digest_id: int, slot: datetime) -> Delivery | None:
        row = await self._pg.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM digest_deliveries WHERE digest_id = $1 AND slot = $2",
            digest_id,
            epoch(slot),
        )
        return _delivery(row) if row is not None else None

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

        async def work(conn: asyncpg.Connection) -> asyncpg.Record:
            row = await conn.fetchrow(
                "INSERT INTO digest_deliveries (digest_id, slot, nonce, channel_id, state, payload, created_at) "
                f"VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING {_DELIVERY_COLUMNS}",
                digest_id,
                epoch(slot) if slot is not None else None,
                nonce,
                channel_id,
                payload,
                epoch(at),
            )
            assert row is not None
            await conn.execute(
                "INSERT INTO digest_items (digest_id, article_id, delivery_id, position) "
                "SELECT $1, a.id, $2, a.n - 1 FROM unnest($3::text[]) WITH ORDINALITY AS a (id, n)",
                digest_id,
                row[0],
                ids,
            )
            return row

        try:
            row = await self._pg.transaction(work)
        except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError) as exc:
            raise DeliveryConflict(str(exc)) from exc
        return _delivery(row, ids)

    async def finish_delivery(self, delivery_id: int, *, message_id: int, result: str, at: datetime) -> None:
        when = epoch(at)

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(_LOCK_DIGEST_OF_DELIVERY, delivery_id)
            await conn.execute(
                "UPDATE digest_deliveries SET state = 'sent', message_id = $1, payload = $2, finished_at = $3 "
                "WHERE id = $4",
                message_id,
                _SETTLED_PAYLOAD,
                when,
                delivery_id,
            )
            await conn.execute(_SETTLE_FROM_DELIVERY, result, when, delivery_id)

        await self._pg.transaction(work)

    async def abandon_delivery(self, delivery_id: int, *, result: str, at: datetime) -> None:
        when = epoch(at)

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(_LOCK_DIGEST_OF_DELIVERY, delivery_id)
            await conn.execute("DELETE FROM digest_items WHERE delivery_id = $1", delivery_id)
            await conn.execute(
                "UPDATE digest_deliveries SET state = 'abandoned', payload = $1, finished_at = $2 WHERE id = $3",
                _SETTLED_PAYLOAD,
                when,
                delivery_id,
            )
            await conn.execute(_SETTLE_FROM_DELIVERY, result, when, delivery_id)

        await self._pg.transaction(work)

    async def pending(self) -> list[Delivery]:
        found = await self._pg.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM digest_deliveries WHERE state = 'pending' ORDER BY created_at, id"
        )
        return [_delivery(row) for row in found]

    async def delivery_items(self, delivery_id: int) -> list[str]:
        found = await self._pg.fetch(
            "SELECT article_id FROM digest_items WHERE delivery_id = $1 ORDER BY position", delivery_id
        )
        return [str(row[0]) for row in found]

    async def prune(self, before: datetime) -> int:
        # SKIP LOCKED: a delivery another process is settling right now is left for the next prune.
        found = await self._pg.write(
            "DELETE FROM digest_deliveries WHERE id IN (SELECT id FROM digest_deliveries "
            "WHERE state <> 'pending' AND created_at < $1 FOR UPDATE SKIP LOCKED) RETURNING id",
            epoch(before),
        )
        return len(found)

    # --- composition input ---------------------------------------------------------------------

    async def candidates(
        self, topic: str, *, since: datetime, until: datetime, vis: Visibility, limit: int = 500
    ) -> Candidates:
        params = Params(topic_key(topic), math.floor(since.timestamp()), math.ceil(until.timestamp()), max(1, limit))
        clauses = [
            "t.topic_id = (SELECT id FROM topics WHERE name_fold = $1)",
            "t.published_at >= $2",
            "t.published_at < $3",
            *visibility_sql(vis, params, ranking="t"),
        ]
        found = await self._pg.fetch(
            f"SELECT a.rid, {SUMMARY_COLUMNS} FROM article_topics t JOIN articles a ON a.rid = t.rid "
            f"WHERE {' AND '.join(clauses)} "
            "ORDER BY t.heat DESC, t.quality DESC, t.published_at DESC, t.rid DESC LIMIT $4",
            *params.values,
        )
        items = tuple(summary(tuple(row)[1:]) for row in found)
        pairs: tuple[tuple[str, str], ...] = ()
        if len(found) > 1:
            by_rid = {int(row[0]): item.id for item, row in zip(items, found, strict=True)}
            links = await self._pg.fetch(
                "SELECT r.rid, a.rid FROM related_links r JOIN articles a ON a.url_key = r.url_key "
                "WHERE r.rid = ANY($1::bigint[]) AND a.rid = ANY($1::bigint[])",
                list(by_rid),
            )
            pairs = tuple((by_rid[int(src)], by_rid[int(dst)]) for src, dst in links if src != dst)
        return Candidates(items=items, related_pairs=pairs)

    async def delivered(self, digest_id: int, article_ids: Collection[str]) -> frozenset[str]:
        if not article_ids:
            return frozenset()
        found = await self._pg.fetch(
            "SELECT article_id FROM digest_items WHERE digest_id = $1 AND article_id = ANY($2::text[])",
            digest_id,
            list(article_ids),
        )
        return frozenset(str(row[0]) for row in found)
