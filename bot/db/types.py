"""Value types returned by the repositories. Plain data; no SQL and no discord import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.store.models import LoadIssue

Sort = Literal["latest", "top"]


@dataclass(frozen=True, slots=True)
class Visibility:
    """What one audience may see. The deployment default comes from settings; issue #5 adds
    per-server values (hidden articles, blocked providers and topics, minimum quality).

    ``blocked_topics`` holds topic keys (``bot.store.keys.topic_key``); ``blocked_domains`` lower-case domains.
    """

    include_unpublished: bool = False
    min_quality: int = 0
    hidden_ids: frozenset[str] = frozenset()
    blocked_domains: frozenset[str] = frozenset()
    blocked_topics: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    """The slim row used in lists, autocomplete and digests."""

    id: str
    title: str
    url: str
    excerpt: str
    published_at: datetime
    provider_name: str
    provider_domain: str
    image_url: str | None
    quality: int
    heat: int
    type: str = "article"
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list. ``has_more`` tells the caller whether a Next button makes sense."""

    items: tuple[ArticleSummary, ...]
    offset: int
    has_more: bool
    total: int | None = None


@dataclass(frozen=True, slots=True)
class RelatedItem:
    """A related article: ``article`` is set when the link resolves to an article in the store,
    otherwise it is an external link with only what the source file carried."""

    title: str
    url: str
    provider_name: str | None = None
    published_at: datetime | None = None
    article: ArticleSummary | None = None


@dataclass(frozen=True, slots=True)
class TopicCount:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class ArticleChoice:
    """An autocomplete choice for an article option."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What one (re)index did."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    rejected: tuple[LoadIssue, ...] = ()
    warnings: tuple[LoadIssue, ...] = ()
    seconds: float = 0.0
    finished_at: datetime | None = None

    @property
    def touched(self) -> int:
        return self.added + self.changed + self.removed


@dataclass(frozen=True, slots=True)
class IndexStats:
    articles_total: int
    articles_visible: int
    topics: int
    providers: int
    rejected_files: int
    last_indexed_at: datetime | None
    extra: dict[str, int] = field(default_factory=dict)
