"""Who may open a server's panel: checked on every request, with the bot's own view of the member.

Login tells us which servers Discord said the member manages (``/users/@me/guilds``); that list
only decides which servers to *offer*. Whether a request may see or (later) change a server is
decided now, the way the slash commands decide it: the bot fetches the member
(``guild.fetch_member``) and computes their server permissions from the roles it knows (kept up to
date by gateway events). Chosen over re-reading ``/users/@me/guilds`` with the member's OAuth
token because it needs no token kept anywhere (the cookie holds none), works however old the
login is, and uses the bot's rate limits rather than Discord's strict per-user ones.

Fetched members are cached for ``MEMBER_TTL`` seconds, so a page that checks a handful of servers
costs no more requests than that: a role edited (its permissions) counts at once, a role taken
from the member within ``MEMBER_TTL`` seconds. Actions pass ``fresh=True`` and always ask Discord.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import discord

if TYPE_CHECKING:
    from bot.alerts.actions import AlertActions
    from bot.content.catalog import Catalog
    from bot.db import DatabaseHandle as Database
    from bot.digests.actions import DigestActions
    from bot.guilds.actions import GuildActions
    from bot.guilds.policy import Policy
    from bot.settings import Settings

log = logging.getLogger(__name__)

MEMBER_TTL = 10.0
MAX_CACHED_MEMBERS = 4096


class PanelBot(Protocol):
    """What the pages read from the running bot (``NewsBot`` is one)."""

    settings: Settings
    db: Database
    catalog: Catalog
    #: Set while the /digest and /alert cogs run (they own the loops a change wakes).
    digest_actions: DigestActions | None
    alert_actions: AlertActions | None

    @property
    def policy(self) -> Policy: ...

    @property
    def guild_actions(self) -> GuildActions: ...

    def get_guild(self, guild_id: int, /) -> discord.Guild | None: ...


class MemberAccess:
    def __init__(self, bot: PanelBot, *, ttl: float = MEMBER_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._bot = bot
        self.ttl = ttl
        self._clock = clock
        self._members: OrderedDict[tuple[int, int], tuple[float, discord.Member | None]] = OrderedDict()

    async def managed_guild(self, guild_id: int, user_id: int, *, fresh: bool = False) -> discord.Guild | None:
        """The server, if the bot is in it and ``user_id`` has Manage Server there now; else ``None``."""
        guild = self._bot.get_guild(guild_id)
        if guild is None:
            return None
        member = await self._member(guild, user_id, fresh=fresh)
        if member is None or not member.guild_permissions.manage_guild:
            return None
        return guild

    async def _member(self, guild: discord.Guild, user_id: int, *, fresh: bool) -> discord.Member | None:
        key = (guild.id, user_id)
        now = self._clock()
        cached = self._members.get(key)
        if cached is not None and not fresh and now < cached[0]:
            return cached[1]
        try:
            member: discord.Member | None = await guild.fetch_member(user_id)
        except discord.NotFound:
            member = None  # left the server (or never was in it)
        self._members[key] = (now + self.ttl, member)
        self._members.move_to_end(key)
        while len(self._members) > MAX_CACHED_MEMBERS:
            self._members.popitem(last=False)
        return member

    def forget(self, user_id: int) -> None:
        """Drop a member's cached permissions (at logout)."""
        for key in [k for k in self._members if k[1] == user_id]:
            del self._members[key]
