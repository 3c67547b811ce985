"""Per-server policy: a server's settings and hidden articles over the deployment's defaults.

Every lookup, autocomplete keystroke and digest asks for a server's ``Visibility``, so the answer
is cached per server and dropped whenever a change goes through this class (the only writer).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.db.alert_types import AlertReplacement
from bot.db.digest_types import DigestReplacement
from bot.db.guild_types import GuildRepository, GuildSettings, HiddenArticle, Replaced
from bot.db.types import Visibility
from bot.settings import Settings
from bot.store.keys import topic_key

log = logging.getLogger(__name__)

#: Servers whose policy is kept in memory; the least recently used ones are read again on demand.
CACHE_SIZE = 2048
DEFAULT_MIN_QUALITY = 0


@dataclass(frozen=True, slots=True)
class ServerPolicy:
    """What applies in one server: its stored choices and what follows from them."""

    settings: GuildSettings
    visibility: Visibility
    public_results: bool
    min_quality: int
    include_unpublished: bool


class Policy:
    def __init__(self, guilds: GuildRepository, defaults: Settings, *, cache_size: int = CACHE_SIZE) -> None:
        self._guilds = guilds
        self._defaults = defaults
        self._cache: OrderedDict[int, ServerPolicy] = OrderedDict()
        self._cache_size = cache_size
        # Bumped on every change: a read that started before a change must not cache what it read.
        self._generation = 0

    @property
    def default_visibility(self) -> Visibility:
        return self.defaults.visibility

    @property
    def defaults(self) -> ServerPolicy:
        """What applies outside any server (DMs, a member's own install, personal deliveries)."""
        return self._build(GuildSettings(guild_id=0), frozenset())

    async def for_guild(self, guild_id: int | None) -> ServerPolicy:
        """A server's policy; ``None`` (no server: a DM or a personal delivery) gets the deployment's
        defaults. The one place where "no server" is decided."""
        if guild_id is None:
            return self.defaults
        cached = self._cache.get(guild_id)
        if cached is not None:
            self._cache.move_to_end(guild_id)
            return cached
        generation = self._generation
        settings = await self._guilds.settings(guild_id)
        hidden = await self._guilds.hidden_ids(guild_id)
        policy = self._build(settings, hidden)
        if generation == self._generation:
            self._cache[guild_id] = policy
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return policy

    async def visibility(self, guild_id: int | None) -> Visibility:
        """What members of ``guild_id`` may see; the deployment default outside servers (DMs)."""
        return (await self.for_guild(guild_id)).visibility

    async def public_results(self, guild_id: int | None) -> bool:
        return (await self.for_guild(guild_id)).public_results

    def invalidate(self, guild_id: int | None = None) -> None:
        """Forget one server's policy (or every server's) so that the next lookup reads it again."""
        self._generation += 1
        if guild_id is None:
            self._cache.clear()
        else:
            self._cache.pop(guild_id, None)

    # --- changes ----------------------------------------------------------------------------------

    async def update(self, guild_id: int, user_id: int, **changes: Any) -> GuildSettings:
        """Apply ``changes`` (``GuildSettings`` field names) and return the new settings."""
        current = await self._guilds.settings(guild_id)
        updated = replace(current, **changes)
        try:
            await self._guilds.save_settings(updated, user_id=user_id)
        finally:
            self.invalidate(guild_id)
        return updated

    async def hide(self, guild_id: int, article: HiddenArticle) -> bool:
        try:
            return await self._guilds.hide(guild_id, article)
        finally:
            self.invalidate(guild_id)

    async def unhide(self, guild_id: int, article_id: str) -> bool:
        try:
            return await self._guilds.unhide(guild_id, article_id)
        finally:
            self.invalidate(guild_id)

    async def replace(
        self,
        settings: GuildSettings,
        hidden: Sequence[HiddenArticle],
        *,
        user_id: int,
        digests: DigestReplacement | None = None,
        alerts: AlertReplacement | None = None,
    ) -> Replaced:
        """An import: see ``GuildRepository.replace``."""
        try:
            return await self._guilds.replace(settings, hidden, user_id=user_id, digests=digests, alerts=alerts)
        finally:
            self.invalidate(settings.guild_id)

    # --- building ---------------------------------------------------------------------------------

    def _build(self, settings: GuildSettings, hidden: frozenset[str]) -> ServerPolicy:
        min_quality = DEFAULT_MIN_QUALITY if settings.min_quality is None else settings.min_quality
        include_unpublished = (
            self._defaults.include_unpublished if settings.include_unpublished is None else settings.include_unpublished
        )
        visibility = Visibility(
            include_unpublished=include_unpublished,
            min_quality=min_quality,
            hidden_ids=hidden,
            blocked_domains=frozenset(d.lower() for d in settings.blocked_providers),
            blocked_topics=frozenset(map(topic_key, settings.blocked_topics)),
        )
        public = self._defaults.public_results if settings.public_results is None else settings.public_results
        return ServerPolicy(
            settings=settings,
            visibility=visibility,
            public_results=public,
            min_quality=min_quality,
            include_unpublished=include_unpublished,
        )
