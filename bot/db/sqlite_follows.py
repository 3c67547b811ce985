"""``FollowRepository`` on SQLite.

Reads and single-statement writes use the serving connection; what must land together (matched
arrivals with the cursor; a delivery with the claim on its articles; forgetting a member) runs in
one ``BEGIN IMMEDIATE`` transaction on a short-lived connection (``bot.db.connect.transaction``).
The SQL avoids SQLite-only forms where it is easy (no ``INSERT OR IGNORE``, no ``WITHOUT ROWID``),
so the PostgreSQL backend can follow it closely.
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

from bot.db.connect import connect_sync, transaction
from bot.db.follow_types import (
    DeliveryConflict,
    DeliveryKind,
    DeliveryState,
    Follow,
    FollowDelivery,
    FollowItem,
    Member,
    NewFollow,
)
from bot.db.records import SUMMARY_COLUMNS, epoch, from_epoch, summary
from bot.db.sqlite_articles import visibility_sql
from bot.db.types import ArticleSummary, Visibility

_MEMBER_COLUMNS = "user_id, timezone, quiet_start, quiet_end, dm_channel_id, paused_reason, notice_pending, created_at"
_FOLLOW_COLUMNS = (
    "f.id, f.user_id, f.topic, f.keywords, f.delivery, f.at_time, f.weekday, f.created_at, f.created_seq, f.paused, "
    "f.last_slot, m.timezone, m.paused_reason, m.quiet_start, m.quiet_end"
)
_FOLLOW_FROM = "follows f JOIN follow_members m ON m.user_id = f.user_id"
_DELIVERY_COLUMNS = "id, user_id, kind, follow_id, slot, nonce, state, payload, message_id, created_at"
_ITEM_COLUMNS = "follow_id, article_id, user_id, seq, queued_at, held, delivery_id"
# Settled deliveries keep no copy of their message: only pending ones may need to send it again.
_SETTLED_PAYLOAD = ""


def _member(row: Sequence[Any]) -> Member:
    return Member(
        user_id=int(row[0]),
        timezone=str(row[1]),
        quiet_start=None if row[2] is None else int(row[2]),
        quiet_end=None if row[3] is None else int(row[3]),
        dm_channel_id=None if row[4] is None else int(row[4]),
        paused_reason=row[5],
        notice_pending=bool(row[6]),
        created_at=from_epoch(row[7]),
    )


def _follow(row: Sequence[Any]) -> Follow:
    return Follow(
        id=int(row[0]),
        user_id=int(row[1]),
        topic=row[2],
        keywords=row[3],
        delivery=str(row[4]),
        at_time=str(row[5]),
        weekday=int(row[6]),
        created_at=from_epoch(row[7]),
        created_seq=int(row[8]),
        paused=bool(row[9]),
        last_slot=None if row[10] is None else from_epoch(row[10]),
        timezone=str(row[11]),
        member_paused=row[12] is not None,
        quiet_start=None if row[13] is None else int(row[13]),
        quiet_end=None if row[14] is None else int(row[14]),
    )


def _kind(value: str) -> DeliveryKind:
    return "roundup" if value == "roundup" else "digest" if value == "digest" else "instant"


def _state(value: str) -> DeliveryState:
    return "pending" if value == "pending" else "sent" if value == "sent" else "abandoned"


def _delivery(row: Sequence[Any], keys: Sequence[tuple[int, str]] = ()) -> FollowDelivery:
    return FollowDelivery(
        id=int(row[0]),
        user_id=int(row[1]),
        kind=_kind(str(row[2])),
        follow_id=None if row[3] is None else int(row[3]),
        slot=None if row[4] is None else from_epoch(row[4]),
        nonce=str(row[5]),
        state=_state(str(row[6])),
        payload=str(row[7]),
        message_id=None if row[8] is None else int(row[8]),
        created_at=from_epoch(row[9]),
        article_keys=tuple(keys),
    )


def _item(row: Sequence[Any]) -> FollowItem:
    return FollowItem(
        follow_id=int(row[0]),
        article_id=str(row[1]),
        user_id=int(row[2]),
        seq=int(row[3]),
        queued_at=from_epoch(row[4]),
        held=bool(row[5]),
        delivery_id=None if row[6] is None else int(row[6]),
    )


def _keys_json(keys: Collection[tuple[int, str]]) -> str:
    return json.dumps([[follow_id, article_id] for follow_id, article_id in keys], ensure_ascii=False)


# (follow_id, article_id) pairs from a JSON array of pairs, for IN-membership tests.
_PAIRS = "SELECT json_extract(value, '$[0]') AS follow_id, json_extract(value, '$[1]') AS article_id FROM json_each(?)"


def _begin(
    path: Path,
    user_id: int,
    kind: str,
    nonce: str,
    payload: str,
    keys: Sequence[tuple[int, str]],
    at: int,
    follow_id: int | None,
    slot: int | None,
) -> tuple[list[Any], int]:
    """Record the delivery and claim its articles, or roll everything back (``DeliveryConflict``)."""
    conn = connect_sync(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "INSERT INTO follow_deliveries (user_id, kind, follow_id, slot, nonce, state, payload, created_at) "
            f"VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING {_DELIVERY_COLUMNS}",
            [user_id, kind, follow_id, slot, nonce, payload, at],
        ).fetchone()
        delivery_id = int(row[0])
        if kind == "digest":
            conn.executemany(
                "INSERT INTO follow_items (follow_id, article_id, user_id, seq, queued_at, held, delivery_id) "
                "VALUES (?, ?, ?, 0, ?, 0, ?)",
                [(f, a, user_id, at, delivery_id) for f, a in keys],
            )
        else:
            claimed = conn.execute(
                "UPDATE follow_items SET delivery_id = ? WHERE user_id = ? AND delivery_id IS NULL "
                f"AND (follow_id, article_id) IN ({_PAIRS})",
                [delivery_id, user_id, _keys_json(keys)],
            ).rowcount
            if claimed != len(set(keys)):
                raise DeliveryConflict(f"{len(keys) - claimed} of the articles are no longer waiting")
        conn.execute("COMMIT")
        return list(row), delivery_id
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()


def export_document(
    user_id: int, member: Member | None, follows: Sequence[Any], items: Sequence[Any], deliveries: Sequence[Any]
) -> dict[str, Any]:
    """Everything stored about a member, as ``/follow export`` gives it: one shape for both backends
    (the rows are those of the export queries, in their column order)."""

    def when(value: Any) -> str | None:
        return None if value is None else from_epoch(value).isoformat()

    return {
        "user_id": str(user_id),
        "preferences": None
        if member is None
        else {
            "timezone": member.timezone,
            "quiet_start_minute": member.quiet_start,
            "quiet_end_minute": member.quiet_end,
            "dm_channel_id": None if member.dm_channel_id is None else str(member.dm_channel_id),
            "paused_reason": member.paused_reason,
            "created_at": when(epoch(member.created_at)) if member.created_at else None,
        },
        "follows": [
            {
                "id": r[0],
                "topic": r[1],
                "keywords": r[2],
                "delivery": r[3],
                "time": r[4],
                "weekday": r[5],
                "created_at": when(r[6]),
                "paused": bool(r[7]),
                "last_digest_slot": when(r[8]),
            }
            for r in follows
        ],
        "articles": [
            {"follow": r[0], "article": r[1], "taken_at": when(r[2]), "held": bool(r[3]), "delivery": r[4]}
            for r in items
        ],
        "messages": [
            {
                "id": r[0],
                "kind": r[1],
                "follow": r[2],
                "slot": when(r[3]),
                "state": r[4],
                "message_id": None if r[5] is None else str(r[5]),
                "recorded_at": when(r[6]),
                "finished_at": when(r[7]),
            }
            for r in deliveries
        ],
    }


class SqliteFollowRepository:
    def __init__(self, path: Path, light: aiosqlite.Connection) -> None:
        self._path = path
        self._light = light

    async def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return list(await self._light.execute_fetchall(sql, params))

    async def _write(self, work: list[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        return await asyncio.to_thread(transaction, self._path, work)

    # --- members ---------------------------------------------------------------------------------

    async def member(self, user_id: int) -> Member | None:
        rows = await self._rows(f"SELECT {_MEMBER_COLUMNS} FROM follow_members WHERE user_id = ?", [user_id])
        return _member(rows[0]) if rows else None

    async def ensure_member(self, user_id: int, timezone: str, at: datetime) -> Member:
        rows = await self._rows(
            "INSERT INTO follow_members (user_id, timezone, created_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id RETURNING {_MEMBER_COLUMNS}",
            [user_id, timezone, epoch(at)],
        )
        return _member(rows[0])

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self._rows("UPDATE follow_members SET timezone = ? WHERE user_id = ?", [timezone, user_id])

    async def set_quiet(self, user_id: int, start: int | None, end: int | None) -> None:
        await self._rows(
            "UPDATE follow_members SET quiet_start = ?, quiet_end = ? WHERE user_id = ?", [start, end, user_id]
        )

    async def set_dm_channel(self, user_id: int, channel_id: int) -> None:
        await self._rows("UPDATE follow_members SET dm_channel_id = ? WHERE user_id = ?", [channel_id, user_id])

    async def pause_member(self, user_id: int, reason: str) -> None:
        await self._rows(
            "UPDATE follow_members SET paused_reason = ?, notice_pending = 1 WHERE user_id = ? "
            "AND paused_reason IS NULL",
            [reason, user_id],
        )

    async def unpause_member(self, user_id: int) -> bool:
        rows = await self._rows(
            "UPDATE follow_members SET paused_reason = NULL, notice_pending = 0 WHERE user_id = ? "
            "AND paused_reason IS NOT NULL RETURNING user_id",
            [user_id],
        )
        return bool(rows)

    async def take_notice(self, user_id: int) -> str | None:
        rows = await self._rows(
            "UPDATE follow_members SET notice_pending = 0 WHERE user_id = ? AND notice_pending = 1 "
            "RETURNING paused_reason",
            [user_id],
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    # --- follows ---------------------------------------------------------------------------------

    async def add(self, follow: NewFollow) -> Follow:
        rows = await self._write(
            [
                (
                    "INSERT INTO follows (user_id, topic, keywords, delivery, at_time, weekday, created_at, "
                    "created_seq) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) FROM alert_arrivals)) "
                    "RETURNING id",
                    [
                        follow.user_id,
                        follow.topic,
                        follow.keywords,
                        follow.delivery,
                        follow.at_time,
                        follow.weekday,
                        epoch(follow.created_at),
                    ],
                )
            ]
        )
        found = await self.get(int(rows[0][0][0]))
        assert found is not None
        return found

    async def get(self, follow_id: int) -> Follow | None:
        rows = await self._rows(f"SELECT {_FOLLOW_COLUMNS} FROM {_FOLLOW_FROM} WHERE f.id = ?", [follow_id])
        return _follow(rows[0]) if rows else None

    async def for_user(self, user_id: int) -> list[Follow]:
        rows = await self._rows(
            f"SELECT {_FOLLOW_COLUMNS} FROM {_FOLLOW_FROM} WHERE f.user_id = ? ORDER BY f.id", [user_id]
        )
        return [_follow(r) for r in rows]

    async def count_for_user(self, user_id: int) -> int:
        rows = await self._rows("SELECT count(*) FROM follows WHERE user_id = ?", [user_id])
        return int(rows[0][0])

    async def remove(self, user_id: int, follow_id: int) -> bool:
        # Its waiting articles and its deliveries' claims go with it (the items' primary key is the follow).
        results = await self._write(
            [
                ("DELETE FROM follow_items WHERE follow_id = ? AND user_id = ?", [follow_id, user_id]),
                (
                    "DELETE FROM follow_deliveries WHERE follow_id = ? AND user_id = ? AND state = 'pending'",
                    [follow_id, user_id],
                ),
                ("DELETE FROM follows WHERE id = ? AND user_id = ? RETURNING id", [follow_id, user_id]),
            ]
        )
        return bool(results[2])

    async def set_paused(self, user_id: int, follow_id: int | None, *, paused: bool) -> int:
        if follow_id is None:
            rows = await self._rows(
                "UPDATE follows SET paused = ? WHERE user_id = ? AND paused != ? RETURNING id",
                [int(paused), user_id, int(paused)],
            )
        else:
            rows = await self._rows(
                "UPDATE follows SET paused = ? WHERE user_id = ? AND id = ? AND paused != ? RETURNING id",
                [int(paused), user_id, follow_id, int(paused)],
            )
        return len(rows)

    async def active(self, delivery: str | None = None) -> list[Follow]:
        clauses = ["f.paused = 0", "m.paused_reason IS NULL"]
        params: list[Any] = []
        if delivery is not None:
            clauses.append("f.delivery = ?")
            params.append(delivery)
        rows = await self._rows(
            f"SELECT {_FOLLOW_COLUMNS} FROM {_FOLLOW_FROM} WHERE {' AND '.join(clauses)} ORDER BY f.id", params
        )
        return [_follow(r) for r in rows]

    async def users_with_follows(self) -> int:
        rows = await self._rows("SELECT count(DISTINCT user_id) FROM follows")
        return int(rows[0][0])

    # --- instant matching ------------------------------------------------------------------------

    async def cursor(self) -> int:
        rows = await self._rows("SELECT seq FROM follow_cursor WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    async def record_matched(self, up_to: int, items: Sequence[tuple[int, int, str, int]], at: datetime) -> int:
        when = epoch(at)
        payload = json.dumps([list(i) for i in items], ensure_ascii=False)
        results = await self._write(
            [
                (
                    "INSERT INTO follow_items (follow_id, user_id, article_id, seq, queued_at) "
                    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
                    "json_extract(value, '$[3]'), ? FROM json_each(?) WHERE true "
                    "ON CONFLICT (follow_id, article_id) DO NOTHING RETURNING follow_id",
                    [when, payload],
                ),
                ("UPDATE follow_cursor SET seq = max(seq, ?) WHERE id = 1", [up_to]),
            ]
        )
        return len(results[0])

    # --- delivery --------------------------------------------------------------------------------

    async def users_with_work(self) -> list[int]:
        rows = await self._rows(
            "SELECT user_id FROM follow_items WHERE delivery_id IS NULL "
            "UNION SELECT user_id FROM follow_deliveries WHERE state = 'pending' ORDER BY 1"
        )
        return [int(r[0]) for r in rows]

    async def waiting(self, user_id: int) -> list[FollowItem]:
        rows = await self._rows(
            f"SELECT {_ITEM_COLUMNS} FROM follow_items WHERE user_id = ? AND delivery_id IS NULL "
            "ORDER BY seq, follow_id",
            [user_id],
        )
        return [_item(r) for r in rows]

    async def hold(self, user_id: int, keys: Collection[tuple[int, str]]) -> None:
        await self._rows(
            "UPDATE follow_items SET held = 1 WHERE user_id = ? AND delivery_id IS NULL "
            f"AND (follow_id, article_id) IN ({_PAIRS})",
            [user_id, _keys_json(keys)],
        )

    async def drop(self, keys: Collection[tuple[int, str]]) -> None:
        await self._rows(
            f"DELETE FROM follow_items WHERE delivery_id IS NULL AND (follow_id, article_id) IN ({_PAIRS})",
            [_keys_json(keys)],
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
        try:
            row, _ = await asyncio.to_thread(
                _begin,
                self._path,
                user_id,
                kind,
                nonce,
                payload,
                list(article_keys),
                epoch(at),
                follow_id,
                None if slot is None else epoch(slot),
            )
        except sqlite3.IntegrityError as exc:
            raise DeliveryConflict(str(exc)) from exc
        return _delivery(row, article_keys)

    async def finish_delivery(self, delivery_id: int, *, message_id: int, at: datetime) -> None:
        when = epoch(at)
        await self._write(
            [
                (
                    "UPDATE follow_deliveries SET state = 'sent', message_id = ?, payload = ?, finished_at = ? "
                    "WHERE id = ?",
                    [message_id, _SETTLED_PAYLOAD, when, delivery_id],
                ),
                (
                    "UPDATE follows SET last_slot = (SELECT slot FROM follow_deliveries WHERE id = ?) "
                    "WHERE id = (SELECT follow_id FROM follow_deliveries WHERE id = ? AND slot IS NOT NULL) "
                    "AND (last_slot IS NULL OR last_slot < (SELECT slot FROM follow_deliveries WHERE id = ?))",
                    [delivery_id, delivery_id, delivery_id],
                ),
            ]
        )

    async def abandon_delivery(self, delivery_id: int, *, at: datetime) -> None:
        await self._write(
            [
                (
                    "DELETE FROM follow_items WHERE delivery_id = ? "
                    "AND (SELECT kind FROM follow_deliveries WHERE id = ?) = 'digest'",
                    [delivery_id, delivery_id],
                ),
                ("UPDATE follow_items SET delivery_id = NULL, held = 1 WHERE delivery_id = ?", [delivery_id]),
                (
                    "UPDATE follow_deliveries SET state = 'abandoned', payload = ?, finished_at = ? WHERE id = ?",
                    [_SETTLED_PAYLOAD, epoch(at), delivery_id],
                ),
            ]
        )

    async def pending(self, user_id: int | None = None) -> list[FollowDelivery]:
        where = "state = 'pending'" + (" AND user_id = ?" if user_id is not None else "")
        rows = await self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM follow_deliveries WHERE {where} ORDER BY created_at, id",
            [user_id] if user_id is not None else [],
        )
        return [_delivery(r) for r in rows]

    async def sent_since(self, user_id: int, since: datetime) -> list[datetime]:
        rows = await self._rows(
            "SELECT created_at FROM follow_deliveries WHERE user_id = ? AND kind IN ('instant', 'roundup') "
            "AND state != 'abandoned' AND created_at >= ? ORDER BY created_at",
            [user_id, epoch(since)],
        )
        return [from_epoch(r[0]) for r in rows]

    # --- personal digests ------------------------------------------------------------------------

    async def delivery_for_slot(self, follow_id: int, slot: datetime) -> FollowDelivery | None:
        rows = await self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM follow_deliveries WHERE follow_id = ? AND slot = ?",
            [follow_id, epoch(slot)],
        )
        return _delivery(rows[0]) if rows else None

    async def settle(self, follow_id: int, slot: datetime) -> None:
        await self._rows(
            "UPDATE follows SET last_slot = ? WHERE id = ? AND (last_slot IS NULL OR last_slot < ?)",
            [epoch(slot), follow_id, epoch(slot)],
        )

    async def delivered(self, follow_ids: Collection[int], article_ids: Collection[str]) -> set[tuple[int, str]]:
        if not follow_ids or not article_ids:
            return set()
        rows = await self._rows(
            "SELECT follow_id, article_id FROM follow_items WHERE follow_id IN (SELECT value FROM json_each(?)) "
            "AND article_id IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted(set(follow_ids))), json.dumps(sorted(set(article_ids)), ensure_ascii=False)],
        )
        return {(int(f), str(a)) for f, a in rows}

    async def window(self, *, since: datetime, until: datetime, vis: Visibility, limit: int) -> list[ArticleSummary]:
        params: dict[str, Any] = {
            "since": math.floor(since.timestamp()),
            "until": math.ceil(until.timestamp()),
            "limit": max(1, limit),
        }
        clauses = ["a.published_at >= :since", "a.published_at < :until", *visibility_sql(vis, params)]
        rows = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {' AND '.join(clauses)} "
            "ORDER BY a.heat DESC, a.quality DESC, a.published_at DESC LIMIT :limit",
            params,
        )
        return [summary(r) for r in rows]

    # --- privacy ---------------------------------------------------------------------------------

    async def export(self, user_id: int) -> dict[str, Any]:
        member = await self.member(user_id)
        follows = await self._rows(
            "SELECT id, topic, keywords, delivery, at_time, weekday, created_at, paused, last_slot FROM follows "
            "WHERE user_id = ? ORDER BY id",
            [user_id],
        )
        items = await self._rows(
            "SELECT follow_id, article_id, queued_at, held, delivery_id FROM follow_items WHERE user_id = ? "
            "ORDER BY queued_at, follow_id, article_id",
            [user_id],
        )
        deliveries = await self._rows(
            "SELECT id, kind, follow_id, slot, state, message_id, created_at, finished_at FROM follow_deliveries "
            "WHERE user_id = ? ORDER BY id",
            [user_id],
        )

        return export_document(user_id, member, follows, items, deliveries)

    async def forget(self, user_id: int) -> int:
        results = await self._write(
            [
                ("DELETE FROM follow_items WHERE user_id = ? RETURNING 1", [user_id]),
                ("DELETE FROM follow_deliveries WHERE user_id = ? RETURNING 1", [user_id]),
                ("DELETE FROM follows WHERE user_id = ? RETURNING 1", [user_id]),
                ("DELETE FROM follow_members WHERE user_id = ? RETURNING 1", [user_id]),
            ]
        )
        return sum(len(r) for r in results)

    async def prune(self, before: datetime) -> int:
        # Settled DMs older than any window (the cap's hour, a week's digest) go, and the articles
        # they took with them (ON DELETE CASCADE): no arrival that old is judged again.
        rows = await self._rows(
            "DELETE FROM follow_deliveries WHERE state != 'pending' AND created_at < ? RETURNING 1", [epoch(before)]
        )
        return len(rows)
