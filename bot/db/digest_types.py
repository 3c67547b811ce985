"""Scheduled digests (issue #4): value types and the storage protocol.

Plain data and a ``Protocol`` only; ``bot.db.sqlite_digests`` and ``bot.db.pg_digests`` implement
it. The exactly-once rules live in the schema (``004_digests.sql`` of each backend): a slot is
recorded once, an article is delivered once per digest, and a delivery and its articles are
written together.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.db.types import ArticleSummary, Visibility

__all__ = [
    "Candidates",
    "Delivery",
    "DeliveryConflict",
    "DeliveryState",
    "Digest",
    "DigestReplacement",
    "DigestRepository",
    "NewDigest",
]

DeliveryState = Literal["pending", "sent", "abandoned"]


@dataclass(frozen=True, slots=True)
class NewDigest:
    """What ``/digest add`` (or an import) stores. ``at_time`` is ``HH:MM``; ``timezone`` a
    canonical IANA name. A digest stored paused counts every slot until ``created_at`` as settled."""

    guild_id: int
    channel_id: int
    topic: str
    at_time: str
    timezone: str
    cadence: str
    weekday: int
    min_quality: int
    max_items: int
    created_at: datetime
    created_by: int
    paused: bool = False
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DigestReplacement:
    """How an import changes a server's digests: the ids it removes and the digests it adds."""

    remove: tuple[int, ...] = ()
    add: tuple[NewDigest, ...] = ()


@dataclass(frozen=True, slots=True)
class Digest:
    """One stored digest. ``last_slot`` is the newest scheduled slot already settled (posted,
    found empty, or skipped); the scheduler's progress."""

    id: int
    guild_id: int
    channel_id: int
    topic: str
    at_time: str
    timezone: str
    cadence: str
    weekday: int
    min_quality: int
    max_items: int
    created_at: datetime
    created_by: int
    paused: bool = False
    pause_reason: str | None = None
    last_slot: datetime | None = None
    last_result: str | None = None
    last_result_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message a digest posts (or was about to post). ``slot`` is ``None`` for ``/digest send``.

    ``payload`` is the message as JSON while ``pending`` (so a retry after a crash sends exactly
    the message that was recorded) and empty once settled.
    """

    id: int
    digest_id: int
    slot: datetime | None
    nonce: str
    channel_id: int
    state: DeliveryState
    message_id: int | None
    payload: str
    created_at: datetime
    article_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidates:
    """Articles of one topic published in a window, for ``bot.digests.compose``; the same for
    every digest of that topic and window (which of them a digest delivered is ``delivered``).

    ``related_pairs``: links between two of ``items`` (``(source id, target id)``, from the
    source's related list).
    """

    items: tuple[ArticleSummary, ...]
    related_pairs: tuple[tuple[str, str], ...] = ()


class DigestRepository(Protocol):
    """Digests, their deliveries and the articles each delivery posted."""

    async def add(self, digest: NewDigest) -> Digest: ...

    async def get(self, digest_id: int) -> Digest | None: ...

    async def for_guild(self, guild_id: int) -> list[Digest]:
        """The server's digests, oldest first."""
        ...

    async def count_for_guild(self, guild_id: int) -> int: ...

    async def active(self) -> list[Digest]:
        """Every digest that is not paused (what the scheduler runs)."""
        ...

    async def remove(self, digest_id: int) -> bool:
        """Delete a digest with its deliveries; False when there was none."""
        ...

    async def update(
        self,
        digest_id: int,
        *,
        channel_id: int | None = None,
        topic: str | None = None,
        at_time: str | None = None,
        timezone: str | None = None,
        cadence: str | None = None,
        weekday: int | None = None,
        min_quality: int | None = None,
        max_items: int | None = None,
        last_slot: datetime | None = None,
    ) -> Digest | None:
        """Change the values given (``None`` keeps one), in one statement; ``None`` when there is no
        such digest. ``last_slot`` is set as given, even backwards: a new schedule's progress is its
        own newest slot at or before the change (so none of its passed slots is due, and its next
        digest covers one period of it; the delivered articles and slots keep anything from
        repeating)."""
        ...

    async def set_paused(
        self, digest_id: int, *, paused: bool, reason: str | None, settle_until: datetime | None = None
    ) -> bool:
        """Pause (with the reason shown in ``/digest list``) or resume. ``settle_until``: slots up to
        then count as settled, so resuming never posts a slot that passed while paused."""
        ...

    async def settle(self, digest_id: int, slot: datetime, result: str, at: datetime) -> None:
        """Record a scheduled slot as handled without a message (nothing new, skipped)."""
        ...

    async def note_result(self, digest_id: int, result: str, at: datetime) -> None:
        """Record what happened last (shown in ``/digest list``) without settling a slot."""
        ...

    async def delivery_for_slot(self, digest_id: int, slot: datetime) -> Delivery | None: ...

    async def begin_delivery(
        self,
        digest_id: int,
        *,
        slot: datetime | None,
        nonce: str,
        channel_id: int,
        article_ids: Sequence[str],
        payload: str,
        at: datetime,
    ) -> Delivery:
        """Record a delivery and its articles, atomically, before the message is sent.

        Raises ``DeliveryConflict`` when the slot is already recorded or an article was already
        delivered by this digest (a concurrent delivery won).
        """
        ...

    async def finish_delivery(self, delivery_id: int, *, message_id: int, result: str, at: datetime) -> None:
        """The message exists: record its id; a scheduled slot is settled."""
        ...

    async def abandon_delivery(self, delivery_id: int, *, result: str, at: datetime) -> None:
        """The message was never posted and never will be: its articles become available again;
        a scheduled slot is settled."""
        ...

    async def pending(self) -> list[Delivery]:
        """Deliveries recorded but not known to be posted (after a crash), oldest first."""
        ...

    async def delivery_items(self, delivery_id: int) -> list[str]: ...

    async def candidates(
        self, topic: str, *, since: datetime, until: datetime, vis: Visibility, limit: int = 500
    ) -> Candidates:
        """Articles of ``topic`` that ``vis`` may see, published in ``[since, until)``, best-ranked
        first (heat, quality, newest), at most ``limit``; with the related links among them."""
        ...

    async def delivered(self, digest_id: int, article_ids: Collection[str]) -> frozenset[str]:
        """Which of ``article_ids`` the digest already delivered (or is delivering)."""
        ...

    async def prune(self, before: datetime) -> int:
        """Forget settled deliveries created before ``before`` (their articles are long out of any
        window); returns how many."""
        ...


class DeliveryConflict(Exception):
    """A delivery could not be recorded: the slot, or one of its articles, was recorded already."""
