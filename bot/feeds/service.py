"""One refresh: fetch the due feeds, write their new entries, remember what happened.

Scheduling per feed: the next fetch is ``interval`` minutes after a success, or longer when the
feed asks for it (RSS ``<ttl>``, ``sy:updatePeriod``, ``Cache-Control: max-age``). A failure backs
off exponentially from the interval (at most :data:`MAX_BACKOFF`), never sooner than a 429/503
``Retry-After``; a feed failing for :data:`DISABLE_AFTER` (or answering 410 Gone) is disabled with
the reason, which ``newsbot feeds list`` and ``/owner feeds`` show. ``newsbot feeds fetch URL``
tries a disabled feed again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.feeds.config import FeedConfig, FeedsConfigError, load_feeds
from bot.feeds.fetch import Fetcher, FetchError, FetchLimits, Response, user_agent
from bot.feeds.known import KnownUrls, ScannedUrls
from bot.feeds.parse import Draft, NotAFeed, ParsedFeed, parse_feed
from bot.feeds.state import MAX_REJECTED, FeedState, feeds_lock, load_state, save_state, state_path
from bot.feeds.write import FeedMeta, remove_old, write_article
from bot.settings import Settings
from bot.store.urls import host_of, normalize_url

__all__ = ["DISABLE_AFTER", "MAX_BACKOFF", "FeedService", "FeedStatus", "FeedsSetup", "RefreshReport"]

log = logging.getLogger(__name__)

#: A feed failing for this long without one success is disabled.
DISABLE_AFTER = 24 * 3600.0
#: Longest wait between two tries of a failing feed.
MAX_BACKOFF = 6 * 3600.0
#: A feed's own hints (ttl, max-age) are honoured up to this; beyond it they look like mistakes.
MAX_HINT = 24 * 3600.0
#: Feeds fetched at the same time (each host still gets one request at a time).
CONCURRENCY = 20

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class FeedsSetup:
    """Where the feeds live and how to fetch them; built from the settings."""

    feeds_file: Path
    content_dir: Path
    keep_days: int = 90
    agent: str = field(default_factory=user_agent)
    limits: FetchLimits = field(default_factory=FetchLimits)

    @property
    def state_file(self) -> Path:
        return state_path(self.feeds_file)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedsSetup:
        return cls(
            feeds_file=settings.feeds_path,
            content_dir=settings.content_dir,
            keep_days=settings.feeds_keep_days,
            agent=user_agent(settings.feeds_contact),
        )


@dataclass(slots=True)
class FeedResult:
    url: str
    outcome: str  # what `feeds fetch` prints for this feed
    written: list[Path] = field(default_factory=list)
    failed: bool = False


@dataclass(slots=True)
class RefreshReport:
    feeds: list[FeedResult] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    @property
    def written(self) -> list[Path]:
        return [path for result in self.feeds for path in result.written]

    @property
    def changed(self) -> bool:
        """Whether the store changed, so the index has something to pick up."""
        return bool(self.written or self.removed)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """One line of ``feeds list`` / ``/owner feeds``."""

    config: FeedConfig
    state: FeedState

    @property
    def condition(self) -> str:
        if self.state.disabled:
            return "disabled"
        if self.state.failures:
            return "failing"
        if self.state.last_success is None:
            return "new"
        return "ok"


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


class FeedService:
    def __init__(
        self,
        setup: FeedsSetup,
        *,
        known: KnownUrls | None = None,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self.setup = setup
        self.known: KnownUrls = known or ScannedUrls(setup.content_dir)
        self.clock = clock
        self.monotonic = monotonic

    # --- reading ---------------------------------------------------------------------------

    def feeds(self) -> list[FeedConfig]:
        return load_feeds(self.setup.feeds_file)

    def status(self) -> list[FeedStatus]:
        """Every configured feed with what is known about it (no lock: the state file is only ever
        replaced whole)."""
        states = load_state(self.setup.state_file)
        return [FeedStatus(feed, states.get(feed.url) or FeedState()) for feed in self.feeds()]

    # --- refreshing ------------------------------------------------------------------------

    async def refresh(self, only: str | None = None) -> RefreshReport:
        """Fetch the feeds that are due (or only ``only``, due or not, disabled or not), write their
        new entries and remove expired ones. Holds the feeds lock throughout."""
        feeds = self.feeds()
        if only is not None:
            key = normalize_url(only)
            feeds = [feed for feed in feeds if normalize_url(feed.url) == key]
            if not feeds:
                raise FeedsConfigError(f"{only!r} is not in {self.setup.feeds_file}; add it with `newsbot feeds add`")
        report = RefreshReport()
        if not feeds:  # nothing configured: touch nothing beside the content (no lock or state file)
            report.removed = await asyncio.to_thread(
                remove_old, self.setup.content_dir, self.setup.keep_days, datetime.fromtimestamp(self.clock(), UTC)
            )
            return report
        async with feeds_lock(self.setup.feeds_file):
            states = await asyncio.to_thread(load_state, self.setup.state_file)
            now = self.clock()
            due = [
                feed for feed in feeds if only is not None or self._due(states.setdefault(feed.url, FeedState()), now)
            ]
            if due:
                claimed: set[str] = set()  # entries written in this refresh, by normalised URL
                limit = asyncio.Semaphore(CONCURRENCY)
                async with Fetcher(self.setup.agent, self.setup.limits, monotonic=self.monotonic, wall=self.clock) as f:

                    async def one(feed: FeedConfig) -> FeedResult:
                        async with limit:
                            state = states.setdefault(feed.url, FeedState())
                            return await self._refresh_feed(f, feed, state, claimed)

                    report.feeds = list(await asyncio.gather(*(one(feed) for feed in due)))
            report.removed = await asyncio.to_thread(
                remove_old, self.setup.content_dir, self.setup.keep_days, datetime.fromtimestamp(self.clock(), UTC)
            )
            known_urls = {feed.url for feed in self.feeds()}
            for url in [url for url in states if url not in known_urls]:
                del states[url]  # removed from the file meanwhile
            await asyncio.to_thread(save_state, self.setup.state_file, states)
        return report

    def _due(self, state: FeedState, now: float) -> bool:
        return state.disabled is None and now >= state.next_fetch

    async def _refresh_feed(
        self, fetcher: Fetcher, feed: FeedConfig, state: FeedState, claimed: set[str]
    ) -> FeedResult:
        started = self.clock()
        try:
            response = await fetcher.get(feed.url, etag=state.etag, last_modified=state.last_modified)
            if response.status == 304:
                self._succeeded(feed, state, response, None, started)
                state.last_status = "not modified"
                return FeedResult(feed.url, "not modified")
            parsed = await asyncio.to_thread(
                parse_feed, response.body, response.url, response.content_type, now=datetime.fromtimestamp(started, UTC)
            )
        except (FetchError, NotAFeed) as exc:
            return self._failed(feed, state, exc, started)
        written = await self._write(feed, state, parsed, claimed, started)
        self._succeeded(feed, state, response, parsed, started)
        state.entries += len(written)
        state.last_status = f"{len(written)} new of {len(parsed.entries) + len(parsed.rejected)} entries" + (
            f", {len(parsed.rejected)} refused" if parsed.rejected else ""
        )
        if parsed.warning:
            log.warning("feed %s: %s", feed.url, parsed.warning)
        return FeedResult(feed.url, state.last_status, written)

    async def _write(
        self, feed: FeedConfig, state: FeedState, parsed: ParsedFeed, claimed: set[str], now: float
    ) -> list[Path]:
        state.title = parsed.title or state.title
        state.rejected = [[r.what, r.reason] for r in parsed.rejected][-MAX_REJECTED:]
        seen = set(state.seen)
        oldest = datetime.fromtimestamp(now, UTC) - timedelta(days=self.setup.keep_days)
        fresh: dict[str, Draft] = {}
        for draft in parsed.entries:
            key = normalize_url(draft.url)
            # Too old to keep: housekeeping would remove it again at once.
            if key not in seen and key not in claimed and draft.published_at >= oldest:
                fresh.setdefault(key, draft)
        claimed.update(fresh)  # before any await: feeds refresh concurrently and may share entries
        existing = await self.known.existing(list(fresh)) if fresh else set()
        meta = FeedMeta(
            slug=feed.slug,
            provider_name=feed.provider or parsed.title or parsed.site or host_of(feed.url),
            provider_domain=parsed.site or host_of(feed.url),
            topics=feed.topics,
            quality=feed.quality,
        )
        drafts = [draft for key, draft in fresh.items() if key not in existing]
        handled = {normalize_url(draft.url) for draft in parsed.entries} - set(fresh) | existing

        def write_all() -> list[Path]:
            paths: list[Path] = []
            for draft in drafts:
                try:
                    path = write_article(self.setup.content_dir, meta, draft)
                except OSError as exc:  # not the feed's fault: tried again at the next fetch
                    log.error("feed %s: cannot write %s: %s", feed.url, draft.url, exc)
                    continue
                handled.add(normalize_url(draft.url))
                if path is not None:
                    paths.append(path)
            return paths

        written = await asyncio.to_thread(write_all) if drafts else []
        state.remember(sorted(handled))
        if written:
            log.info("feed %s: wrote %d new articles", feed.url, len(written))
        return written

    def _succeeded(
        self, feed: FeedConfig, state: FeedState, response: Response, parsed: ParsedFeed | None, now: float
    ) -> None:
        state.etag = response.etag
        state.last_modified = response.last_modified
        hints = [value for value in (response.max_age, parsed.min_interval if parsed else None) if value]
        if parsed is not None or hints:
            state.min_interval = min(max(hints, default=0.0), MAX_HINT)
        if parsed is not None:
            state.warning = parsed.warning
        state.last_fetch = state.last_success = now
        state.failures = 0
        state.failing_since = state.last_error = state.disabled = None
        state.next_fetch = now + max(feed.interval * 60.0, state.min_interval)

    def _failed(self, feed: FeedConfig, state: FeedState, exc: FetchError | NotAFeed, now: float) -> FeedResult:
        reason = exc.reason if isinstance(exc, FetchError) else str(exc)
        state.failures += 1
        state.failing_since = state.failing_since or now
        state.last_fetch = now
        state.last_error = reason
        state.last_status = f"error: {reason}"
        permanent = isinstance(exc, FetchError) and exc.permanent
        if permanent or now - state.failing_since >= DISABLE_AFTER:
            state.disabled = f"{reason} (failing since {when(state.failing_since)})"
            log.warning("feed %s disabled: %s", feed.url, state.disabled)
            return FeedResult(feed.url, f"disabled: {state.disabled}", failed=True)
        backoff = min(feed.interval * 60.0 * 2 ** (state.failures - 1), MAX_BACKOFF)
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        state.next_fetch = now + backoff
        log.warning(
            "feed %s failed (%d in a row; next try in %.0f min): %s", feed.url, state.failures, backoff / 60, reason
        )
        return FeedResult(feed.url, f"error: {reason}; next try {when(state.next_fetch)}", failed=True)
