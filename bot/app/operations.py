"""What running for real adds around the bot: the content watcher and the status server.

``NewsBot`` starts them in ``setup_hook`` (before the start-up index, so ``/healthz`` answers
"starting" during a long first index and no file change is missed) and stops them in ``close``.
They are given what they use (settings, metrics, the reindex to run, the state to report), not the
bot itself, so this module needs nothing of ``bot.app.client``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from bot.content.watch import ContentWatcher
from bot.ops.metrics import BotMetrics
from bot.ops.view import StatusSource
from bot.ops.web import Mount, StatusServer
from bot.panel.access import PanelBot
from bot.panel.routes import mount_panel
from bot.settings import Settings

log = logging.getLogger(__name__)


class Operations:
    def __init__(
        self,
        settings: Settings,
        metrics: BotMetrics,
        *,
        source: StatusSource,
        reindex: Callable[[], Awaitable[Any]],
        pages: PanelBot | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.source = source
        self.reindex = reindex
        self.pages = pages
        self.watcher: ContentWatcher | None = None
        self.server: StatusServer | None = None
        metrics.watch(source)

    def _mounts(self) -> list[Mount]:
        web = self.settings.web
        if web is None or self.pages is None:
            return []
        log.info(
            "web pages at %s (public: %s), login redirect URI %s",
            web.base_url,
            "yes" if web.public else "no",
            web.redirect_uri,
        )
        return [partial(mount_panel, bot=self.pages, web_settings=web)]

    async def start(self) -> None:
        settings = self.settings
        if settings.http_port is not None and self.server is None:
            server = StatusServer(
                self.source, self.metrics, settings.http_host, settings.http_port, mounts=self._mounts()
            )
            await server.start()
            self.server = server
        if settings.watch and settings.indexes_content() and self.watcher is None:
            reloads = self.metrics.content_reloads
            watcher = ContentWatcher(
                settings.content_dir,
                self.reindex,
                interval=settings.scan_interval,
                on_reload=lambda ok: reloads.labels(outcome="ok" if ok else "error").inc(),
            )
            await watcher.start()
            self.watcher = watcher

    async def stop(self) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            await watcher.stop()
        server, self.server = self.server, None
        if server is not None:
            await server.stop()
