"""Live alerts (issue #12): value types and the storage protocol.

Plain data and a ``Protocol``; ``bot.db.sqlite_alerts`` implements it for SQLite. The exactly-once
rules live in the schema (``migrations/008_alerts.sql``): an article is taken by an alert once, and
a delivery, its plan and the claim on its articles are written together before anything is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

__all__ = [
    "Alert",
    "AlertDelivery",
    "AlertItem",
    "AlertRepository",
    "AlertStats",
    "ArrivalRow",
    "ArrivedArticle",
    "DeliveryConflict",
    "NewAlert",
    "Skip",
]

DeliveryKind = Literal["post", "roundup", "test"]
DeliveryState = Literal["pending", "sent", "abandoned"]


@dataclass(frozen=True, slots=True)
class NewAlert:
    """What ``/alert add`` stores. ``providers`` are lower-case domains; ``forum_tags`` the forum's
    tags that the topic mapped to when the alert was made (``(tag id, name)``)."""

    guild_id: int
    channel_id: int
    channel_kind: str
    topic: str | None
    keywords: str | None
    providers: tuple[str, ...]
    min_quality: int
    role_id: int | None
    style: str
    publish: bool
    template: str | None
    posts_per_window: int
    created_at: datetime
    created_by: int
    forum_tags: tuple[tuple[int, str], ...] = ()
    paused: bool = False
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    guild_id: int
    channel_id: int
    channel_kind: str
    topic: str | None
    keywords: str | None
    providers: tuple[str, ...]
    min_quality: int
    role_id: int | None
    style: str
    publish: bool
    template: str | None
    posts_per_window: int
    forum_tags: tuple[tuple[int, str], ...]
    created_at: datetime
    created_by: int
    paused: bool = False
    pause_reason: str | None = None
    cursor: int = 0
    last_skip_article: str | None = None
    last_skip_title: str | None = None
    last_skip_reason: str | None = None
    last_skip_at: datetime | None = None


#: The fields ``AlertRepository.update`` may change (what ``/alert edit`` changes).
EDITABLE = frozenset(
    {
        "channel_id",
        "channel_kind",
        "topic",
        "keywords",
        "providers",
        "min_quality",
        "role_id",
        "style",
        "publish",
        "template",
        "posts_per_window",
        "forum_tags",
    }
)


@dataclass(frozen=True, slots=True)
class ArrivalRow:
    seq: int
    article_id: str
    guild_id: int | None


@dataclass(frozen=True, slots=True)
class ArrivedArticle:
    """What matching needs of an article, as stored."""

    id: str
    title: str
    excerpt: str
    topics: tuple[str, ...]
    provider_domain: str
    quality: int
    published: bool
    published_at: datetime


@dataclass(frozen=True, slots=True)
class Skip:
    """The last article an alert skipped although it was about the alert's topic or keywords."""

    alert_id: int
    article_id: str
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class AlertItem:
    alert_id: int
    article_id: str
    seq: int
    title: str
    queued_at: datetime
    held: bool
    delivery_id: int | None


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One post (a card, a line, a thread or a forum post), a roundup, or a test post.

    ``plan`` is the JSON list of steps while pending (so a retry after a crash sends exactly what was
    recorded); ``results`` holds each finished step's id, in order.
    """

    id: int
    alert_id: int
    kind: DeliveryKind
    nonce: str
    channel_id: int
    state: DeliveryState
    plan: str
    results: tuple[int | None, ...]
    message_id: int | None
    thread_id: int | None
    pinged: bool
    publish: bool
    publish_limited: bool
    ping_limited: bool
    created_at: datetime
    note: str | None = None
    article_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class AlertStats:
    """For ``/alert list``."""

    posts_24h: int
    last: AlertDelivery | None
    waiting: int
    held: int
    publish_limited_1h: int
    ping_limited_1h: int


class AlertRepository(Protocol):
    # --- alerts ---
    async def add(self, alert: NewAlert) -> Alert:
        """Store an alert; it judges only arrivals recorded after this (no backlog)."""
        ...

    async def get(self, alert_id: int) -> Alert | None: ...

    async def for_guild(self, guild_id: int) -> list[Alert]: ...

    async def count_for_guild(self, guild_id: int) -> int: ...

    async def all(self) -> list[Alert]: ...

    async def update(self, alert_id: int, **changes: object) -> Alert | None:
        """Change ``EDITABLE`` fields; returns the new alert, or None when there is none."""
        ...

    async def set_paused(self, alert_id: int, *, paused: bool, reason: str | None) -> bool: ...

    async def remove(self, alert_id: int) -> bool: ...

    async def replace_guild(self, guild_id: int, alerts: Sequence[NewAlert]) -> list[Alert]:
        """Replace the server's alerts in one transaction (``/admin import``)."""
        ...

    # --- arrivals and matching ---
    async def last_arrival(self) -> int: ...

    async def arrivals_after(self, seq: int, limit: int) -> list[ArrivalRow]: ...

    async def articles(self, article_ids: Collection[str]) -> list[ArrivedArticle]:
        """The stored articles of ``article_ids`` (those still served)."""
        ...

    async def record_judged(
        self,
        alert_ids: Collection[int],
        up_to: int,
        items: Sequence[tuple[int, str, int, str]],
        skips: Sequence[Skip],
        at: datetime,
    ) -> int:
        """In one transaction: queue ``items`` ``(alert id, article id, arrival seq, title)`` (an
        article an alert already took is ignored), note ``skips``, and move the cursor of
        ``alert_ids`` to ``up_to``. Returns how many items were new."""
        ...

    async def prune(self, before: datetime) -> int: ...

    async def drop(self, alert_id: int, article_ids: Collection[str], skip: Skip, at: datetime) -> None:
        """Give up waiting articles that can no longer be posted (removed, hidden since), noting why."""
        ...

    # --- delivery ---
    async def with_work(self) -> list[int]:
        """Alerts with waiting articles or pending deliveries."""
        ...

    async def waiting(self, alert_id: int) -> list[AlertItem]:
        """Articles taken but not yet in a delivery, oldest arrival first."""
        ...

    async def hold(self, alert_id: int, article_ids: Collection[str]) -> None: ...

    async def begin_delivery(
        self,
        alert_id: int,
        *,
        kind: DeliveryKind,
        nonce: str,
        channel_id: int,
        plan: str,
        article_ids: Sequence[str],
        pinged: bool,
        publish: bool,
        publish_limited: bool,
        ping_limited: bool,
        at: datetime,
    ) -> AlertDelivery:
        """Record a delivery and claim its articles atomically, before anything is sent; raises
        ``DeliveryConflict`` when one of them is claimed already."""
        ...

    async def step_done(self, delivery_id: int, results: Sequence[int | None]) -> None: ...

    async def finish_delivery(
        self, delivery_id: int, *, message_id: int | None, thread_id: int | None, at: datetime, note: str | None = None
    ) -> None: ...

    async def abandon_delivery(self, delivery_id: int, *, at: datetime, note: str) -> None:
        """Never sent and never will be: its articles wait again (nothing is dropped silently)."""
        ...

    async def pending(self, alert_id: int | None = None) -> list[AlertDelivery]: ...

    async def sent_since(self, alert_id: int, since: datetime) -> int:
        """Posts and roundups (not tests) recorded since ``since``: the flood window's use."""
        ...

    async def pings_since(self, alert_id: int, since: datetime) -> int: ...

    async def publishes_since(self, channel_id: int, since: datetime) -> int: ...

    async def stats(self, alert_id: int, now: datetime) -> AlertStats: ...

    async def delivery_of(self, alert_id: int, article_id: str) -> tuple[AlertItem, AlertDelivery | None] | None:
        """Whether the alert took the article, and the delivery it is in."""
        ...


class DeliveryConflict(Exception):
    """A delivery could not be recorded: one of its articles is claimed by another delivery."""
