"""The Discord side of "Login with Discord": the authorize address, the code exchange, who the
member is and which servers they manage.

Everything goes to ``DISCORD_API_BASE`` (``{base}/oauth2/token``, ``{base}/users/@me``,
``{base}/users/@me/guilds``), and the authorize page is ``/oauth2/authorize`` on that base's
origin, so the local emulator stands in for all of it. The client secret is revealed only into
the token request's body; errors name the step and the status, never a value sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from bot.settings import WebSettings

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
TIMEOUT = aiohttp.ClientTimeout(total=10)
#: Guild permission bits (Discord's values) that let a member manage a server.
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5


class DiscordLoginError(Exception):
    """The login could not be completed; the message is safe to show and to log."""


@dataclass(frozen=True, slots=True)
class LoggedInUser:
    id: int
    name: str
    managed_guild_ids: list[int]


def authorize_origin(api_base: str) -> str:
    parts = urlsplit(api_base)
    return f"{parts.scheme}://{parts.netloc}"


def can_manage(guild: dict[str, Any]) -> bool:
    """What Discord says at login: owner, Administrator or Manage Server in that server."""
    try:
        permissions = int(guild.get("permissions", "0"))
    except (TypeError, ValueError):
        return False
    return bool(guild.get("owner")) or bool(permissions & (ADMINISTRATOR | MANAGE_GUILD))


class DiscordOAuth:
    def __init__(self, web: WebSettings, api_base: str) -> None:
        self._web = web
        self._api_base = api_base.rstrip("/")
        self._http: aiohttp.ClientSession | None = None

    def authorize_url(self, state: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._web.client_id,
                "scope": SCOPES,
                "state": state,
                "redirect_uri": self._web.redirect_uri,
                "prompt": "none",
            }
        )
        return f"{authorize_origin(self._api_base)}/oauth2/authorize?{query}"

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._http

    async def login(self, code: str) -> LoggedInUser:
        """Exchange ``code`` for a token, read the member and their servers; the token is then dropped."""
        token = await self._exchange(code)
        headers = {"Authorization": f"Bearer {token}"}
        user = await self._get("/users/@me", headers, "reading your Discord account")
        guilds = await self._get("/users/@me/guilds", headers, "reading your servers")
        if not isinstance(user, dict) or not isinstance(guilds, list):
            raise DiscordLoginError("Discord answered in an unexpected shape; please try again.")
        try:
            user_id = int(user["id"])
        except (KeyError, TypeError, ValueError):
            raise DiscordLoginError("Discord did not say who you are; please try again.") from None
        name = str(user.get("global_name") or user.get("username") or user_id)
        managed = [
            int(g["id"]) for g in guilds if isinstance(g, dict) and str(g.get("id", "")).isdigit() and can_manage(g)
        ]
        return LoggedInUser(user_id, name, managed)

    async def _exchange(self, code: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._web.redirect_uri,
            "client_id": self._web.client_id,
            "client_secret": self._web.client_secret.reveal(),
        }
        try:
            async with self._session().post(f"{self._api_base}/oauth2/token", data=form) as response:
                body = await response.json(content_type=None) if response.status < 500 else None
                if response.status != 200 or not isinstance(body, dict) or "access_token" not in body:
                    error = body.get("error") if isinstance(body, dict) else None
                    log.warning("Discord refused the login code: HTTP %d %s", response.status, error or "")
                    raise DiscordLoginError(
                        "Discord did not accept this login (it may have expired); please try again."
                    )
                return str(body["access_token"])
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("Discord's token endpoint failed: %s", type(exc).__name__)
            raise DiscordLoginError("Discord could not be reached; please try again in a moment.") from None

    async def _get(self, path: str, headers: dict[str, str], what: str) -> Any:
        try:
            async with self._session().get(f"{self._api_base}{path}", headers=headers) as response:
                if response.status != 200:
                    log.warning("Discord answered HTTP %d to GET %s during a login", response.status, path)
                    raise DiscordLoginError(f"Discord refused {what}; please try again.")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("GET %s failed during a login: %s", path, type(exc).__name__)
            raise DiscordLoginError(f"Discord could not be reached while {what}; please try again.") from None
