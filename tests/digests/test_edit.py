"""``DigestActions.edit`` over a real SQLite database: whatever the old and new schedules, the moment
of the change and the progress so far, no slot of the new schedule that passed before the change
is due afterwards, the next one is, and its digest covers one full period of the new schedule."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.actors import Actor
from bot.db import Database
from bot.db.digest_types import NewDigest
from bot.db.types import Visibility
from bot.digests.actions import DigestActions, DigestChanges
from bot.digests.schedule import (
    Schedule,
    digest_window,
    due_slots,
    first_window,
    next_slot,
    next_slots,
    previous_slot,
)
from bot.digests.service import schedule_of
from bot.errors import InvalidInput, UserFacingError
from tests.digests.strategies import instants, schedules

MOD = Actor(7, "Mod")


@dataclass
class FakeGuild:
    id: int = 1
    channels: dict[int, Any] = field(default_factory=dict)

    def get_channel(self, channel_id: int) -> Any:
        return self.channels.get(channel_id)


async def same_topic(raw: str, vis: Visibility) -> str:
    return raw


async def everyone(guild_id: int) -> Visibility:
    return Visibility()


def actions(db: Database, now: datetime, audit: list[tuple[Any, ...]], woken: list[bool]) -> DigestActions:
    async def record(*entry: Any) -> None:
        audit.append(entry)

    return DigestActions(
        db.digests,
        None,  # type: ignore[arg-type]  # editing never composes or posts
        now=lambda: now,
        wake=lambda: woken.append(True),
        audit=record,
        topics=same_topic,
        visibility_for=everyone,
    )


def stored(schedule: Schedule, created_at: datetime) -> NewDigest:
    return NewDigest(
        guild_id=1,
        channel_id=10,
        topic="Widgets",
        at_time=f"{schedule.time:%H:%M}",
        timezone=schedule.timezone,
        cadence=schedule.cadence,
        weekday=schedule.weekday,
        min_quality=0,
        max_items=5,
        created_at=created_at,
        created_by=7,
    )


_TEMPLATE: list[Path] = []


async def _migrated() -> Path:
    """An empty migrated database, copied for each example (migrating takes most of a second)."""
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="newsbot-edit-")) / "template.sqlite3"
        await (await Database.open(path)).close()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


@settings(max_examples=60, deadline=None)
@given(
    old=schedules,
    new=schedules,
    created_at=instants,
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    delivered=st.booleans(),
)
def test_a_new_schedule_posts_none_of_its_passed_slots_and_skips_none_ahead(
    old: Schedule, new: Schedule, created_at: datetime, age: timedelta, delivered: bool
) -> None:
    now = created_at + age

    async def run() -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "news.sqlite3"
            shutil.copyfile(await _migrated(), path)
            db = await Database.open(path)
            try:
                digest = await db.digests.add(stored(old, created_at))
                # The loop has settled every old slot up to now (posted, nothing new or skipped), or is
                # behind (the bot was down): then an unchanged schedule still owes its passed slot.
                if delivered and previous_slot(old, now) > created_at:
                    await db.digests.settle(digest.id, previous_slot(old, now), "posted 3 articles", now)
                    digest = await db.digests.get(digest.id) or digest
                audit: list[tuple[Any, ...]] = []
                weekday = new.weekday if new.cadence == "weekly" else None
                change = DigestChanges(
                    time=f"{new.time:%H:%M}", timezone=new.timezone, days=new.cadence, weekday=weekday
                )
                edited = await actions(db, now, audit, []).edit(FakeGuild(), MOD, digest, change)  # type: ignore[arg-type]
                after = await db.digests.get(digest.id)
                assert after is not None and after == edited.digest
                schedule = schedule_of(after)
                assert (schedule.time, schedule.timezone, schedule.cadence) == (new.time, new.timezone, new.cadence)
                if not (delivered or edited.changed):
                    return
                due = due_slots(schedule, last_slot=after.last_slot, created_at=after.created_at, now=now)
                assert due.deliver == [], "a slot that passed before the change is never posted"
                ahead = next_slot(schedule, now)
                (upcoming,) = next_slots([(after.id, schedule, after.last_slot)], now)
                assert upcoming.slot == ahead == edited.next, "the next slot after the change is posted"
                later = due_slots(schedule, last_slot=after.last_slot, created_at=after.created_at, now=ahead)
                assert later.deliver == [ahead] and later.skipped == []
                if edited.changed:
                    since, _ = digest_window(schedule, ahead, after.last_slot)
                    assert since == first_window(schedule, ahead), "its digest covers one full period"
            finally:
                await db.close()

    asyncio.run(run())


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    database = await Database.open(tmp_path / "news.sqlite3")
    try:
        yield database
    finally:
        await database.close()


NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)  # a Wednesday


async def test_only_the_options_given_change_and_the_edit_is_audited_with_before_and_after(db: Database) -> None:
    digest = await db.digests.add(stored(Schedule(datetime(2026, 1, 1, 9).time(), "Europe/London"), NOW))
    audit: list[tuple[Any, ...]] = []
    woken: list[bool] = []
    act = actions(db, NOW, audit, woken)
    edited = await act.edit(FakeGuild(), MOD, digest, DigestChanges(max_items=8))  # type: ignore[arg-type]
    assert edited.changed == ("max_items",) and edited.digest.max_items == 8
    assert edited.digest.at_time == "09:00" and edited.digest.last_slot is None, "the schedule was not touched"
    assert woken == [True]
    (guild_id, user_id, action, details) = audit[0]
    assert (guild_id, user_id, action) == (1, 7, "digest.edit")
    assert details["before"] == ["max_items: 5"] and details["after"] == ["max_items: 8"]
    weekly = await act.edit(FakeGuild(), MOD, edited.digest, DigestChanges(days="weekly"))  # type: ignore[arg-type]
    assert weekly.digest.weekday == 2, "made weekly without a weekday: today's, as /digest add does"
    same = await act.edit(FakeGuild(), MOD, weekly.digest, DigestChanges(time="9:00"))  # type: ignore[arg-type]
    assert same.changed == () and len(audit) == 2, "the same values: nothing written, nothing audited"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (DigestChanges(time="25:00"), "time", "Hour 25 is out of range"),
        (DigestChanges(timezone="Mars/Olympus"), "timezone", "Unknown timezone"),
        (DigestChanges(days="fortnightly"), "days", "is not a schedule"),
        (DigestChanges(max_items=0), "max_items", "A digest lists 1 to 10 articles."),
        (DigestChanges(min_quality=-1), "min_quality", "The minimum quality goes from"),
        (DigestChanges(weekday=2), "weekday", "only for weekly digests"),
        (DigestChanges(days="weekly", weekday=9), "weekday", "0 (Monday) to 6 (Sunday)"),
        (DigestChanges(channel_id=404), "channel", "I can't post digests there"),
    ],
)
async def test_bad_options_are_refused_naming_the_option_and_nothing_changes(
    db: Database, change: DigestChanges, field: str, message: str
) -> None:
    digest = await db.digests.add(stored(Schedule(datetime(2026, 1, 1, 9).time(), "UTC"), NOW))
    audit: list[tuple[Any, ...]] = []
    with pytest.raises(InvalidInput) as refused:
        await actions(db, NOW, audit, []).edit(FakeGuild(), MOD, digest, change)  # type: ignore[arg-type]
    assert refused.value.field == field and message in refused.value.message
    assert await db.digests.get(digest.id) == digest and audit == []


async def test_an_edit_with_no_option_asks_for_one(db: Database) -> None:
    digest = await db.digests.add(stored(Schedule(datetime(2026, 1, 1, 9).time(), "UTC"), NOW))
    with pytest.raises(UserFacingError, match="Give at least one option to change"):
        await actions(db, NOW, [], []).edit(FakeGuild(), MOD, digest, DigestChanges())  # type: ignore[arg-type]
