"""Properties of slot computation for random schedules, timezones and instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.digests.schedule import (
    Schedule,
    base36,
    due_slots,
    next_slot,
    next_slots,
    previous_slot,
    slot_date,
    slots_between,
)

from .strategies import cases, instants, schedules

PROPS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TINY = timedelta(microseconds=1)


def wall_exists(schedule: Schedule, local_date: date) -> bool:
    """Whether the schedule's wall time happens on ``local_date``, judged by sampling the clock."""
    zone = schedule.zone
    wall = datetime.combine(local_date, schedule.time)
    # Every instant that could show this wall time lies within a day of it read as UTC.
    start = wall.replace(tzinfo=UTC) - timedelta(hours=27)
    return any(
        (start + timedelta(minutes=m)).astimezone(zone).replace(tzinfo=None) == wall for m in range(0, 54 * 60, 1)
    )


def date_exists(schedule: Schedule, local_date: date) -> bool:
    start = datetime.combine(local_date, datetime.min.time()).replace(tzinfo=UTC) - timedelta(hours=27)
    return any(
        (start + timedelta(minutes=m)).astimezone(schedule.zone).date() == local_date for m in range(0, 80 * 60, 15)
    )


@PROPS
@given(cases)
def test_next_slot_is_strictly_after_and_nothing_lies_between(case: tuple[Schedule, datetime]) -> None:
    schedule, after = case
    upcoming = next_slot(schedule, after)
    assert upcoming > after
    assert upcoming.tzinfo is UTC
    # It is a slot, and there is no slot in (after, upcoming).
    assert previous_slot(schedule, upcoming) == upcoming
    assert previous_slot(schedule, upcoming - TINY) <= after
    assert schedule.runs_on(slot_date(schedule, upcoming))


@PROPS
@given(cases)
def test_previous_slot_is_at_or_before_and_the_next_one_is_after(case: tuple[Schedule, datetime]) -> None:
    schedule, moment = case
    before = previous_slot(schedule, moment)
    assert before <= moment
    assert next_slot(schedule, before) > moment


@PROPS
@given(cases, st.integers(1, 40))
def test_slots_between_matches_iterating_next_slot(case: tuple[Schedule, datetime], days: int) -> None:
    schedule, start = case
    end = start + timedelta(days=days, minutes=7)
    expected = []
    cursor = next_slot(schedule, start)
    while cursor <= end:
        expected.append(cursor)
        cursor = next_slot(schedule, cursor)
    assert slots_between(schedule, start, end) == expected
    assert slots_between(schedule, end, start) == []


@PROPS
@given(cases)
def test_one_slot_per_eligible_local_date_and_no_date_skipped(case: tuple[Schedule, datetime]) -> None:
    schedule, start = case
    slots = slots_between(schedule, start, start + timedelta(days=22))
    dates = [slot_date(schedule, slot) for slot in slots]
    assert dates == sorted(set(dates)), "two slots on one date, or out of order"
    assert all(schedule.runs_on(d) for d in dates)
    for earlier, later in pairwise(dates):
        gap = (later - earlier).days
        expected = {"daily": {1}, "weekdays": {1, 3}, "weekly": {7}}[schedule.cadence]
        if gap in expected:
            continue
        # Only a date the zone removed from its calendar may be missing.
        missing = [earlier + timedelta(days=i) for i in range(1, gap) if schedule.runs_on(earlier + timedelta(days=i))]
        assert missing, (earlier, later)
        assert not any(date_exists(schedule, d) for d in missing), (earlier, later, missing)


@PROPS
@given(cases)
def test_slot_shows_the_scheduled_wall_time_or_is_shifted_by_exactly_the_gap(case: tuple[Schedule, datetime]) -> None:
    schedule, after = case
    slot = next_slot(schedule, after)
    local_date = slot_date(schedule, slot)
    wall = datetime.combine(local_date, schedule.time)
    shown = slot.astimezone(schedule.zone).replace(tzinfo=None)
    if shown == wall:
        # Fall back: the first of the instants showing this wall time.
        earlier = (slot - timedelta(minutes=m) for m in range(1, 25 * 60))
        repeated = any(e.astimezone(schedule.zone).replace(tzinfo=None) == wall for e in earlier)
        assert not repeated
        later = (slot + timedelta(minutes=m) for m in range(1, 25 * 60))
        shown_twice = any(e.astimezone(schedule.zone).replace(tzinfo=None) == wall for e in later)
        event("fold: first of two" if shown_twice else "wall time shown")
        return
    event("shifted by a gap")
    # Spring forward: the wall time never happened that day, and the slot is late by exactly the
    # size of the jump, which happened in the time the slot was shifted by.
    assert not wall_exists(schedule, local_date)
    shift = shown - wall
    assert timedelta(0) < shift <= timedelta(hours=24)
    before = (slot - shift - TINY).astimezone(schedule.zone).utcoffset()
    after_jump = slot.astimezone(schedule.zone).utcoffset()
    assert before is not None
    assert after_jump is not None
    assert after_jump - before == shift


@PROPS
@given(
    schedules,
    instants,
    st.integers(0, 60 * 24 * 20),
    st.one_of(st.none(), st.integers(-60 * 24 * 5, 60 * 24 * 20)),
    st.integers(0, 60 * 24 * 2),
)
def test_due_slots_delivers_at_most_one_recent_slot(
    schedule: Schedule, created_at: datetime, age: int, last_offset: int | None, grace_minutes: int
) -> None:
    now = created_at + timedelta(minutes=age)
    last_slot = None if last_offset is None else created_at + timedelta(minutes=last_offset)
    grace = timedelta(minutes=grace_minutes)
    due = due_slots(schedule, last_slot=last_slot, created_at=created_at, now=now, grace=grace)

    assert len(due.deliver) <= 1
    for slot in due.deliver:
        assert now - grace <= slot <= now
    floor = max(created_at, last_slot) if last_slot is not None else created_at
    missed = slots_between(schedule, floor, now)
    # Every missed slot is either delivered or reported as skipped, and the delivered one is the newest.
    assert sorted(due.skipped + due.deliver) == missed
    assert all(slot > floor for slot in missed)
    event(f"deliver {len(due.deliver)}, skipped {'some' if due.skipped else 'none'}")
    if due.deliver:
        assert due.deliver[0] == missed[-1]
    elif missed:
        assert now - missed[-1] > grace


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(schedules, st.one_of(st.none(), instants)), max_size=20), instants)
def test_next_slots_agree_with_next_slot_and_are_sorted(
    entries: list[tuple[Schedule, datetime | None]], after: datetime
) -> None:
    keyed = [(i, schedule, last) for i, (schedule, last) in enumerate(entries)]
    upcoming = next_slots(keyed, after)
    assert [item.slot for item in upcoming] == sorted(item.slot for item in upcoming)
    assert sorted(item.key for item in upcoming) == list(range(len(entries)))
    by_key = {item.key: item.slot for item in upcoming}
    for i, schedule, last in keyed:
        floor = after if last is None else max(after, last)
        assert by_key[i] == next_slot(schedule, floor)


@given(st.integers(min_value=0, max_value=2**64))
def test_base36_is_the_number_in_lower_case_base_36(number: int) -> None:
    text = base36(number)
    assert int(text, 36) == number and text == text.lower() and (text == "0" or not text.startswith("0"))
