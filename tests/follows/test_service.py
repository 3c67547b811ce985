"""Follows' delivery without Discord: a real database on each backend (``conftest``), the real index
writing arrivals, and a fake DM outbox. Instant DMs once per article, the hourly cap and its
roundup, quiet hours, refused DMs, a crash around a send, personal digests at the member's local
time across a DST change, and forgetting a member entirely."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.db import DatabaseHandle
from bot.db.follow_types import NewFollow
from bot.db.types import Visibility
from bot.delivery import marker
from bot.follows.engine import FollowEngine
from bot.follows.rules import INSTANT_CAP
from bot.follows.service import DmRefused, FollowService
from tests.db.conftest import make_article, store

ALICE = 4242
SECRET_WORDS = "zanzibar-quokka"


class FakeDms:
    """DMs in memory. ``refuse`` plays DMs closed (50007); ``crash_after_send`` a process killed
    between Discord accepting the message and the bot recording it."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, list[dict[str, Any]], str]] = []
        self.refuse: set[int] = set()
        self.crash_after_send = False
        self.opened = 0

    async def open(self, user_id: int) -> int:
        self.opened += 1
        return 900_000 + user_id

    async def send(self, channel_id: int, embeds: Sequence[dict[str, Any]], nonce: str) -> int:
        if channel_id - 900_000 in self.refuse:
            raise DmRefused()
        if any(n == nonce for _, _, n in self.sent):  # Discord's enforce_nonce: the same message again
            return next(i for i, (_, _, n) in enumerate(self.sent, start=1) if n == nonce)
        self.sent.append((channel_id, list(embeds), nonce))
        if self.crash_after_send:
            self.crash_after_send = False
            raise KeyboardInterrupt("killed after the send")
        return len(self.sent)

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        for i, (channel, embeds, sent_nonce) in enumerate(self.sent, start=1):
            footer = (embeds[-1].get("footer") or {}).get("text", "") + (embeds[0].get("footer") or {}).get("text", "")
            if channel == channel_id and (sent_nonce == nonce or marker(nonce) in footer):
                return i
        return None

    def texts(self) -> list[str]:
        return [json.dumps(embeds, ensure_ascii=False) for _, embeds, _ in self.sent]


def service(db: DatabaseHandle, dms: FakeDms) -> FollowService:
    return FollowService(db.follows, db.alerts, db.articles, dms, Visibility())


def now() -> datetime:
    # Arrivals are recorded for recent articles only, so these tests live in the present.
    return datetime.now(UTC).replace(microsecond=0)


async def follow(
    db: DatabaseHandle,
    *,
    topic: str | None = None,
    keywords: str | None = None,
    delivery: str = "instant",
    at: datetime | None = None,
    tz: str = "Europe/Paris",
    at_time: str = "08:00",
) -> int:
    when = at or now() - timedelta(minutes=5)
    await db.follows.ensure_member(ALICE, tz, when)
    added = await db.follows.add(NewFollow(ALICE, topic, keywords, delivery, at_time, when.weekday(), when))
    return added.id


def fresh(n: int, **fields: Any) -> Any:
    fields.setdefault("published_at", now() - timedelta(minutes=1))
    return make_article(n, **fields)


async def test_an_instant_follow_sends_each_new_matching_article_once(db: DatabaseHandle) -> None:
    dms = FakeDms()
    svc = service(db, dms)
    await follow(db, keywords="solar -oil")
    await store(db, [fresh(1, title="Solar farms grow"), fresh(2, title="Solar and oil"), fresh(3, title="Wind")])
    assert await svc.judge_new(now()) == 1
    assert await svc.deliver_user(ALICE, now()) is None
    assert await svc.judge_new(now()) == 0 and await svc.deliver_user(ALICE, now()) is None
    assert len(dms.sent) == 1 and "Solar farms grow" in dms.texts()[0]
    # An edit of the same file is no arrival: nothing more.
    await store(db, [fresh(1, title="Solar farms grow (updated)")], drop=["news/a1.md"])
    await svc.judge_new(now())
    await svc.deliver_user(ALICE, now())
    assert len(dms.sent) == 1


async def test_an_article_two_follows_match_is_one_dm(db: DatabaseHandle) -> None:
    dms = FakeDms()
    svc = service(db, dms)
    await follow(db, topic="Widgets")
    await follow(db, keywords="story")
    await store(db, [fresh(1)])
    assert await svc.judge_new(now()) == 2
    await svc.deliver_user(ALICE, now())
    assert len(dms.sent) == 1


async def test_a_follow_gets_no_backlog(db: DatabaseHandle) -> None:
    dms = FakeDms()
    svc = service(db, dms)
    await store(db, [fresh(1)])
    await follow(db, topic="Widgets", at=now())
    assert await svc.judge_new(now()) == 0


async def test_past_the_hourly_cap_the_rest_go_out_as_one_roundup(db: DatabaseHandle) -> None:
    dms = FakeDms()
    svc = service(db, dms)
    await follow(db, topic="Widgets")
    await store(db, [fresh(n) for n in range(1, INSTANT_CAP + 6)])
    await svc.judge_new(now())
    t = now()
    wake = await svc.deliver_user(ALICE, t)
    assert len(dms.sent) == INSTANT_CAP
    assert wake == t + timedelta(hours=1)
    assert await svc.deliver_user(ALICE, t + timedelta(minutes=30)) == t + timedelta(hours=1)
    assert len(dms.sent) == INSTANT_CAP
    await svc.deliver_user(ALICE, t + timedelta(hours=1, seconds=1))
    assert len(dms.sent) == INSTANT_CAP + 1
    roundup = dms.texts()[-1]
    assert "5 new articles" in roundup
    everything = "\n".join(dms.texts())
    counts = [len(re.findall(rf"Story number {n}(?!\d)", everything)) for n in range(1, INSTANT_CAP + 6)]
    assert counts == [1] * (INSTANT_CAP + 5), "each article once, in a DM or the roundup"


async def test_quiet_hours_hold_articles_and_send_them_as_one_message_when_they_end(db: DatabaseHandle) -> None:
    dms = FakeDms()
    svc = service(db, dms)
    await follow(db, topic="Widgets", tz="UTC")
    t = now()
    start = (t - timedelta(hours=1)).hour * 60
    end = (t + timedelta(hours=2)).hour * 60
    await db.follows.set_quiet(ALICE, start, end)
    await store(db, [fresh(1), fresh(2)])
    await svc.judge_new(t)
    wake = await svc.deliver_user(ALICE, t)
    assert dms.sent == []
    assert wake is not None and wake.astimezone(UTC).hour == (t + timedelta(hours=2)).hour and wake > t
    await svc.deliver_user(ALICE, wake)
    assert len(dms.sent) == 1 and "2 new articles" in dms.texts()[0]


async def test_refused_dms_pause_the_member_and_say_so_once(db: DatabaseHandle) -> None:
    dms = FakeDms()
    dms.refuse.add(ALICE)
    svc = service(db, dms)
    await follow(db, topic="Widgets")
    await store(db, [fresh(1)])
    await svc.judge_new(now())
    await svc.deliver_user(ALICE, now())
    assert dms.sent == []
    assert await db.follows.active() == []
    assert "refused" in (await db.follows.take_notice(ALICE) or "")
    assert await db.follows.take_notice(ALICE) is None
    # DMs open again and the member resumes: what waited goes out, once.
    dms.refuse.clear()
    await db.follows.unpause_member(ALICE)
    await svc.deliver_user(ALICE, now())
    assert len(dms.sent) == 1


async def test_a_crash_right_after_the_send_leaves_exactly_one_dm(db: DatabaseHandle) -> None:
    dms = FakeDms()
    svc = service(db, dms)
    await follow(db, topic="Widgets")
    await store(db, [fresh(1)])
    await svc.judge_new(now())
    dms.crash_after_send = True
    with pytest.raises(KeyboardInterrupt):
        await svc.deliver_user(ALICE, now())
    assert [d.state for d in await db.follows.pending()] == ["pending"]
    restarted = service(db, dms)  # a new process: nothing in memory
    await restarted.recover(now())
    await restarted.deliver_user(ALICE, now())
    assert len(dms.sent) == 1
    assert await db.follows.pending() == []


async def test_a_daily_digest_arrives_at_local_time_across_a_dst_change(db: DatabaseHandle) -> None:
    # Paris moves from UTC+1 to UTC+2 on 29 March 2026: 08:00 local is 07:00 UTC, then 06:00 UTC.
    dms = FakeDms()
    svc = service(db, dms)
    created = datetime(2026, 3, 26, 12, tzinfo=UTC)
    await follow(db, topic="Widgets", delivery="daily", at=created)
    base = datetime(2026, 3, 26, 20, tzinfo=UTC)
    await store(db, [make_article(n, published_at=base + timedelta(hours=12 * n)) for n in range(8)])
    engine = FollowEngine(svc, db.follows)
    t = created
    while t < datetime(2026, 3, 31, 12, tzinfo=UTC):
        await engine.tick(t)
        upcoming = engine.next_digest()
        assert upcoming is not None and upcoming > t
        t = upcoming
    utc_times = [(o[1].day, o[1].hour) for o in engine.outcomes if o[2] == "sent"]
    assert utc_times == [(27, 7), (28, 7), (29, 6), (30, 6), (31, 6)]
    ids = [a for _, e, _ in dms.sent for a in json.dumps(e).split("Story number ")[1:]]
    assert len(ids) == len(set(ids)), "no article twice"


async def test_forget_leaves_nothing_even_with_a_dm_pending(
    db: DatabaseHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dms = FakeDms()
    svc = service(db, dms)
    await follow(db, keywords=SECRET_WORDS)
    await store(db, [fresh(1, title=f"About {SECRET_WORDS}"), fresh(2, title=f"More {SECRET_WORDS}")])
    await svc.judge_new(now())
    dms.crash_after_send = True
    with pytest.raises(KeyboardInterrupt):
        await svc.deliver_user(ALICE, now())
    assert await db.follows.pending()
    await svc.forget(ALICE)
    assert await db.follows.pending() == []
    assert await db.follows.users_with_work() == []
    assert (await db.follows.export(ALICE))["follows"] == []
    assert SECRET_WORDS not in caplog.text
