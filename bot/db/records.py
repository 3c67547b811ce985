"""Row shapes written by indexing and read back by the repositories.

``ArticleRecord`` is an article already in database form (epoch seconds, JSON columns, hashed URL
key). Indexing builds it inside the parser worker processes: plain tuples of primitives pickle
and unpickle an order of magnitude faster than the nested frozen dataclasses of ``Article``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bot.db.types import ArticleSummary
from bot.store.models import Article, Image, Provider, RelatedRef


@functools.lru_cache(maxsize=1 << 16)
def url_key(norm_url: str) -> int:
    """A signed 64-bit key for a normalised URL (the width of an SQLite integer).

    Collisions are possible in principle (about 1 in 10^8 for a million distinct URLs) and would
    only make a related link point at the wrong store article.
    """
    return int.from_bytes(hashlib.blake2b(norm_url.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def epoch(moment: datetime) -> int:
    if moment.tzinfo is None:  # the loader returns aware datetimes; be safe with hand-built ones
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


LinkRow = tuple[int, str, str, str | None, str | None, int | None]


class ArticleRecord(NamedTuple):
    id: str
    path: str
    url: str
    norm_url: str
    url_key: int
    title: str
    excerpt: str
    body: str
    topics: tuple[str, ...]
    provider_name: str
    provider_domain: str
    provider_logo: str | None
    published_at: int
    quality: int
    heat: int
    published: bool
    type: str
    has_featured_content: bool
    secured: str | None
    image_url: str | None
    images: str
    original_url: str | None
    #: (url_key, title, url, provider_name, provider_domain, published_at) per kept related entry.
    links: tuple[LinkRow, ...]
    #: The same keys as a JSON array, which SQLite expands into the list's rows without a Python
    #: tuple per link (a cold index writes millions of them).
    link_keys: str

    def __repr__(self) -> str:
        # ``secured`` must never reach a log line or a traceback.
        return f"ArticleRecord(id={self.id!r}, path={self.path!r}, url={self.url!r})"


def article_record(article: Article, norm_url: str, links: Sequence[tuple[RelatedRef, str]]) -> ArticleRecord:
    """``links`` are the related entries to keep, each with its normalised URL (already filtered)."""
    link_rows = tuple(
        (
            url_key(norm),
            ref.title,
            ref.url,
            ref.provider.name if ref.provider else None,
            ref.provider.domain if ref.provider else None,
            epoch(ref.published_at) if ref.published_at else None,
        )
        for ref, norm in links
    )
    return ArticleRecord(
        id=article.id,
        path=article.path,
        url=article.url,
        norm_url=norm_url,
        url_key=url_key(norm_url),
        title=article.title,
        excerpt=article.excerpt,
        body=article.body,
        topics=tuple(article.topics),
        provider_name=article.provider.name,
        provider_domain=article.provider.domain,
        provider_logo=article.provider.logo_url,
        published_at=epoch(article.published_at),
        quality=article.quality,
        heat=article.heat,
        published=article.published,
        type=article.type,
        has_featured_content=article.has_featured_content,
        secured=article.secured,
        image_url=article.image_url,
        images=json.dumps([[i.url, i.width, i.height] for i in article.images], ensure_ascii=False),
        original_url=article.original_url,
        links=link_rows,
        link_keys=json.dumps([row[0] for row in link_rows]),
    )


# Column lists shared by the queries that decode them below.
SUMMARY_COLUMNS = (
    "a.id, a.title, a.url, a.excerpt, a.published_at, a.provider_name, a.provider_domain, "
    "a.image_url, a.quality, a.heat, a.type, a.topics"
)

ARTICLE_COLUMNS = (
    "a.rid, a.id, a.path, a.title, a.url, a.published_at, a.provider_name, a.provider_domain, p.logo_url, "
    "a.excerpt, a.body, a.original_url, a.topics, a.images, a.quality, a.heat, a.published, a.type, "
    "a.has_featured_content, a.secured"
)


def summary(row: Sequence[Any]) -> ArticleSummary:
    return ArticleSummary(
        id=row[0],
        title=row[1],
        url=row[2],
        excerpt=row[3],
        published_at=from_epoch(row[4]),
        provider_name=row[5],
        provider_domain=row[6],
        image_url=row[7],
        quality=row[8],
        heat=row[9],
        type=row[10],
        topics=tuple(json.loads(row[11])),
    )


def article(row: Sequence[Any], links: Sequence[Sequence[Any]]) -> Article:
    """Decode ``ARTICLE_COLUMNS`` plus the article's stored related links
    (title, url, provider_name, provider_domain, published_at)."""
    return Article(
        id=row[1],
        path=row[2],
        title=row[3],
        url=row[4],
        published_at=from_epoch(row[5]),
        provider=Provider(name=row[6], domain=row[7], logo_url=row[8]),
        excerpt=row[9],
        body=row[10],
        original_url=row[11],
        topics=tuple(json.loads(row[12])),
        images=tuple(Image(url=u, width=w, height=h) for u, w, h in json.loads(row[13])),
        related=tuple(
            RelatedRef(
                title=title,
                url=url,
                published_at=from_epoch(published) if published is not None else None,
                provider=Provider(name=name or "", domain=domain or "") if name or domain else None,
            )
            for title, url, name, domain, published in links
        ),
        quality=row[14],
        heat=row[15],
        published=bool(row[16]),
        type=row[17],
        has_featured_content=bool(row[18]),
        secured=row[19],
    )
