"""Per-server settings, hidden articles and the audit log: value types and the storage protocols.

Plain data and ``Protocol`` classes only; ``bot.db.sqlite_guilds`` and ``bot.db.pg_guilds`` implement them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.db.alert_types import Alert, AlertReplacement
from bot.db.digest_types import Digest, DigestReplacement

__all__ = [
    "AuditEntry",
    "AuditRepository",
    "GuildRepository",
    "GuildSettings",
    "HiddenArticle",
]


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """What a server chose. ``None`` means "the deployment's default"; lists are never ``None``.

    ``blocked_providers`` are lower-case domains; ``blocked_topics`` keep the moderator's spelling
    (they are compared case-insensitively).
    """

    guild_id: int
    min_quality: int | None = None
    include_unpublished: bool | None = None
    public_results: bool | None = None
    blocked_providers: tuple[str, ...] = ()
    blocked_topics: tuple[str, ...] = ()
    log_channel_id: int | None = None
    updated_at: datetime | None = None
    updated_by: int | None = None


@dataclass(frozen=True, slots=True)
class HiddenArticle:
    article_id: str
    title: str
    reason: str | None = None
    hidden_by: int = 0
    hidden_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    guild_id: int
    user_id: int
    action: str
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Replaced:
    """What an import removed (``GuildRepository.replace``)."""

    digests: tuple[Digest, ...] = ()
    alerts: tuple[Alert, ...] = ()


class GuildRepository(Protocol):
    """Per-server settings and hidden articles."""

    async def settings(self, guild_id: int) -> GuildSettings:
        """The stored settings, or all defaults for a server that never changed any."""
        ...

    async def save_settings(self, settings: GuildSettings, *, user_id: int) -> None: ...

    async def hidden(self, guild_id: int) -> list[HiddenArticle]:
        """The server's hidden articles, most recently hidden first."""
        ...

    async def hidden_ids(self, guild_id: int) -> frozenset[str]: ...

    async def hide(self, guild_id: int, article: HiddenArticle) -> bool:
        """False when the article was already hidden (nothing changes then)."""
        ...

    async def unhide(self, guild_id: int, article_id: str) -> bool:
        """False when the article was not hidden."""
        ...

    async def replace(
        self,
        settings: GuildSettings,
        hidden: Sequence[HiddenArticle],
        *,
        user_id: int,
        digests: DigestReplacement | None = None,
        alerts: AlertReplacement | None = None,
    ) -> Replaced:
        """Replace the server's settings and hidden articles, and change its digests and alerts as
        ``digests`` and ``alerts`` say (``None`` keeps them), all in one transaction (an import).
        Returns what was removed."""
        ...

    async def known_providers(self, domains: Collection[str]) -> set[str]:
        """Which of ``domains`` (lower-case) are providers of articles in the store."""
        ...


class AuditRepository(Protocol):
    async def add(self, guild_id: int, user_id: int, action: str, details: Mapping[str, Any]) -> AuditEntry: ...

    async def latest(self, guild_id: int, limit: int = 10) -> list[AuditEntry]:
        """The server's most recent entries, newest first."""
        ...
