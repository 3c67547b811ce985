"""The alert repository on both backends: arrivals written with the index change, exactly-once
claims, and the schema's limits equal to ``bot.alerts.rules``."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from bot.alerts import rules
from bot.db import Database, pg_alerts, sqlite_alerts
from bot.db.alert_types import AlertReplacement, DeliveryConflict, NewAlert, Skip
from bot.db.guild_types import GuildSettings, HiddenArticle
from tests.db.conftest import INTEGRITY_ERRORS, make_article, store

NOW = datetime.now(UTC).replace(microsecond=0)


def recent(n: int, **fields: object) -> object:
    return make_article(n, published_at=NOW - timedelta(hours=1, minutes=n), **fields)


def new_alert(**fields: object) -> NewAlert:
    values: dict[str, object] = {
        "guild_id": 1,
        "channel_id": 10,
        "channel_kind": "text",
        "topic": "Widgets",
        "keywords": None,
        "providers": (),
        "min_quality": 0,
        "role_id": None,
        "style": "embed",
        "publish": False,
        "template": None,
        "posts_per_window": 5,
        "created_at": NOW,
        "created_by": 99,
    }
    values.update(fields)
    return NewAlert(**values)  # type: ignore[arg-type]


async def arrived(db: Database) -> list[tuple[str, int | None]]:
    found = [(a.article_id, a.guild_id) for a in await db.alerts.arrivals_after(0, 1000)]
    return sorted(found, key=lambda pair: (pair[1] or 0, pair[0]))


async def test_new_articles_arrive_once_and_edits_do_not(db: Database) -> None:
    await store(db, [recent(1), recent(2)])
    assert await arrived(db) == [("a1", None), ("a2", None)]
    # An edit in place (drop the path, serve it again): no arrival.
    await store(db, [recent(1, title="Edited")], drop=["news/a1.md"])
    assert await arrived(db) == [("a1", None), ("a2", None)]


async def test_publishing_is_an_arrival_and_old_articles_are_not(db: Database) -> None:
    await store(db, [recent(3, published=False), make_article(4)])  # a4 is from 2024: past the horizon
    await store(db, [recent(3, published=True)], drop=["news/a3.md"])
    assert await arrived(db) == [("a3", None), ("a3", None)]


async def test_unhiding_is_an_arrival_in_that_server_only(db: Database) -> None:
    await store(db, [recent(5)])
    await db.guilds.hide(7, HiddenArticle("a5", "Story", hidden_by=1, hidden_at=NOW))
    assert await db.guilds.unhide(7, "a5")
    assert not await db.guilds.unhide(7, "a5"), "not hidden any more: nothing to unhide, no arrival"
    assert await arrived(db) == [("a5", None), ("a5", 7)]


async def test_a_new_alert_starts_after_the_last_arrival(db: Database) -> None:
    await store(db, [recent(1)])
    alert = await db.alerts.add(new_alert())
    assert alert.cursor == await db.alerts.last_arrival() == 1
    assert await db.alerts.arrivals_after(alert.cursor, 10) == []


async def test_judging_twice_queues_once_and_moves_the_cursor(db: Database) -> None:
    alert = await db.alerts.add(new_alert())
    skip = Skip(alert.id, "a9", "Nine", "below quality")
    assert await db.alerts.record_judged([alert.id], 5, [(alert.id, "a1", 5, "One")], [skip], NOW) == 1
    assert await db.alerts.record_judged([alert.id], 6, [(alert.id, "a1", 6, "One")], [], NOW) == 0
    current = await db.alerts.get(alert.id)
    assert current is not None and current.cursor == 6
    assert current.last_skip_article == "a9" and current.last_skip_reason == "below quality"
    assert [i.article_id for i in await db.alerts.waiting(alert.id)] == ["a1"]


async def test_an_article_is_claimed_by_one_delivery_only(db: Database) -> None:
    alert = await db.alerts.add(new_alert())
    await db.alerts.record_judged([alert.id], 1, [(alert.id, "a1", 1, "One")], [], NOW)
    common = {"channel_id": 10, "plan": "[]", "pinged": False, "publish": False, "publish_limited": False}
    first = await db.alerts.begin_delivery(
        alert.id, kind="post", nonce="n1", article_ids=["a1"], ping_limited=False, at=NOW, **common
    )
    with pytest.raises(DeliveryConflict):
        await db.alerts.begin_delivery(
            alert.id, kind="post", nonce="n2", article_ids=["a1"], ping_limited=False, at=NOW, **common
        )
    assert [d.nonce for d in await db.alerts.pending()] == ["n1"]
    assert await db.alerts.waiting(alert.id) == []
    await db.alerts.abandon_delivery(first.id, at=NOW, note="channel deleted")
    assert [i.article_id for i in await db.alerts.waiting(alert.id)] == ["a1"], "nothing dropped silently"
    assert await db.alerts.sent_since(alert.id, NOW - timedelta(minutes=10)) == 0


async def test_deliveries_count_toward_the_windows(db: Database) -> None:
    alert = await db.alerts.add(new_alert())
    common = {"channel_id": 10, "plan": "[]", "publish_limited": False, "ping_limited": False, "article_ids": []}
    one = await db.alerts.begin_delivery(alert.id, kind="post", nonce="p1", pinged=True, publish=True, at=NOW, **common)
    await db.alerts.begin_delivery(alert.id, kind="test", nonce="t1", pinged=False, publish=False, at=NOW, **common)
    await db.alerts.finish_delivery(one.id, message_id=123, thread_id=None, at=NOW)
    since = NOW - timedelta(minutes=1)
    assert await db.alerts.sent_since(alert.id, since) == 1, "a test post does not count"
    assert await db.alerts.pings_since(alert.id, since) == 1
    assert await db.alerts.publishes_since(10, since) == 1
    stats = await db.alerts.stats(alert.id, NOW)
    assert stats.posts_24h == 1 and stats.last is not None and stats.last.message_id == 123


async def test_edit_and_replace(db: Database) -> None:
    alert = await db.alerts.add(new_alert())
    edited = await db.alerts.update(alert.id, keywords="solar", providers=("a.org",), publish=True)
    assert edited is not None and edited.keywords == "solar" and edited.providers == ("a.org",) and edited.publish
    replaced = await db.alerts.replace_guild(1, [new_alert(topic="Sport"), new_alert(topic=None, keywords="x")])
    assert [a.topic for a in await db.alerts.for_guild(1)] == ["Sport", None]
    assert len(replaced) == 2 and await db.alerts.get(alert.id) is None


async def test_the_schema_refuses_what_the_rules_refuse(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        await db.alerts.add(new_alert(posts_per_window=rules.MAX_POSTS_PER_WINDOW + 1))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.alerts.add(new_alert(topic=None, keywords=None))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.alerts.add(new_alert(template="x" * (rules.MAX_TEMPLATE_CHARS + 1)))
    await db.alerts.add(new_alert(template="x" * rules.MAX_TEMPLATE_CHARS, posts_per_window=rules.MAX_POSTS_PER_WINDOW))
    await db.alerts.add(replace(new_alert(), min_quality=rules.MAX_QUALITY))


@pytest.mark.parametrize("migration", ["migrations/008_alerts.sql", "migrations_pg/006_alerts.sql"])
def test_the_migration_repeats_the_rules_numbers(migration: str) -> None:
    sql = (resources.files("bot.db") / migration).read_text(encoding="utf-8")
    assert f"posts_per_window BETWEEN {rules.MIN_POSTS_PER_WINDOW} AND {rules.MAX_POSTS_PER_WINDOW}" in sql
    assert f"length(template) <= {rules.MAX_TEMPLATE_CHARS}" in sql
    assert f"min_quality BETWEEN {rules.MIN_QUALITY} AND {rules.MAX_QUALITY}" in sql
    assert f"DEFAULT {rules.DEFAULT_POSTS_PER_WINDOW} CHECK" in sql
    styles = re.search(r"style IN \(([^)]*)\)", sql)
    assert styles is not None and styles[1] == ", ".join(f"'{s}'" for s in rules.STYLES)
    kinds = re.search(r"channel_kind IN \(([^)]*)\)", sql)
    assert kinds is not None and kinds[1] == ", ".join(f"'{s}'" for s in rules.CHANNEL_KINDS)


async def test_an_import_replaces_alerts_in_the_same_transaction(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """``/admin import`` removes and adds alerts with the settings, hidden articles and digests: a
    failure while adding the second alert leaves every one of them as it was."""
    await db.guilds.save_settings(GuildSettings(1, min_quality=10), user_id=99)
    old = await db.alerts.add(new_alert(topic="Old"))
    kept = await db.alerts.add(new_alert(topic="Kept"))
    theirs = await db.alerts.add(new_alert(guild_id=2, topic="Theirs"))
    before = (await db.guilds.settings(1), await db.alerts.for_guild(1))
    # Each backend writes through its own module's helper: inject the failure where this one writes.
    module = pg_alerts if type(db).__module__.startswith("bot.db.pg") else sqlite_alerts
    real, calls = module._alert_params, 0

    def failing(alert: NewAlert) -> list[object]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("injected failure")
        return real(alert)

    with monkeypatch.context() as patch:
        patch.setattr(module, "_alert_params", failing)
        with pytest.raises(RuntimeError, match="injected failure"):
            await db.guilds.replace(
                GuildSettings(1, min_quality=90),
                [],
                user_id=99,
                alerts=AlertReplacement(remove=(old.id,), add=(new_alert(topic="One"), new_alert(topic="Two"))),
            )
    assert (await db.guilds.settings(1), await db.alerts.for_guild(1)) == before
    gone = await db.guilds.replace(
        GuildSettings(1, min_quality=90),
        [],
        user_id=99,
        alerts=AlertReplacement(remove=(old.id, theirs.id), add=(new_alert(topic="New"),)),
    )
    assert [a.id for a in gone.alerts] == [old.id], "only this server's alerts can be removed"
    assert [a.topic for a in await db.alerts.for_guild(1)] == ["Kept", "New"]
    assert (await db.alerts.for_guild(1))[0] == kept
    assert [a.id for a in await db.alerts.for_guild(2)] == [theirs.id]


async def test_deliveries_racing_for_the_same_articles_claim_them_once(db: Database) -> None:
    """Two processes (here: two tasks, each on its own connection) recording a delivery of the same
    waiting articles at the same moment: one gets them, the other a conflict, never both."""
    alert = await db.alerts.add(new_alert())
    items = [(alert.id, f"a{n}", n, f"Story {n}") for n in range(1, 6)]
    await db.alerts.record_judged([alert.id], 5, items, [], NOW)
    common = {"channel_id": 10, "plan": "[]", "pinged": False, "publish": False, "publish_limited": False}
    for round_ in range(5):
        ids = [f"a{n}" for n in range(1, 6)]
        results = await asyncio.gather(
            *(
                db.alerts.begin_delivery(
                    alert.id,
                    kind="roundup",
                    nonce=f"r{round_}-{who}",
                    article_ids=ids,
                    ping_limited=False,
                    at=NOW,
                    **common,
                )
                for who in range(3)
            ),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        assert len(won) == 1 and all(isinstance(r, DeliveryConflict) for r in results if r not in won)
        pending = await db.alerts.pending(alert.id)
        assert [d.article_ids for d in pending] == [tuple(ids)], "the winner holds every article, in arrival order"
        await db.alerts.abandon_delivery(pending[0].id, at=NOW, note="again")


async def test_on_postgresql_arrivals_are_recorded_one_transaction_at_a_time(db: Database) -> None:
    """A cursor reads arrivals by sequence number; on PostgreSQL two transactions could otherwise commit
    numbers out of order, and a cursor that has read the higher one would skip the lower. Every
    transaction that records arrivals takes one lock first: while another holds it, an unhide waits."""
    if not type(db).__module__.startswith("bot.db.pg"):
        pytest.skip("SQLite has one writer at a time: its arrivals commit in order anyway")
    from bot.db.pg_connect import ARRIVALS_LOCK

    await store(db, [recent(5)])
    await db.guilds.hide(7, HiddenArticle("a5", "Story", hidden_by=1, hidden_at=NOW))
    async with db.pg.pool.acquire() as other:  # type: ignore[attr-defined]
        await other.execute("SELECT pg_advisory_lock($1)", ARRIVALS_LOCK)
        unhide = asyncio.ensure_future(db.guilds.unhide(7, "a5"))
        await asyncio.sleep(0.5)
        assert not unhide.done(), "the unhide waits while another transaction records arrivals"
        await other.execute("SELECT pg_advisory_unlock($1)", ARRIVALS_LOCK)
        assert await asyncio.wait_for(unhide, 10)
    assert await arrived(db) == [("a5", None), ("a5", 7)]
