"""What users type into /digest add: times, timezones and the timezone autocomplete."""

from __future__ import annotations

import re
import time as clock
from datetime import time as Time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digests.schedule import (
    available_timezone_names,
    canonical_timezone,
    parse_cadence,
    parse_time,
    parse_timezone,
    timezone_suggestions,
)

# --- times -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:30", Time(9, 30)),
        ("9:05", Time(9, 5)),
        (" 18:05 ", Time(18, 5)),
        ("00:00", Time(0, 0)),
        ("23:59", Time(23, 59)),
    ],
)
def test_valid_times(text: str, expected: Time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("24:00", "hour 24 is out of range in '24:00': hours go from 00 to 23"),
        ("12:60", "minute 60 is out of range in '12:60': minutes go from 00 to 59"),
        ("noon", "'noon' is not a time: use the 24-hour clock as HH:MM, for example 09:30 or 18:05"),
        ("", "time is empty: use the 24-hour clock as HH:MM"),
        ("9:5", "'9:5' is not a time"),
        ("09:30:00", "'09:30:00' is not a time"),
        ("9am", "'9am' is not a time"),
        ("0930", "'0930' is not a time"),
        ("-1:30", "'-1:30' is not a time"),
        ("٠٩:٣٠", "'٠٩:٣٠' is not a time"),  # Arabic-Indic digits: int() would take them, we do not
    ],
)
def test_invalid_times_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_time(text)


@given(st.integers(0, 23), st.integers(0, 59))
def test_every_clock_time_round_trips(hour: int, minute: int) -> None:
    assert parse_time(f"{hour:02d}:{minute:02d}") == Time(hour, minute)
    assert parse_time(f"{hour}:{minute:02d}") == Time(hour, minute)


@given(st.one_of(st.text(max_size=12), st.from_regex(r"\s?[0-9]{1,3}:[0-9]{1,3}\s?", fullmatch=True)))
def test_parse_time_accepts_exactly_valid_hh_mm(text: str) -> None:
    # Oracle: at most two ASCII digits, a colon, exactly two, within the 24-hour clock.
    hour, colon, minute = text.strip().partition(":")
    valid = (
        colon == ":"
        and hour.isascii()
        and minute.isascii()
        and hour.isdigit()
        and minute.isdigit()
        and 1 <= len(hour) <= 2
        and len(minute) == 2
        and int(hour) < 24
        and int(minute) < 60
    )
    if valid:
        assert parse_time(text) == Time(int(hour), int(minute))
    else:
        with pytest.raises(ValueError, match=r"time|out of range"):
            parse_time(text)


def test_cadence_parsing() -> None:
    assert parse_cadence(" Weekly ") == "weekly"
    with pytest.raises(ValueError, match="'monthly' is not a schedule: choose one of daily, weekdays, weekly"):
        parse_cadence("monthly")


# --- timezones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("utc", "UTC"),
        ("Kolkata", "Asia/Kolkata"),  # a city alone, when only one zone has it
        ("new york", "America/New_York"),
        ("Pacific/Kiritimati", "Pacific/Kiritimati"),
    ],
)
def test_timezones_match_case_insensitively(text: str, expected: str) -> None:
    assert canonical_timezone(text) == expected
    assert parse_timezone(text).key == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mars/Olympus", "unknown timezone 'Mars/Olympus': use an IANA name such as Europe/London"),
        ("Europe/Londn", "unknown timezone 'Europe/Londn'"),
        ("eastern", "unknown timezone 'eastern': did you mean Canada/Eastern, US/Eastern?"),
        ("buenos aires", "did you mean America/Argentina/Buenos_Aires, America/Buenos_Aires?"),
        ("", "unknown timezone ''"),
        ("localtime", "unknown timezone 'localtime'"),  # the host's zone: would differ per machine
        ("x" * 500, "unknown timezone 'xxxxxxxx"),
    ],
)
def test_unknown_timezones_are_refused_with_advice(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        parse_timezone(text)
    assert len(str(raised.value)) < 200


def test_every_listed_name_parses_to_itself() -> None:
    names = available_timezone_names()
    assert len(names) > 400
    for name in names:
        assert canonical_timezone(name) == name
        assert canonical_timezone(name.upper()) == name
    assert "localtime" not in names
    assert "Factory" not in names


# --- autocomplete ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("york", "America/New_York"),
        ("kolkata", "Asia/Kolkata"),
        ("KOLK", "Asia/Kolkata"),
        ("lon", "Europe/London"),
        ("europe/lo", "Europe/London"),
        ("new y", "America/New_York"),
        ("st_johns", "America/St_Johns"),
        ("st johns", "America/St_Johns"),
        ("são paulo", "America/Sao_Paulo"),
        ("kiritimati", "Pacific/Kiritimati"),
        ("utc", "UTC"),
    ],
)
def test_suggestions_put_the_obvious_answer_first(text: str, first: str) -> None:
    assert timezone_suggestions(text)[0] == first


def test_prefix_matches_come_before_substring_matches() -> None:
    found = timezone_suggestions("an", limit=100)
    # "Antarctica/..." names start with "an"; "America/Santiago" only contains it.
    starts = [name.lower().startswith("an") for name in found]
    assert starts[0]
    assert not starts[-1]
    assert starts == sorted(starts, reverse=True)


def test_suggestions_respect_the_limit_and_discord_choice_rules() -> None:
    assert len(timezone_suggestions("a")) == 25
    assert len(timezone_suggestions("a", limit=5)) == 5
    assert timezone_suggestions("a", limit=0) == []
    assert timezone_suggestions("zzzz-no-such-place") == []
    empty = timezone_suggestions("")
    assert empty[0] == "UTC"
    assert "Europe/London" in empty
    for name in timezone_suggestions("a") + empty:
        assert 1 <= len(name) <= 100  # Discord's limit for a choice name and value


@given(st.text(max_size=30))
def test_suggestions_are_valid_names_without_repeats(text: str) -> None:
    found = timezone_suggestions(text)
    assert len(found) == len(set(found)) <= 25
    assert all(canonical_timezone(name) == name for name in found)


def test_suggestions_are_fast() -> None:
    timezone_suggestions("warm up the index")
    queries = ["a", "america", "york", "kolkata", "e", "pacific/", "st", "zzz"] * 25
    start = clock.perf_counter()
    for query in queries:
        timezone_suggestions(query)
    per_call = (clock.perf_counter() - start) / len(queries)
    assert per_call < 0.001, f"{per_call * 1000:.3f} ms per suggestion call"
