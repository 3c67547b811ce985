"""The digest loop over a real SQLite database with a fake clock and a fake Discord channel.

The clock is a parameter of the scheduler, so these tests run days of schedule in milliseconds.
``FakeDiscord`` is the server side (it outlives a "crash" of the bot): messages per channel,
Discord's nonce check for a few minutes, and history that, like Discord's, shows footers but not
nonces. ``Crash`` is a ``BaseException``: the loop's per-digest ``except Exception`` does not catch
it, so raising it is a kill at exactly that point.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as Time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.db.digest_types import Digest, NewDigest
from bot.db.types import Visibility
from bot.digests.schedule import CADENCES, nonce_for, slot_key, slots_between
from bot.digests.scheduler import Scheduler
from bot.digests.service import ChannelUnavailable, DigestService, schedule_of
from bot.settings import Settings, SettingsError
from bot.store.models import Provider
from tests.db.conftest import make_article, store
from tests.digests.strategies import TRICKY_ZONES

START = datetime(2026, 3, 20, 12, tzinfo=UTC)  # a Friday; Europe/London moves to summer time on 29 March
NEWS, OTHER = 100, 200


class Crash(BaseException):
    """The process dies here."""


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    nonce: str
    embeds: list[dict[str, Any]]
    at: datetime


@dataclass
class FakeDiscord:
    clock: FakeClock
    nonce_window: timedelta = timedelta(minutes=5)
    messages: list[FakeMessage] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)
    posted: asyncio.Event = field(default_factory=asyncio.Event)

    def in_channel(self, channel_id: int) -> list[FakeMessage]:
        return [m for m in self.messages if m.channel_id == channel_id]


class FakeOutbox:
    def __init__(
        self,
        discord: FakeDiscord,
        *,
        crash: str | None = None,
        crash_on: int = 1,
        failing: Sequence[int] = (),
        history: bool = True,
    ) -> None:
        self.discord = discord
        self.crash = crash
        self.crash_on = crash_on  # the how-manieth send crashes
        self.attempts = 0
        self.failing = set(failing)
        self.history = history

    def problem(self, channel_id: int) -> str | None:
        return self.discord.problems.get(channel_id)

    async def send(self, channel_id: int, embeds: Sequence[dict[str, Any]], nonce: str) -> int:
        now = self.discord.clock.now()
        self.attempts += 1
        crashing = self.crash if self.attempts == self.crash_on else None
        if crashing == "before send":
            raise Crash
        if channel_id in self.failing:
            raise RuntimeError("Discord answered 503")
        if channel_id in self.discord.problems:
            raise ChannelUnavailable(self.discord.problems[channel_id])
        for message in self.discord.messages:
            if (
                message.nonce == nonce
                and message.channel_id == channel_id
                and now - message.at <= self.discord.nonce_window
            ):
                return message.id  # enforce_nonce: the earlier message, not a second one
        message = FakeMessage(len(self.discord.messages) + 1, channel_id, nonce, list(embeds), now)
        self.discord.messages.append(message)
        self.discord.posted.set()
        if crashing == "after send":
            raise Crash
        return message.id

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        if not self.history:
            return None
        for message in self.discord.in_channel(channel_id):
            footer = (message.embeds[0].get("footer") or {}).get("text", "")
            if message.at >= after and footer.endswith(f"ref {nonce}"):
                return message.id
        return None


class FakeClock:
    """Jumps straight to whatever the loop sleeps until; past ``stop_at`` it stops the run."""

    def __init__(self, start: datetime, stop_at: datetime, *, auto: bool = True, lag: timedelta = timedelta(0)) -> None:
        self.t = start
        self.stop_at = stop_at
        self.auto = auto
        self.lag = lag  # how late a sleeper wakes (a real event loop is a little late)
        self.done = asyncio.Event()
        self.sleeping = asyncio.Event()
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self.t

    async def sleep_until(self, when: datetime) -> None:
        if self.auto:
            if when > self.stop_at:
                self.t = max(self.t, self.stop_at)
                self.done.set()
                await asyncio.Event().wait()
            self.t = max(self.t, when + self.lag)
            await asyncio.sleep(0)
            return
        while self.t < when:
            self.sleeping.set()
            self._moved.clear()
            await self._moved.wait()

    def restart_at(self, now: datetime, stop_at: datetime) -> None:
        """Another run of the bot: from ``now`` until ``stop_at``."""
        self.t = now
        self.stop_at = stop_at
        self.done.clear()

    def advance(self, to: datetime) -> None:
        self.t = to
        self.sleeping.clear()
        self._moved.set()


async def everyone(guild_id: int) -> Visibility:
    return Visibility()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "news.sqlite3")
    try:
        yield database
    finally:
        await database.close()


async def news_every_three_hours(db: Database, days: int, *, topic: str = "Widgets") -> None:
    """Articles from ``START - 1 day`` for ``days`` days, one every 3 hours, three providers."""
    providers = [Provider(f"Site {i}", f"site{i}.example") for i in range(3)]
    articles = [
        make_article(
            n,
            title=f"Widget news {n}",
            published_at=START - timedelta(days=1) + timedelta(hours=3 * n),
            topics=(topic,),
            provider=providers[n % 3],
            heat=n % 7,
        )
        for n in range(days * 8)
    ]
    await store(db, articles)


async def add(
    db: Database, *, channel: int = NEWS, at: str = "09:00", zone: str = "Europe/London", **kw: Any
) -> Digest:
    values: dict[str, Any] = {
        "guild_id": 1,
        "channel_id": channel,
        "topic": "Widgets",
        "at_time": at,
        "timezone": zone,
        "cadence": "daily",
        "weekday": 0,
        "min_quality": 0,
        "max_items": 3,
        "created_at": START,
        "created_by": 7,
    }
    values.update(kw)
    return await db.digests.add(NewDigest(**values))


def scheduler(
    db: Database, outbox: FakeOutbox, clock: FakeClock, *, grace: timedelta = timedelta(hours=6), audit: Any = None
) -> Scheduler:
    service = DigestService(db.digests, outbox, everyone, grace=grace, audit=audit)
    return Scheduler(service, db.digests, clock)


async def run_until_done(s: Scheduler, clock: FakeClock) -> None:
    task = asyncio.create_task(s.run())
    done = asyncio.create_task(clock.done.wait())
    finished, _ = await asyncio.wait({task, done}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    assert finished, "the simulation did not finish"
    task.cancel()
    done.cancel()
    await asyncio.gather(task, done, return_exceptions=True)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


async def posted_ids(db: Database, digest: Digest, slot: datetime) -> list[str]:
    delivery = await db.digests.delivery_for_slot(digest.id, slot)
    assert delivery is not None and delivery.state == "sent", f"{slot_key(digest.id, slot)} was posted"
    return await db.digests.delivery_items(delivery.id)


# --- days of schedule --------------------------------------------------------------------------


async def test_two_weeks_of_schedules_run_in_milliseconds(db: Database) -> None:
    await news_every_three_hours(db, 16)
    london = await add(db)
    new_york = await add(db, channel=OTHER, at="07:30", zone="America/New_York", cadence="weekdays")
    clock = FakeClock(START, START + timedelta(days=14))
    discord = FakeDiscord(clock)
    started = time.perf_counter()
    await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
    assert time.perf_counter() - started < 10, "fourteen simulated days take far less than real time"

    london_posts = discord.in_channel(NEWS)
    # 21 March .. 3 April at 09:00 London: 08:00 UTC after the clocks go forward on 29 March.
    expected = [datetime(2026, 3, d, 9 if d < 29 else 8, tzinfo=UTC) for d in range(21, 32)]
    expected += [datetime(2026, 4, d, 8, tzinfo=UTC) for d in range(1, 4)]
    assert [m.at for m in london_posts] == expected, "one message per day at 09:00 London time, DST included"
    weekdays = [m.at for m in discord.in_channel(OTHER)]
    assert all(m.astimezone(_zone("America/New_York")).weekday() < 5 for m in weekdays)
    assert len(weekdays) == 10, "two weeks of Monday-to-Friday digests"
    assert all(
        m.at.astimezone(_zone("America/New_York")).strftime("%H:%M") == "07:30" for m in discord.in_channel(OTHER)
    )

    seen: set[str] = set()
    previous = START
    for slot in expected:
        ids = await posted_ids(db, london, slot)
        assert 1 <= len(ids) <= 3
        assert not seen & set(ids), "no article is posted twice by one digest"
        seen |= set(ids)
        for article_id in ids:
            published = START - timedelta(days=1) + timedelta(hours=3 * int(article_id[1:]))
            assert previous - timedelta(days=1) <= published < slot
        previous = slot
    row = await db.digests.get(new_york.id)
    assert row is not None and row.last_result == "posted 3 articles"


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


async def test_nothing_new_posts_nothing_and_says_so(db: Database) -> None:
    digest = await add(db)
    clock = FakeClock(START, START + timedelta(days=2))
    discord = FakeDiscord(clock)
    await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
    assert discord.messages == []
    row = await db.digests.get(digest.id)
    assert row is not None and row.last_result == "nothing new: nothing was posted"
    assert row.last_slot == datetime(2026, 3, 22, 9, tzinfo=UTC)


async def test_many_digests_due_in_one_minute_each_post_once(db: Database) -> None:
    await news_every_three_hours(db, 3)
    digests = [await add(db, channel=NEWS + i % 5) for i in range(40)]
    clock = FakeClock(START, START + timedelta(days=1))
    discord = FakeDiscord(clock)
    s = scheduler(db, FakeOutbox(discord), clock)
    await run_until_done(s, clock)
    slot = datetime(2026, 3, 21, 9, tzinfo=UTC)
    assert sorted(m.nonce for m in discord.messages) == sorted(nonce_for(d.id, slot) for d in digests)
    assert all(m.at == slot for m in discord.messages)


# --- restarts and crashes ------------------------------------------------------------------------


async def test_crash_after_recording_before_sending_posts_exactly_once(db: Database) -> None:
    await news_every_three_hours(db, 3)
    digest = await add(db)
    slot = datetime(2026, 3, 21, 9, tzinfo=UTC)
    clock = FakeClock(START, START + timedelta(days=1))
    discord = FakeDiscord(clock)
    with pytest.raises(Crash):
        await scheduler(db, FakeOutbox(discord, crash="before send"), clock).run()
    assert discord.messages == []
    (pending,) = await db.digests.pending()
    recorded = await db.digests.delivery_items(pending.id)

    clock.restart_at(slot + timedelta(minutes=20), slot + timedelta(hours=1))  # back up twenty minutes later
    await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
    (message,) = discord.messages
    assert message.nonce == nonce_for(digest.id, slot)
    assert await posted_ids(db, digest, slot) == recorded, "the recorded articles, not a new selection"
    assert await db.digests.pending() == []


@pytest.mark.parametrize(
    ("found_by", "downtime", "history"),
    [
        ("the footer marker in the channel's history", timedelta(minutes=30), True),
        ("Discord's nonce check", timedelta(minutes=1), False),
    ],
)
async def test_crash_after_sending_before_recording_posts_exactly_once(
    db: Database, found_by: str, downtime: timedelta, history: bool
) -> None:
    await news_every_three_hours(db, 3)
    digest = await add(db)
    slot = datetime(2026, 3, 21, 9, tzinfo=UTC)
    clock = FakeClock(START, START + timedelta(days=1))
    discord = FakeDiscord(clock)
    with pytest.raises(Crash):
        await scheduler(db, FakeOutbox(discord, crash="after send"), clock).run()
    assert len(discord.messages) == 1 and len(await db.digests.pending()) == 1

    clock.restart_at(slot + downtime, slot + timedelta(days=1, hours=1))
    await run_until_done(scheduler(db, FakeOutbox(discord, history=history), clock), clock)
    assert [m.at for m in discord.in_channel(NEWS)] == [slot, slot + timedelta(days=1)], (
        f"no second message for the first slot (found by {found_by}); the next day posts normally"
    )
    first = await db.digests.delivery_for_slot(digest.id, slot)
    assert first is not None and first.state == "sent" and first.message_id == discord.messages[0].id


async def test_restart_right_after_a_delivery_posts_nothing_twice(db: Database) -> None:
    await news_every_three_hours(db, 3)
    await add(db)
    slot = datetime(2026, 3, 21, 9, tzinfo=UTC)
    clock = FakeClock(START, slot + timedelta(seconds=30))
    discord = FakeDiscord(clock)
    await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
    assert len(discord.messages) == 1
    clock.restart_at(clock.now(), slot + timedelta(hours=2))
    await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
    assert len(discord.messages) == 1


async def test_after_downtime_the_newest_slot_within_grace_is_posted_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await news_every_three_hours(db, 6)
    digest = await add(db)
    # Down from before the first slot until 11:00 UTC on the 24th: 21st-23rd are too old, the
    # 24th is two hours late.
    clock = FakeClock(datetime(2026, 3, 24, 11, tzinfo=UTC), datetime(2026, 3, 24, 12, tzinfo=UTC))
    discord = FakeDiscord(clock)
    with caplog.at_level(logging.WARNING, logger="bot.digests.service"):
        await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
    (message,) = discord.messages
    assert message.nonce == nonce_for(digest.id, datetime(2026, 3, 24, 9, tzinfo=UTC))
    assert "skipped 3 missed slot(s)" in caplog.text


async def test_a_slot_older_than_the_grace_window_is_skipped(db: Database) -> None:
    await news_every_three_hours(db, 6)
    digest = await add(db)
    clock = FakeClock(datetime(2026, 3, 24, 16, tzinfo=UTC), datetime(2026, 3, 24, 17, tzinfo=UTC))
    discord = FakeDiscord(clock)
    await run_until_done(scheduler(db, FakeOutbox(discord), clock, grace=timedelta(hours=6)), clock)
    assert discord.messages == []
    row = await db.digests.get(digest.id)
    assert row is not None and row.last_result == "skipped: the bot was offline at that time"
    assert row.last_slot == datetime(2026, 3, 24, 9, tzinfo=UTC)


# --- failures ----------------------------------------------------------------------------------


async def test_one_failing_digest_never_stops_the_others_and_is_retried(db: Database) -> None:
    await news_every_three_hours(db, 3)
    broken = await add(db, channel=OTHER)
    healthy = await add(db)
    slot = datetime(2026, 3, 21, 9, tzinfo=UTC)
    clock = FakeClock(START, slot + timedelta(minutes=10))
    discord = FakeDiscord(clock)
    outbox = FakeOutbox(discord, failing=[OTHER])
    s = scheduler(db, outbox, clock)
    await run_until_done(s, clock)
    assert [m.channel_id for m in discord.messages] == [NEWS]
    assert s.next_due() is not None and s.next_due() <= slot + timedelta(hours=1), "the failed digest is retried soon"

    outbox.failing.clear()  # Discord is back
    clock.restart_at(clock.now(), slot + timedelta(hours=1))
    await run_until_done(s, clock)
    assert sorted(m.channel_id for m in discord.messages) == [NEWS, OTHER]
    assert (await db.digests.delivery_for_slot(broken.id, slot)) is not None
    assert (await db.digests.delivery_for_slot(healthy.id, slot)) is not None


async def test_a_lost_channel_pauses_the_digest_with_the_reason_and_keeps_it(db: Database) -> None:
    await news_every_three_hours(db, 3)
    gone = await add(db, channel=OTHER, max_items=7)
    await add(db)
    clock = FakeClock(START, START + timedelta(days=2))
    discord = FakeDiscord(clock, problems={OTHER: "I lack the **Embed Links** permission in #other"})
    audited: list[tuple[int, int, str, dict[str, object]]] = []

    async def audit(guild_id: int, user_id: int, action: str, details: Any) -> None:
        audited.append((guild_id, user_id, action, dict(details)))

    await run_until_done(scheduler(db, FakeOutbox(discord), clock, audit=audit), clock)
    assert {m.channel_id for m in discord.messages} == {NEWS}
    row = await db.digests.get(gone.id)
    assert row is not None and row.paused and row.pause_reason == "I lack the **Embed Links** permission in #other"
    assert row.max_items == 7 and row.topic == "Widgets", "its settings are kept"
    assert [(g, u, a, d["digest"]) for g, u, a, d in audited] == [(1, 0, "digest.pause", gone.id)], (
        "announced once, as done by the bot itself"
    )


async def test_adding_a_digest_wakes_the_sleeping_loop(db: Database) -> None:
    await news_every_three_hours(db, 3)
    clock = FakeClock(START, START + timedelta(days=3), auto=False)
    discord = FakeDiscord(clock)
    s = scheduler(db, FakeOutbox(discord), clock)
    task = asyncio.create_task(s.run())
    try:
        await asyncio.wait_for(clock.sleeping.wait(), 5)  # no digests: asleep for a day
        digest = await add(db, at="12:05", zone="UTC")
        s.wake()
        await asyncio.sleep(0.05)
        clock.advance(START + timedelta(minutes=5))
        await asyncio.wait_for(discord.posted.wait(), 5)
        assert discord.messages[0].nonce == nonce_for(digest.id, START + timedelta(minutes=5))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_loop_that_wakes_a_little_late_still_posts_with_no_grace(db: Database) -> None:
    await news_every_three_hours(db, 3)
    await add(db)
    clock = FakeClock(START, START + timedelta(days=2), lag=timedelta(seconds=3))
    discord = FakeDiscord(clock)
    await run_until_done(scheduler(db, FakeOutbox(discord), clock, grace=timedelta(0)), clock)
    assert len(discord.messages) == 2, "grace 0 skips runs missed during downtime, not ones a few seconds late"


def test_the_grace_window_comes_from_the_environment() -> None:
    assert Settings.from_env({}).digest_grace_hours == 6
    assert Settings.from_env({"NEWSBOT_DIGEST_GRACE_HOURS": "2"}).digest_grace_hours == 2
    assert Settings.from_env({"NEWSBOT_DIGEST_GRACE_HOURS": "0"}).digest_grace_hours == 0
    with pytest.raises(SettingsError, match="NEWSBOT_DIGEST_GRACE_HOURS"):
        Settings.from_env({"NEWSBOT_DIGEST_GRACE_HOURS": "soon"})


# --- exactly once, whatever the schedule and wherever the bot dies ---------------------------------


@settings(max_examples=15, deadline=None)
@given(
    time=st.builds(Time, st.integers(0, 23), st.integers(0, 59)),
    zone=st.sampled_from(TRICKY_ZONES),
    cadence=st.sampled_from(CADENCES),
    weekday=st.integers(0, 6),
    crash=st.sampled_from(["before send", "after send"]),
    crash_on=st.integers(1, 5),
    downtime=st.sampled_from([timedelta(seconds=30), timedelta(minutes=10), timedelta(hours=2)]),
)
async def test_every_slot_is_posted_exactly_once_whatever_the_crash(
    time: Time, zone: str, cadence: str, weekday: int, crash: str, crash_on: int, downtime: timedelta
) -> None:
    end = START + timedelta(days=8)
    with tempfile.TemporaryDirectory() as folder:
        async with await Database.open(Path(folder) / "news.sqlite3") as db:
            await news_every_three_hours(db, 10)
            digest = await add(db, at=f"{time:%H:%M}", zone=zone, cadence=cadence, weekday=weekday)
            clock = FakeClock(START, end)
            discord = FakeDiscord(clock)
            try:
                await run_until_done(scheduler(db, FakeOutbox(discord, crash=crash, crash_on=crash_on), clock), clock)
            except Crash:
                clock.restart_at(clock.now() + downtime, end)  # back within the grace window
                await run_until_done(scheduler(db, FakeOutbox(discord), clock), clock)
            expected = slots_between(schedule_of(digest), START, end)
            assert sorted(m.nonce for m in discord.messages) == sorted(nonce_for(digest.id, s) for s in expected)
            assert await db.digests.pending() == []
