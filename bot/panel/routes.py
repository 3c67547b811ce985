"""The web pages' routes: the one place that says which handler answers which address.

Kept apart from ``bot.panel.app`` (the ``Panel`` the handlers share) so that the handler modules import
``app`` and this module imports them, never the other way round.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.panel.access import PanelBot
from bot.panel.actions import ServerActions
from bot.panel.app import PANEL, Panel, security_headers
from bot.panel.public import PublicPages
from bot.panel.servers import ServerPages
from bot.settings import WebSettings


def mount_panel(app: web.Application, bot: PanelBot, web_settings: WebSettings, **options: Any) -> Panel:
    """Add the pages to ``app`` (the status server's); returns the ``Panel`` for tests."""
    panel = Panel(bot, web_settings, **options)
    app[PANEL] = panel
    app.middlewares.append(security_headers)
    app.on_cleanup.append(panel.close)
    public = PublicPages(panel)
    servers = ServerPages(panel)
    app.router.add_get("/static/panel.css", panel.stylesheet_handler)
    app.router.add_get("/", public.home)
    app.router.add_get("/topics", public.topics)
    app.router.add_get("/topics/{topic}", public.topic)
    app.router.add_get("/topics/{topic}/feed.atom", public.feed)
    app.router.add_get("/search", public.search)
    app.router.add_get("/articles/{article_id}", public.article)
    app.router.add_get("/login", panel.login)
    app.router.add_get("/login/callback", panel.callback)
    app.router.add_post("/logout", panel.logout)
    app.router.add_get("/panel", servers.list)
    app.router.add_get("/panel/{guild_id}", servers.server)
    # Actions: POST forms, each checking the CSRF token and `access.managed_guild(..., fresh=True)`
    # and calling the same service as the slash command (see bot.panel.actions).
    actions = ServerActions(panel, servers)
    base = "/panel/{guild_id}"
    app.router.add_post(base + "/settings", actions.settings)
    app.router.add_post(base + "/hide", actions.hide)
    app.router.add_post(base + "/unhide", actions.unhide)
    app.router.add_post(base + "/digests", actions.add_digest)
    app.router.add_get(base + r"/digests/{item_id:\d+}", actions.edit_digest_page)
    app.router.add_post(base + r"/digests/{item_id:\d+}", actions.edit_digest)
    app.router.add_get(base + r"/digests/{item_id:\d+}/preview", actions.preview_digest)
    app.router.add_post(base + r"/digests/{item_id:\d+}/{action:pause|resume|remove|send}", actions.digest_action)
    app.router.add_post(base + "/alerts", actions.add_alert)
    app.router.add_get(base + r"/alerts/{item_id:\d+}", actions.edit_alert_page)
    app.router.add_post(base + r"/alerts/{item_id:\d+}", actions.edit_alert)
    app.router.add_post(base + r"/alerts/{item_id:\d+}/{action:pause|resume|remove|test}", actions.alert_action)
    app.router.add_get(base + "/why", actions.why)
    app.router.add_post(base + "/export", actions.export)
    app.router.add_post(base + "/import", actions.import_)
    return panel
