"""When a digest posts: wall-clock schedules in IANA timezones turned into exact UTC instants.

A *slot* is an aware UTC ``datetime``: the instant one digest is due. A schedule names a wall-clock
time (``HH:MM``) in a timezone; each local date the cadence selects has exactly one slot:

- ``daily``: every local date;
- ``weekdays``: Monday to Friday, judged in the digest's own timezone (not UTC);
- ``weekly``: one local date a week, ``Schedule.weekday`` (Monday = 0), the weekday of the local
  date the digest was created on (the caller passes it, see ``schedule_for``).

Daylight-saving rules (the same as Python's ``fold=0``, PEP 495, so any aware arithmetic agrees):

- *Spring forward* (the wall time does not exist that day, e.g. 02:30 when clocks jump from 02:00
  to 03:00): the slot is the wall time read with the offset in force *before* the jump, which lands
  the same distance past the jump: 03:30 local. Lord Howe's 30-minute jump turns 02:15 into 02:45.
- *Fall back* (the wall time happens twice, e.g. 01:30 when clocks go back from 02:00 to 01:00):
  the slot is the *first* occurrence, once.
- A jump at local midnight can push a slot past midnight (America/Nuuk at 23:30 on the night
  clocks go forward posts at 00:30): the slot still belongs to its own date (``slot_date``).
- So a date never has two slots and no date that exists is skipped. Only a date the zone removed
  from its calendar (Samoa skipped 30 December 2011) has no slot of its own: its fold=0 instant is
  the next date's slot, and that instant counts once. ``slot_date`` maps a slot back to its date.

Delivery exactly once per slot is the caller's job, helped here: ``due_slots`` says which slot to
deliver after a restart (at most one, the newest missed within a grace window; older ones are
returned as skipped so they can be logged), ``slot_key`` is a stable key to record the delivery
under (a unique constraint makes a second delivery impossible), and ``nonce_for`` gives the Discord
message nonce, so a crash between sending and recording cannot post twice (Discord dedupes a
repeated ``enforce_nonce`` send for a few minutes).

Everything here is pure and stdlib only (``zoneinfo`` backed by the ``tzdata`` package); ``ZoneInfo``
objects and the timezone name index are built once and cached.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
import zoneinfo
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as Time
from functools import cache
from typing import Final, Generic, Literal, NamedTuple, TypeVar, get_args

from bot.delivery import base36
from bot.digests.limits import WEEKDAY_NAMES
from bot.render.limits import MAX_CHOICES

Cadence = Literal["daily", "weekdays", "weekly"]
CADENCES: Final[tuple[Cadence, ...]] = get_args(Cadence)
DEFAULT_TIMEZONE: Final = "UTC"
DEFAULT_GRACE: Final = timedelta(hours=6)
MAX_NONCE: Final = 25  # Discord's limit for a message nonce

_ONE_DAY: Final = timedelta(days=1)
_TINY: Final = timedelta(microseconds=1)
# Slots are non-decreasing by date, so a scan that starts two local dates early cannot miss one
# (a slot pushed past midnight belongs to the date before). The scans visit only eligible dates
# and stop within three of them, four when a removed date repeats an instant.
_MAX_SCAN: Final = 16
_TIME_RE: Final = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_TIME_HINT: Final = "use the 24-hour clock as HH:MM, for example 09:30 or 18:05"
# Names zoneinfo lists that are not places: the host's own zone and the placeholder "Factory".
_NOT_ZONES: Final = frozenset({"localtime", "posixrules", "factory"})
# Areas of the canonical "Area/Location" names, offered before legacy aliases such as "US/Eastern".
_AREAS: Final = frozenset(
    {"africa", "america", "antarctica", "arctic", "asia", "atlantic", "australia", "europe", "indian", "pacific"}
)
COMMON_TIMEZONES: Final = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


# --- validation -----------------------------------------------------------------------------------


def parse_time(text: str) -> Time:
    """Parse a user's ``HH:MM`` (24-hour clock) into a naive ``time``.

    One-digit hours are accepted ("9:05" is 09:05) because people type them; minutes need two digits.
    Seconds, "24:00", "12:60", "9am" and words such as "noon" are rejected with a ``ValueError``
    whose message says what to type instead.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError(f"time is empty: {_TIME_HINT}")
    match = _TIME_RE.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{_quote(cleaned)} is not a time: {_TIME_HINT}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23:
        raise ValueError(f"hour {hour} is out of range in {_quote(cleaned)}: hours go from 00 to 23")
    if minute > 59:
        raise ValueError(f"minute {minute} is out of range in {_quote(cleaned)}: minutes go from 00 to 59")
    return Time(hour, minute)


def parse_cadence(text: str) -> Cadence:
    """``daily``, ``weekdays`` or ``weekly`` (any case), else ``ValueError``."""
    cleaned = text.strip().lower()
    for cadence in CADENCES:
        if cadence == cleaned:
            return cadence
    raise ValueError(f"{_quote(text.strip())} is not a schedule: choose one of {', '.join(CADENCES)}")


def canonical_timezone(name: str) -> str:
    """The IANA name exactly as the database spells it, matched case-insensitively.

    Spaces count as underscores ("america/new york" is ``America/New_York``). A city alone is
    accepted when exactly one canonical name ends with it ("kolkata", "New York"). Raises
    ``ValueError("unknown timezone ...")`` with up to three suggestions when nothing matches.
    """
    cleaned = name.strip()
    index = _index()
    folded = _timezone_key(cleaned)
    found = index.by_folded.get(folded) or index.by_city.get(folded)
    if found is not None:
        return found
    hint = timezone_suggestions(cleaned, limit=3) if cleaned else []
    advice = (
        f"did you mean {', '.join(hint)}?" if hint else "use an IANA name such as Europe/London or America/New_York"
    )
    raise ValueError(f"unknown timezone {_quote(cleaned)}: {advice}")


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The ``ZoneInfo`` for an IANA name matched case-insensitively; ``ValueError`` when unknown."""
    return zone_for(canonical_timezone(name))


@cache
def zone_for(canonical: str) -> zoneinfo.ZoneInfo:
    """The cached ``ZoneInfo`` for a name already returned by ``canonical_timezone``."""
    return zoneinfo.ZoneInfo(canonical)


def _quote(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(shown)


# --- timezone names and suggestions ---------------------------------------------------------------


def _timezone_key(text: str) -> str:
    """Case- and accent-insensitive form with spaces as underscores ("São Paulo" -> "sao_paulo")."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "_".join(plain.casefold().split())


@dataclass(frozen=True, slots=True)
class _Name:
    name: str
    folded: str
    city: str
    words: tuple[str, ...]
    rank: int  # 0 for common zones, 1 for other canonical "Area/Location" names, 2 for legacy aliases


@dataclass(frozen=True, slots=True)
class _Index:
    names: tuple[_Name, ...]
    by_folded: dict[str, str]
    by_city: dict[str, str]
    common: tuple[str, ...]


_WORD_SPLIT: Final = re.compile(r"[/_\-]+")


@cache
def _index() -> _Index:
    # available_timezones() walks the tz database on disk (tens of milliseconds): once per process.
    names = sorted(n for n in zoneinfo.available_timezones() if n.lower() not in _NOT_ZONES)
    common_folded = {name.casefold() for name in COMMON_TIMEZONES}
    entries = []
    for name in names:
        folded = name.casefold()
        area = folded.split("/", 1)[0]
        if folded in common_folded:
            rank = 0
        elif "/" in folded and area in _AREAS:
            rank = 1
        else:
            rank = 2
        city = folded.rsplit("/", 1)[-1]
        words = tuple(word for word in _WORD_SPLIT.split(folded) if word)
        entries.append(_Name(name, folded, city, words, rank))
    by_folded = {entry.folded: entry.name for entry in entries}
    cities: dict[str, list[str]] = {}
    for entry in entries:
        if entry.rank < 2 and "/" in entry.folded:
            cities.setdefault(entry.city, []).append(entry.name)
    by_city = {city: found[0] for city, found in cities.items() if len(found) == 1}
    common = tuple(name for name in COMMON_TIMEZONES if name.casefold() in by_folded)
    return _Index(tuple(entries), by_folded, by_city, common)


def available_timezone_names() -> tuple[str, ...]:
    """Every IANA name accepted, sorted (host aliases such as ``localtime`` left out)."""
    return tuple(entry.name for entry in _index().names)


def timezone_suggestions(text: str, limit: int = MAX_CHOICES) -> list[str]:
    """Timezone names for autocomplete, best first; at most ``limit``.

    Order: exact name, names starting with the text ("europe/lo"), cities starting with it
    ("kolk" -> Asia/Kolkata, "new y" -> America/New_York), any word of the name starting with it
    ("york"), then names containing it. Within a group, common zones come first, then canonical
    ``Area/City`` names, then legacy aliases ("US/Eastern"), each alphabetical. Empty text gives a
    short list of common zones.
    """
    index = _index()
    if limit <= 0:
        return []
    query = _timezone_key(text)
    if not query:
        return list(index.common[:limit])
    scored: list[tuple[int, int, str]] = []
    for entry in index.names:
        if query not in entry.folded:
            continue  # every group below needs the query somewhere in the name
        if entry.folded == query:
            tier = 0
        elif entry.folded.startswith(query):
            tier = 1
        elif entry.city.startswith(query):
            tier = 2
        elif any(word.startswith(query) for word in entry.words):
            tier = 3
        else:
            tier = 4
        scored.append((tier, entry.rank, entry.name))
    return [name for _, _, name in heapq.nsmallest(limit, scored)]


# --- schedules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """When one digest posts: ``time`` (naive, whole minutes) in ``timezone`` on the cadence's dates.

    ``timezone`` is matched case-insensitively and stored in its canonical spelling. ``weekday``
    (Monday = 0) only matters for ``weekly``. Invalid values raise ``ValueError``.
    """

    time: Time
    timezone: str = DEFAULT_TIMEZONE
    cadence: Cadence = "daily"
    weekday: int = 0
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.time.tzinfo is not None:
            raise ValueError("schedule time must be a wall-clock time without a timezone")
        if self.time.second or self.time.microsecond:
            raise ValueError("schedule time must be whole minutes (HH:MM)")
        if self.cadence not in CADENCES:
            raise ValueError(f"unknown cadence {self.cadence!r}: choose one of {', '.join(CADENCES)}")
        if isinstance(self.weekday, bool) or not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday!r}")
        canonical = canonical_timezone(self.timezone)
        # Frozen dataclass: normalising fields in __post_init__ has to go through object.__setattr__.
        object.__setattr__(self, "timezone", canonical)
        object.__setattr__(self, "_zone", zone_for(canonical))
        if self.time.fold:
            object.__setattr__(self, "time", self.time.replace(fold=0))

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return self._zone

    def runs_on(self, local_date: date) -> bool:
        """Whether the cadence selects ``local_date`` (a date in the digest's timezone)."""
        if self.cadence == "daily":
            return True
        if self.cadence == "weekdays":
            return local_date.weekday() < 5
        return local_date.weekday() == self.weekday

    def describe(self) -> str:
        """Human wording, e.g. ``weekly on Mondays at 09:00 (Europe/London)``."""
        at = f"at {self.time:%H:%M} ({self.timezone})"
        if self.cadence == "daily":
            return f"daily {at}"
        if self.cadence == "weekdays":
            return f"on weekdays (Monday to Friday) {at}"
        return f"weekly on {WEEKDAY_NAMES[self.weekday]}s {at}"


def schedule_for(
    time_text: str, timezone: str = DEFAULT_TIMEZONE, cadence: str = "daily", *, created_at: datetime
) -> Schedule:
    """A ``Schedule`` from the raw ``/digest add`` options; weekly digests run on the weekday of
    ``created_at`` in the digest's timezone. Raises ``ValueError`` with a user-facing message."""
    _require_aware(created_at, "created_at")
    parsed_time = parse_time(time_text)
    canonical = canonical_timezone(timezone)
    parsed_cadence = parse_cadence(cadence)
    weekday = created_at.astimezone(zone_for(canonical)).weekday()
    return Schedule(parsed_time, canonical, parsed_cadence, weekday)


# --- slots ----------------------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {moment.isoformat()}")


def _raw_slot(schedule: Schedule, local_date: date) -> datetime:
    t = schedule.time
    local = datetime(local_date.year, local_date.month, local_date.day, t.hour, t.minute, tzinfo=schedule.zone)
    return local.astimezone(UTC)


def _run_day_on_or_after(schedule: Schedule, day: date) -> date:
    if schedule.cadence == "weekdays" and day.weekday() >= 5:
        return day + timedelta(days=7 - day.weekday())
    if schedule.cadence == "weekly":
        return day + timedelta(days=(schedule.weekday - day.weekday()) % 7)
    return day


def _run_day_on_or_before(schedule: Schedule, day: date) -> date:
    if schedule.cadence == "weekdays" and day.weekday() >= 5:
        return day - timedelta(days=day.weekday() - 4)
    if schedule.cadence == "weekly":
        return day - timedelta(days=(day.weekday() - schedule.weekday) % 7)
    return day


def _local_date(schedule: Schedule, moment: datetime) -> date:
    return moment.astimezone(schedule.zone).date()


def slot_at(schedule: Schedule, local_date: date) -> datetime:
    """The UTC instant of the schedule's wall time on ``local_date`` (DST rules in the module doc).

    Raises ``ValueError`` when the cadence does not run on that date (a Saturday for ``weekdays``).
    """
    if not schedule.runs_on(local_date):
        raise ValueError(f"{schedule.describe()} does not run on {local_date.isoformat()}")
    return _raw_slot(schedule, local_date)


def slot_date(schedule: Schedule, slot: datetime) -> date:
    """The local date a slot belongs to, for the digest's header.

    Usually the slot's own local date; the previous one when a DST jump at midnight pushed the
    slot past it (America/Nuuk at 23:30 on the night clocks go forward).
    """
    _require_aware(slot, "slot")
    own = _local_date(schedule, slot)
    if schedule.runs_on(own) and _raw_slot(schedule, own) == slot:
        return own
    before = own - _ONE_DAY
    if schedule.runs_on(before) and _raw_slot(schedule, before) == slot:
        return before
    raise ValueError(f"{slot.isoformat()} is not a slot of {schedule.describe()}")


def next_slot(schedule: Schedule, after: datetime) -> datetime:
    """The first slot strictly after ``after``."""
    _require_aware(after, "after")
    day = _local_date(schedule, after) - 2 * _ONE_DAY
    for _ in range(_MAX_SCAN):
        day = _run_day_on_or_after(schedule, day)
        slot = _raw_slot(schedule, day)
        if slot > after:
            return slot
        day += _ONE_DAY
    raise AssertionError(f"no slot of {schedule!r} after {after.isoformat()}")  # pragma: no cover


def previous_slot(schedule: Schedule, at_or_before: datetime) -> datetime:
    """The last slot at or before ``at_or_before``."""
    _require_aware(at_or_before, "at_or_before")
    day = _local_date(schedule, at_or_before) + 2 * _ONE_DAY
    for _ in range(_MAX_SCAN):
        day = _run_day_on_or_before(schedule, day)
        slot = _raw_slot(schedule, day)
        if slot <= at_or_before:
            return slot
        day -= _ONE_DAY
    raise AssertionError(f"no slot of {schedule!r} before {at_or_before.isoformat()}")  # pragma: no cover


def slots_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every slot with ``start < slot <= end``, oldest first: exactly what repeated ``next_slot``
    from ``start`` gives until it passes ``end``. Empty when ``end <= start``."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    out: list[datetime] = []
    if end <= start:
        return out
    day = _local_date(schedule, start) - 2 * _ONE_DAY
    while True:
        day = _run_day_on_or_after(schedule, day)
        slot = _raw_slot(schedule, day)
        if slot > end:
            return out
        # A date the zone removed yields the next date's instant again; it counts once.
        if slot > start and (not out or slot > out[-1]):
            out.append(slot)
        day += _ONE_DAY


class Due(NamedTuple):
    """What to do with missed slots: ``deliver`` has at most one slot; ``skipped`` are too old."""

    deliver: list[datetime]
    skipped: list[datetime]


def due_slots(
    schedule: Schedule,
    *,
    last_slot: datetime | None,
    created_at: datetime,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
) -> Due:
    """Slots that came due since the last delivery, split into one to deliver and ones to skip.

    Only slots after ``created_at`` and after ``last_slot`` (the slot of the last delivery) and at
    or before ``now`` count. The newest is delivered when it is at most ``grace`` late; every other
    one (and the newest, when later than that) is skipped, so a bot that was down for days posts
    one fresh digest, not a backlog. A ``last_slot`` in the future (clock moved back) means nothing
    is due.
    """
    _require_aware(created_at, "created_at")
    _require_aware(now, "now")
    if grace < timedelta(0):
        raise ValueError("grace must not be negative")
    floor = created_at
    if last_slot is not None:
        _require_aware(last_slot, "last_slot")
        floor = max(floor, last_slot)
    missed = slots_between(schedule, floor, now)
    if missed and now - missed[-1] <= grace:
        return Due([missed[-1]], missed[:-1])
    return Due([], missed)


def first_window(schedule: Schedule, slot: datetime) -> datetime:
    """Where composition starts for a digest that has never delivered: the schedule's previous
    slot. That is one local day back for ``daily`` (23 or 25 hours across a DST change), the
    previous Friday's slot for a Monday ``weekdays`` slot (so the weekend's news is included), and
    one week back for ``weekly``."""
    _require_aware(slot, "slot")
    return previous_slot(schedule, slot - _TINY)


def digest_window(
    schedule: Schedule, slot: datetime, last_slot: datetime | None, *, overlap: timedelta = timedelta(0)
) -> tuple[datetime, datetime]:
    """``(since, until)`` for ``compose``: articles published in ``[since, until)`` are new for ``slot``.

    ``since`` is the later of the last delivered slot and the schedule's previous slot: a digest
    never covers more than one period, so after downtime it does not resurface stale news from
    skipped slots. ``overlap`` widens the window backwards so articles indexed after their slot
    passed still get a chance; the delivered-ids rule keeps them from repeating.
    """
    since = first_window(schedule, slot)
    if last_slot is not None:
        _require_aware(last_slot, "last_slot")
        if last_slot < slot:
            since = max(since, last_slot)
    return since - overlap, slot


# --- keys -----------------------------------------------------------------------------------------


def slot_key(digest_id: int, slot: datetime) -> str:
    """A stable, sortable key for one delivery, e.g. ``"42@20260329T090000Z"``; store it under a
    unique constraint so a slot can be recorded once."""
    _require_aware(slot, "slot")
    return f"{digest_id}@{slot.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def nonce_for(digest_id: int, slot: datetime) -> str:
    """The Discord message nonce for one delivery: ``"d"``, the digest id and the slot's minute
    since 1970 (both base 36), e.g. ``"d16-ptpyo"``; at most 22 characters (Discord allows 25).

    Slots of one digest are hours apart, so the minute identifies the slot.
    """
    _require_aware(slot, "slot")
    minute = int(slot.timestamp()) // 60
    if digest_id < 0 or digest_id >= 2**63:
        raise ValueError(f"digest id must be a non-negative 64-bit integer, not {digest_id}")
    if minute < 0:
        raise ValueError(f"slot {slot.isoformat()} is before 1970")
    nonce = f"d{base36(digest_id)}-{base36(minute)}"
    if len(nonce) > MAX_NONCE:  # pragma: no cover - needs a slot after the year 9999
        raise ValueError(f"nonce {nonce!r} is longer than {MAX_NONCE} characters")
    return nonce


# --- many schedules -------------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)


class Upcoming(NamedTuple, Generic[K]):
    """The next slot of one digest. Slot first so a list of these works as a ``heapq`` heap
    (keys break ties, so use orderable keys such as digest ids)."""

    slot: datetime
    key: K


def next_slots(entries: Iterable[tuple[K, Schedule, datetime | None]], after: datetime) -> list[Upcoming[K]]:
    """For each ``(key, schedule, last_slot)``, the first slot strictly after both ``after`` and
    ``last_slot``; sorted by slot (ties keep input order).

    Meant for a scheduler that sleeps until the earliest one; missed slots are ``due_slots``'s job.
    """
    _require_aware(after, "after")
    upcoming = []
    for key, schedule, last_slot in entries:
        floor = after if last_slot is None or last_slot <= after else last_slot
        upcoming.append(Upcoming(next_slot(schedule, floor), key))
    upcoming.sort(key=lambda item: item.slot)
    return upcoming
