"""The storage interfaces callers depend on: articles, the index and ``meta``. The ``sqlite_*``
modules implement them for SQLite and the ``pg_*`` modules for PostgreSQL; callers never see which."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from bot.db.records import ArticleRecord
from bot.db.types import (
    ArticleSummary,
    IndexReport,
    IndexStats,
    Page,
    RelatedItem,
    Sort,
    TopicCount,
    Visibility,
)
from bot.store.discovery import Listing
from bot.store.models import Article, LoadIssue

__all__ = [
    "ArticleRepository",
    "ArticleSummary",
    "CatalogEntry",
    "FileKey",
    "FileRow",
    "FileState",
    "IndexBatch",
    "IndexStore",
    "MetaRepository",
]


class CatalogEntry(NamedTuple):
    """What autocomplete keeps in memory per article."""

    id: str
    title: str
    published_at: int
    quality: int
    published: bool
    provider_domain: str
    topics: tuple[str, ...]


#: (size, mtime_ns) of a known file; size -1 marks a path discovery refused.
FileState = tuple[int, int]


class FileKey(NamedTuple):
    """How a known file takes part in de-duplication: its article id and normalised URL (both
    ``None`` when it failed to parse), whether its article is the one being served, and the size
    and mtime recorded for it."""

    rel_path: str
    article_id: str | None
    norm_url: str | None
    active: bool
    size: int
    mtime_ns: int


class FileRow(NamedTuple):
    rel_path: str
    size: int
    mtime_ns: int
    article_id: str | None
    norm_url: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class IndexBatch:
    """One index run's changes, applied atomically.

    ``drop_paths``: files whose served article (if any) is withdrawn first. ``articles``: the
    articles to serve now (each is the winner for its URL and id). ``files`` replace the rows (and
    ``issues``) of those paths; ``forget_paths`` are files gone from disk. A run may apply several
    batches; each is atomic.
    """

    drop_paths: Collection[str] = ()
    articles: Sequence[ArticleRecord] = ()
    files: Sequence[FileRow] = ()
    issues: Mapping[str, Sequence[LoadIssue]] = field(default_factory=dict)
    forget_paths: Collection[str] = ()
    #: Given on a run's last batch: recorded as the run (``stats().last_indexed_at``).
    report: IndexReport | None = None
    #: Merge the full-text index afterwards (worth it after large runs).
    optimize: bool = False
    #: Given with ``report``: the scan this run started from, which the next run compares its own
    #: scan with. Any batch that changes files forgets it first.
    listing: Listing | None = None


class ArticleRepository(Protocol):
    """Read access to the served articles. Every method honours ``Visibility``."""

    async def get(self, article_id: str, vis: Visibility) -> Article | None: ...

    async def get_by_url(self, url: str, vis: Visibility) -> Article | None: ...

    async def latest(self, *, topic: str | None = None, vis: Visibility, limit: int = 10, offset: int = 0) -> Page: ...

    async def top(self, *, vis: Visibility, limit: int = 10, offset: int = 0) -> Page: ...

    async def by_topic(
        self, topic: str, *, sort: Sort = "latest", vis: Visibility, limit: int = 10, offset: int = 0
    ) -> Page: ...

    async def search(
        self, query: str, *, topic: str | None = None, vis: Visibility, limit: int = 10, offset: int = 0
    ) -> Page: ...

    async def related(self, article_id: str, vis: Visibility, limit: int = 10) -> list[RelatedItem]: ...

    async def topics(self, vis: Visibility) -> list[TopicCount]: ...

    async def resolve_topic(self, name: str) -> str | None: ...

    async def stats(self, vis: Visibility) -> IndexStats: ...

    async def catalog_entries(self) -> list[CatalogEntry]: ...

    def catalog_reader(self) -> Callable[[], list[CatalogEntry]]: ...

    async def version(self) -> int:
        """A number that changes whenever the served articles change, whichever process indexed."""
        ...

    async def file_issues(self) -> list[LoadIssue]: ...


class IndexStore(Protocol):
    """Write access for indexing: what is known about files, and applying one run's changes."""

    def exclusive(self) -> AbstractAsyncContextManager[object]: ...

    async def file_states(self) -> dict[str, FileState]: ...

    async def last_listing(self) -> Listing | None:
        """The scan the last complete run started from (``IndexBatch.listing``), without its
        problems (its digest covers them), or ``None`` if any batch has been applied since."""
        ...

    async def file_keys(self, rel_paths: Collection[str]) -> list[FileKey]: ...

    async def files_sharing(self, *, norm_urls: Collection[str], article_ids: Collection[str]) -> list[FileKey]: ...

    async def apply(self, batch: IndexBatch) -> None: ...


class MetaRepository(Protocol):
    """Small key/value facts kept across restarts."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...
