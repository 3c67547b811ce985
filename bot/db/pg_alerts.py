"""``AlertRepository`` on PostgreSQL: the twin of ``bot.db.sqlite_alerts``.

Exactly once rests on the same keys as in SQLite (an article once per alert, a nonce once), which
the server enforces across every process and host. Where SQLite relied on its single writer, a row
lock stands in: recording a delivery locks its alert's row first, so two processes recording
deliveries of one alert take turns, and the second finds the articles claimed (``DeliveryConflict``).
Not ``SKIP LOCKED`` on the articles themselves: two claimants could each lock part of the same set
and both give up, and an all-or-nothing claim must have one winner. The arrivals are written by
``bot.db.pg_index`` (with the index change) and ``bot.db.pg_guilds`` (with an unhide).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

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
    NewAlert,
    Skip,
)
from bot.db.pg_connect import Pg
from bot.db.records import epoch
from bot.db.sqlite_alerts import _ALERT_COLUMNS, _DELIVERY_COLUMNS, _ITEM_COLUMNS, _alert, _arrived, _delivery, _item
from bot.db.sqlite_alerts import _alert_params as _sqlite_alert_params

_INSERT_ALERT = (
    "INSERT INTO alerts (guild_id, channel_id, channel_kind, topic, keywords, providers, min_quality, role_id, "
    "style, publish, template, posts_per_window, forum_tags, created_at, created_by, paused, pause_reason, cursor) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
    "(SELECT coalesce(max(seq), 0) FROM alert_arrivals)) "
    f"RETURNING {_ALERT_COLUMNS}"
)
_NOTE_SKIP = (
    "UPDATE alerts SET last_skip_article = $1, last_skip_title = $2, last_skip_reason = $3, last_skip_at = $4 "
    "WHERE id = $5"
)
#: The columns that are booleans here and 0/1 integers in SQLite.
_BOOLEAN_PARAMS = (9, 15)


def _alert_params(alert: NewAlert) -> list[Any]:
    """The SQLite parameters, with PostgreSQL's booleans."""
    params = _sqlite_alert_params(alert)
    for index in _BOOLEAN_PARAMS:
        params[index] = bool(params[index])
    return params


def _value(name: str, value: object) -> object:
    if name == "providers":
        return json.dumps(list(value))  # type: ignore[call-overload]
    if name == "forum_tags":
        return json.dumps([list(t) for t in value], ensure_ascii=False)  # type: ignore[attr-defined]
    return value


async def replace_for_guild(conn: asyncpg.Connection, guild_id: int, change: AlertReplacement) -> list[Alert]:
    """Inside the caller's transaction on ``conn`` (an ``/admin import``): remove the server's alerts
    ``change.remove`` (with their posts) and add ``change.add``. Returns the alerts removed (the
    SQLite twin is ``bot.db.sqlite_alerts.replace_for_guild``)."""
    removed = await conn.fetch(
        f"DELETE FROM alerts WHERE guild_id = $1 AND id = ANY($2::bigint[]) RETURNING {_ALERT_COLUMNS}",
        guild_id,
        list(change.remove),
    )
    for alert in change.add:
        if alert.guild_id != guild_id:
            raise ValueError(f"alert for guild {alert.guild_id} in a replacement for guild {guild_id}")
        await conn.fetch(_INSERT_ALERT, *_alert_params(alert))
    return sorted((_alert(row) for row in removed), key=lambda a: a.id)


class PgAlertRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    # --- alerts ----------------------------------------------------------------------------------

    async def add(self, alert: NewAlert) -> Alert:
        found = await self._pg.write(_INSERT_ALERT, *_alert_params(alert))
        return _alert(found[0])

    async def get(self, alert_id: int) -> Alert | None:
        row = await self._pg.fetchrow(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = $1", alert_id)
        return _alert(row) if row is not None else None

    async def for_guild(self, guild_id: int) -> list[Alert]:
        found = await self._pg.fetch(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE guild_id = $1 ORDER BY id", guild_id)
        return [_alert(r) for r in found]

    async def count_for_guild(self, guild_id: int) -> int:
        return int(await self._pg.fetchval("SELECT count(*) FROM alerts WHERE guild_id = $1", guild_id))

    async def all(self) -> list[Alert]:
        return [_alert(r) for r in await self._pg.fetch(f"SELECT {_ALERT_COLUMNS} FROM alerts ORDER BY id")]

    async def update(self, alert_id: int, **changes: object) -> Alert | None:
        unknown = set(changes) - EDITABLE
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        if not changes:
            return await self.get(alert_id)
        names = sorted(changes)
        assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=1))
        found = await self._pg.write(
            f"UPDATE alerts SET {assignments} WHERE id = ${len(names) + 1} RETURNING {_ALERT_COLUMNS}",
            *(_value(n, changes[n]) for n in names),
            alert_id,
        )
        return _alert(found[0]) if found else None

    async def set_paused(self, alert_id: int, *, paused: bool, reason: str | None) -> bool:
        found = await self._pg.write(
            "UPDATE alerts SET paused = $1, pause_reason = $2 WHERE id = $3 RETURNING id",
            paused,
            reason if paused else None,
            alert_id,
        )
        return bool(found)

    async def remove(self, alert_id: int) -> bool:
        return bool(await self._pg.write("DELETE FROM alerts WHERE id = $1 RETURNING id", alert_id))

    async def replace_guild(self, guild_id: int, alerts: Sequence[NewAlert]) -> list[Alert]:
        async def work(conn: asyncpg.Connection) -> list[Alert]:
            await conn.execute("DELETE FROM alerts WHERE guild_id = $1", guild_id)
            return [_alert((await conn.fetch(_INSERT_ALERT, *_alert_params(a)))[0]) for a in alerts]

        return await self._pg.transaction(work)

    # --- arrivals and matching ---------------------------------------------------------------------

    async def last_arrival(self) -> int:
        return int(await self._pg.fetchval("SELECT coalesce(max(seq), 0) FROM alert_arrivals"))

    async def arrivals_after(self, seq: int, limit: int) -> list[ArrivalRow]:
        found = await self._pg.fetch(
            "SELECT seq, article_id, guild_id FROM alert_arrivals WHERE seq > $1 ORDER BY seq LIMIT $2", seq, limit
        )
        return [ArrivalRow(int(s), str(a), int(g) if g is not None else None) for s, a, g in found]

    async def articles(self, article_ids: Collection[str]) -> list[ArrivedArticle]:
        if not article_ids:
            return []
        found = await self._pg.fetch(
            "SELECT id, title, excerpt, topics, provider_domain, quality, published, published_at FROM articles "
            "WHERE id = ANY($1::text[])",
            list(article_ids),
        )
        return [_arrived(r) for r in found]

    async def record_judged(
        self,
        alert_ids: Collection[int],
        up_to: int,
        items: Sequence[tuple[int, str, int, str]],
        skips: Sequence[Skip],
        at: datetime,
    ) -> int:
        when = epoch(at)
        last: dict[int, Skip] = {s.alert_id: s for s in skips}

        async def work(conn: asyncpg.Connection) -> int:
            new = await conn.fetch(
                "INSERT INTO alert_items (alert_id, article_id, seq, title, queued_at) "
                "SELECT a, r, s, t, $5 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[]) i (a, r, s, t) "
                "ON CONFLICT (alert_id, article_id) DO NOTHING RETURNING alert_id",
                [i[0] for i in items],
                [i[1] for i in items],
                [i[2] for i in items],
                [i[3] for i in items],
                when,
            )
            await conn.execute(
                "UPDATE alerts SET cursor = greatest(cursor, $1) WHERE id = ANY($2::bigint[])",
                up_to,
                sorted(alert_ids),
            )
            if last:
                await conn.executemany(
                    _NOTE_SKIP, [(s.article_id, s.title, s.reason, when, s.alert_id) for s in last.values()]
                )
            return len(new)

        return await self._pg.transaction(work)

    async def prune(self, before: datetime) -> int:
        cut = epoch(before)

        async def work(conn: asyncpg.Connection) -> int:
            arrivals = await conn.fetch("DELETE FROM alert_arrivals WHERE arrived_at < $1 RETURNING seq", cut)
            # SKIP LOCKED: a delivery another process is settling right now is left for the next prune.
            deliveries = await conn.fetch(
                "DELETE FROM alert_deliveries WHERE id IN (SELECT id FROM alert_deliveries "
                "WHERE state <> 'pending' AND created_at < $1 FOR UPDATE SKIP LOCKED) RETURNING id",
                cut,
            )
            return len(arrivals) + len(deliveries)

        return await self._pg.transaction(work)

    async def drop(self, alert_id: int, article_ids: Collection[str], skip: Skip, at: datetime) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "DELETE FROM alert_items WHERE alert_id = $1 AND delivery_id IS NULL AND article_id = ANY($2::text[])",
                alert_id,
                list(article_ids),
            )
            await conn.execute(_NOTE_SKIP, skip.article_id, skip.title, skip.reason, epoch(at), alert_id)

        await self._pg.transaction(work)

    # --- delivery ----------------------------------------------------------------------------------

    async def with_work(self) -> list[int]:
        found = await self._pg.fetch(
            "SELECT DISTINCT alert_id FROM alert_items WHERE delivery_id IS NULL "
            "UNION SELECT alert_id FROM alert_deliveries WHERE state = 'pending' ORDER BY 1"
        )
        return [int(r[0]) for r in found]

    async def waiting(self, alert_id: int) -> list[AlertItem]:
        found = await self._pg.fetch(
            f"SELECT {_ITEM_COLUMNS} FROM alert_items WHERE alert_id = $1 AND delivery_id IS NULL "
            'ORDER BY seq, article_id COLLATE "C"',
            alert_id,
        )
        return [_item(r) for r in found]

    async def hold(self, alert_id: int, article_ids: Collection[str]) -> None:
        await self._pg.execute(
            "UPDATE alert_items SET held = true WHERE alert_id = $1 AND delivery_id IS NULL "
            "AND article_id = ANY($2::text[])",
            alert_id,
            list(article_ids),
            retry=True,
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

        async def work(conn: asyncpg.Connection) -> asyncpg.Record:
            # Held to the commit: one delivery of this alert recorded at a time (not blocking the
            # foreign-key checks of other writes, which take KEY SHARE).
            await conn.execute("SELECT id FROM alerts WHERE id = $1 FOR NO KEY UPDATE", alert_id)
            row = await conn.fetchrow(
                "INSERT INTO alert_deliveries (alert_id, kind, nonce, channel_id, state, plan, pinged, publish, "
                "publish_limited, ping_limited, created_at) "
                "VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10) "
                f"RETURNING {_DELIVERY_COLUMNS}",
                alert_id,
                kind,
                nonce,
                channel_id,
                plan,
                pinged,
                publish,
                publish_limited,
                ping_limited,
                epoch(at),
            )
            assert row is not None
            # The claim: every one of the articles still waiting, or none (a conflict).
            claimed = await conn.fetch(
                "UPDATE alert_items SET delivery_id = $1 WHERE alert_id = $2 AND delivery_id IS NULL "
                "AND article_id = ANY($3::text[]) RETURNING article_id",
                row[0],
                alert_id,
                ids,
            )
            if len(claimed) != len(ids):
                raise DeliveryConflict(f"{len(ids) - len(claimed)} of the articles are already in another delivery")
            return row

        try:
            row = await self._pg.transaction(work)
        except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError) as exc:
            raise DeliveryConflict(str(exc)) from exc
        return _delivery(row, ids)

    async def step_done(self, delivery_id: int, results: Sequence[int | None]) -> None:
        await self._pg.execute(
            "UPDATE alert_deliveries SET results = $1 WHERE id = $2", json.dumps(list(results)), delivery_id, retry=True
        )

    async def finish_delivery(
        self, delivery_id: int, *, message_id: int | None, thread_id: int | None, at: datetime, note: str | None = None
    ) -> None:
        await self._pg.execute(
            "UPDATE alert_deliveries SET state = 'sent', message_id = $1, thread_id = $2, plan = '', "
            "finished_at = $3, note = coalesce($4, note) WHERE id = $5",
            message_id,
            thread_id,
            epoch(at),
            note,
            delivery_id,
            retry=True,
        )

    async def abandon_delivery(self, delivery_id: int, *, at: datetime, note: str) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute("UPDATE alert_items SET delivery_id = NULL WHERE delivery_id = $1", delivery_id)
            await conn.execute(
                "UPDATE alert_deliveries SET state = 'abandoned', plan = '', finished_at = $1, note = $2 WHERE id = $3",
                epoch(at),
                note,
                delivery_id,
            )

        await self._pg.transaction(work)

    async def pending(self, alert_id: int | None = None) -> list[AlertDelivery]:
        found = await self._pg.fetch(
            f"SELECT {_DELIVERY_COLUMNS}, coalesce((SELECT array_agg(i.article_id ORDER BY i.seq) FROM alert_items i "
            "WHERE i.delivery_id = d.id), '{}') FROM alert_deliveries d "
            "WHERE state = 'pending' AND ($1::bigint IS NULL OR alert_id = $1) ORDER BY id",
            alert_id,
        )
        return [_delivery(row, [str(a) for a in row[-1]]) for row in found]

    async def sent_since(self, alert_id: int, since: datetime) -> int:
        return int(
            await self._pg.fetchval(
                "SELECT count(*) FROM alert_deliveries WHERE alert_id = $1 AND created_at > $2 AND kind <> 'test' "
                "AND state <> 'abandoned'",
                alert_id,
                epoch(since),
            )
        )

    async def pings_since(self, alert_id: int, since: datetime) -> int:
        return int(
            await self._pg.fetchval(
                "SELECT count(*) FROM alert_deliveries WHERE alert_id = $1 AND created_at > $2 AND pinged "
                "AND state <> 'abandoned'",
                alert_id,
                epoch(since),
            )
        )

    async def publishes_since(self, channel_id: int, since: datetime) -> int:
        return int(
            await self._pg.fetchval(
                "SELECT count(*) FROM alert_deliveries WHERE channel_id = $1 AND publish AND created_at > $2 "
                "AND state <> 'abandoned'",
                channel_id,
                epoch(since),
            )
        )

    async def stats(self, alert_id: int, now: datetime) -> AlertStats:
        day = epoch(now - timedelta(days=1))
        hour = epoch(now - timedelta(hours=1))
        counts = await self._pg.fetchrow(
            "SELECT count(*) FILTER (WHERE created_at >= $1 AND state = 'sent' AND kind <> 'test'), "
            "count(*) FILTER (WHERE created_at >= $2 AND publish_limited), "
            "count(*) FILTER (WHERE created_at >= $2 AND ping_limited) FROM alert_deliveries WHERE alert_id = $3",
            day,
            hour,
            alert_id,
        )
        last = await self._pg.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE alert_id = $1 AND state = 'sent' "
            "AND kind <> 'test' ORDER BY id DESC LIMIT 1",
            alert_id,
        )
        waiting = await self._pg.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE held) FROM alert_items WHERE alert_id = $1 "
            "AND delivery_id IS NULL",
            alert_id,
        )
        assert counts is not None and waiting is not None
        return AlertStats(
            posts_24h=int(counts[0]),
            last=_delivery(last) if last is not None else None,
            waiting=int(waiting[0]),
            held=int(waiting[1]),
            publish_limited_1h=int(counts[1]),
            ping_limited_1h=int(counts[2]),
        )

    async def delivery_of(self, alert_id: int, article_id: str) -> tuple[AlertItem, AlertDelivery | None] | None:
        row = await self._pg.fetchrow(
            f"SELECT {_ITEM_COLUMNS} FROM alert_items WHERE alert_id = $1 AND article_id = $2", alert_id, article_id
        )
        if row is None:
            return None
        item = _item(row)
        if item.delivery_id is None:
            return item, None
        found = await self._pg.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE id = $1", item.delivery_id
        )
        return item, _delivery(found) if found is not None else None
