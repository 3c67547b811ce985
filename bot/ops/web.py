"""The optional status server: ``/healthz`` for Docker and systemd, ``/metrics`` for Prometheus.

Off unless ``NEWSBOT_HTTP_PORT`` is set, and bound to loopback by default: neither page needs
authentication because neither shows anything private, but there is no reason to offer them to
the world either. No access log: a scraper calls every few seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from bot.ops.health import check_health
from bot.ops.metrics import BotMetrics

if TYPE_CHECKING:
    from bot.ops.view import StatusSource

#: Adds routes to the status server's application before it starts (the web pages, ``bot.panel``).
Mount = Callable[[web.Application], object]

log = logging.getLogger(__name__)


class StatusServer:
    """``await start()`` binds ``host:port`` (port 0 picks a free one, see ``.port``); ``await stop()``."""

    def __init__(
        self, source: StatusSource, metrics: BotMetrics, host: str, port: int, *, mounts: Sequence[Mount] = ()
    ) -> None:
        self.source = source
        self.bot_metrics = metrics
        self.host = host
        self.port = port
        self.mounts = tuple(mounts)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        for mount in self.mounts:
            mount(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno, f"cannot serve /healthz on {self.host}:{self.port} (NEWSBOT_HTTP_HOST/PORT): {exc.strerror}"
            ) from exc
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("health and metrics at %s/healthz and %s/metrics", self.url, self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        health = await check_health(self.source)
        return web.json_response(health.body, status=200 if health.healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.bot_metrics.expose(request.headers.get("Accept", ""))
        # Set as a header: aiohttp's content_type= refuses the parameters (version, charset) it carries.
        return web.Response(body=body, headers={"Content-Type": content_type})
