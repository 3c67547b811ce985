"""Scheduled topic digests (issue #4): the pure core.

``bot.digests.schedule`` turns a wall-clock schedule in an IANA timezone into exact UTC slots and
decides which slot is due after a restart; ``bot.digests.compose`` picks the articles for one slot.
No database and no Discord I/O here: the repository, the ``/digest`` cog and the scheduler loop
build on these functions. Rendering is ``bot.render.digest``.
"""

from bot.digests.compose import (
    compose,
    key_from_groups,
    provider_key,
    rank_key,
    story_groups,
    title_story_key,
)
from bot.digests.schedule import (
    CADENCES,
    DEFAULT_GRACE,
    Cadence,
    Due,
    Schedule,
    Upcoming,
    canonical_timezone,
    digest_window,
    due_slots,
    first_window,
    next_slot,
    next_slots,
    nonce_for,
    parse_cadence,
    parse_time,
    parse_timezone,
    previous_slot,
    schedule_for,
    slot_at,
    slot_date,
    slot_key,
    slots_between,
    timezone_suggestions,
)

__all__ = [
    "CADENCES",
    "DEFAULT_GRACE",
    "Cadence",
    "Due",
    "Schedule",
    "Upcoming",
    "canonical_timezone",
    "compose",
    "digest_window",
    "due_slots",
    "first_window",
    "key_from_groups",
    "next_slot",
    "next_slots",
    "nonce_for",
    "parse_cadence",
    "parse_time",
    "parse_timezone",
    "previous_slot",
    "provider_key",
    "rank_key",
    "schedule_for",
    "slot_at",
    "slot_date",
    "slot_key",
    "slots_between",
    "story_groups",
    "timezone_suggestions",
    "title_story_key",
]
