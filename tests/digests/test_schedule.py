"""Slot computation against instants worked out by hand from the published tz rules.

Offsets used below (2026): London GMT+0 / BST+1, change 29 March 01:00 UTC and 25 October 01:00
UTC; New York EST-5 / EDT-4, change 8 March 07:00 UTC and 1 November 06:00 UTC; St John's
NST-3:30 / NDT-2:30, same local dates at 02:00 local; Lord Howe +10:30 / +11:00, DST ends
5 April (02:00 -> 01:30) and starts 4 October (02:00 -> 02:30); Kathmandu +5:45, Kiritimati +14,
Pago Pago -11 all year.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as Time

import pytest

from bot.digests.schedule import (
    Schedule,
    next_slot,
    previous_slot,
    schedule_for,
    slot_at,
    slot_date,
    slots_between,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- daylight saving: spring forward ---------------------------------------------------------------


def test_london_spring_forward_gap_posts_an_hour_later_on_the_wall_clock() -> None:
    s = Schedule(Time(1, 30), "Europe/London")
    # 28 March: GMT, 01:30 local = 01:30 UTC.
    assert slot_at(s, date(2026, 3, 28)) == utc(2026, 3, 28, 1, 30)
    # 29 March: 01:00-02:00 does not exist; 01:30 read as GMT = 01:30 UTC, which is 02:30 BST.
    gap = slot_at(s, date(2026, 3, 29))
    assert gap == utc(2026, 3, 29, 1, 30)
    assert gap.astimezone(s.zone).strftime("%H:%M %Z") == "02:30 BST"
    # 30 March: BST, 01:30 local = 00:30 UTC.
    assert slot_at(s, date(2026, 3, 30)) == utc(2026, 3, 30, 0, 30)


def test_new_york_spring_forward_gap_shifts_0230_to_0330() -> None:
    s = Schedule(Time(2, 30), "America/New_York")
    # 7 March EST: 02:30 + 5 h = 07:30 UTC. 8 March: 02:30 does not exist; read as EST it is
    # 07:30 UTC = 03:30 EDT. 9 March EDT: 02:30 + 4 h = 06:30 UTC.
    assert slots_between(s, utc(2026, 3, 7), utc(2026, 3, 10)) == [
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 8, 7, 30),
        utc(2026, 3, 9, 6, 30),
    ]
    assert utc(2026, 3, 8, 7, 30).astimezone(s.zone).strftime("%H:%M") == "03:30"


def test_a_time_just_after_the_gap_is_unaffected() -> None:
    s = Schedule(Time(3, 0), "America/New_York")
    # 03:00 EDT exists on 8 March (the first instant after the jump): 03:00 + 4 h = 07:00 UTC.
    assert slot_at(s, date(2026, 3, 8)) == utc(2026, 3, 8, 7, 0)


# --- daylight saving: fall back ----------------------------------------------------------------------


def test_london_fall_back_posts_once_at_the_first_0130() -> None:
    s = Schedule(Time(1, 30), "Europe/London")
    # 25 October: 01:00-02:00 happens twice, first in BST (00:30 UTC) then in GMT (01:30 UTC).
    # Only the first counts, and the next slot is the following day's 01:30 GMT.
    assert slots_between(s, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12)) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]
    assert next_slot(s, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)
    # Asked from between the two 01:30s, the answer is still the next day's.
    assert next_slot(s, utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 26, 1, 30)


def test_new_york_fall_back_posts_once_at_the_first_0130() -> None:
    s = Schedule(Time(1, 30), "America/New_York")
    # 1 November: 01:30 EDT (05:30 UTC) and 01:30 EST (06:30 UTC); only the first.
    assert slots_between(s, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12)) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
    ]


def test_daily_slots_are_a_local_day_apart_so_23_or_25_hours_across_dst() -> None:
    s = Schedule(Time(9, 0), "Europe/London")
    spring = slots_between(s, utc(2026, 3, 28), utc(2026, 3, 30))
    autumn = slots_between(s, utc(2026, 10, 24), utc(2026, 10, 26))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


# --- cadences -----------------------------------------------------------------------------------------


def test_weekdays_skip_the_weekend_and_follow_the_local_clock() -> None:
    s = Schedule(Time(9, 0), "Europe/London", "weekdays")
    # Friday 27 March 09:00 GMT = 09:00 UTC; then Monday 30 March 09:00 BST = 08:00 UTC.
    assert next_slot(s, utc(2026, 3, 27, 8)) == utc(2026, 3, 27, 9)
    assert next_slot(s, utc(2026, 3, 27, 9)) == utc(2026, 3, 30, 8)
    assert previous_slot(s, utc(2026, 3, 30, 7, 59)) == utc(2026, 3, 27, 9)
    with pytest.raises(ValueError, match="does not run on 2026-03-28"):
        slot_at(s, date(2026, 3, 28))


def test_weekly_runs_on_its_weekday_only() -> None:
    # Wednesday 18:00 in Kathmandu (+5:45) is 12:15 UTC.
    s = Schedule(Time(18, 0), "Asia/Kathmandu", "weekly", weekday=2)
    assert slots_between(s, utc(2026, 3, 1), utc(2026, 3, 22)) == [
        utc(2026, 3, 4, 12, 15),
        utc(2026, 3, 11, 12, 15),
        utc(2026, 3, 18, 12, 15),
    ]


def test_weekly_digest_takes_the_weekday_of_its_local_creation_date() -> None:
    # Sunday 22:00 UTC is already Monday 12:00 in Kiritimati (+14).
    s = schedule_for("08:00", "pacific/kiritimati", "weekly", created_at=utc(2026, 6, 14, 22))
    assert s.timezone == "Pacific/Kiritimati"
    assert s.weekday == 0
    # Next Monday 08:00 local = Sunday 18:00 UTC.
    assert next_slot(s, utc(2026, 6, 14, 22)) == utc(2026, 6, 21, 18)


# --- far and odd timezones ------------------------------------------------------------------------


def test_kiritimati_weekdays_are_its_own_weekdays_not_utc_ones() -> None:
    s = Schedule(Time(8, 0), "Pacific/Kiritimati", "weekdays")
    # Local Mon 15 June 08:00 (+14) = Sun 14 June 18:00 UTC; local Fri 19 June = Thu 18 June UTC;
    # local Sat 20 June 08:00 would be Fri 19 June 18:00 UTC and must not be a slot.
    slots = slots_between(s, utc(2026, 6, 13), utc(2026, 6, 21, 12))
    assert slots == [utc(2026, 6, d, 18) for d in (14, 15, 16, 17, 18)]
    assert [slot_date(s, slot) for slot in slots] == [date(2026, 6, d) for d in range(15, 20)]


def test_pago_pago_friday_evening_is_saturday_in_utc() -> None:
    s = Schedule(Time(20, 0), "Pacific/Pago_Pago", "weekdays")
    # Fri 19 June 20:00 (-11) = Sat 20 June 07:00 UTC; next is Mon 22 June 20:00 = Tue 23 June 07:00 UTC.
    assert next_slot(s, utc(2026, 6, 19, 12)) == utc(2026, 6, 20, 7)
    assert next_slot(s, utc(2026, 6, 20, 7)) == utc(2026, 6, 23, 7)


def test_st_johns_half_hour_offsets_and_gap() -> None:
    s = Schedule(Time(9, 0), "America/St_Johns")
    # January NST: 09:00 + 3:30 = 12:30 UTC; July NDT: 09:00 + 2:30 = 11:30 UTC.
    assert slot_at(s, date(2026, 1, 15)) == utc(2026, 1, 15, 12, 30)
    assert slot_at(s, date(2026, 7, 15)) == utc(2026, 7, 15, 11, 30)
    # 8 March 02:30 does not exist (02:00 -> 03:00); read as NST: 02:30 + 3:30 = 06:00 UTC = 03:30 NDT.
    gap = slot_at(Schedule(Time(2, 30), "America/St_Johns"), date(2026, 3, 8))
    assert gap == utc(2026, 3, 8, 6, 0)
    assert gap.astimezone(s.zone).strftime("%H:%M") == "03:30"


def test_lord_howe_half_hour_dst_shift() -> None:
    # 4 October: 02:00 -> 02:30. 02:15 read at +10:30 = 15:45 UTC on 3 October = 02:45 at +11.
    spring = Schedule(Time(2, 15), "Australia/Lord_Howe")
    gap = slot_at(spring, date(2026, 10, 4))
    assert gap == utc(2026, 10, 3, 15, 45)
    assert gap.astimezone(spring.zone).strftime("%H:%M") == "02:45"
    # 5 April: 02:00 -> 01:30, so 01:45 happens at +11 (14:45 UTC on 4 April) and at +10:30
    # (15:15 UTC); only the first. The day after, at +10:30: 01:45 - 10:30 = 15:15 UTC on 5 April.
    autumn = Schedule(Time(1, 45), "Australia/Lord_Howe")
    assert slots_between(autumn, utc(2026, 4, 4), utc(2026, 4, 5, 16)) == [
        utc(2026, 4, 4, 14, 45),
        utc(2026, 4, 5, 15, 15),
    ]


def test_kathmandu_quarter_hour_offset() -> None:
    s = Schedule(Time(0, 0), "Asia/Kathmandu")
    # Midnight at +5:45 is 18:15 UTC the day before.
    assert next_slot(s, utc(2026, 5, 1)) == utc(2026, 5, 1, 18, 15)
    assert slot_date(s, utc(2026, 5, 1, 18, 15)) == date(2026, 5, 2)


# --- clocks that jump over midnight or over a whole date --------------------------------------------


def test_nuuk_jump_at_midnight_keeps_one_slot_per_date() -> None:
    # Nuuk goes from -02 to -01 at 01:00 UTC on Sunday 29 March, i.e. Saturday 23:00 -> Sunday 00:00.
    # 23:30 on Saturday does not exist: read at -02 it is 01:30 UTC = Sunday 00:30 -01, and it
    # still belongs to Saturday. Sunday's own 23:30 -01 is 00:30 UTC on Monday.
    s = Schedule(Time(23, 30), "America/Nuuk")
    slots = slots_between(s, utc(2026, 3, 28), utc(2026, 3, 31))
    assert slots == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert [slot_date(s, slot) for slot in slots] == [date(2026, 3, 27), date(2026, 3, 28), date(2026, 3, 29)]
    # At 00:10 on Sunday (01:10 UTC) Saturday's shifted slot is still to come.
    assert next_slot(s, utc(2026, 3, 29, 1, 10)) == utc(2026, 3, 29, 1, 30)
    assert slots_between(s, utc(2026, 3, 29, 1, 10), utc(2026, 3, 29, 2)) == [utc(2026, 3, 29, 1, 30)]
    assert previous_slot(s, utc(2026, 3, 29, 1, 40)) == utc(2026, 3, 29, 1, 30)


def test_samoa_skipped_date_has_no_slot_and_nothing_repeats() -> None:
    # Apia went from -10 to +14 at the end of 29 December 2011: 30 December never happened there.
    # 09:00 on 29 Dec (-10) = 19:00 UTC; 31 Dec 09:00 (+14) = 30 Dec 19:00 UTC.
    s = Schedule(Time(9, 0), "Pacific/Apia")
    slots = slots_between(s, utc(2011, 12, 29), utc(2012, 1, 1))
    assert slots == [utc(2011, 12, 29, 19), utc(2011, 12, 30, 19), utc(2011, 12, 31, 19)]
    assert [slot_date(s, slot) for slot in slots] == [date(2011, 12, 29), date(2011, 12, 31), date(2012, 1, 1)]


# --- schedule values --------------------------------------------------------------------------------------


def test_schedule_stores_the_canonical_timezone_name() -> None:
    assert Schedule(Time(9, 0), "america/new_york") == Schedule(Time(9, 0), "America/New_York")
    assert Schedule(Time(9, 0), "  Europe/LONDON ").timezone == "Europe/London"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": Time(9, 0, 30)}, "whole minutes"),
        ({"time": Time(9, 0, tzinfo=UTC)}, "without a timezone"),
        ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({"cadence": "monthly"}, "unknown cadence 'monthly'"),
        ({"cadence": "weekly", "weekday": 7}, "weekday must be 0"),
    ],
)
def test_invalid_schedules_are_refused(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"time": Time(9, 0), "timezone": "UTC", "cadence": "daily"}
    values.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        Schedule(**values)  # type: ignore[arg-type]


def test_schedule_describes_itself() -> None:
    assert Schedule(Time(9, 5), "Europe/London").describe() == "daily at 09:05 (Europe/London)"
    assert Schedule(Time(18, 0), "UTC", "weekly", 4).describe() == "weekly on Fridays at 18:00 (UTC)"
    assert "Monday to Friday" in Schedule(Time(7, 0), "UTC", "weekdays").describe()


def test_naive_instants_are_refused() -> None:
    s = Schedule(Time(9, 0))
    with pytest.raises(ValueError, match="aware"):
        next_slot(s, datetime(2026, 1, 1))
