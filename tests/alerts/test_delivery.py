"""Alert delivery without Discord: a fake outbox over a real database, on each backend.

Exactly once through a crash at every step (a hypothesis test over crash points, as for digests),
floods held for one roundup that lists every article, the ping cap, the publish limit, pauses on
failures and retries on transient errors.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts import rules
from bot.alerts.service import AlertService
from bot.db import DatabaseHandle as Database
from bot.db import open_database
from bot.db.alert_types import Alert, NewAlert
from bot.db.types import Visibility
from bot.delivery import ChannelUnavailable, TryLater
from bot.render.alert import Message
from tests import postgres
from tests.db.conftest import make_article, store


class Crash(BaseException):
    """The process dies here (BaseException: no handler of the service catches it)."""


@dataclass
class Posted:
    id: int
    channel: int
    nonce: str
    message: Message
    published: bool = False


@dataclass
class FakeOutbox:
    """Discord as the service sees it. ``crash_at``: the n-th call dies, before or after its effect."""

    crash_at: int | None = None
    crash_after: bool = False
    problem_text: str | None = None
    fail_times: int = 0
    tags: list[tuple[int, str]] = field(default_factory=lambda: [(901, "Widgets"), (902, "Gadgets")])
    calls: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    messages: list[Posted] = field(default_factory=list)
    threads: dict[int, tuple[int, str, list[int]]] = field(default_factory=dict)  # id -> (parent, name, tags)

    def _step(self) -> bool:
        """Count a call; crash before it if it is the chosen one. True: crash after its effect."""
        self.calls += 1
        if self.fail_times > 0:
            self.fail_times -= 1
            raise TryLater("Discord answered 503")
        if self.crash_at == self.calls and not self.crash_after:
            raise Crash
        return self.crash_at == self.calls

    def problem(self, alert: Alert) -> str | None:
        return self.problem_text

    def forum_tags(self, channel_id: int) -> list[tuple[int, str]]:
        return self.tags

    async def send(self, channel_id: int, message: Message, nonce: str) -> int:
        crash = self._step()
        existing = [m for m in self.messages if m.channel == channel_id and m.nonce == nonce]
        if existing:  # enforce_nonce: Discord returns the earlier message
            result = existing[0].id
        else:
            result = next(self.ids)
            self.messages.append(Posted(result, channel_id, nonce, message))
        if crash:
            raise Crash
        return result

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        self.calls += 1
        return next((m.id for m in self.messages if m.channel == channel_id and m.nonce == nonce), None)

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        crash = self._step()
        assert message_id not in self.threads, "Discord refuses a second thread on one message"
        self.threads[message_id] = (channel_id, name, [])
        if crash:
            raise Crash
        return message_id

    async def thread_exists(self, thread_id: int) -> bool:
        return thread_id in self.threads

    async def forum_post(self, forum_id: int, name: str, tags: Sequence[int], message: Message, nonce: str) -> int:
        crash = self._step()
        thread = next(self.ids)
        self.threads[thread] = (forum_id, name, list(tags))
        self.messages.append(Posted(thread, thread, nonce, message))
        if crash:
            raise Crash
        return thread

    async def find_forum_post(self, forum_id: int, nonce: str, *, after: datetime) -> int | None:
        for thread, (parent, _, _) in self.threads.items():
            if parent == forum_id and any(m.channel == thread and m.nonce == nonce for m in self.messages):
                return thread
        return None

    async def publish(self, channel_id: int, message_id: int) -> None:
        crash = self._step()
        for m in self.messages:
            if m.id == message_id:
                m.published = True
        if crash:
            raise Crash

    def article_ids(self) -> list[str]:
        """Every article id shown in any message (cards by their Read URL, lines by their link)."""
        found: list[str] = []
        for m in self.messages:
            text = str(m.message)
            found += re.findall(r"https://example\.org/news/(\d+)\)", text)
            if m.message.get("article"):
                found.append(str(m.message["article"]).lstrip("a"))
        return found


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


async def open_vis(guild_id: int) -> Visibility:
    return Visibility()


def service(db: Database, outbox: FakeOutbox, clock: Clock, audit: list[Any] | None = None) -> AlertService:
    async def record(guild_id: int, user_id: int, action: str, details: Any) -> None:
        if audit is not None:
            audit.append((guild_id, action, details))

    return AlertService(
        db.alerts, db.articles, outbox, open_vis, max_age=timedelta(hours=48), clock=clock, audit=record
    )


async def make_alert(db: Database, clock: Clock, **fields: Any) -> Alert:
    values: dict[str, Any] = {
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
        "posts_per_window": rules.DEFAULT_POSTS_PER_WINDOW,
        "created_at": clock.now - timedelta(hours=1),
        "created_by": 5,
    }
    values.update(fields)
    return await db.alerts.add(NewAlert(**values))


async def arrive(db: Database, clock: Clock, numbers: Sequence[int]) -> None:
    await store(
        db,
        [make_article(n, published_at=clock.now - timedelta(minutes=30) + timedelta(seconds=n)) for n in numbers],
    )


async def run_until_idle(svc: AlertService, alert_id: int, rounds: int = 50) -> None:
    for _ in range(rounds):
        await svc.judge_new()
        outcome = await svc.deliver(alert_id)
        if outcome.kind in ("idle", "held", "paused"):
            return


async def test_an_article_arrives_and_is_posted_once(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox()
    alert = await make_alert(db, clock)
    svc = service(db, outbox, clock)
    await arrive(db, clock, [1])
    await run_until_idle(svc, alert.id)
    await run_until_idle(svc, alert.id)
    assert outbox.article_ids() == ["1"]
    # An edit of the posted article posts nothing.
    await store(
        db, [make_article(1, title="Edited", published_at=clock.now - timedelta(minutes=29))], drop=["news/a1.md"]
    )
    await run_until_idle(svc, alert.id)
    assert outbox.article_ids() == ["1"]


async def test_creating_an_alert_never_posts_the_backlog(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox()
    await arrive(db, clock, [1, 2, 3])
    alert = await make_alert(db, clock, created_at=clock.now - timedelta(days=1))
    svc = service(db, outbox, clock)
    await run_until_idle(svc, alert.id)
    assert outbox.messages == []


STYLES = [
    {"style": "embed"},
    {"style": "compact"},
    {"style": "thread"},
    {"channel_kind": "forum"},
    {"channel_kind": "announcement", "publish": True},
    {"channel_kind": "announcement", "publish": True, "style": "thread", "role_id": 77},
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(style=st.sampled_from(STYLES), crash_at=st.integers(1, 12), after=st.booleans(), count=st.integers(1, 3))
async def test_a_crash_at_any_step_still_posts_each_article_exactly_once(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    style: dict[str, Any],
    crash_at: int,
    after: bool,
    count: int,
) -> None:
    # A fresh database for each example.
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('crash') / 'alerts.sqlite3'}"
    else:
        url = database_url
        await postgres.truncate_all(url)
    clock = Clock()
    outbox = FakeOutbox(crash_at=crash_at, crash_after=after)
    async with await open_database(url) as db:
        alert = await make_alert(db, clock, **style)
        await arrive(db, clock, list(range(1, count + 1)))
        with contextlib.suppress(Crash):
            await run_until_idle(service(db, outbox, clock), alert.id)
    outbox.crash_at = None
    async with await open_database(url) as db:  # the restart: a new process, the same database
        svc = service(db, outbox, clock)
        await svc.recover()
        await run_until_idle(svc, alert.id)
        assert sorted(outbox.article_ids()) == sorted(str(n) for n in range(1, count + 1))
        assert await db.alerts.pending() == []
        if style.get("style") == "thread":
            assert len(outbox.threads) == count
        if style.get("publish"):
            assert sum(m.published for m in outbox.messages) == count
        if style.get("channel_kind") == "forum":
            assert [t[2] for t in outbox.threads.values()] == [[901]] * count, "the topic's tag applied"


async def test_a_flood_posts_the_limit_then_one_roundup_with_every_article(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox()
    alert = await make_alert(db, clock)
    svc = service(db, outbox, clock)
    await arrive(db, clock, list(range(1, 501)))
    await run_until_idle(svc, alert.id)
    assert len(outbox.messages) == 5
    await run_until_idle(svc, alert.id)
    assert len(outbox.messages) == 5, "held while the window is full"
    stats = await db.alerts.stats(alert.id, clock.now)
    assert stats.held == 495
    clock.now += rules.FLOOD_WINDOW
    await run_until_idle(svc, alert.id)
    roundup = outbox.messages[5:]
    assert 1 < len(roundup) < 30, "as few messages as the lines need"
    assert "and 495 more" in str(roundup[0].message)
    assert sorted(outbox.article_ids(), key=int) == [str(n) for n in range(1, 501)], "every article, once"
    for m in roundup:
        assert len(m.message["embeds"]) <= 10
        assert sum(len(e.get("description", "")) + len(e.get("title", "")) for e in m.message["embeds"]) <= 6000


async def test_pings_stop_after_three_an_hour(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox()
    alert = await make_alert(db, clock, role_id=77, posts_per_window=30)
    svc = service(db, outbox, clock)
    await arrive(db, clock, list(range(1, 7)))
    await run_until_idle(svc, alert.id)
    roles = [m.message.get("role") for m in outbox.messages]
    assert roles == [77, 77, 77, None, None, None]
    assert (await db.alerts.stats(alert.id, clock.now)).ping_limited_1h == 3
    clock.now += rules.PING_WINDOW
    await arrive(db, clock, [7])
    await run_until_idle(svc, alert.id)
    assert outbox.messages[-1].message.get("role") == 77


async def test_publishing_stops_at_ten_an_hour_per_channel(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox()
    alert = await make_alert(db, clock, channel_kind="announcement", publish=True, posts_per_window=30)
    svc = service(db, outbox, clock)
    await arrive(db, clock, list(range(1, 13)))
    await run_until_idle(svc, alert.id)
    assert [m.published for m in outbox.messages] == [True] * 10 + [False] * 2
    assert (await db.alerts.stats(alert.id, clock.now)).publish_limited_1h == 2


async def test_an_unusable_channel_pauses_the_alert_and_keeps_its_articles(db: Database) -> None:
    clock, outbox, audit = Clock(), FakeOutbox(problem_text="#news was deleted"), []
    alert = await make_alert(db, clock)
    svc = service(db, outbox, clock, audit)
    await arrive(db, clock, [1])
    await run_until_idle(svc, alert.id)
    paused = await db.alerts.get(alert.id)
    assert paused is not None and paused.paused and paused.pause_reason == "#news was deleted"
    assert audit == [(1, "alert.pause", {"alert": alert.id, "channel": 10, "reason": "#news was deleted"})]
    assert len(await db.alerts.waiting(alert.id)) == 1, "nothing dropped"
    outbox.problem_text = None
    await db.alerts.set_paused(alert.id, paused=False, reason=None)
    await run_until_idle(svc, alert.id)
    assert outbox.article_ids() == ["1"]


async def test_a_refusal_while_sending_pauses_and_the_articles_wait(db: Database) -> None:
    clock = Clock()

    class Refusing(FakeOutbox):
        async def send(self, channel_id: int, message: Message, nonce: str) -> int:
            raise ChannelUnavailable("I lack the **Send Messages** permission in #news")

    outbox = Refusing()
    alert = await make_alert(db, clock)
    svc = service(db, outbox, clock)
    await arrive(db, clock, [1])
    await run_until_idle(svc, alert.id)
    current = await db.alerts.get(alert.id)
    assert current is not None and current.paused and "Send Messages" in (current.pause_reason or "")
    assert [i.article_id for i in await db.alerts.waiting(alert.id)] == ["a1"]


async def test_transient_errors_keep_the_post_pending_and_retry(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox(fail_times=2)
    alert = await make_alert(db, clock)
    svc = service(db, outbox, clock)
    await arrive(db, clock, [1])
    await svc.judge_new()
    assert (await svc.deliver(alert.id)).kind == "retry"
    assert len(await db.alerts.pending()) == 1
    assert (await svc.deliver(alert.id)).kind == "retry"
    assert (await svc.deliver(alert.id)).kind == "posted"
    assert outbox.article_ids() == ["1"]


async def test_why_names_posted_held_and_skipped(db: Database) -> None:
    clock, outbox = Clock(), FakeOutbox()
    alert = await make_alert(db, clock, posts_per_window=1, min_quality=60)
    svc = service(db, outbox, clock)
    await store(
        db,
        [
            make_article(n, published_at=clock.now - timedelta(minutes=30) + timedelta(seconds=n), quality=70)
            for n in (1, 2)
        ]
        + [make_article(3, published_at=clock.now - timedelta(minutes=20), quality=50)],
    )
    await run_until_idle(svc, alert.id)
    current = await db.alerts.get(alert.id)
    assert current is not None
    answers = {}
    for n in (1, 2, 3):
        article = await db.articles.get(f"a{n}", Visibility())
        assert article is not None
        answers[n] = await svc.why(current, article)
    assert answers[1].posted and answers[1].link is not None
    assert not answers[2].posted and "held back by the rate limit" in answers[2].detail
    assert not answers[3].posted and "50" in answers[3].detail and "60" in answers[3].detail
    assert current.last_skip_article == "a3"
