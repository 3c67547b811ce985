"""Discord's OAuth2 authorization code flow, emulated: what "Login with Discord" talks to.

- ``GET /oauth2/authorize`` (on the site's origin, like ``https://discord.com/oauth2/authorize``): a
  consent page listing the emulated people; choosing one and pressing Authorize redirects to the
  ``redirect_uri`` with ``code`` and ``state``, Cancel with ``error=access_denied``.
- ``POST /api/v10/oauth2/token``: the ``authorization_code`` and ``refresh_token`` grants, the client
  authenticated by ``client_id``/``client_secret`` in the form or HTTP Basic, the ``redirect_uri``
  compared with the one the code was issued for; a code works once.
- ``GET /api/v10/users/@me`` and ``/users/@me/guilds`` with ``Authorization: Bearer``: the user, and
  their guilds with ``owner`` and their guild-level ``permissions`` (a string, as Discord sends it).

The REST middleware (``rest.py``) knows only the bot token, so these routes are answered by a
middleware of their own placed before it; a request with the bot token still reaches the bot's routes.
Registered redirect URIs work like the developer portal's list: ``allow_redirect(uri)``.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.emulator.models import User
from bot.emulator.rest import API_PREFIX
from bot.emulator.world import World

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SCOPES = frozenset({"identify", "guilds", "email", "guilds.members.read"})
CODE_SECONDS = 600.0
TOKEN_SECONDS = 604800  # Discord's access tokens last a week


@dataclass(frozen=True, slots=True)
class _Grant:
    user_id: int
    scopes: frozenset[str]
    redirect_uri: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class _Token:
    user_id: int
    scopes: frozenset[str]
    expires_at: float


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": "application/json"})


def _json(data: object) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})


class OAuthProvider:
    """``install(app)`` before the REST API's ``install``: its middleware must run first."""

    def __init__(self, world: World, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.world = world
        self.client_secret = secrets.token_urlsafe(24)
        self.redirect_uris: set[str] = set()
        self.token_requests = 0
        #: Who the consent page offers first (the demo's moderator); otherwise the first person.
        self.default_user_id: int | None = None
        self._clock = clock
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._api: dict[tuple[str, str], Handler] = {
            ("POST", f"{API_PREFIX}/oauth2/token"): self.token,
            ("GET", f"{API_PREFIX}/users/@me"): self.me,
            ("GET", f"{API_PREFIX}/users/@me/guilds"): self.my_guilds,
        }

    @property
    def client_id(self) -> str:
        return str(self.world.application_id)

    def allow_redirect(self, uri: str) -> None:
        self.redirect_uris.add(uri)

    def revoke_all(self) -> None:
        """Every access and refresh token stops working (the user deauthorised the app)."""
        self._tokens.clear()
        self._refresh.clear()

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.router.add_get("/oauth2/authorize", self.authorize_page)
        app.router.add_post("/oauth2/authorize", self.authorize_decision)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = self._api.get((request.method, request.path))
        if route is None:
            return await handler(request)
        if not request.path.endswith("/oauth2/token") and not request.headers.get("Authorization", "").startswith(
            "Bearer "
        ):
            return await handler(request)  # the bot's own GET /users/@me
        return await route(request)

    # -- the consent page ------------------------------------------------------------------------

    def _check_request(self, params: Mapping[str, str]) -> tuple[str, frozenset[str]] | str:
        """``(redirect_uri, scopes)``, or what is wrong (shown on the page, never redirected)."""
        if params.get("client_id") != self.client_id:
            return "Unknown client_id."
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return f"Invalid redirect_uri {redirect_uri!r}: it is not registered for this application."
        if params.get("response_type") != "code":
            return "response_type must be code."
        scopes = frozenset(params.get("scope", "").split())
        if not scopes or not scopes <= SCOPES:
            return f"Invalid scope {params.get('scope', '')!r}."
        return redirect_uri, scopes

    def _people(self) -> list[User]:
        people = [u for u in self.world.users.values() if not u.bot]
        return sorted(people, key=lambda u: u.id != self.default_user_id)

    async def authorize_page(self, request: web.Request) -> web.Response:
        checked = self._check_request(request.query)
        if isinstance(checked, str):
            return web.Response(status=400, text=checked)
        _, scopes = checked
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in request.query.items()
            if k in {"client_id", "redirect_uri", "response_type", "scope", "state"}
        )
        people = "".join(
            f'<li><input type="radio" name="user_id" id="user-{u.id}" value="{u.id}"{" checked" if i == 0 else ""}>'
            f' <label for="user-{u.id}">{html.escape(u.global_name or u.username)} ({html.escape(u.username)})</label>'
            "</li>"
            for i, u in enumerate(self._people())
        )
        page = (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Authorize newsbot</title></head><body>"
            f"<main><h1>{html.escape(self.world.bot.username)} wants to access your account</h1>"
            f"<p>Scopes: {html.escape(' '.join(sorted(scopes)))}</p>"
            f'<form method="post" action="/oauth2/authorize">{hidden}'
            f"<fieldset><legend>Log in as</legend><ul>{people}</ul></fieldset>"
            '<button type="submit" name="decision" value="authorize" id="authorize">Authorize</button> '
            '<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>'
            "</form></main></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def authorize_decision(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        checked = self._check_request(form)
        if isinstance(checked, str):
            return web.Response(status=400, text=checked)
        redirect_uri, scopes = checked
        reply: dict[str, str] = {}
        if form.get("decision") != "authorize":
            reply = {"error": "access_denied", "error_description": "The resource owner or authorization server denied"}
        else:
            try:
                user = self.world.users[int(form.get("user_id", ""))]
            except (KeyError, ValueError):
                return web.Response(status=400, text="Choose who logs in.")
            code = secrets.token_urlsafe(20)
            self._codes[code] = _Grant(user.id, scopes, redirect_uri, self._clock() + CODE_SECONDS)
            reply = {"code": code}
        if "state" in form:
            reply["state"] = form["state"]
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        raise web.HTTPFound(redirect_uri + joiner + urlencode(reply))

    # -- the API ---------------------------------------------------------------------------------

    def _client_ok(self, request: web.Request, form: Mapping[str, str]) -> bool:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                client_id, _, client_secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
        return client_id == self.client_id and secrets.compare_digest(client_secret or "", self.client_secret)

    async def token(self, request: web.Request) -> web.StreamResponse:
        self.token_requests += 1
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded")
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not self._client_ok(request, form):
            return _oauth_error(401, "invalid_client", "Invalid client_id or client_secret")
        grant_type = form.get("grant_type")
        now = self._clock()
        if grant_type == "authorization_code":
            grant = self._codes.pop(form.get("code", ""), None)  # single use, even when it fails below
            if grant is None or grant.expires_at < now:
                return _oauth_error(400, "invalid_grant", 'Invalid "code" in request.')
            if form.get("redirect_uri") != grant.redirect_uri:
                return _oauth_error(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
            user_id, scopes = grant.user_id, grant.scopes
        elif grant_type == "refresh_token":
            old = self._refresh.pop(form.get("refresh_token", ""), None)
            if old is None:
                return _oauth_error(400, "invalid_grant", 'Invalid "refresh_token" in request.')
            user_id, scopes = old.user_id, old.scopes
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type {grant_type!r}")
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._tokens[access] = _Token(user_id, scopes, now + TOKEN_SECONDS)
        self._refresh[refresh] = _Token(user_id, scopes, now + TOKEN_SECONDS)
        return _json(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "refresh_token": refresh,
                "scope": " ".join(sorted(scopes)),
            }
        )

    def _bearer(self, request: web.Request, scope: str) -> _Token | web.Response:
        token = self._tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if token is None or token.expires_at < self._clock():
            return _json_error(401, 0, "401: Unauthorized")
        if scope not in token.scopes:
            return _json_error(403, 50001, "Missing Access")
        return token

    async def me(self, request: web.Request) -> web.StreamResponse:
        token = self._bearer(request, "identify")
        if isinstance(token, web.Response):
            return token
        # UserPIIResponse: the account fields an OAuth token with `identify` reads, beyond the public ones.
        return _json({**self.world.users[token.user_id].payload(), "mfa_enabled": False, "locale": "en-US"})

    async def my_guilds(self, request: web.Request) -> web.StreamResponse:
        token = self._bearer(request, "guilds")
        if isinstance(token, web.Response):
            return token
        guilds: list[dict[str, object]] = []
        for guild in self.world.guilds.values():
            member = guild.members.get(token.user_id)
            if member is None:
                continue
            guilds.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": None,
                    "banner": None,
                    "owner": guild.owner_id == token.user_id,
                    "permissions": str(guild.permissions(member)),
                    "features": [],
                }
            )
        return _json(guilds)


def _json_error(status: int, code: int, message: str) -> web.Response:
    body = json.dumps({"message": message, "code": code}).encode()
    return web.Response(status=status, body=body, headers={"Content-Type": "application/json"})
