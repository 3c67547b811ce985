"""Feeds that misbehave: each fails with a specific reason, backs off, and is disabled after a day."""

from __future__ import annotations

import asyncio
import itertools
import resource
from pathlib import Path

from aiohttp import web

from bot.feeds.fetch import FetchLimits
from bot.feeds.service import DISABLE_AFTER, MAX_BACKOFF
from tests.feeds.conftest import FeedServer, Store, make_store


async def test_not_xml_is_an_error_with_a_reason(feed_server: FeedServer, store: Store) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><body>Welcome!</body></html>", content_type="text/html")

    url = feed_server.serve("/page", page)
    store.add(url)
    report = await store.service.refresh()
    assert report.feeds[0].failed
    state = store.state(url)
    assert state.last_error is not None and state.last_error.startswith("not a feed: an HTML page")
    assert not (store.root / "_feeds").exists()


async def test_a_50_mb_response_is_cut_off_at_the_limit_without_being_held(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    chunk = b"<!-- " + b"x" * (1024 * 1024 - 9) + b" -->"
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            for _ in range(50):
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    store = make_store(tmp_path, limits=FetchLimits(timeout=10.0, host_interval=0.0, max_bytes=2 * 1024 * 1024))
    url = feed_server.serve("/huge", huge)
    store.add(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await store.service.refresh()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert store.state(url).last_error == "the response is larger than the limit of 2,097,152 bytes"
    assert sent < 50 * len(chunk), "the client kept reading after the limit"
    assert grown_mib < 30, f"peak memory grew by {grown_mib:.0f} MiB"


async def test_a_declared_oversize_response_is_refused_before_reading(tmp_path: Path, feed_server: FeedServer) -> None:
    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"<rss>" + b" " * 3000 + b"</rss>", content_type="application/rss+xml")

    store = make_store(tmp_path, limits=FetchLimits(timeout=5.0, host_interval=0.0, max_bytes=1000))
    url = feed_server.serve("/big", big)
    store.add(url)
    await store.service.refresh()
    assert store.state(url).last_error == "the response is 3,011 bytes; the limit is 1,000"


async def test_a_slow_server_times_out(tmp_path: Path, feed_server: FeedServer) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="<rss/>")

    store = make_store(tmp_path, limits=FetchLimits(timeout=0.3, host_interval=0.0))
    url = feed_server.serve("/slow", slow)
    store.add(url)
    await store.service.refresh()
    assert store.state(url).last_error == "no complete answer within 0.3 s"


async def test_a_redirect_loop_stops_after_a_few_redirects(feed_server: FeedServer, store: Store) -> None:
    async def loop_a(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop-b")

    async def loop_b(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop-a")

    url = feed_server.serve("/loop-a", loop_a)
    feed_server.serve("/loop-b", loop_b)
    store.add(url)
    await store.service.refresh()
    assert store.state(url).last_error == "more than 5 redirects (a redirect loop?)"
    assert len(feed_server.hits["/loop-a"]) + len(feed_server.hits["/loop-b"]) <= 6


async def test_a_redirect_is_followed_and_relative_links_resolve_against_the_new_place(
    feed_server: FeedServer, store: Store
) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/new/feed.xml")

    url = feed_server.serve("/old", moved)
    feed_server.serve_file("/new/feed.xml", "relative_entities.xml")
    store.add(url)
    await store.service.refresh()
    (article,) = store.articles()
    assert article.url == f"{feed_server.base}/runs/ten-minutes"


async def test_304_not_modified_uses_the_etag_and_writes_nothing(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/rss", "rss2_content_encoded.xml", etag='"v1"')
    store.add(url)
    await store.service.refresh()
    store.clock.advance(3 * 3600)
    report = await store.service.refresh()
    first, second = feed_server.hits["/rss"]
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"] == '"v1"'
    assert report.feeds[0].outcome == "not modified" and report.written == []
    assert store.state(url).last_status == "not modified"
    assert "newsbot/" in second.headers["User-Agent"] and "gzip" in second.headers["Accept-Encoding"]


async def test_last_modified_is_sent_back(feed_server: FeedServer, store: Store) -> None:
    stamp = "Wed, 11 Nov 2026 07:00:00 GMT"

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(
            body=b"<rss version='2.0'><channel><title>t</title></channel></rss>", headers={"Last-Modified": stamp}
        )

    url = feed_server.serve("/lm", handler)
    store.add(url)
    await store.service.refresh()
    store.clock.advance(3600)
    report = await store.service.refresh()
    assert report.feeds[0].outcome == "not modified"


async def test_gzip_responses_are_decoded(feed_server: FeedServer, store: Store) -> None:
    from tests.feeds.conftest import FIXTURES

    body = (FIXTURES / "rdf.xml").read_bytes()

    async def gz(request: web.Request) -> web.Response:
        response = web.Response(body=body, content_type="application/xml")
        response.enable_compression(web.ContentCoding.gzip)
        return response

    url = feed_server.serve("/gz", gz)
    store.add(url)
    await store.service.refresh()
    assert [a.title for a in store.articles()] == ["Monitoring network opens its data"]


async def test_429_retry_after_is_honoured(feed_server: FeedServer, store: Store) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "7200"})

    url = feed_server.serve("/busy", busy)
    store.add(url, interval=5)
    await store.service.refresh()
    state = store.state(url)
    assert state.last_error == "HTTP 429 Too Many Requests (retry after 7200 s)"
    assert state.next_fetch == store.clock.now + 7200  # not the 5-minute backoff
    store.clock.advance(7199)
    await store.service.refresh()
    assert len(feed_server.hits["/busy"]) == 1
    store.clock.advance(1)
    await store.service.refresh()
    assert len(feed_server.hits["/busy"]) == 2


async def test_500s_back_off_exponentially_then_disable_the_feed_after_a_day(
    feed_server: FeedServer, store: Store
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    url = feed_server.serve("/broken", broken)
    store.add(url, interval=30)
    waits: list[float] = []
    started = store.clock.now
    while True:
        await store.service.refresh()
        state = store.state(url)
        if state.disabled:
            break
        waits.append(state.next_fetch - store.clock.now)
        store.clock.now = state.next_fetch
    assert waits[:4] == [1800, 3600, 7200, 14400]
    assert max(waits) == MAX_BACKOFF
    assert store.clock.now - started >= DISABLE_AFTER
    assert state.disabled.startswith("HTTP 500 Internal Server Error (failing since ")
    # Disabled: the refresh leaves it alone ...
    hits = len(feed_server.hits["/broken"])
    store.clock.advance(30 * 24 * 3600)
    await store.service.refresh()
    assert len(feed_server.hits["/broken"]) == hits
    # ... until the operator asks for it by name, and it works again.
    feed_server.serve_file("/broken", "rdf.xml")
    await store.service.refresh(only=url)
    state = store.state(url)
    assert state.disabled is None and state.failures == 0 and state.entries == 1


async def test_410_gone_disables_at_once(feed_server: FeedServer, store: Store) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410)

    url = feed_server.serve("/gone", gone)
    store.add(url)
    await store.service.refresh()
    assert store.state(url).disabled is not None


async def test_one_request_at_a_time_per_host_with_an_interval(tmp_path: Path, feed_server: FeedServer) -> None:
    active = 0
    most = 0
    times: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        nonlocal active, most
        active += 1
        most = max(most, active)
        times.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.02)
        active -= 1
        return web.Response(body=b"<rss version='2.0'><channel><title>t</title></channel></rss>")

    store = make_store(tmp_path, limits=FetchLimits(timeout=5.0, host_interval=0.1))
    for n in range(4):
        store.add(feed_server.serve(f"/f{n}", handler))
    await store.service.refresh()
    assert most == 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4 and min(gaps) >= 0.09
