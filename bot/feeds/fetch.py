"""HTTP for feeds: conditional, polite, bounded.

One :class:`Fetcher` (one aiohttp session) serves a whole refresh. Per host, one request at a time
and at least ``host_interval`` seconds between the start of one and the next, so a hundred feeds on
one site never arrive there as a burst. Every response is bounded in time (``timeout``), in
redirects and in size (read in chunks; the request is dropped once the decompressed body passes
``max_bytes``, so neither a huge feed nor a gzip bomb is ever held in memory).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from bot import __version__

__all__ = ["FetchError", "FetchLimits", "Fetcher", "Response", "user_agent"]

_MAX_AGE_RE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})", re.IGNORECASE)
_CHUNK = 64 * 1024
#: Retry-After values beyond this are taken as this: a day, after which the feed is disabled anyway.
MAX_RETRY_AFTER = 24 * 3600.0
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


def user_agent(contact: str | None = None) -> str:
    """Who is asking, so a feed's owner can tell newsbot apart and reach whoever runs it."""
    extra = f"; +{contact}" if contact else ""
    return f"newsbot/{__version__} (feed reader for a Discord news bot{extra}) aiohttp/{aiohttp.__version__}"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 30.0  # seconds for the whole request, redirects and body included
    max_bytes: int = 10 * 1024 * 1024  # decompressed body
    max_redirects: int = 5
    host_interval: float = 1.0  # seconds between requests to one host


@dataclass(frozen=True, slots=True)
class Response:
    status: int  # 200, or 304 when the feed has not changed
    url: str  # after redirects
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None  # Cache-Control max-age, seconds
    content_type: str | None = None


class FetchError(Exception):
    """The feed could not be fetched. ``retry_after`` (seconds) when the server said when to come
    back; ``permanent`` when trying again cannot help (HTTP 410 Gone)."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), within bounds."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def parse_max_age(value: str | None) -> float | None:
    if not value:
        return None
    match = _MAX_AGE_RE.search(value)
    return float(match.group(1)) if match else None


class _Host:
    __slots__ = ("lock", "next_start")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.next_start = 0.0


class Fetcher:
    """``async with Fetcher(...) as fetcher: await fetcher.get(url, etag=..., last_modified=...)``."""

    def __init__(
        self,
        agent: str,
        limits: FetchLimits | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        connections: int = 20,
    ) -> None:
        self.agent = agent
        self.limits = limits or FetchLimits()
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._connections = connections
        self._hosts: dict[str, _Host] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections, limit_per_host=1, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self.limits.timeout),
            headers={"User-Agent": self.agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
            # Cookies would make one feed's answers depend on another's.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Response:
        """The feed at ``url``; raises :class:`FetchError` with a short reason for anything else."""
        host = (urlsplit(url).hostname or "").lower()
        slot = self._hosts.setdefault(host, _Host())
        async with slot.lock:
            wait = slot.next_start - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            slot.next_start = self._monotonic() + self.limits.host_interval
            return await self._get(url, etag, last_modified)

    async def _get(self, url: str, etag: str | None, last_modified: str | None) -> Response:
        if self._session is None:
            raise RuntimeError("use the Fetcher in 'async with'")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        limits = self.limits
        try:
            async with self._session.get(url, headers=headers, max_redirects=limits.max_redirects) as resp:
                final = str(resp.url)
                if resp.status == 304:
                    return Response(
                        304,
                        final,
                        etag=resp.headers.get("ETag") or etag,
                        last_modified=resp.headers.get("Last-Modified") or last_modified,
                        max_age=parse_max_age(resp.headers.get("Cache-Control")),
                    )
                if resp.status != 200:
                    raise _status_error(resp, self._wall())
                declared = resp.content_length
                if declared is not None and declared > limits.max_bytes and "Content-Encoding" not in resp.headers:
                    raise FetchError(f"the response is {declared:,} bytes; the limit is {limits.max_bytes:,}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise FetchError(f"the response is larger than the limit of {limits.max_bytes:,} bytes")
                    chunks.append(chunk)
                return Response(
                    200,
                    final,
                    b"".join(chunks),
                    etag=resp.headers.get("ETag"),
                    last_modified=resp.headers.get("Last-Modified"),
                    max_age=parse_max_age(resp.headers.get("Cache-Control")),
                    content_type=resp.headers.get("Content-Type"),
                )
        except TimeoutError:
            raise FetchError(f"no complete answer within {limits.timeout:g} s") from None
        except aiohttp.TooManyRedirects:
            raise FetchError(f"more than {limits.max_redirects} redirects (a redirect loop?)") from None
        except aiohttp.InvalidURL as exc:
            raise FetchError(f"invalid URL {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc}") from None
        except aiohttp.ClientResponseError as exc:
            raise FetchError(f"bad response: HTTP {exc.status} {exc.message}", status=exc.status) from None
        except aiohttp.ClientPayloadError as exc:
            raise FetchError(f"the response was cut off or badly encoded: {exc}") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"{exc.__class__.__name__}: {exc}") from None


def _status_error(resp: aiohttp.ClientResponse, now: float) -> FetchError:
    status = resp.status
    reason = f"HTTP {status} {resp.reason or ''}".strip()
    if status in (429, 503):
        retry = parse_retry_after(resp.headers.get("Retry-After"), now)
        if retry is not None:
            reason += f" (retry after {retry:.0f} s)"
        return FetchError(reason, status=status, retry_after=retry)
    if status == 410:
        return FetchError(f"{reason}: the feed was removed", status=status, permanent=True)
    return FetchError(reason, status=status)
