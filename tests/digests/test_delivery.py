"""Exactly-once delivery support: which slot is due after downtime, the article window, the keys
recorded per delivery and the Discord nonce, and the scheduler's many-digest lookup."""

from __future__ import annotations

import random
import re
import time as clock
from datetime import UTC, datetime, timedelta
from datetime import time as Time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digests.schedule import (
    CADENCES,
    DEFAULT_GRACE,
    Schedule,
    available_timezone_names,
    digest_window,
    due_slots,
    first_window,
    next_slot,
    next_slots,
    nonce_for,
    slot_key,
)

LONDON_9 = Schedule(Time(9, 0), "Europe/London")
CREATED = datetime(2026, 3, 1, 12, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- due slots ------------------------------------------------------------------------------------


def test_on_time_the_current_slot_is_delivered() -> None:
    due = due_slots(LONDON_9, last_slot=utc(2026, 3, 9, 9), created_at=CREATED, now=utc(2026, 3, 10, 9, 0, 5))
    assert due.deliver == [utc(2026, 3, 10, 9)]
    assert due.skipped == []


def test_after_downtime_only_the_newest_slot_within_grace_is_delivered() -> None:
    # Down from the 6th's delivery until 11:00 on the 9th: 7th, 8th and 9th were missed; the 9th
    # is two hours late (within 6 h), the older two are skipped.
    due = due_slots(LONDON_9, last_slot=utc(2026, 3, 6, 9), created_at=CREATED, now=utc(2026, 3, 9, 11))
    assert due.deliver == [utc(2026, 3, 9, 9)]
    assert due.skipped == [utc(2026, 3, 7, 9), utc(2026, 3, 8, 9)]


def test_a_slot_missed_by_more_than_the_grace_window_is_skipped() -> None:
    due = due_slots(LONDON_9, last_slot=utc(2026, 3, 6, 9), created_at=CREATED, now=utc(2026, 3, 9, 16))
    assert due.deliver == []
    assert due.skipped == [utc(2026, 3, 7, 9), utc(2026, 3, 8, 9), utc(2026, 3, 9, 9)]


def test_grace_boundary_is_inclusive() -> None:
    slot = utc(2026, 3, 9, 9)
    late = due_slots(LONDON_9, last_slot=None, created_at=CREATED, now=slot + DEFAULT_GRACE)
    too_late = due_slots(LONDON_9, last_slot=None, created_at=CREATED, now=slot + DEFAULT_GRACE + timedelta(seconds=1))
    assert late.deliver == [slot]
    assert too_late.deliver == []
    assert too_late.skipped[-1] == slot


def test_slots_before_creation_never_count() -> None:
    # Created at 10:00 UTC, after that day's 09:00 slot.
    created = utc(2026, 3, 2, 10)
    assert due_slots(LONDON_9, last_slot=None, created_at=created, now=utc(2026, 3, 2, 11)) == ([], [])
    # Created at 08:00, the 09:00 slot is the first one.
    early = utc(2026, 3, 2, 8)
    assert due_slots(LONDON_9, last_slot=None, created_at=early, now=utc(2026, 3, 2, 9, 30)).deliver == [
        utc(2026, 3, 2, 9)
    ]


def test_a_delivered_slot_is_not_due_again_after_a_restart() -> None:
    due = due_slots(LONDON_9, last_slot=utc(2026, 3, 2, 9), created_at=CREATED, now=utc(2026, 3, 2, 9, 1))
    assert due == ([], [])


def test_due_across_the_spring_forward() -> None:
    # 29 March 09:00 BST = 08:00 UTC; restarting at 08:30 UTC delivers it.
    due = due_slots(LONDON_9, last_slot=utc(2026, 3, 28, 9), created_at=CREATED, now=utc(2026, 3, 29, 8, 30))
    assert due.deliver == [utc(2026, 3, 29, 8)]


def test_clock_moved_back_means_nothing_is_due() -> None:
    due = due_slots(LONDON_9, last_slot=utc(2026, 3, 12, 9), created_at=CREATED, now=utc(2026, 3, 10, 9, 30))
    assert due == ([], [])


def test_due_slots_refuses_naive_times_and_negative_grace() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        due_slots(LONDON_9, last_slot=None, created_at=CREATED, now=datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="grace"):
        due_slots(LONDON_9, last_slot=None, created_at=CREATED, now=utc(2026, 3, 2), grace=timedelta(hours=-1))


# --- windows --------------------------------------------------------------------------------------


def test_first_window_of_a_daily_digest_is_the_previous_local_day() -> None:
    # 29 March 09:00 BST (08:00 UTC) starts from 28 March 09:00 GMT: 23 hours of news.
    assert first_window(LONDON_9, utc(2026, 3, 29, 8)) == utc(2026, 3, 28, 9)


def test_first_window_of_a_monday_weekdays_digest_covers_the_weekend() -> None:
    weekdays = Schedule(Time(9, 0), "Europe/London", "weekdays")
    assert first_window(weekdays, utc(2026, 3, 30, 8)) == utc(2026, 3, 27, 9)


def test_first_window_of_a_weekly_digest_is_a_week() -> None:
    weekly = Schedule(Time(18, 0), "Asia/Kathmandu", "weekly", weekday=2)
    assert first_window(weekly, utc(2026, 3, 18, 12, 15)) == utc(2026, 3, 11, 12, 15)


def test_digest_window_never_spans_more_than_one_period() -> None:
    slot = utc(2026, 3, 10, 9)
    previous = utc(2026, 3, 9, 9)
    assert digest_window(LONDON_9, slot, None) == (previous, slot)
    assert digest_window(LONDON_9, slot, previous) == (previous, slot)
    # After days of downtime the skipped days' news is not dragged in.
    assert digest_window(LONDON_9, slot, utc(2026, 3, 5, 9)) == (previous, slot)
    # A schedule moved later in the day: start from the delivery that happened.
    assert digest_window(LONDON_9, slot, utc(2026, 3, 9, 20)) == (utc(2026, 3, 9, 20), slot)
    assert digest_window(LONDON_9, slot, previous, overlap=timedelta(hours=2)) == (utc(2026, 3, 9, 7), slot)


# --- keys and nonces ------------------------------------------------------------------------------


def test_slot_key_is_readable_and_stable() -> None:
    slot = utc(2026, 3, 29, 8)
    assert slot_key(42, slot) == "42@20260329T080000Z"
    # The same instant given in another zone gives the same key.
    assert slot_key(42, slot.astimezone(LONDON_9.zone)) == "42@20260329T080000Z"


def test_nonce_fits_discord_and_encodes_digest_and_minute() -> None:
    slot = utc(2026, 3, 29, 8)
    nonce = nonce_for(42, slot)
    match = re.fullmatch(r"d([0-9a-z]+)-([0-9a-z]+)", nonce)
    assert match is not None
    assert int(match.group(1), 36) == 42
    assert int(match.group(2), 36) * 60 == int(slot.timestamp())
    assert len(nonce_for(2**63 - 1, utc(9999, 12, 31, 23, 59))) <= 25


def test_nonce_refuses_what_it_cannot_encode() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        nonce_for(-1, utc(2026, 1, 1))
    with pytest.raises(ValueError, match="before 1970"):
        nonce_for(1, utc(1969, 12, 31))


@given(
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)),
    st.integers(1, 10**6),
)
def test_nonces_differ_for_different_deliveries(a: int, b: int, slot: datetime, minutes_later: int) -> None:
    nonce = nonce_for(a, slot)
    assert len(nonce) <= 25
    assert nonce == nonce_for(a, slot)
    if a != b:
        assert nonce != nonce_for(b, slot)
    later = slot.replace(second=0, microsecond=0) + timedelta(minutes=minutes_later)
    if later.year <= 9999:
        assert nonce != nonce_for(a, later)


# --- many digests ------------------------------------------------------------------------------------


def random_entries(n: int, seed: int = 4) -> list[tuple[int, Schedule, datetime | None]]:
    rnd = random.Random(seed)
    names = available_timezone_names()
    return [
        (
            i,
            Schedule(
                Time(rnd.randrange(24), rnd.randrange(60)), rnd.choice(names), rnd.choice(CADENCES), rnd.randrange(7)
            ),
            None if i % 3 else utc(2026, 3, 28, rnd.randrange(24)),
        )
        for i in range(n)
    ]


def test_next_slots_orders_digests_for_a_heap() -> None:
    entries = [
        (1, Schedule(Time(9, 0), "Europe/London"), None),
        (2, Schedule(Time(8, 0), "Europe/London"), None),
        (3, Schedule(Time(9, 0), "Asia/Kathmandu"), None),
        # Delivered today's slot already (clock skew): its next is tomorrow's.
        (4, Schedule(Time(7, 0), "UTC"), utc(2026, 3, 2, 7)),
    ]
    upcoming = next_slots(entries, utc(2026, 3, 2, 6))
    # Kathmandu 09:00 = 03:15 UTC on the 3rd (the 2nd's was at 03:15 UTC, before 06:00).
    assert upcoming == [
        (utc(2026, 3, 2, 8), 2),
        (utc(2026, 3, 2, 9), 1),
        (utc(2026, 3, 3, 3, 15), 3),
        (utc(2026, 3, 3, 7), 4),
    ]
    assert upcoming[0].slot == utc(2026, 3, 2, 8)
    assert upcoming[0].key == 2


def test_ten_thousand_next_slots_in_well_under_a_second() -> None:
    entries = random_entries(10_000)
    after = utc(2026, 3, 29, 0, 45)
    next_slots(entries[:100], after)
    start = clock.perf_counter()
    upcoming = next_slots(entries, after)
    elapsed = clock.perf_counter() - start
    assert len(upcoming) == 10_000
    assert all(item.slot > after for item in upcoming)
    assert elapsed < 0.5, f"{elapsed:.3f} s for 10,000 digests"
    # Spot-check against the one-at-a-time function.
    by_key = {item.key: item.slot for item in upcoming}
    for key, schedule, last in entries[::997]:
        assert by_key[key] == next_slot(schedule, max(after, last) if last else after)
