"""What running for real adds around the bot: the content watcher and the status server.

``NewsBot`` starts them in ``setup_hook`` (before the start-up index, so ``/healthz`` answers
"starting" during a long first index and no file change is missed) and stops them in ``close``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.watch import ContentWatcher
from bot.web import StatusServer

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)


class Operations:
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.watcher: ContentWatcher | None = None
        self.server: StatusServer | None = None
        bot.metrics.watch(bot)

    async def start(self) -> None:
        settings = self.bot.settings
        if settings.http_port is not None and self.server is None:
            server = StatusServer(self.bot, settings.http_host, settings.http_port)
            await server.start()
            self.server = server
        if settings.watch and settings.indexes_content() and self.watcher is None:
            reloads = self.bot.metrics.content_reloads
            watcher = ContentWatcher(
                settings.content_dir,
                self.bot.reindex,
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
