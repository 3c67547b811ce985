"""Quiet hours and personal schedules in the member's timezone. Pure.

A quiet window is ``[start, end)`` in local wall-clock minutes and may wrap midnight (22:00 to
07:00). Its end is found with the digests' slot rules (``bot.digests.schedule``), so a window that
ends in a time the clocks skip (spring forward) ends when the clock reads past it, and one that
ends in a repeated hour ends at its first occurrence: the same DST rules as every schedule.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time as Time
from functools import lru_cache

from bot.digests.schedule import Schedule, next_slot, parse_time, zone_for

MINUTES_PER_DAY = 24 * 60


def minutes(text: str) -> int:
    """``HH:MM`` as minutes after midnight (``ValueError`` with a message for the member)."""
    parsed = parse_time(text)
    return parsed.hour * 60 + parsed.minute


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@lru_cache(maxsize=65536)
def schedule(at_time: str, timezone: str, cadence: str = "daily", weekday: int = 0) -> Schedule:
    """A personal digest's schedule (cached: many members share a few)."""
    hours, mins = at_time.split(":")
    return Schedule(Time(int(hours), int(mins)), timezone, "weekly" if cadence == "weekly" else "daily", weekday)


def inside(start: int, end: int, local_minute: int) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local_minute < end
    return local_minute >= start or local_minute < end


def quiet_until(start: int | None, end: int | None, timezone: str, now: datetime) -> datetime | None:
    """When the member's quiet window ends, if ``now`` is inside it; else None."""
    if start is None or end is None:
        return None
    local = now.astimezone(zone_for(timezone))
    if not inside(start, end, local.hour * 60 + local.minute):
        return None
    return next_slot(schedule(clock_text(end), timezone), now)
