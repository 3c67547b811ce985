"""Hypothesis strategies for schedules and instants, weighted towards the hard cases: zones with
odd offsets or odd DST, and the months in which clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as Time
from functools import cache

from hypothesis import assume
from hypothesis import strategies as st

from bot.digests.schedule import CADENCES, Schedule, available_timezone_names, zone_for

TRICKY_ZONES = [
    "Europe/London",
    "America/New_York",
    "America/St_Johns",  # -3:30 / -2:30
    "America/Nuuk",  # DST jumps at local midnight
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kathmandu",  # +5:45
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
    "Pacific/Apia",  # skipped 30 December 2011
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Havana",  # DST at midnight
    "Asia/Tehran",
    "Antarctica/Troll",  # two-hour DST shift
]

zones = st.one_of(st.sampled_from(TRICKY_ZONES), st.sampled_from(available_timezone_names()))
times = st.builds(Time, st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 31, 45, 59]) | st.integers(0, 59))
schedules = st.builds(
    Schedule, time=times, timezone=zones, cadence=st.sampled_from(CADENCES), weekday=st.integers(0, 6)
)

_uniform = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))
# Clock changes cluster in March-April and September-November; land there often.
_dst_season = st.builds(
    lambda year, month, day, minute: datetime(year, month, day, tzinfo=UTC) + timedelta(minutes=minute),
    st.integers(1990, 2040),
    st.sampled_from([3, 4, 9, 10, 11]),
    st.integers(1, 28),
    st.integers(0, 24 * 60 - 1),
)
_apia_gap = st.builds(
    lambda minutes: datetime(2011, 12, 28, tzinfo=UTC) + timedelta(minutes=minutes), st.integers(0, 5 * 24 * 60)
)
instants = st.one_of(_uniform, _dst_season, _dst_season, _apia_gap)


@cache
def transitions(zone_name: str, year: int) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """``(instant, offset before, offset after)`` for each UTC-offset change of a zone in a year."""
    zone = zone_for(zone_name)
    found = []
    start = datetime(year, 1, 1, tzinfo=UTC)
    day = timedelta(days=1)

    def offset(moment: datetime) -> timedelta:
        value = moment.astimezone(zone).utcoffset()
        assert value is not None
        return value

    for i in range(366):
        lo, hi = start + i * day, start + (i + 1) * day
        if hi.year != year or offset(lo) == offset(hi):
            continue
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
        instant = hi.replace(microsecond=0)
        found.append((instant, offset(lo), offset(hi)))
    return tuple(found)


@st.composite
def clock_changes(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    """A schedule whose wall time falls in a DST gap or fold, and an instant near the change."""
    zone = draw(zones)
    year = draw(st.integers(1980, 2040))
    changes = [
        c for c in transitions(zone, year) if c[1] % timedelta(minutes=1) == c[2] % timedelta(minutes=1) == timedelta(0)
    ]
    assume(changes)
    instant, before, after = draw(st.sampled_from(changes))
    low, high = sorted((instant + before, instant + after))
    # A wall time in [low, high): missing (gap) or shown twice (fold).
    minutes = int((high - low) / timedelta(minutes=1))
    wall = (low + timedelta(minutes=draw(st.integers(0, max(minutes - 1, 0))))).replace(tzinfo=None)
    schedule = Schedule(wall.time(), zone, "daily")
    # From a day before the change to just after it: the slot may come after the change itself.
    return schedule, instant + timedelta(minutes=draw(st.integers(-26 * 60, 90)))


# A schedule and an instant: random ones, or ones right before a clock change that hits the wall time.
cases = st.one_of(st.tuples(schedules, instants), clock_changes())
