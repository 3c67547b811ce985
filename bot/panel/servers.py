"""The control panel: the member's servers, and one server's settings, hidden articles, digests
and audit log (read-only for now; see ``routes.mount_panel`` for where the actions go).

Every request re-checks Manage Server through ``MemberAccess`` (the bot's own view of the member),
whatever the login said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import discord
from aiohttp import web

from bot.db.digest_types import Digest
from bot.guilds.policy import ServerPolicy
from bot.panel.app import Panel
from bot.panel.security import Session
from bot.render.admin import MAX_DETAIL_CHARS, SettingsView
from bot.render.text import single_line, truncate

log = logging.getLogger(__name__)

AUDIT_SHOWN = 25


@dataclass(frozen=True, slots=True)
class DigestRow:
    digest: Digest
    channel: str


class ServerPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    def _session(self, request: web.Request) -> Session:
        session = self.panel.logged_in(request)
        if session is None or session.user_id is None:
            raise self.panel.login_redirect(request)
        return session

    async def list(self, request: web.Request) -> web.Response:
        session = self._session(request)
        assert session.user_id is not None
        guilds: list[discord.Guild] = []
        for guild_id in session.guild_ids:
            guild = await self.panel.access.managed_guild(guild_id, session.user_id)
            if guild is not None:
                guilds.append(guild)
        guilds.sort(key=lambda g: g.name.casefold())
        return self.panel.render(request, "servers.html", title="Your servers", guilds=guilds)

    async def server(self, request: web.Request) -> web.Response:
        session = self._session(request)
        assert session.user_id is not None
        try:
            guild_id = int(request.match_info["guild_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        guild = await self.panel.access.managed_guild(guild_id, session.user_id)
        if guild is None:
            # The same answer whether the bot is absent or the member lacks the permission: the
            # page must not tell a stranger which servers use the bot.
            return self.panel.message(
                request,
                403,
                "Not allowed",
                "You need the Manage Server permission in that server, and newsbot must be in it.",
            )
        bot = self.panel.bot
        policy = await bot.policy.for_guild(guild.id)
        hidden = await bot.db.guilds.hidden(guild.id)
        digests = [DigestRow(d, _channel_name(guild, d.channel_id)) for d in await bot.db.digests.for_guild(guild.id)]
        audit = await bot.db.audit.latest(guild.id, AUDIT_SHOWN)
        return self.panel.render(
            request,
            "server.html",
            title=guild.name,
            guild=guild,
            settings=_settings_view(guild, policy, len(hidden)),
            hidden=hidden,
            digests=digests,
            audit=[(entry, {k: _detail(v) for k, v in entry.details.items()}) for entry in audit],
        )


def _channel_name(guild: discord.Guild, channel_id: int | None) -> str:
    if channel_id is None:
        return "none"
    channel = guild.get_channel(channel_id)
    return f"#{channel.name}" if channel is not None else f"#{channel_id} (no longer exists)"


def _detail(value: object) -> str:
    """An audit detail as one line of plain text (HTML escaping is the template's job; Discord's
    ``detail_text`` escapes markdown, which a web page would show as backslashes)."""
    if isinstance(value, list | tuple | set | frozenset):
        text = ", ".join(str(v) for v in value) or "(none)"
    else:
        text = "(none)" if value is None else str(value)
    return truncate(single_line(text), MAX_DETAIL_CHARS)


def _settings_view(guild: discord.Guild, policy: ServerPolicy, hidden: int) -> SettingsView:
    """What ``/admin config`` shows, with the log channel by name."""
    s = policy.settings
    return SettingsView(
        min_quality=policy.min_quality,
        min_quality_default=s.min_quality is None,
        include_unpublished=policy.include_unpublished,
        include_unpublished_default=s.include_unpublished is None,
        public_results=policy.public_results,
        public_results_default=s.public_results is None,
        blocked_providers=s.blocked_providers,
        blocked_topics=s.blocked_topics,
        log_channel=None if s.log_channel_id is None else _channel_name(guild, s.log_channel_id),
        hidden=hidden,
    )
