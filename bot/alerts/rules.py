"""Every limit and option of live alerts, defined once: the command, the backup validator, the
database's CHECK constraints (``bot/db/migrations/008_alerts.sql`` repeats the numbers, and a test
compares them) and the delivery loop import them from here. Pure; imports nothing of ``bot``."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from enum import StrEnum
from typing import Final, Literal, get_args

#: Alerts one server may have.
MAX_PER_SERVER: Final = 25
#: Posts one alert may make per ``FLOOD_WINDOW`` before the rest is held for a roundup.
DEFAULT_POSTS_PER_WINDOW: Final = 5
MIN_POSTS_PER_WINDOW: Final = 1
MAX_POSTS_PER_WINDOW: Final = 30
FLOOD_WINDOW: Final = timedelta(minutes=10)
#: Role pings per alert per ``PING_WINDOW``; later posts in that hour are sent without the ping.
MAX_PINGS: Final = 3
PING_WINDOW: Final = timedelta(hours=1)
#: Discord's limit on publishing (crossposting) in one announcement channel.
MAX_PUBLISHES: Final = 10
PUBLISH_WINDOW: Final = timedelta(hours=1)
#: An article older than this when it arrives is not posted (setting NEWSBOT_ALERT_MAX_AGE_HOURS).
DEFAULT_MAX_AGE_HOURS: Final = 48
MIN_MAX_AGE_HOURS: Final = 1
MAX_MAX_AGE_HOURS: Final = 168
#: The index records arrivals only for articles at most this old: no setting can post older ones.
ARRIVAL_HORIZON: Final = timedelta(hours=MAX_MAX_AGE_HOURS)
#: Forum tags Discord lets one post carry.
MAX_FORUM_TAGS: Final = 5
MIN_QUALITY, MAX_QUALITY = 0, 164
MAX_PROVIDERS: Final = 20
MAX_KEYWORDS_CHARS: Final = 200
MAX_TOPIC_CHARS: Final = 100

Style = Literal["embed", "compact", "thread"]
STYLES: Final[tuple[str, ...]] = get_args(Style)
DEFAULT_STYLE: Final = "embed"
ChannelKind = Literal["text", "announcement", "forum"]
CHANNEL_KINDS: Final[tuple[str, ...]] = get_args(ChannelKind)

#: Discord's limit on a message's text. A template's own text must leave room for what is filled
#: in: each placeholder is given at most ``PLACEHOLDER_BUDGET`` characters when the message is made.
MESSAGE_CONTENT_LIMIT: Final = 2000
PLACEHOLDERS: Final = ("title", "url", "excerpt", "provider", "topics", "published", "mention")
PLACEHOLDER_BUDGET: Final = {
    "title": 256,
    "url": 512,
    "excerpt": 300,
    "provider": 64,
    "topics": 120,
    "published": 24,
    "mention": 32,
}
#: The longest template: whatever its placeholders, the filled message fits in Discord's limit.
MAX_TEMPLATE_CHARS: Final = MESSAGE_CONTENT_LIMIT - sum(PLACEHOLDER_BUDGET.values())
#: A forum post's (and a thread's) name.
THREAD_NAME_LIMIT: Final = 100


class Reason(StrEnum):
    """Why an article was not posted by an alert, in the order they are checked (the first wins)."""

    TOPIC = "topic"
    KEYWORDS = "keywords"
    PROVIDER = "provider"
    QUALITY = "quality"
    HIDDEN = "hidden"
    BLOCKED = "blocked"
    BEFORE_ALERT = "before_alert"
    TOO_OLD = "too_old"
    PAUSED = "paused"
    ALREADY_POSTED = "already_posted"
    HELD = "held"


class TemplateError(ValueError):
    """A template that cannot be used; the message names what is wrong and what is valid."""


_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def valid_placeholders() -> str:
    return " ".join(f"`{{{name}}}`" for name in PLACEHOLDERS)


def check_template(template: str) -> str:
    """``template`` if usable, else ``TemplateError``: only known ``{placeholders}``, ``{{``/``}}``
    for literal braces, and short enough that the filled message fits in one Discord message."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateError(
            f"The template is {len(template):,} characters long; at most {MAX_TEMPLATE_CHARS:,} are allowed, so "
            f"that with the article filled in it fits in Discord's {MESSAGE_CONTENT_LIMIT:,}-character message. "
            f"Valid placeholders: {valid_placeholders()}."
        )
    if not template.strip():
        raise TemplateError(f"The template is empty. Valid placeholders: {valid_placeholders()}.")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(
            f"The template has an unmatched brace ({exc}); write `{{{{` and `}}}}` for literal braces. "
            f"Valid placeholders: {valid_placeholders()}."
        ) from None
    unknown: list[str] = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if not _FIELD.fullmatch(field) or field not in PLACEHOLDERS or spec or conversion:
            shown = "{" + field + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
            unknown.append(shown[:40])
    if unknown:
        listed = ", ".join(f"`{u}`" for u in dict.fromkeys(unknown))
        raise TemplateError(f"Unknown placeholder(s) {listed}. Valid placeholders: {valid_placeholders()}.")
    return template


def check_posts_per_window(value: int) -> int:
    if not MIN_POSTS_PER_WINDOW <= value <= MAX_POSTS_PER_WINDOW:
        raise ValueError(f"posts per 10 minutes must be from {MIN_POSTS_PER_WINDOW} to {MAX_POSTS_PER_WINDOW}")
    return value
