"""Personal follows (issue #14): value types and the storage protocol.

Plain data and a ``Protocol``; ``bot.db.sqlite_follows`` implements it for SQLite and
``bot.db.pg_follows`` for PostgreSQL. The exactly-once rules live in the schema (the follows
migration of each backend): an article is taken by a follow once, a digest slot is recorded once per
follow, and a delivery, its message and the claim on its articles are written together before
anything is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.db.types import ArticleSummary, Visibility

__all__ = [
    "DeliveryConflict",
    "Follow",
    "FollowDelivery",
    "FollowItem",
    "FollowRepository",
    "Member",
    "NewFollow",
]

DeliveryKind = Literal["instant", "roundup", "digest"]
DeliveryState = Literal["pending", "sent", "abandoned"]


@dataclass(frozen=True, slots=True)
class Member:
    """A member's preferences. ``quiet_start``/``quiet_end``: minutes after local midnight, both or
    neither. ``paused_reason``: why the bot stopped sending (Discord refused its DMs)."""

    user_id: int
    timezone: str
    quiet_start: int | None = None
    quiet_end: int | None = None
    dm_channel_id: int | None = None
    paused_reason: str | None = None
    notice_pending: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewFollow:
    user_id: int
    topic: str | None
    keywords: str | None
    delivery: str
    at_time: str
    weekday: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Follow:
    """A follow, with its member's ``timezone`` and whether the member is paused by the bot."""

    id: int
    user_id: int
    topic: str | None
    keywords: str | None
    delivery: str
    at_time: str
    weekday: int
    created_at: datetime
    created_seq: int
    paused: bool
    last_slot: datetime | None
    timezone: str
    member_paused: bool = False
    quiet_start: int | None = None
    quiet_end: int | None = None

    @property
    def active(self) -> bool:
        return not self.paused and not self.member_paused


@dataclass(frozen=True, slots=True)
class FollowItem:
    follow_id: int
    article_id: str
    user_id: int
    seq: int
    queued_at: datetime
    held: bool
    delivery_id: int | None


@dataclass(frozen=True, slots=True)
class FollowDelivery:
    """One DM: an article (``instant``), a roundup, or a personal digest (``follow_id``, ``slot``).
    ``payload`` is the message as JSON while pending, so a retry sends exactly what was recorded."""

    id: int
    user_id: int
    kind: DeliveryKind
    follow_id: int | None
    slot: datetime | None
    nonce: str
    state: DeliveryState
    payload: str
    message_id: int | None
    created_at: datetime
    article_keys: tuple[tuple[int, str], ...] = field(default=())


class FollowRepository(Protocol):
    # --- members ---
    async def member(self, user_id: int) -> Member | None: ...

    async def ensure_member(self, user_id: int, timezone: str, at: datetime) -> Member:
        """The member, created with ``timezone`` if new (an existing member keeps theirs)."""
        ...

    async def set_timezone(self, user_id: int, timezone: str) -> None: ...

    async def set_quiet(self, user_id: int, start: int | None, end: int | None) -> None: ...

    async def set_dm_channel(self, user_id: int, channel_id: int) -> None: ...

    async def pause_member(self, user_id: int, reason: str) -> None:
        """Stop every delivery to the member, and have the next command answer say why (once)."""
        ...

    async def unpause_member(self, user_id: int) -> bool: ...

    async def take_notice(self, user_id: int) -> str | None:
        """The pause reason if the member has not been told yet (and mark them told)."""
        ...

    # --- follows ---
    async def add(self, follow: NewFollow) -> Follow:
        """Store a follow; it takes only arrivals recorded after this (no backlog)."""
        ...

    async def get(self, follow_id: int) -> Follow | None: ...

    async def for_user(self, user_id: int) -> list[Follow]: ...

    async def count_for_user(self, user_id: int) -> int: ...

    async def remove(self, user_id: int, follow_id: int) -> bool: ...

    async def set_paused(self, user_id: int, follow_id: int | None, *, paused: bool) -> int:
        """Pause or resume one follow of the member's (or all of them); returns how many changed."""
        ...

    async def active(self, delivery: str | None = None) -> list[Follow]:
        """Follows that deliver (not paused, member not paused), optionally of one delivery kind."""
        ...

    async def users_with_follows(self) -> int: ...

    # --- instant matching ---
    async def cursor(self) -> int: ...

    async def record_matched(self, up_to: int, items: Sequence[tuple[int, int, str, int]], at: datetime) -> int:
        """In one transaction: take ``items`` ``(follow id, user id, article id, arrival seq)`` (an
        article a follow already took is ignored) and move the cursor to ``up_to``. Returns how many
        were new."""
        ...

    # --- delivery ---
    async def users_with_work(self) -> list[int]:
        """Members with waiting articles or pending deliveries."""
        ...

    async def waiting(self, user_id: int) -> list[FollowItem]:
        """Articles taken by instant follows but not yet in a delivery, oldest arrival first."""
        ...

    async def hold(self, user_id: int, keys: Collection[tuple[int, str]]) -> None: ...

    async def drop(self, keys: Collection[tuple[int, str]]) -> None:
        """Forget waiting articles that can no longer be sent (removed since they arrived)."""
        ...

    async def begin_delivery(
        self,
        user_id: int,
        *,
        kind: DeliveryKind,
        nonce: str,
        payload: str,
        article_keys: Sequence[tuple[int, str]],
        at: datetime,
        follow_id: int | None = None,
        slot: datetime | None = None,
    ) -> FollowDelivery:
        """Record a DM and claim its articles atomically, before anything is sent. Instant and
        roundup DMs claim waiting items; a digest takes its articles (new items). Raises
        ``DeliveryConflict`` when an article is taken already or the slot is recorded."""
        ...

    async def finish_delivery(self, delivery_id: int, *, message_id: int, at: datetime) -> None: ...

    async def abandon_delivery(self, delivery_id: int, *, at: datetime) -> None:
        """Never sent and never will be: instant articles wait again, a digest's are released."""
        ...

    async def pending(self, user_id: int | None = None) -> list[FollowDelivery]: ...

    async def sent_since(self, user_id: int, since: datetime) -> list[datetime]:
        """When each instant DM and roundup (not abandoned) since ``since`` was recorded: the cap's use."""
        ...

    # --- personal digests ---
    async def delivery_for_slot(self, follow_id: int, slot: datetime) -> FollowDelivery | None: ...

    async def settle(self, follow_id: int, slot: datetime) -> None:
        """Move the follow's ``last_slot`` forward to ``slot`` (never back)."""
        ...

    async def delivered(self, follow_ids: Collection[int], article_ids: Collection[str]) -> set[tuple[int, str]]:
        """Which of these follows took which of these articles already, as ``(follow id, article id)``."""
        ...

    async def window(self, *, since: datetime, until: datetime, vis: Visibility, limit: int) -> list[ArticleSummary]:
        """Articles published in ``[since, until)`` that ``vis`` may see, best first."""
        ...

    # --- privacy ---
    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about the member, as plain JSON-ready data."""
        ...

    async def forget(self, user_id: int) -> int:
        """Delete every row about the member in one transaction; returns how many rows went."""
        ...

    async def prune(self, before: datetime) -> int: ...


class DeliveryConflict(Exception):
    """A delivery could not be recorded: an article or the slot is taken already."""
