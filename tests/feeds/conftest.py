"""A local feed server (aiohttp over loopback) and a feed service pointed at a temporary store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bot.feeds.config import FeedConfig, save_feeds
from bot.feeds.fetch import FetchLimits
from bot.feeds.service import FeedService, FeedsSetup
from bot.feeds.state import FeedState, load_state
from bot.store.loader import load_directory
from bot.store.models import Article

FIXTURES = Path(__file__).parent / "fixtures"
START = 1_794_484_800.0  # 2026-11-12 12:00 UTC, just after the fixtures' dates

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Clock:
    """Wall-clock time that tests move by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FeedServer:
    base: str
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: dict[str, list[web.Request]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def serve_file(
        self, path: str, name: str, *, content_type: str = "application/rss+xml", etag: str | None = None
    ) -> str:
        body = (FIXTURES / name).read_bytes()

        async def handler(request: web.Request) -> web.StreamResponse:
            if etag is not None and request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            headers = {"ETag": etag} if etag else {}
            return web.Response(body=body, content_type=content_type, headers=headers)

        self.routes[path] = handler
        return self.url(path)

    def serve(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer("")

    async def dispatch(request: web.Request) -> web.StreamResponse:
        server.hits.setdefault(request.path, []).append(request)
        handler = server.routes.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


@dataclass
class Store:
    root: Path
    feeds_file: Path
    clock: Clock
    service: FeedService

    def add(self, url: str, **options: object) -> FeedConfig:
        feed = FeedConfig(url=url, **options)  # type: ignore[arg-type]
        save_feeds(self.feeds_file, [*self.service.feeds(), feed])
        return feed

    def state(self, url: str) -> FeedState:
        return load_state(self.service.setup.state_file)[url]

    def articles(self) -> list[Article]:
        result = load_directory(self.root, workers=1)
        assert not result.errors, result.errors
        return result.articles


def make_store(tmp_path: Path, *, limits: FetchLimits | None = None, keep_days: int = 3650) -> Store:
    root = tmp_path / "content"
    root.mkdir(exist_ok=True)
    clock = Clock()
    setup = FeedsSetup(
        feeds_file=tmp_path / "feeds.yml",
        content_dir=root,
        keep_days=keep_days,
        limits=limits or FetchLimits(timeout=2.0, host_interval=0.0),
    )
    return Store(root, setup.feeds_file, clock, FeedService(setup, clock=clock))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store(tmp_path)
