"""Every limit and option of personal follows, defined once: the command, the database's CHECK
constraints (``bot/db/migrations/009_follows.sql`` repeats the numbers, and a test compares them),
the delivery service and the README import or quote them from here. Pure; imports nothing of ``bot``
but the alerts' rules (follows share the keyword and topic limits with alerts)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Final, Literal, get_args

from bot.alerts.rules import MAX_KEYWORDS_CHARS, MAX_TOPIC_CHARS

__all__ = [
    "DEFAULT_TIME",
    "DELIVERIES",
    "DIGEST_GRACE",
    "INSTANT_CAP",
    "INSTANT_WINDOW",
    "MAX_AGE",
    "MAX_FOLLOWS",
    "MAX_KEYWORDS_CHARS",
    "MAX_TOPIC_CHARS",
    "Delivery",
]

#: Follows one member may have.
MAX_FOLLOWS: Final = 20
#: Instant DMs one member gets per ``INSTANT_WINDOW``; the rest wait and go out as one roundup.
INSTANT_CAP: Final = 10
INSTANT_WINDOW: Final = timedelta(hours=1)

Delivery = Literal["instant", "daily", "weekly"]
DELIVERIES: Final[tuple[str, ...]] = get_args(Delivery)
#: When a daily or weekly personal digest arrives unless the member says otherwise (their local time).
DEFAULT_TIME: Final = time(8, 0)
#: How late a personal digest may still go out (downtime, or quiet hours that cover its time): a
#: day-old digest is still welcome, an older one is skipped (the next one covers the news).
DIGEST_GRACE: Final = timedelta(hours=24)
#: An arriving article older than this is not sent instantly (a file dropped in with an old date).
MAX_AGE: Final = timedelta(hours=48)
#: Articles a personal digest shows at most.
DIGEST_ITEMS: Final = 10
#: Articles one roundup message lists at most (the rest are summarised as "and N more").
ROUNDUP_ITEMS: Final = 25
