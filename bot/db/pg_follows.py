"""``FollowRepository`` on PostgreSQL: the twin of ``bot.db.sqlite_follows``.

Exactly once rests on the same keys as in SQLite (an article once per follow, a digest slot once per
follow, a nonce once), which PostgreSQL enforces across every process and host. What SQLite got from
its single writer is spelled out here: a delivery claims its waiting articles with ``FOR UPDATE SKIP
LOCKED`` in the transaction that records it, so of two processes claiming the same article one gets
it and the other a ``DeliveryConflict`` at once, without waiting. What must land together (matched
arrivals with the cursor; a delivery with its claim; forgetting a member) is one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.db.follow_types import DeliveryConflict, DeliveryKind, Follow, FollowDelivery, FollowItem, Member, NewFollow
from bot.db.pg_connect import Pg
from bot.db.pg_sql import Params, visibility_sql
from bot.db.records import SUMMARY_COLUMNS, epoch, from_epoch, summary
from bot.db.sqlite_follows import (
    _DELIVERY_COLUMNS,
    _FOLLOW_COLUMNS,
    _FOLLOW_FROM,
    _ITEM_COLUMNS,
    _MEMBER_COLUMNS,
    _SETTLED_PAYLOAD,
    _delivery,
    _follow,
    _item,
    _member,
    export_document,
)
from bot.db.types import ArticleSummary, Visibility

# (follow_id, article_id) pairs from two parallel arrays, for IN-membership tests.
_PAIRS = "SELECT * FROM unnest({follows}::bigint[], {articles}::text[])"


def _pairs(keys: Collection[tuple[int, str]]) -> tuple[list[int], list[str]]:
    return [int(f) for f, _ in keys], [str(a) for _, a in keys]


class PgFollowRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    # --- members ---------------------------------------------------------------------------------

    async def member(self, user_id: int) -> Member | None:
        row = await self._pg.fetchrow(f"SELECT {_MEMBER_COLUMNS} FROM follow_members WHERE user_id = $1", user_id)
        return _member(row) if row is not None else None

    async def ensure_member(self, user_id: int, timezone: str, at: datetime) -> Member:
        rows = await self._pg.write(
            "INSERT INTO follow_members (user_id, timezone, created_at) VALUES ($1, $2, $3) "
            f"ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id RETURNING {_MEMBER_COLUMNS}",
            user_id,
            timezone,
            epoch(at),
        )
        return _member(rows[0])

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self._pg.execute("UPDATE follow_members SET timezone = $1 WHERE user_id = $2", timezone, user_id)

    async def set_quiet(self, user_id: int, start: int | None, end: int | None) -> None:
        await self._pg.execute(
            "UPDATE follow_members SET quiet_start = $1, quiet_end = $2 WHERE user_id = $3", start, end, user_id
        )

    async def set_dm_channel(self, user_id: int, channel_id: int) -> None:
        await self._pg.execute("UPDATE follow_members SET dm_channel_id = $1 WHERE user_id = $2", channel_id, user_id)

    async def pause_member(self, user_id: int, reason: str) -> None:
        await self._pg.execute(
            "UPDATE follow_members SET paused_reason = $1, notice_pending = true WHERE user_id = $2 "
            "AND paused_reason IS NULL",
            reason,
            user_id,
        )

    async def unpause_member(self, user_id: int) -> bool:
        rows = await self._pg.write(
            "UPDATE follow_members SET paused_reason = NULL, notice_pending = false WHERE user_id = $1 "
            "AND paused_reason IS NOT NULL RETURNING user_id",
            user_id,
        )
        return bool(rows)

    async def take_notice(self, user_id: int) -> str | None:
        rows = await self._pg.write(
            "UPDATE follow_members SET notice_pending = false WHERE user_id = $1 AND notice_pending "
            "RETURNING paused_reason",
            user_id,
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    # --- follows ---------------------------------------------------------------------------------

    async def add(self, follow: NewFollow) -> Follow:
        rows = await self._pg.write(
            "INSERT INTO follows (user_id, topic, keywords, delivery, at_time, weekday, created_at, created_seq) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT coalesce(max(seq), 0) FROM alert_arrivals)) RETURNING id",
            follow.user_id,
            follow.topic,
            follow.keywords,
            follow.delivery,
            follow.at_time,
            follow.weekday,
            epoch(follow.created_at),
        )
        found = await self.get(int(rows[0][0]))
        assert found is not None
        return found

    async def get(self, follow_id: int) -> Follow | None:
        row = await self._pg.fetchrow(f"SELECT {_FOLLOW_COLUMNS} FROM {_FOLLOW_FROM} WHERE f.id = $1", follow_id)
        return _follow(row) if row is not None else None

    async def for_user(self, user_id: int) -> list[Follow]:
        rows = await self._pg.fetch(
            f"SELECT {_FOLLOW_COLUMNS} FROM {_FOLLOW_FROM} WHERE f.user_id = $1 ORDER BY f.id", user_id
        )
        return [_follow(r) for r in rows]

    async def count_for_user(self, user_id: int) -> int:
        return int(await self._pg.fetchval("SELECT count(*) FROM follows WHERE user_id = $1", user_id))

    async def remove(self, user_id: int, follow_id: int) -> bool:
        # Its waiting articles and its deliveries' claims go with it (the items' primary key is the follow).
        async def work(conn: asyncpg.Connection) -> bool:
            await conn.execute("DELETE FROM follow_items WHERE follow_id = $1 AND user_id = $2", follow_id, user_id)
            await conn.execute(
                "DELETE FROM follow_deliveries WHERE follow_id = $1 AND user_id = $2 AND state = 'pending'",
                follow_id,
                user_id,
            )
            gone = await conn.fetch(
                "DELETE FROM follows WHERE id = $1 AND user_id = $2 RETURNING id", follow_id, user_id
            )
            return bool(gone)

        return await self._pg.transaction(work)

    async def set_paused(self, user_id: int, follow_id: int | None, *, paused: bool) -> int:
        if follow_id is None:
            rows = await self._pg.write(
                "UPDATE follows SET paused = $1 WHERE user_id = $2 AND paused <> $1 RETURNING id", paused, user_id
            )
        else:
            rows = await self._pg.write(
                "UPDATE follows SET paused = $1 WHERE user_id = $2 AND id = $3 AND paused <> $1 RETURNING id",
                paused,
                user_id,
                follow_id,
            )
        return len(rows)

    async def active(self, delivery: str | None = None) -> list[Follow]:
        clauses = ["NOT f.paused", "m.paused_reason IS NULL"]
        params = Params()
        if delivery is not None:
            clauses.append(f"f.delivery = {params.add(delivery)}")
        rows = await self._pg.fetch(
            f"SELECT {_FOLLOW_COLUMNS} FROM {_FOLLOW_FROM} WHERE {' AND '.join(clauses)} ORDER BY f.id", *params.values
        )
        return [_follow(r) for r in rows]

    async def users_with_follows(self) -> int:
        return int(await self._pg.fetchval("SELECT count(DISTINCT user_id) FROM follows"))

    # --- instant matching ------------------------------------------------------------------------

    async def cursor(self) -> int:
        value = await self._pg.fetchval("SELECT seq FROM follow_cursor WHERE id = 1")
        return int(value) if value is not None else 0

    async def record_matched(self, up_to: int, items: Sequence[tuple[int, int, str, int]], at: datetime) -> int:
        when = epoch(at)

        async def work(conn: asyncpg.Connection) -> int:
            taken = await conn.fetch(
                "INSERT INTO follow_items (follow_id, user_id, article_id, seq, queued_at) "
                "SELECT i.f, i.u, i.a, i.s, $5 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[]) "
                "AS i (f, u, a, s) ON CONFLICT (follow_id, article_id) DO NOTHING RETURNING follow_id",
                [int(i[0]) for i in items],
                [int(i[1]) for i in items],
                [str(i[2]) for i in items],
                [int(i[3]) for i in items],
                when,
            )
            # An upsert, so that a missing row (a table emptied by hand) is the cursor at 0, as it reads.
            await conn.execute(
                "INSERT INTO follow_cursor (id, seq) VALUES (1, $1) "
                "ON CONFLICT (id) DO UPDATE SET seq = greatest(follow_cursor.seq, excluded.seq)",
                up_to,
            )
            return len(taken)

        return await self._pg.transaction(work)

    # --- delivery --------------------------------------------------------------------------------

    async def users_with_work(self) -> list[int]:
        rows = await self._pg.fetch(
            "SELECT user_id FROM follow_items WHERE delivery_id IS NULL "
            "UNION SELECT user_id FROM follow_deliveries WHERE state = 'pending' ORDER BY 1"
        )
        return [int(r[0]) for r in rows]

    async def waiting(self, user_id: int) -> list[FollowItem]:
        rows = await self._pg.fetch(
            f"SELECT {_ITEM_COLUMNS} FROM follow_items WHERE user_id = $1 AND delivery_id IS NULL "
            "ORDER BY seq, follow_id",
            user_id,
        )
        return [_item(r) for r in rows]

    async def hold(self, user_id: int, keys: Collection[tuple[int, str]]) -> None:
        await self._pg.execute(
            "UPDATE follow_items SET held = true WHERE user_id = $1 AND delivery_id IS NULL "
            f"AND (follow_id, article_id) IN ({_PAIRS.format(follows='$2', articles='$3')})",
            user_id,
            *_pairs(keys),
        )

    async def drop(self, keys: Collection[tuple[int, str]]) -> None:
        await self._pg.execute(
            "DELETE FROM follow_items WHERE delivery_id IS NULL "
            f"AND (follow_id, article_id) IN ({_PAIRS.format(follows='$1', articles='$2')})",
            *_pairs(keys),
        )

    async def begin_delivery(
        self,
        user_id: int,
        *,
        kind: DeliveryKind,
        nonce: str,
        payload: str,
        article_keys: Sequence[tuple[int, str]],
        at: datetime,
        follow_id: int | None = None,
        slot: datetime | None = None,
    ) -> FollowDelivery:
        """Record the delivery and claim its articles, or roll everything back (``DeliveryConflict``)."""
        when = epoch(at)
        follows, articles = _pairs(article_keys)

        async def work(conn: asyncpg.Connection) -> asyncpg.Record:
            row = await conn.fetchrow(
                "INSERT INTO follow_deliveries (user_id, kind, follow_id, slot, nonce, state, payload, created_at) "
                f"VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING {_DELIVERY_COLUMNS}",
                user_id,
                kind,
                follow_id,
                None if slot is None else epoch(slot),
                nonce,
                payload,
                when,
            )
            assert row is not None
            delivery_id = int(row[0])
            if kind == "digest":
                # A digest takes its articles as new items: the primary key refuses one taken already.
                await conn.execute(
                    "INSERT INTO follow_items (follow_id, article_id, user_id, seq, queued_at, held, delivery_id) "
                    "SELECT k.f, k.a, $3, 0, $4, false, $5 FROM unnest($1::bigint[], $2::text[]) AS k (f, a)",
                    follows,
                    articles,
                    user_id,
                    when,
                    delivery_id,
                )
            else:
                # SKIP LOCKED: an article another transaction is claiming right now is not waiting
                # for this one; the claim comes up short and the delivery is refused without a wait.
                claimed = await conn.fetch(
                    "UPDATE follow_items i SET delivery_id = $1 FROM ("
                    "SELECT follow_id, article_id FROM follow_items WHERE user_id = $2 AND delivery_id IS NULL "
                    f"AND (follow_id, article_id) IN ({_PAIRS.format(follows='$3', articles='$4')}) "
                    "FOR UPDATE SKIP LOCKED) c WHERE i.follow_id = c.follow_id AND i.article_id = c.article_id "
                    "RETURNING i.follow_id",
                    delivery_id,
                    user_id,
                    follows,
                    articles,
                )
                if len(claimed) != len(set(article_keys)):
                    raise DeliveryConflict(f"{len(article_keys) - len(claimed)} of the articles are no longer waiting")
            return row

        try:
            row = await self._pg.transaction(work)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise DeliveryConflict(str(exc)) from exc
        return _delivery(row, article_keys)

    async def finish_delivery(self, delivery_id: int, *, message_id: int, at: datetime) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "UPDATE follow_deliveries SET state = 'sent', message_id = $1, payload = $2, finished_at = $3 "
                "WHERE id = $4",
                message_id,
                _SETTLED_PAYLOAD,
                epoch(at),
                delivery_id,
            )
            await conn.execute(
                "UPDATE follows f SET last_slot = d.slot FROM follow_deliveries d "
                "WHERE d.id = $1 AND d.slot IS NOT NULL AND f.id = d.follow_id "
                "AND (f.last_slot IS NULL OR f.last_slot < d.slot)",
                delivery_id,
            )

        await self._pg.transaction(work)

    async def abandon_delivery(self, delivery_id: int, *, at: datetime) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "DELETE FROM follow_items WHERE delivery_id = $1 "
                "AND (SELECT kind FROM follow_deliveries WHERE id = $1) = 'digest'",
                delivery_id,
            )
            await conn.execute(
                "UPDATE follow_items SET delivery_id = NULL, held = true WHERE delivery_id = $1", delivery_id
            )
            await conn.execute(
                "UPDATE follow_deliveries SET state = 'abandoned', payload = $1, finished_at = $2 WHERE id = $3",
                _SETTLED_PAYLOAD,
                epoch(at),
                delivery_id,
            )

        await self._pg.transaction(work)

    async def pending(self, user_id: int | None = None) -> list[FollowDelivery]:
        params = Params()
        where = "state = 'pending'" + (f" AND user_id = {params.add(user_id)}" if user_id is not None else "")
        rows = await self._pg.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM follow_deliveries WHERE {where} ORDER BY created_at, id", *params.values
        )
        return [_delivery(r) for r in rows]

    async def sent_since(self, user_id: int, since: datetime) -> list[datetime]:
        rows = await self._pg.fetch(
            "SELECT created_at FROM follow_deliveries WHERE user_id = $1 AND kind IN ('instant', 'roundup') "
            "AND state <> 'abandoned' AND created_at >= $2 ORDER BY created_at",
            user_id,
            epoch(since),
        )
        return [from_epoch(r[0]) for r in rows]

    # --- personal digests ------------------------------------------------------------------------

    async def delivery_for_slot(self, follow_id: int, slot: datetime) -> FollowDelivery | None:
        row = await self._pg.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM follow_deliveries WHERE follow_id = $1 AND slot = $2",
            follow_id,
            epoch(slot),
        )
        return _delivery(row) if row is not None else None

    async def settle(self, follow_id: int, slot: datetime) -> None:
        await self._pg.execute(
            "UPDATE follows SET last_slot = $1 WHERE id = $2 AND (last_slot IS NULL OR last_slot < $1)",
            epoch(slot),
            follow_id,
            retry=True,
        )

    async def delivered(self, follow_ids: Collection[int], article_ids: Collection[str]) -> set[tuple[int, str]]:
        if not follow_ids or not article_ids:
            return set()
        rows = await self._pg.fetch(
            "SELECT follow_id, article_id FROM follow_items WHERE follow_id = ANY($1::bigint[]) "
            "AND article_id = ANY($2::text[])",
            sorted(set(follow_ids)),
            sorted(set(article_ids)),
        )
        return {(int(f), str(a)) for f, a in rows}

    async def window(self, *, since: datetime, until: datetime, vis: Visibility, limit: int) -> list[ArticleSummary]:
        params = Params(math.floor(since.timestamp()), math.ceil(until.timestamp()), max(1, limit))
        clauses = ["a.published_at >= $1", "a.published_at < $2", *visibility_sql(vis, params)]
        rows = await self._pg.fetch(
            f"SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {' AND '.join(clauses)} "
            "ORDER BY a.heat DESC, a.quality DESC, a.published_at DESC LIMIT $3",
            *params.values,
        )
        return [summary(tuple(r)) for r in rows]

    # --- privacy ---------------------------------------------------------------------------------

    async def export(self, user_id: int) -> dict[str, Any]:
        member = await self.member(user_id)
        follows = await self._pg.fetch(
            "SELECT id, topic, keywords, delivery, at_time, weekday, created_at, paused, last_slot FROM follows "
            "WHERE user_id = $1 ORDER BY id",
            user_id,
        )
        items = await self._pg.fetch(
            "SELECT follow_id, article_id, queued_at, held, delivery_id FROM follow_items WHERE user_id = $1 "
            "ORDER BY queued_at, follow_id, article_id",
            user_id,
        )
        deliveries = await self._pg.fetch(
            "SELECT id, kind, follow_id, slot, state, message_id, created_at, finished_at FROM follow_deliveries "
            "WHERE user_id = $1 ORDER BY id",
            user_id,
        )

        return export_document(user_id, member, follows, items, deliveries)

    async def forget(self, user_id: int) -> int:
        async def work(conn: asyncpg.Connection) -> int:
            gone = 0
            for table in ("follow_items", "follow_deliveries", "follows", "follow_members"):
                gone += len(await conn.fetch(f"DELETE FROM {table} WHERE user_id = $1 RETURNING 1", user_id))
            return gone

        return await self._pg.transaction(work)

    async def prune(self, before: datetime) -> int:
        # Settled DMs older than any window (the cap's hour, a week's digest) go, and the articles
        # they took with them (ON DELETE CASCADE). SKIP LOCKED: one being settled right now waits
        # for the next prune.
        rows = await self._pg.write(
            "DELETE FROM follow_deliveries WHERE id IN (SELECT id FROM follow_deliveries "
            "WHERE state <> 'pending' AND created_at < $1 FOR UPDATE SKIP LOCKED) RETURNING 1",
            epoch(before),
        )
        return len(rows)
