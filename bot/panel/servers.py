"""The control panel: the member's servers, and one server's page: settings, hidden articles,
digests, alerts and the audit log, with the forms of ``bot.panel.actions`` on it.

Every request re-checks Manage Server through ``MemberAccess`` (the bot's own view of the member),
whatever the login said.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import discord
from aiohttp import web

from bot.alerts import rules
from bot.alerts.outbox import channel_kind
from bot.db.alert_types import Alert
from bot.db.digest_types import Digest
from bot.digests.limits import DEFAULT_ITEMS, MAX_ITEMS, MIN_ITEMS
from bot.digests.schedule import CADENCES
from bot.guilds.policy import ServerPolicy
from bot.panel.app import Panel
from bot.panel.security import FLASH_COOKIE, Session
from bot.render.admin import MAX_DETAIL_CHARS, SettingsView
from bot.render.text import single_line, truncate
from bot.store.limits import QUALITY

log = logging.getLogger(__name__)

AUDIT_SHOWN = 25


@dataclass(frozen=True, slots=True)
class DigestRow:
    digest: Digest
    channel: str


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert: Alert
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
        return await self.page(request, guild)

    async def page(
        self,
        request: web.Request,
        guild: discord.Guild,
        *,
        status: int = 200,
        form: str | None = None,
        errors: Mapping[str, str] | None = None,
        values: Mapping[str, str] | None = None,
        problem: str | None = None,
    ) -> web.Response:
        """The server page; after a refused action, ``form`` names the form to show again with
        ``errors`` next to its fields, what was typed (``values``) kept, and ``problem`` above it."""
        bot = self.panel.bot
        policy = await bot.policy.for_guild(guild.id)
        hidden = await bot.db.guilds.hidden(guild.id)
        digests = [DigestRow(d, _channel_name(guild, d.channel_id)) for d in await bot.db.digests.for_guild(guild.id)]
        alerts = [AlertRow(a, _channel_name(guild, a.channel_id)) for a in await bot.db.alerts.for_guild(guild.id)]
        audit = await bot.db.audit.latest(guild.id, AUDIT_SHOWN)
        response = self.panel.render(
            request,
            "server.html",
            status=status,
            title=guild.name,
            guild=guild,
            settings=_settings_view(guild, policy, len(hidden)),
            current=policy.settings,
            hidden=hidden,
            digests=digests,
            alerts=alerts,
            audit=[(entry, {k: _detail(v) for k, v in entry.details.items()}) for entry in audit],
            text_channels=sorted(guild.text_channels, key=lambda c: c.position),
            alert_channels=alert_channels(guild),
            roles=[r for r in guild.roles if not r.is_default()],
            quality=QUALITY,
            items=(MIN_ITEMS, MAX_ITEMS, DEFAULT_ITEMS),
            posts=(rules.MIN_POSTS_PER_WINDOW, rules.MAX_POSTS_PER_WINDOW, rules.DEFAULT_POSTS_PER_WINDOW),
            styles=rules.STYLES,
            cadences=CADENCES,
            form=form,
            errors=dict(errors or {}),
            values=dict(values or {}),
            problem=web_text(problem, guild) if problem else None,
            notice=self.panel.take_flash(request),
        )
        if FLASH_COOKIE in request.cookies:
            self.panel.clear_flash(response)
        return response


def alert_channels(guild: discord.Guild) -> list[discord.abc.GuildChannel]:
    return sorted((c for c in guild.channels if channel_kind(c) is not None), key=lambda c: c.position)


_MENTION = re.compile(r"<#(\d{1,20})>|<@&(\d{1,20})>")
_ESCAPE = re.compile(r"\\([\\*_`~|>#\[\]()-])")


def web_text(text: str, guild: discord.Guild | None) -> str:
    """A service's answer (written for Discord) as plain text for a page: no ``**``/backticks, no
    backslash escapes, channel and role mentions by name. The template escapes the result."""

    def name(match: re.Match[str]) -> str:
        if match[1]:
            channel = guild.get_channel(int(match[1])) if guild is not None else None
            return f"#{channel.name}" if channel is not None else "#deleted-channel"
        role = guild.get_role(int(match[2])) if guild is not None else None
        return f"@{role.name}" if role is not None else "@deleted-role"

    text = _MENTION.sub(name, text).replace("**", "").replace("`", "")
    return _ESCAPE.sub(r"\1", text)


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
