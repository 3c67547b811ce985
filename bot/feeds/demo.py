"""``make demo`` with feeds: a bundled feed served from a local server and fetched into a scratch
copy of the content before the tour, so the demo shows fetched articles without the network and
without writing into the bundled content."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib import resources
from pathlib import Path

from aiohttp import web

from bot.feeds.config import FeedConfig, save_feeds
from bot.feeds.service import FeedService, FeedsSetup, RefreshReport
from bot.settings import Settings

__all__ = ["demo_feeds"]

_PUBDATE_RE = re.compile(rb"<pubDate>[^<]*</pubDate>")


def _recent(body: bytes) -> bytes:
    """The bundled entries dated a few hours ago, so they are the newest and within the keep window."""
    now = datetime.now(UTC).replace(microsecond=0)
    hours = iter(range(1, 100))
    return _PUBDATE_RE.sub(
        lambda _: f"<pubDate>{format_datetime(now - timedelta(hours=next(hours)))}</pubDate>".encode(), body
    )


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # same mtime and size: the index sees the bundled files as unchanged
    except OSError:
        shutil.copy2(src, dst)


@contextlib.asynccontextmanager
async def demo_feeds(settings: Settings) -> AsyncIterator[tuple[Settings, Callable[[], Awaitable[RefreshReport]]]]:
    """The demo's settings (a scratch content copy, a feeds file naming the local feed; the bot's own
    fetcher off, so the demo decides when to fetch) and the fetch to run once the bot is up."""
    body = _recent((resources.files("bot.feeds") / "demo_feed.xml").read_bytes())

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/bulletin.xml", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as scratch:
            content = Path(scratch) / "content"
            shutil.copytree(settings.content_dir, content, copy_function=_link_or_copy)
            feeds_file = Path(scratch) / "feeds.yml"
            save_feeds(feeds_file, [FeedConfig(url=f"http://127.0.0.1:{port}/bulletin.xml", quality=80)])
            demo = replace(settings, content_dir=content, feeds_file=feeds_file, feeds=False)
            yield demo, FeedService(FeedsSetup.from_settings(demo)).refresh
    finally:
        await runner.cleanup()
