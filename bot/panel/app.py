"""The web pages' plumbing: templates, the security headers, sessions, and "Login with Discord".

``mount_panel(app, bot, web)`` adds the routes to the status server's application (``bot.ops.web``);
``/healthz`` and ``/metrics`` stay as they are. Routes:

- public (``NEWSBOT_WEB_PUBLIC=true``, else 404): ``/``, ``/topics``, ``/topics/{topic}``,
  ``/topics/{topic}/feed.atom``, ``/search?q=``, ``/articles/{id}`` (``bot.panel.public``);
- login: ``/login?next=``, ``/login/callback`` (the redirect URI), ``POST /logout``;
- the control panel: ``/panel``, ``/panel/{guild_id}`` (``bot.panel.servers``);
- ``/static/panel.css``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from bot.panel.access import MemberAccess, PanelBot
from bot.panel.discord_oauth import DiscordLoginError, DiscordOAuth
from bot.panel.security import (
    COOKIE,
    FLASH_COOKIE,
    SECURITY_HEADERS,
    SESSION_SECONDS,
    RateLimiter,
    Session,
    SessionCodec,
    client_address,
    safe_next,
    with_login,
)
from bot.render.text import safe_url
from bot.settings import WebSettings

log = logging.getLogger(__name__)

_SESSION: web.RequestKey[Session | None] = web.RequestKey("newsbot_session", object)  # type: ignore[arg-type]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.panel", "templates"),
        autoescape=True,  # every value is HTML-escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    return env


class Panel:
    """Holds what every page needs; the handlers live in ``public`` and ``servers``."""

    def __init__(self, bot: PanelBot, web_settings: WebSettings, *, access: MemberAccess | None = None) -> None:
        self.bot = bot
        self.web = web_settings
        self.codec = SessionCodec(web_settings.session_secret)
        self.oauth = DiscordOAuth(web_settings, bot.settings.api_base)
        self.access = access or MemberAccess(bot)
        self.logins = RateLimiter()
        self.templates = _environment()
        self.stylesheet = resources.files("bot.panel").joinpath("static/panel.css").read_bytes()

    # --- responses ------------------------------------------------------------------------------

    def session(self, request: web.Request) -> Session | None:
        if _SESSION not in request:
            request[_SESSION] = self.codec.loads(request.cookies.get(COOKIE))
        return request[_SESSION]

    def render(self, request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
        session = self.session(request)
        text = self.templates.get_template(template).render(
            public=self.web.public,
            user_name=session.user_name if session is not None and session.logged_in else None,
            csrf=self.codec.csrf_token(session) if session is not None else "",
            path=request.path,
            **context,
        )
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def message(self, request: web.Request, status: int, title: str, text: str) -> web.Response:
        return self.render(request, "message.html", status=status, title=title, text=text)

    def flash(self, request: web.Request, response: web.StreamResponse, text: str) -> None:
        """Show ``text`` once, on the next page this browser loads (after a redirect)."""
        session = self.session(request)
        if session is None:
            return
        response.set_cookie(
            FLASH_COOKIE,
            self.codec.flash_dumps(session, text),
            max_age=300,
            path="/panel",
            httponly=True,
            samesite="Lax",
            secure=self.web.secure_cookies,
        )

    def take_flash(self, request: web.Request) -> str | None:
        return self.codec.flash_loads(self.session(request), request.cookies.get(FLASH_COOKIE))

    def clear_flash(self, response: web.StreamResponse) -> None:
        response.del_cookie(FLASH_COOKIE, path="/panel", httponly=True, samesite="Lax", secure=self.web.secure_cookies)

    def set_session(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.codec.dumps(session),
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.web.secure_cookies,
        )

    def clear_session(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/", httponly=True, samesite="Lax", secure=self.web.secure_cookies)

    def logged_in(self, request: web.Request) -> Session | None:
        session = self.session(request)
        return session if session is not None and session.logged_in else None

    def login_redirect(self, request: web.Request) -> web.HTTPFound:
        return web.HTTPFound("/login?" + urlencode({"next": request.path_qs}))

    # --- login ----------------------------------------------------------------------------------

    def _rate_limited(self, request: web.Request) -> web.Response | None:
        wait = self.logins.allow(client_address(request))
        if wait is None:
            return None
        response = self.message(
            request, 429, "Too many login attempts", f"Please wait {max(1, round(wait))} seconds and try again."
        )
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        limited = self._rate_limited(request)
        if limited is not None:
            return limited
        session = replace(
            Session.fresh(self.codec.now()), state=secrets.token_urlsafe(24), next=safe_next(request.query.get("next"))
        )
        assert session.state is not None
        response = redirect(self.oauth.authorize_url(session.state))
        self.set_session(response, session)
        return response

    async def callback(self, request: web.Request) -> web.StreamResponse:
        limited = self._rate_limited(request)
        if limited is not None:
            return limited
        session = self.session(request)
        expected = session.state if session is not None else None
        given = request.query.get("state", "")
        if session is None or expected is None or not secrets.compare_digest(given.encode(), expected.encode()):
            response = self.message(
                request,
                400,
                "Login failed",
                "This login link is not the one this browser started (or it was used already). Please log in again.",
            )
            if session is not None:
                self.set_session(response, replace(session, state=None))  # a state works once
            return response
        if "error" in request.query or "code" not in request.query:
            response = self.message(request, 400, "Login cancelled", "Discord did not log you in. You can try again.")
            self.set_session(response, replace(session, state=None))
            return response
        try:
            user = await self.oauth.login(request.query["code"])
        except DiscordLoginError as exc:
            response = self.message(request, 502, "Login failed", str(exc))
            self.set_session(response, replace(session, state=None))
            return response
        log.info("user %d logged in to the web panel", user.id)
        new = with_login(
            session, user_id=user.id, user_name=user.name, guild_ids=user.managed_guild_ids, now=self.codec.now()
        )
        response = redirect(new.next)
        self.set_session(response, replace(new, next="/panel"))
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = self.session(request)
        form = await request.post()
        if not self.codec.csrf_ok(session, form.get("csrf")):
            return self.message(request, 403, "Refused", "This form has expired or did not come from this site.")
        if session is not None and session.user_id is not None:
            self.access.forget(session.user_id)
        response = redirect("/")
        self.clear_session(response)
        return response

    # --- the rest -------------------------------------------------------------------------------

    async def stylesheet_handler(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.stylesheet, content_type="text/css", charset="utf-8", headers={"Cache-Control": "max-age=3600"}
        )

    async def close(self, app: web.Application) -> None:
        await self.oauth.close()


def redirect(location: str) -> web.Response:
    """A 302 that can carry a cookie (raising ``HTTPFound`` would drop what is set on it later)."""
    return web.Response(status=302, headers={"Location": location})


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        exc.headers.setdefault("Cache-Control", "no-store")
        raise
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


PANEL = web.AppKey("newsbot_panel", Panel)
