"""The follows repository on each backend (a real SQLite file, a PostgreSQL database): exactly once
per (follow, article) and per (follow, slot), the cursor, the cap's bookkeeping, export, and
forgetting everything."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from importlib import resources

import asyncpg
import pytest

from bot.db import Database, DatabaseHandle
from bot.db.follow_types import DeliveryConflict, NewFollow
from bot.db.types import Visibility
from bot.follows import rules
from tests.db.conftest import INTEGRITY_ERRORS, make_article, rows_naming, store

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ALICE, BOB = 111, 222


def new(user: int = ALICE, *, topic: str | None = "Widgets", keywords: str | None = None, delivery: str = "instant"):
    return NewFollow(user, topic, keywords, delivery, "08:00", 0, NOW)


async def alice_follows(db: DatabaseHandle, n: int = 1) -> list[int]:
    await db.follows.ensure_member(ALICE, "Europe/Paris", NOW)
    return [(await db.follows.add(new())).id for _ in range(n)]


@pytest.mark.parametrize("directory", ["migrations", "migrations_pg"])
def test_migration_repeats_the_rules_limits(directory: str) -> None:
    (path,) = [p for p in (resources.files("bot.db") / directory).iterdir() if p.name.endswith("_follows.sql")]
    sql = path.read_text()
    assert f"BETWEEN 1 AND {rules.MAX_TOPIC_CHARS})" in sql
    assert f"BETWEEN 1 AND {rules.MAX_KEYWORDS_CHARS})" in sql
    kinds = re.search(r"delivery IN \(([^)]*)\)", sql)
    assert kinds is not None and tuple(k.strip(" '") for k in kinds[1].split(",")) == rules.DELIVERIES


async def test_a_member_keeps_their_timezone_and_a_follow_carries_it(db: DatabaseHandle) -> None:
    await db.follows.ensure_member(ALICE, "Europe/Paris", NOW)
    again = await db.follows.ensure_member(ALICE, "Asia/Tokyo", NOW)
    assert again.timezone == "Europe/Paris"
    follow = await db.follows.add(new(keywords="solar -oil", topic=None, delivery="daily"))
    assert (follow.timezone, follow.keywords, follow.delivery, follow.active) == (
        "Europe/Paris",
        "solar -oil",
        "daily",
        True,
    )
    assert [f.id for f in await db.follows.for_user(ALICE)] == [follow.id]
    assert await db.follows.for_user(BOB) == []


async def test_a_follow_needs_a_topic_or_keywords_and_valid_limits(db: DatabaseHandle) -> None:
    await db.follows.ensure_member(ALICE, "UTC", NOW)
    with pytest.raises(INTEGRITY_ERRORS):
        await db.follows.add(new(topic=None, keywords=None))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.follows.add(new(keywords="x" * (rules.MAX_KEYWORDS_CHARS + 1)))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.follows.add(new(delivery="hourly"))


async def test_matched_articles_are_taken_once_and_the_cursor_only_moves_forward(db: DatabaseHandle) -> None:
    (fid,) = await alice_follows(db)
    assert await db.follows.record_matched(5, [(fid, ALICE, "a1", 3), (fid, ALICE, "a2", 5)], NOW) == 2
    assert await db.follows.record_matched(4, [(fid, ALICE, "a1", 3)], NOW) == 0
    assert await db.follows.cursor() == 5
    assert [i.article_id for i in await db.follows.waiting(ALICE)] == ["a1", "a2"]
    assert await db.follows.users_with_work() == [ALICE]


async def test_a_delivery_claims_waiting_articles_once(db: DatabaseHandle) -> None:
    (fid,) = await alice_follows(db)
    await db.follows.record_matched(1, [(fid, ALICE, "a1", 1)], NOW)
    first = await db.follows.begin_delivery(
        ALICE, kind="instant", nonce="f1", payload="{}", article_keys=[(fid, "a1")], at=NOW
    )
    with pytest.raises(DeliveryConflict):
        await db.follows.begin_delivery(
            ALICE, kind="instant", nonce="f2", payload="{}", article_keys=[(fid, "a1")], at=NOW
        )
    assert [d.nonce for d in await db.follows.pending(ALICE)] == ["f1"]
    assert await db.follows.waiting(ALICE) == []
    await db.follows.finish_delivery(first.id, message_id=99, at=NOW)
    assert await db.follows.pending() == []
    assert await db.follows.sent_since(ALICE, NOW - timedelta(hours=1)) == [NOW]


async def test_deliveries_racing_for_the_same_articles_claim_each_once(db: DatabaseHandle) -> None:
    (fid,) = await alice_follows(db)
    await db.follows.record_matched(3, [(fid, ALICE, f"a{n}", n) for n in (1, 2, 3)], NOW)
    keys = [(fid, "a1"), (fid, "a2"), (fid, "a3")]
    results = await asyncio.gather(
        *(
            db.follows.begin_delivery(ALICE, kind="roundup", nonce=f"r{n}", payload="{}", article_keys=keys, at=NOW)
            for n in range(4)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1 and all(isinstance(r, DeliveryConflict) for r in results if r not in won), results
    # The losers left nothing behind: one pending DM, which holds all three articles.
    assert [d.nonce for d in await db.follows.pending(ALICE)] == [won[0].nonce]
    assert await db.follows.waiting(ALICE) == []
    exported = await db.follows.export(ALICE)
    assert {a["delivery"] for a in exported["articles"]} == {won[0].id}


async def test_a_claim_comes_up_short_when_one_article_is_gone(db: DatabaseHandle) -> None:
    (fid,) = await alice_follows(db)
    await db.follows.record_matched(2, [(fid, ALICE, "a1", 1), (fid, ALICE, "a2", 2)], NOW)
    await db.follows.drop([(fid, "a2")])
    with pytest.raises(DeliveryConflict):
        await db.follows.begin_delivery(
            ALICE, kind="roundup", nonce="r1", payload="{}", article_keys=[(fid, "a1"), (fid, "a2")], at=NOW
        )
    # Nothing of the refused delivery stays: a1 still waits, and no DM is pending.
    assert [i.article_id for i in await db.follows.waiting(ALICE)] == ["a1"]
    assert await db.follows.pending() == []


async def test_on_postgresql_an_article_being_claimed_elsewhere_is_skipped_without_waiting(
    db: DatabaseHandle,
) -> None:
    if isinstance(db, Database):
        pytest.skip("SQLite has one writer at a time: there are no row locks to skip")
    (fid,) = await alice_follows(db)
    await db.follows.record_matched(1, [(fid, ALICE, "a1", 1)], NOW)
    other = await asyncpg.connect(db.target.dsn)  # type: ignore[attr-defined]
    try:
        # Another host's transaction, in the middle of claiming a1.
        async with other.transaction():
            await other.execute("SELECT 1 FROM follow_items WHERE article_id = 'a1' FOR UPDATE")
            with pytest.raises(DeliveryConflict):
                await asyncio.wait_for(
                    db.follows.begin_delivery(
                        ALICE, kind="instant", nonce="f1", payload="{}", article_keys=[(fid, "a1")], at=NOW
                    ),
                    timeout=5,
                )
    finally:
        await other.close()
    # Released without a claim: a1 waits and can be claimed now.
    d = await db.follows.begin_delivery(
        ALICE, kind="instant", nonce="f2", payload="{}", article_keys=[(fid, "a1")], at=NOW
    )
    assert d.article_keys == ((fid, "a1"),)


async def test_an_abandoned_instant_dm_puts_its_article_back_for_a_roundup(db: DatabaseHandle) -> None:
    (fid,) = await alice_follows(db)
    await db.follows.record_matched(1, [(fid, ALICE, "a1", 1)], NOW)
    d = await db.follows.begin_delivery(
        ALICE, kind="instant", nonce="f1", payload="{}", article_keys=[(fid, "a1")], at=NOW
    )
    await db.follows.abandon_delivery(d.id, at=NOW)
    (item,) = await db.follows.waiting(ALICE)
    assert item.held and item.article_id == "a1"
    assert await db.follows.sent_since(ALICE, NOW - timedelta(hours=1)) == []


async def test_a_digest_slot_and_its_articles_are_recorded_once(db: DatabaseHandle) -> None:
    await db.follows.ensure_member(ALICE, "UTC", NOW)
    fid = (await db.follows.add(new(delivery="daily"))).id
    slot = NOW.replace(hour=8)
    d = await db.follows.begin_delivery(
        ALICE, kind="digest", nonce="g1", payload="{}", article_keys=[(fid, "a1")], at=NOW, follow_id=fid, slot=slot
    )
    with pytest.raises(DeliveryConflict):
        await db.follows.begin_delivery(
            ALICE, kind="digest", nonce="g2", payload="{}", article_keys=[(fid, "a2")], at=NOW, follow_id=fid, slot=slot
        )
    with pytest.raises(DeliveryConflict):  # the same article in a later slot
        await db.follows.begin_delivery(
            ALICE,
            kind="digest",
            nonce="g3",
            payload="{}",
            article_keys=[(fid, "a1")],
            at=NOW,
            follow_id=fid,
            slot=slot + timedelta(days=1),
        )
    assert await db.follows.delivered([fid, fid + 1], ["a1", "a2"]) == {(fid, "a1")}
    found = await db.follows.delivery_for_slot(fid, slot)
    assert found is not None and found.id == d.id and found.state == "pending"
    await db.follows.finish_delivery(d.id, message_id=7, at=NOW)
    follow = await db.follows.get(fid)
    assert follow is not None and follow.last_slot == slot


async def test_pausing_the_member_is_told_once(db: DatabaseHandle) -> None:
    await alice_follows(db, 2)
    await db.follows.pause_member(ALICE, "DMs closed")
    assert await db.follows.active() == []
    assert await db.follows.take_notice(ALICE) == "DMs closed"
    assert await db.follows.take_notice(ALICE) is None
    assert await db.follows.unpause_member(ALICE)
    assert len(await db.follows.active("instant")) == 2


async def test_pause_and_resume_one_or_all(db: DatabaseHandle) -> None:
    a, b = await alice_follows(db, 2)
    assert await db.follows.set_paused(ALICE, a, paused=True) == 1
    assert await db.follows.set_paused(BOB, b, paused=True) == 0  # not Bob's
    assert await db.follows.set_paused(ALICE, None, paused=True) == 1
    assert await db.follows.set_paused(ALICE, None, paused=False) == 2


async def test_window_lists_visible_articles_of_the_period(db: DatabaseHandle) -> None:
    await store(db, [make_article(1), make_article(2, published=False), make_article(30)])
    since = datetime(2024, 1, 1, tzinfo=UTC)
    found = await db.follows.window(since=since, until=since + timedelta(hours=24), vis=Visibility(), limit=10)
    assert [a.id for a in found] == ["a1"]


#: Every table of follows that names a member; ``forget`` must empty each of them for the member.
MEMBER_TABLES = {"follow_members", "follows", "follow_items", "follow_deliveries"}


async def test_forget_deletes_everything_about_the_member_and_nothing_else(db: DatabaseHandle) -> None:
    (fid,) = await alice_follows(db)
    await db.follows.set_quiet(ALICE, 22 * 60, 7 * 60)
    await db.follows.ensure_member(BOB, "UTC", NOW)
    bob_follow = (await db.follows.add(new(BOB))).id
    await db.follows.record_matched(2, [(fid, ALICE, "a1", 1), (fid, ALICE, "a2", 2), (bob_follow, BOB, "a1", 1)], NOW)
    await db.follows.begin_delivery(ALICE, kind="instant", nonce="p1", payload="{}", article_keys=[(fid, "a1")], at=NOW)
    before = await rows_naming(db, ALICE)
    assert all(before[t] > 0 for t in MEMBER_TABLES), before
    exported = await db.follows.export(ALICE)
    assert exported["preferences"]["quiet_start_minute"] == 22 * 60
    assert [f["id"] for f in exported["follows"]] == [fid]
    assert {a["article"] for a in exported["articles"]} == {"a1", "a2"}
    assert [m["state"] for m in exported["messages"]] == ["pending"]

    assert await db.follows.forget(ALICE) > 0
    left = await rows_naming(db, ALICE)
    assert set(left) >= MEMBER_TABLES and set(left.values()) == {0}, left
    assert await db.follows.pending() == []
    assert await db.follows.member(ALICE) is None
    assert (await db.follows.export(ALICE))["follows"] == []
    assert [f.id for f in await db.follows.for_user(BOB)] == [bob_follow]
    assert len(await db.follows.waiting(BOB)) == 1
