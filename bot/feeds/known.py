"""Which article URLs the store already has, so a feed never writes a second copy of an article.

Two answers to the same question: the index's (one query, what the last index run saw; the bot
and a command line with a database use it) and a scan with the store's own loader (exact, slower;
for a command line without a database). Either way the fetcher also skips what it wrote itself
(the per-feed state) and never replaces a file (see :mod:`bot.feeds.write`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path
from typing import Protocol

from bot.db.repository import IndexStore
from bot.store.loader import discover, parse_files
from bot.store.urls import normalize_url

__all__ = ["IndexedUrls", "KnownUrls", "ScannedUrls"]


class KnownUrls(Protocol):
    async def existing(self, norm_urls: Collection[str]) -> set[str]:
        """The subset of ``norm_urls`` (normalised with ``bot.store.urls.normalize_url``) that some
        file in the store already carries."""
        ...


class IndexedUrls:
    def __init__(self, index: IndexStore) -> None:
        self._index = index

    async def existing(self, norm_urls: Collection[str]) -> set[str]:
        if not norm_urls:
            return set()
        keys = await self._index.files_sharing(norm_urls=norm_urls, article_ids=())
        return {key.norm_url for key in keys if key.norm_url is not None}


class ScannedUrls:
    """Reads the whole store once, on first use."""

    def __init__(self, content_dir: Path) -> None:
        self._root = content_dir
        self._known: set[str] | None = None

    def _scan(self) -> set[str]:
        entries, _ = discover(self._root)
        parsed = parse_files(self._root, [entry.rel_path for entry in entries])
        return {normalize_url(article.url) for _, article, _ in parsed if article is not None}

    async def existing(self, norm_urls: Collection[str]) -> set[str]:
        if self._known is None:
            self._known = await asyncio.to_thread(self._scan)
        return {url for url in norm_urls if url in self._known}
