"""``AlertRepository`` on SQLite.

Reads and single-statement writes use the serving connection; what must land together (judged
arrivals with the cursors; a delivery with the claim on its articles; an import) runs in one
``BEGIN IMMEDIATE`` transaction on a short-lived connection (``bot.db.connect.transaction``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.alert_types import (
    EDITABLE,
    Alert,
    AlertDelivery,
    AlertItem,
    AlertReplacement,
    AlertStats,
    ArrivalRow,
    ArrivedArticle,
    DeliveryConflict,
    DeliveryKind,
    DeliveryState,
    NewAlert,
    Skip,
)
from bot.db.connect import connect_sync, transaction
from bot.db.records import epoch, from_epoch

_ALERT_COLUMNS = (
    "id, guild_id, channel_id, channel_kind, topic, keywords, providers, min_quality, role_id, style, publish, "
    "template, posts_per_window, forum_tags, created_at, created_by, paused, pause_reason, cursor, "
    "last_skip_article, last_skip_title, last_skip_reason, last_skip_at"
)
_DELIVERY_COLUMNS = (
    "id, alert_id, kind, nonce, channel_id, state, plan, results, message_id, thread_id, pinged, publish, "
    "publish_limited, ping_limited, created_at, note"
)
_ITEM_COLUMNS = "alert_id, article_id, seq, title, queued_at, held, delivery_id"
_INSERT_ALERT = (
    "INSERT INTO alerts (guild_id, channel_id, channel_kind, topic, keywords, providers, min_quality, role_id, "
    "style, publish, template, posts_per_window, forum_tags, created_at, created_by, paused, pause_reason, cursor) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "(SELECT coalesce(max(seq), 0) FROM alert_arrivals)) "
    f"RETURNING {_ALERT_COLUMNS}"
)


def _alert(row: Sequence[Any]) -> Alert:
    return Alert(
        id=int(row[0]),
        guild_id=int(row[1]),
        channel_id=int(row[2]),
        channel_kind=str(row[3]),
        topic=row[4],
        keywords=row[5],
        providers=tuple(json.loads(row[6])),
        min_quality=int(row[7]),
        role_id=int(row[8]) if row[8] is not None else None,
        style=str(row[9]),
        publish=bool(row[10]),
        template=row[11],
        posts_per_window=int(row[12]),
        forum_tags=tuple((int(i), str(n)) for i, n in json.loads(row[13])),
        created_at=from_epoch(row[14]),
        created_by=int(row[15]),
        paused=bool(row[16]),
        pause_reason=row[17],
        cursor=int(row[18]),
        last_skip_article=row[19],
        last_skip_title=row[20],
        last_skip_reason=row[21],
        last_skip_at=from_epoch(row[22]) if row[22] is not None else None,
    )


def replace_for_guild(conn: sqlite3.Connection, guild_id: int, change: AlertReplacement) -> list[Alert]:
    """Inside the caller's transaction on ``conn`` (an ``/admin import``): remove the server's alerts
    ``change.remove`` (with their posts) and add ``change.add``. Returns the alerts removed."""
    removed = conn.execute(
        f"DELETE FROM alerts WHERE guild_id = ? AND id IN (SELECT value FROM json_each(?)) RETURNING {_ALERT_COLUMNS}",
        [guild_id, json.dumps(list(change.remove))],
    ).fetchall()
    for alert in change.add:
        if alert.guild_id != guild_id:
            raise ValueError(f"alert for guild {alert.guild_id} in a replacement for guild {guild_id}")
        conn.execute(_INSERT_ALERT, _alert_params(alert)).fetchall()
    return sorted((_alert(row) for row in removed), key=lambda a: a.id)


def _arrived(r: Sequence[Any]) -> ArrivedArticle:
    """An article row as both backends read it for judging (id, title, excerpt, topics, provider, quality, ...)."""
    return ArrivedArticle(
        str(r[0]),
        str(r[1]),
        str(r[2] or ""),
        tuple(json.loads(r[3])),
        str(r[4]),
        int(r[5]),
        bool(r[6]),
        from_epoch(r[7]),
    )


def _alert_params(alert: NewAlert) -> list[Any]:
    return [
        alert.guild_id,
        alert.channel_id,
        alert.channel_kind,
        alert.topic,
        alert.keywords,
        json.dumps(list(alert.providers)),
        alert.min_quality,
        alert.role_id,
        alert.style,
        int(alert.publish),
        alert.template,
        alert.posts_per_window,
        json.dumps([list(t) for t in alert.forum_tags], ensure_ascii=False),
        epoch(alert.created_at),
        alert.created_by,
        int(alert.paused),
        alert.pause_reason if alert.paused else None,
    ]


def _kind(value: str) -> DeliveryKind:
    return "roundup" if value == "roundup" else "test" if value == "test" else "post"


def _state(value: str) -> DeliveryState:
    return "pending" if value == "pending" else "sent" if value == "sent" else "abandoned"


def _delivery(row: Sequence[Any], article_ids: Sequence[str] = ()) -> AlertDelivery:
    return AlertDelivery(
        id=int(row[0]),
        alert_id=int(row[1]),
        kind=_kind(str(row[2])),
        nonce=str(row[3]),
        channel_id=int(row[4]),
        state=_state(str(row[5])),
        plan=str(row[6]),
        results=tuple(json.loads(row[7])),
        message_id=int(row[8]) if row[8] is not None else None,
        thread_id=int(row[9]) if row[9] is not None else None,
        pinged=bool(row[10]),
        publish=bool(row[11]),
        publish_limited=bool(row[12]),
        ping_limited=bool(row[13]),
        created_at=from_epoch(row[14]),
        note=row[15],
        article_ids=tuple(article_ids),
    )


def _item(row: Sequence[Any]) -> AlertItem:
    return AlertItem(
        alert_id=int(row[0]),
        article_id=str(row[1]),
        seq=int(row[2]),
        title=str(row[3]),
        queued_at=from_epoch(row[4]),
        held=bool(row[5]),
        delivery_id=int(row[6]) if row[6] is not None else None,
    )


def _value(name: str, value: object) -> object:
    if name in ("providers",):
        return json.dumps(list(value))  # type: ignore[call-overload]
    if name == "forum_tags":
        return json.dumps([list(t) for t in value], ensure_ascii=False)  # type: ignore[attr-defined]
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteAlertRepository:
    def __init__(self, path: Path, light: aiosqlite.Connection) -> None:
        self._path = path
        self._light = light

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._light.execute_fetchall(sql, params))

    async def _write(self, work: list[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        return await asyncio.to_thread(transaction, self._path, work)

    # --- alerts ----------------------------------------------------------------------------------

    async def add(self, alert: NewAlert) -> Alert:
        rows = await self._rows(_INSERT_ALERT, _alert_params(alert))
        return _alert(rows[0])

    async def get(self, alert_id: int) -> Alert | None:
        rows = await self._rows(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", [alert_id])
        return _alert(rows[0]) if rows else None

    async def for_guild(self, guild_id: int) -> list[Alert]:
        rows = await self._rows(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE guild_id = ? ORDER BY id", [guild_id])
        return [_alert(r) for r in rows]

    async def count_for_guild(self, guild_id: int) -> int:
        rows = await self._rows("SELECT count(*) FROM alerts WHERE guild_id = ?", [guild_id])
        return int(rows[0][0])

    async def all(self) -> list[Alert]:
        return [_alert(r) for r in await self._rows(f"SELECT {_ALERT_COLUMNS} FROM alerts ORDER BY id")]

    async def update(self, alert_id: int, **changes: object) -> Alert | None:
        unknown = set(changes) - EDITABLE
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        if not changes:
            return await self.get(alert_id)
        names = sorted(changes)
        assignments = ", ".join(f"{name} = ?" for name in names)
        rows = await self._rows(
            f"UPDATE alerts SET {assignments} WHERE id = ? RETURNING {_ALERT_COLUMNS}",
            [*(_value(n, changes[n]) for n in names), alert_id],
        )
        return _alert(rows[0]) if rows else None

    async def set_paused(self, alert_id: int, *, paused: bool, reason: str | None) -> bool:
        rows = await self._rows(
            "UPDATE alerts SET paused = ?, pause_reason = ? WHERE id = ? RETURNING id",
            [int(paused), reason if paused else None, alert_id],
        )
        return bool(rows)

    async def remove(self, alert_id: int) -> bool:
        return bool(await self._rows("DELETE FROM alerts WHERE id = ? RETURNING id", [alert_id]))

    async def replace_guild(self, guild_id: int, alerts: Sequence[NewAlert]) -> list[Alert]:
        work: list[tuple[str, Sequence[Any]]] = [("DELETE FROM alerts WHERE guild_id = ?", [guild_id])]
        work += [(_INSERT_ALERT, _alert_params(a)) for a in alerts]
        results = await self._write(work)
        return [_alert(rows[0]) for rows in results[1:]]

    # --- arrivals and matching ---------------------------------------------------------------------

    async def last_arrival(self) -> int:
        rows = await self._rows("SELECT coalesce(max(seq), 0) FROM alert_arrivals")
        return int(rows[0][0])

    async def arrivals_after(self, seq: int, limit: int) -> list[ArrivalRow]:
        rows = await self._rows(
            "SELECT seq, article_id, guild_id FROM alert_arrivals WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit]
        )
        return [ArrivalRow(int(s), str(a), int(g) if g is not None else None) for s, a, g in rows]

    async def articles(self, article_ids: Collection[str]) -> list[ArrivedArticle]:
        if not article_ids:
            return []
        rows = await self._rows(
            "SELECT id, title, excerpt, topics, provider_domain, quality, published, published_at FROM articles "
            "WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(list(article_ids))],
        )
        return [_arrived(r) for r in rows]

    async def record_judged(
        self,
        alert_ids: Collection[int],
        up_to: int,
        items: Sequence[tuple[int, str, int, str]],
        skips: Sequence[Skip],
        at: datetime,
    ) -> int:
        when = epoch(at)
        work: list[tuple[str, Sequence[Any]]] = [
            (
                "INSERT INTO alert_items (alert_id, article_id, seq, title, queued_at) "
                "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM json_each(?) WHERE true "
                "ON CONFLICT (alert_id, article_id) DO NOTHING RETURNING alert_id",
                [when, json.dumps([list(i) for i in items], ensure_ascii=False)],
            ),
            (
                "UPDATE alerts SET cursor = max(cursor, ?) WHERE id IN (SELECT value FROM json_each(?))",
                [up_to, json.dumps(sorted(alert_ids))],
            ),
        ]
        last: dict[int, Skip] = {s.alert_id: s for s in skips}
        for skip in last.values():
            work.append(
                (
                    "UPDATE alerts SET last_skip_article = ?, last_skip_title = ?, last_skip_reason = ?, "
                    "last_skip_at = ? WHERE id = ?",
                    [skip.article_id, skip.title, skip.reason, when, skip.alert_id],
                )
            )
        results = await self._write(work)
        return len(results[0])

    async def prune(self, before: datetime) -> int:
        cut = epoch(before)
        results = await self._write(
            [
                ("DELETE FROM alert_arrivals WHERE arrived_at < ? RETURNING seq", [cut]),
                (
                    "DELETE FROM alert_deliveries WHERE state != 'pending' AND created_at < ? RETURNING id",
                    [cut],
                ),
            ]
        )
        return len(results[0]) + len(results[1])

    async def drop(self, alert_id: int, article_ids: Collection[str], skip: Skip, at: datetime) -> None:
        await self._write(
            [
                (
                    "DELETE FROM alert_items WHERE alert_id = ? AND delivery_id IS NULL "
                    "AND article_id IN (SELECT value FROM json_each(?))",
                    [alert_id, json.dumps(list(article_ids))],
                ),
                (
                    "UPDATE alerts SET last_skip_article = ?, last_skip_title = ?, last_skip_reason = ?, "
                    "last_skip_at = ? WHERE id = ?",
                    [skip.article_id, skip.title, skip.reason, epoch(at), alert_id],
                ),
            ]
        )

    # --- delivery ----------------------------------------------------------------------------------

    async def with_work(self) -> list[int]:
        rows = await self._rows(
            "SELECT DISTINCT alert_id FROM alert_items WHERE delivery_id IS NULL "
            "UNION SELECT alert_id FROM alert_deliveries WHERE state = 'pending' ORDER BY 1"
        )
        return [int(r[0]) for r in rows]

    async def waiting(self, alert_id: int) -> list[AlertItem]:
        rows = await self._rows(
            f"SELECT {_ITEM_COLUMNS} FROM alert_items WHERE alert_id = ? AND delivery_id IS NULL "
            "ORDER BY seq, article_id",
            [alert_id],
        )
        return [_item(r) for r in rows]

    async def hold(self, alert_id: int, article_ids: Collection[str]) -> None:
        await self._rows(
            "UPDATE alert_items SET held = 1 WHERE alert_id = ? AND delivery_id IS NULL "
            "AND article_id IN (SELECT value FROM json_each(?))",
            [alert_id, json.dumps(list(article_ids))],
        )

    async def begin_delivery(
        self,
        alert_id: int,
        *,
        kind: DeliveryKind,
        nonce: str,
        channel_id: int,
        plan: str,
        article_ids: Sequence[str],
        pinged: bool,
        publish: bool,
        publish_limited: bool,
        ping_limited: bool,
        at: datetime,
    ) -> AlertDelivery:
        ids = list(dict.fromkeys(article_ids))
        work: list[tuple[str, Sequence[Any]]] = [
            (
                "INSERT INTO alert_deliveries (alert_id, kind, nonce, channel_id, state, plan, pinged, publish, "
                "publish_limited, ping_limited, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) "
                f"RETURNING {_DELIVERY_COLUMNS}",
                [
                    alert_id,
                    kind,
                    nonce,
                    channel_id,
                    plan,
                    int(pinged),
                    int(publish),
                    int(publish_limited),
                    int(ping_limited),
                    epoch(at),
                ],
            ),
            (
                "UPDATE alert_items SET delivery_id = (SELECT id FROM alert_deliveries WHERE nonce = ?) "
                "WHERE alert_id = ? AND delivery_id IS NULL AND article_id IN (SELECT value FROM json_each(?)) "
                "RETURNING article_id",
                [nonce, alert_id, json.dumps(ids)],
            ),
        ]
        conn = await asyncio.to_thread(_begin, self._path, work, len(ids))
        return _delivery(conn, ids)

    async def step_done(self, delivery_id: int, results: Sequence[int | None]) -> None:
        await self._rows(
            "UPDATE alert_deliveries SET results = ? WHERE id = ?", [json.dumps(list(results)), delivery_id]
        )

    async def finish_delivery(
        self, delivery_id: int, *, message_id: int | None, thread_id: int | None, at: datetime, note: str | None = None
    ) -> None:
        await self._rows(
            "UPDATE alert_deliveries SET state = 'sent', message_id = ?, thread_id = ?, plan = '', finished_at = ?, "
            "note = coalesce(?, note) WHERE id = ?",
            [message_id, thread_id, epoch(at), note, delivery_id],
        )

    async def abandon_delivery(self, delivery_id: int, *, at: datetime, note: str) -> None:
        await self._write(
            [
                ("UPDATE alert_items SET delivery_id = NULL WHERE delivery_id = ?", [delivery_id]),
                (
                    "UPDATE alert_deliveries SET state = 'abandoned', plan = '', finished_at = ?, note = ? "
                    "WHERE id = ?",
                    [epoch(at), note, delivery_id],
                ),
            ]
        )

    async def pending(self, alert_id: int | None = None) -> list[AlertDelivery]:
        where = "state = 'pending'" + (" AND alert_id = ?" if alert_id is not None else "")
        rows = await self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE {where} ORDER BY id",
            [alert_id] if alert_id is not None else [],
        )
        out = []
        for row in rows:
            items = await self._rows("SELECT article_id FROM alert_items WHERE delivery_id = ? ORDER BY seq", [row[0]])
            out.append(_delivery(row, [str(i[0]) for i in items]))
        return out

    async def sent_since(self, alert_id: int, since: datetime) -> int:
        rows = await self._rows(
            "SELECT count(*) FROM alert_deliveries WHERE alert_id = ? AND created_at > ? AND kind != 'test' "
            "AND state != 'abandoned'",
            [alert_id, epoch(since)],
        )
        return int(rows[0][0])

    async def pings_since(self, alert_id: int, since: datetime) -> int:
        rows = await self._rows(
            "SELECT count(*) FROM alert_deliveries WHERE alert_id = ? AND created_at > ? AND pinged = 1 "
            "AND state != 'abandoned'",
            [alert_id, epoch(since)],
        )
        return int(rows[0][0])

    async def publishes_since(self, channel_id: int, since: datetime) -> int:
        rows = await self._rows(
            "SELECT count(*) FROM alert_deliveries WHERE channel_id = ? AND publish = 1 AND created_at > ? "
            "AND state != 'abandoned'",
            [channel_id, epoch(since)],
        )
        return int(rows[0][0])

    async def stats(self, alert_id: int, now: datetime) -> AlertStats:
        day = epoch(now - timedelta(days=1))
        hour = epoch(now - timedelta(hours=1))
        counts = await self._rows(
            "SELECT count(*) FILTER (WHERE created_at >= ? AND state = 'sent' AND kind != 'test'), "
            "count(*) FILTER (WHERE created_at >= ? AND publish_limited = 1), "
            "count(*) FILTER (WHERE created_at >= ? AND ping_limited = 1) FROM alert_deliveries WHERE alert_id = ?",
            [day, hour, hour, alert_id],
        )
        last = await self._rows(
            f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE alert_id = ? AND state = 'sent' "
            "AND kind != 'test' ORDER BY id DESC LIMIT 1",
            [alert_id],
        )
        waiting = await self._rows(
            "SELECT count(*), count(*) FILTER (WHERE held = 1) FROM alert_items WHERE alert_id = ? "
            "AND delivery_id IS NULL",
            [alert_id],
        )
        return AlertStats(
            posts_24h=int(counts[0][0]),
            last=_delivery(last[0]) if last else None,
            waiting=int(waiting[0][0]),
            held=int(waiting[0][1]),
            publish_limited_1h=int(counts[0][1]),
            ping_limited_1h=int(counts[0][2]),
        )

    async def delivery_of(self, alert_id: int, article_id: str) -> tuple[AlertItem, AlertDelivery | None] | None:
        rows = await self._rows(
            f"SELECT {_ITEM_COLUMNS} FROM alert_items WHERE alert_id = ? AND article_id = ?", [alert_id, article_id]
        )
        if not rows:
            return None
        item = _item(rows[0])
        if item.delivery_id is None:
            return item, None
        found = await self._rows(f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE id = ?", [item.delivery_id])
        return item, _delivery(found[0]) if found else None


def _begin(path: Path, work: list[tuple[str, Sequence[Any]]], expected: int) -> list[Any]:
    """The delivery row and the claim on its articles; all of them, or nothing."""
    conn = connect_sync(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(*work[0]).fetchone()
        claimed = conn.execute(*work[1]).fetchall()
        if len(claimed) != expected:
            conn.rollback()
            raise DeliveryConflict(f"{expected - len(claimed)} of the articles are already in another delivery")
        conn.execute("COMMIT")
        return list(row)
    except sqlite3.IntegrityError as exc:
        if conn.in_transaction:
            conn.rollback()
        raise DeliveryConflict(str(exc)) from exc
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()
