"""Digest storage: schedules, exactly-once delivery records, and the articles a digest may still post."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.db import Database, open_database
from bot.db.digest_types import DeliveryConflict, Digest, NewDigest
from bot.db.migrate import load_migrations
from bot.db.types import Visibility
from tests.db.conftest import EPOCH, INTEGRITY_ERRORS, count_rows, make_article, related_to, store

DEFAULT = Visibility()
NOW = EPOCH + timedelta(days=2)


def new_digest(guild: int = 1, channel: int = 10, topic: str = "Widgets", **fields: object) -> NewDigest:
    values: dict[str, object] = {
        "guild_id": guild,
        "channel_id": channel,
        "topic": topic,
        "at_time": "09:00",
        "timezone": "Europe/London",
        "cadence": "daily",
        "weekday": 0,
        "min_quality": 0,
        "max_items": 5,
        "created_at": EPOCH,
        "created_by": 99,
    }
    values.update(fields)
    return NewDigest(**values)  # type: ignore[arg-type]


async def begin(db: Database, digest: Digest, slot: datetime | None, ids: list[str], nonce: str = "n1"):
    return await db.digests.begin_delivery(
        digest.id, slot=slot, nonce=nonce, channel_id=digest.channel_id, article_ids=ids, payload="[{}]", at=NOW
    )


def test_the_digest_migration_is_number_four() -> None:
    names = {m.version: m.name for m in load_migrations()}
    assert names[4] == "digests"


async def test_add_list_and_remove_keep_ids_unique(db: Database) -> None:
    first = await db.digests.add(new_digest())
    second = await db.digests.add(new_digest(guild=2, topic="Space"))
    assert first.id != second.id
    assert (await db.digests.get(first.id)) == first
    assert first.topic == "Widgets" and first.created_at == EPOCH and not first.paused and first.last_slot is None
    assert [d.id for d in await db.digests.for_guild(1)] == [first.id]
    assert await db.digests.count_for_guild(2) == 1
    assert await db.digests.remove(second.id)
    assert not await db.digests.remove(second.id)
    third = await db.digests.add(new_digest(guild=2))
    assert third.id > second.id, "a removed digest's id is never given to a new one"


async def test_pause_with_reason_resume_and_settle_until(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    await db.digests.set_paused(digest.id, paused=True, reason="I lack Embed Links in #news")
    paused = await db.digests.get(digest.id)
    assert paused is not None and paused.paused and paused.pause_reason == "I lack Embed Links in #news"
    assert await db.digests.active() == []
    settle = EPOCH + timedelta(days=1, hours=9)
    await db.digests.set_paused(digest.id, paused=False, reason=None, settle_until=settle)
    resumed = await db.digests.get(digest.id)
    assert resumed is not None and not resumed.paused and resumed.pause_reason is None
    assert resumed.last_slot == settle
    assert [d.id for d in await db.digests.active()] == [digest.id]


async def test_update_changes_only_the_values_given(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    other = await db.digests.add(new_digest(guild=2, topic="Space"))
    updated = await db.digests.update(digest.id, at_time="18:30", weekday=3)
    assert updated is not None and updated == await db.digests.get(digest.id)
    assert (updated.at_time, updated.weekday) == ("18:30", 3)
    assert dataclasses.replace(updated, at_time="09:00", weekday=0) == digest, "nothing else changed"
    every = await db.digests.update(
        digest.id,
        channel_id=11,
        topic="Gadgets",
        at_time="07:05",
        timezone="Asia/Tokyo",
        cadence="weekly",
        weekday=6,
        min_quality=40,
        max_items=10,
    )
    assert every is not None
    assert (every.channel_id, every.topic, every.at_time, every.timezone) == (11, "Gadgets", "07:05", "Asia/Tokyo")
    assert (every.cadence, every.weekday, every.min_quality, every.max_items) == ("weekly", 6, 40, 10)
    assert await db.digests.get(other.id) == other, "another digest is untouched"
    assert await db.digests.update(other.id + 100, topic="Nope") is None


async def test_update_sets_the_new_schedules_progress_even_backwards(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    first = await db.digests.update(digest.id, at_time="08:00")
    assert first is not None and first.last_slot is None, "no last_slot given: progress is untouched"
    later = EPOCH + timedelta(days=3, hours=9)
    await db.digests.settle(digest.id, later, "posted 3 articles", NOW)
    # Moved to 06:00 on day 3 at 07:00: the new schedule's own newest slot, before the old one.
    earlier = EPOCH + timedelta(days=3, hours=6)
    moved = await db.digests.update(digest.id, at_time="06:00", last_slot=earlier)
    assert moved is not None and moved.last_slot == earlier and moved.at_time == "06:00"
    assert moved.last_result == "posted 3 articles", "what happened last is still shown"
    kept = await db.digests.update(digest.id, max_items=7)
    assert kept is not None and kept.last_slot == earlier


async def test_update_outside_the_schemas_rules_is_refused(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    for bad in ({"max_items": 11}, {"weekday": 7}, {"cadence": "fortnightly"}):
        with pytest.raises(INTEGRITY_ERRORS):
            await db.digests.update(digest.id, **bad)  # type: ignore[arg-type]
    assert await db.digests.get(digest.id) == digest


async def test_a_slot_is_recorded_once(db: Database) -> None:
    await store(db, [make_article(1), make_article(2)])
    digest = await db.digests.add(new_digest())
    slot = EPOCH + timedelta(days=1, hours=9)
    delivery = await begin(db, digest, slot, ["a1"], nonce="first")
    assert delivery.state == "pending" and delivery.slot == slot and delivery.article_ids == ("a1",)
    with pytest.raises(DeliveryConflict):
        await begin(db, digest, slot, ["a2"], nonce="second")
    # The failed attempt left nothing behind: a2 is still free for this digest.
    assert [d.nonce for d in await db.digests.pending()] == ["first"]
    assert await db.digests.delivered(digest.id, ["a1", "a2"]) == {"a1"}


async def test_an_article_is_delivered_once_per_digest(db: Database) -> None:
    await store(db, [make_article(1), make_article(2)])
    digest = await db.digests.add(new_digest())
    other = await db.digests.add(new_digest(guild=2))
    await begin(db, digest, None, ["a1", "a2"], nonce="m1")
    with pytest.raises(DeliveryConflict):
        await begin(db, digest, None, ["a2"], nonce="m2")
    await begin(db, other, None, ["a2"], nonce="m3")  # another digest may post it
    assert await db.digests.delivered(digest.id, ["a1", "a2", "a3"]) == {"a1", "a2"}
    assert await db.digests.delivered(other.id, ["a1", "a2"]) == {"a2"}


async def test_finish_records_the_message_and_settles_only_scheduled_slots(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    slot = EPOCH + timedelta(days=1, hours=9)
    manual = await begin(db, digest, None, ["a1"], nonce="manual")
    await db.digests.finish_delivery(manual.id, message_id=555, result="posted 1 article", at=NOW)
    after_manual = await db.digests.get(digest.id)
    assert (
        after_manual is not None and after_manual.last_slot is None and after_manual.last_result == "posted 1 article"
    )
    scheduled = await begin(db, digest, slot, ["a2"], nonce="slot")
    await db.digests.finish_delivery(scheduled.id, message_id=556, result="posted 1 article", at=NOW)
    done = await db.digests.get(digest.id)
    assert done is not None and done.last_slot == slot and done.last_result_at == NOW
    recorded = await db.digests.delivery_for_slot(digest.id, slot)
    assert recorded is not None and recorded.state == "sent" and recorded.message_id == 556
    assert recorded.payload == "", "a settled delivery keeps no copy of its message"
    assert await db.digests.pending() == []


async def test_abandon_frees_the_articles_and_settles_the_slot(db: Database) -> None:
    await store(db, [make_article(1)])
    digest = await db.digests.add(new_digest())
    slot = EPOCH + timedelta(days=1, hours=9)
    delivery = await begin(db, digest, slot, ["a1"])
    await db.digests.abandon_delivery(delivery.id, result="not posted: channel deleted", at=NOW)
    assert await db.digests.delivered(digest.id, ["a1"]) == frozenset()
    settled = await db.digests.get(digest.id)
    assert settled is not None and settled.last_slot == slot and settled.last_result == "not posted: channel deleted"
    assert await db.digests.pending() == []


async def test_settle_never_moves_progress_backwards(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    later, earlier = EPOCH + timedelta(days=3), EPOCH + timedelta(days=1)
    await db.digests.settle(digest.id, later, "nothing new", NOW)
    await db.digests.settle(digest.id, earlier, "skipped", NOW)
    row = await db.digests.get(digest.id)
    assert row is not None and row.last_slot == later and row.last_result == "skipped"


async def test_candidates_window_visibility_topic_and_ranking(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, heat=5),  # EPOCH + 1 h
            make_article(2, heat=50, published=False),
            make_article(3, heat=1, quality=90),
            make_article(4, heat=1, quality=20, topics=("Widgets", "Other")),
            make_article(5, heat=99, topics=("Other",)),
            make_article(30, heat=100),  # outside the window
        ],
    )
    since, until = EPOCH, EPOCH + timedelta(hours=24)
    found = await db.digests.candidates("WIDGETS", since=since, until=until, vis=DEFAULT)
    assert [a.id for a in found.items] == ["a1", "a3", "a4"], "visible, in the window, heat then quality"
    everything = await db.digests.candidates(
        "Widgets", since=since, until=until, vis=Visibility(include_unpublished=True)
    )
    assert [a.id for a in everything.items] == ["a2", "a1", "a3", "a4"]
    hidden = await db.digests.candidates(
        "Widgets", since=since, until=until, vis=Visibility(hidden_ids=frozenset({"a1"}))
    )
    assert [a.id for a in hidden.items] == ["a3", "a4"]
    capped = await db.digests.candidates("Widgets", since=since, until=until, vis=DEFAULT, limit=2)
    assert [a.id for a in capped.items] == ["a1", "a3"]
    assert (await db.digests.candidates("Nope", since=since, until=until, vis=DEFAULT)).items == ()


async def test_candidates_carry_related_links_among_themselves(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, related=related_to("https://example.org/news/2", "https://elsewhere.example/x")),
            make_article(2, related=related_to("https://example.org/news/1")),
            make_article(3, related=related_to("https://example.org/news/40")),
            make_article(40),  # related to a3 but outside the window: no pair
        ],
    )
    found = await db.digests.candidates("Widgets", since=EPOCH, until=EPOCH + timedelta(hours=24), vis=DEFAULT)
    assert sorted(found.related_pairs) == [("a1", "a2"), ("a2", "a1")]


async def test_prune_forgets_old_settled_deliveries_but_not_pending_ones(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    old = await begin(db, digest, EPOCH + timedelta(hours=9), ["a1"], nonce="old")
    await db.digests.finish_delivery(old.id, message_id=1, result="posted", at=NOW)
    await begin(db, digest, EPOCH + timedelta(days=1, hours=9), ["a2"], nonce="pending")
    assert await db.digests.prune(NOW + timedelta(days=1)) == 1
    assert [d.nonce for d in await db.digests.pending()] == ["pending"]


async def test_removing_a_digest_removes_its_deliveries(db: Database) -> None:
    digest = await db.digests.add(new_digest())
    await begin(db, digest, None, ["a1"])
    await db.digests.remove(digest.id)
    assert await db.digests.pending() == []
    assert [await count_rows(db, t) for t in ("digest_deliveries", "digest_items")] == [0, 0]


async def test_the_recorded_message_survives_a_reopen(database_url: str) -> None:
    async with await open_database(database_url) as db:
        digest = await db.digests.add(new_digest())
        payload = json.dumps([{"title": "Widgets digest"}])
        await db.digests.begin_delivery(
            digest.id,
            slot=datetime(2024, 1, 2, 9, tzinfo=UTC),
            nonce="d1-x",
            channel_id=10,
            article_ids=["a1"],
            payload=payload,
            at=NOW,
        )
    async with await open_database(database_url) as db:
        (pending,) = await db.digests.pending()
        assert pending.payload == payload and pending.nonce == "d1-x"
        assert await db.digests.delivery_items(pending.id) == ["a1"]
