"""The bot's one paced queue: channel alerts go before members' DMs, and the pace holds for both.

A fake monotonic clock moves only when the queue sleeps, so minutes of load run in milliseconds and
every request's moment is exact.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.queue import PostQueue, Priority

RATE = 40.0


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        for _ in range(5):  # whoever is ready runs now: the one just given a turn, new arrivals
            await asyncio.sleep(0)
        self.now += seconds


@dataclass
class Sender:
    """Records what was sent, and when on the fake clock."""

    clock: FakeClock
    sent: list[tuple[str, float]] = field(default_factory=list)

    def request(self, name: str) -> Callable[[], Awaitable[str]]:
        async def send() -> str:
            self.sent.append((name, self.clock.now))
            return name

        return send


def make(rate: float = RATE) -> tuple[PostQueue, FakeClock, Sender]:
    clock = FakeClock()
    return PostQueue(rate, clock=clock, sleep=clock.sleep), clock, Sender(clock)


def within_pace(moments: list[float], rate: float) -> None:
    interval = 1.0 / rate
    for earlier, later in itertools.pairwise(moments):
        assert later - earlier >= interval - 1e-9
    # and never more than `rate` requests in any one second
    for i, start in enumerate(moments):
        assert sum(1 for m in moments[i:] if m < start + 1.0 - 1e-6) <= rate  # (float steps)


async def test_queued_alerts_go_before_queued_dms_and_keep_the_pace() -> None:
    queue, _, sender = make()
    dm_lane = queue.lane(Priority.DM)
    # DMs queued first, then a burst of channel alerts: every alert still goes out before any DM.
    dms = [asyncio.create_task(dm_lane.call(sender.request(f"dm{i}"))) for i in range(30)]
    alerts = [asyncio.create_task(queue.call(sender.request(f"alert{i}"))) for i in range(30)]
    await asyncio.gather(*dms, *alerts)
    names = [name for name, _ in sender.sent]
    assert names == [f"alert{i}" for i in range(30)] + [f"dm{i}" for i in range(30)]
    within_pace([moment for _, moment in sender.sent], RATE)
    assert queue.sent == 60


async def test_an_alert_arriving_while_dms_wait_takes_the_next_turn() -> None:
    queue, clock, sender = make()
    dm_lane = queue.lane(Priority.DM)
    dms = [asyncio.create_task(dm_lane.call(sender.request(f"dm{i}"))) for i in range(10)]
    for _ in range(1000):
        if len(sender.sent) >= 3:
            break
        await asyncio.sleep(0)
    # Some DMs went out; an alert now arrives under load and waits one turn at most, not for the rest.
    arrived = clock.now
    alert = asyncio.create_task(queue.call(sender.request("alert")))
    await asyncio.gather(*dms, alert)
    names = [name for name, _ in sender.sent]
    moment = dict(sender.sent)["alert"]
    assert moment - arrived <= queue.interval + 1e-9, names
    assert len([name for name in names[names.index("alert") :] if name.startswith("dm")]) >= 5
    assert sorted(names) == sorted([f"dm{i}" for i in range(10)] + ["alert"])
    within_pace([moment for _, moment in sender.sent], RATE)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Priority.ALERT, Priority.DM]), st.integers(0, 5)), max_size=40))
def test_any_mix_of_arrivals_keeps_the_pace_and_each_kind_in_order(plan: list[tuple[Priority, int]]) -> None:
    """Requests arrive in waves (a wave waits ``gap`` turns first): the pace holds, each kind goes in
    arrival order, and whenever a DM is sent no alert that arrived before that moment is still waiting."""

    async def scenario() -> None:
        queue, clock, sender = make()
        arrived: dict[str, float] = {}
        tasks = []

        async def arrive(name: str, priority: Priority) -> object:
            arrived[name] = clock.now  # the same step queues it
            return await queue.call(sender.request(name), priority=priority)

        for n, (priority, gap) in enumerate(plan):
            for _ in range(gap):
                await asyncio.sleep(0)
            tasks.append(asyncio.create_task(arrive(f"{priority.name}{n}", priority)))
        await asyncio.gather(*tasks)
        moments = [moment for _, moment in sender.sent]
        within_pace(moments, RATE)
        names = [name for name, _ in sender.sent]
        for kind in ("ALERT", "DM"):
            mine = [name for name in names if name.startswith(kind)]
            assert mine == sorted(mine, key=lambda name: int(name.removeprefix(kind)))
        for i, (name, moment) in enumerate(sender.sent):
            if name.startswith("DM"):
                later_alerts = [a for a, _ in sender.sent[i + 1 :] if a.startswith("ALERT")]
                assert all(arrived[a] >= moment for a in later_alerts), (name, later_alerts)

    asyncio.run(scenario())


async def test_a_429_pauses_everyone_then_the_request_is_tried_again() -> None:
    queue, clock, sender = make()
    tries = 0

    async def limited() -> str:
        nonlocal tries
        tries += 1
        if tries == 1:
            raise discord.RateLimited(2.5)
        sender.sent.append(("limited", clock.now))
        return "ok"

    start = clock.now
    first = asyncio.create_task(queue.call(limited))
    other = asyncio.create_task(queue.lane(Priority.DM).call(sender.request("dm")))
    assert await first == "ok"
    await other
    assert queue.waited_429 == 1
    assert all(moment >= start + 2.5 for _, moment in sender.sent)


async def test_a_cancelled_caller_gives_up_its_turn_and_close_stops_the_queue() -> None:
    queue, _, sender = make(rate=1.0)
    waiting = [asyncio.create_task(queue.call(sender.request(f"a{i}"))) for i in range(3)]
    await asyncio.sleep(0)
    waiting[1].cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert [name for name, _ in sender.sent] == ["a0", "a2"]
    late = asyncio.create_task(queue.call(sender.request("late")))
    stuck = asyncio.create_task(queue.call(sender.request("stuck")))
    await asyncio.sleep(0)
    await queue.close()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    late.cancel()
