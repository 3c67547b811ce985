"""Helpers for the database tests: articles built directly and stored through the index API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database
from bot.db.repository import FileRow, IndexBatch
from bot.db.types import IndexReport
from bot.indexing import prepare
from bot.store.models import Article, Provider, RelatedRef

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def make_article(n: int, **fields: Any) -> Article:
    """Article ``a<n>``, published ``n`` hours after EPOCH (so a higher n is newer)."""
    values: dict[str, Any] = {
        "id": f"a{n}",
        "path": f"news/a{n}.md",
        "title": f"Story number {n}",
        "url": f"https://example.org/news/{n}",
        "published_at": EPOCH + timedelta(hours=n),
        "provider": Provider("Example Daily", "example.org"),
        "excerpt": f"Excerpt of story {n}.",
        "topics": ("Widgets",),
        "quality": 50,
        "heat": -1,
        "published": True,
    }
    values.update(fields)
    return Article(**values)


def related_to(*urls: str, title: str = "Elsewhere") -> tuple[RelatedRef, ...]:
    return tuple(RelatedRef(title=f"{title} {i}", url=url) for i, url in enumerate(urls))


async def store(db: Database, articles: Iterable[Article], *, drop: Sequence[str] = ()) -> None:
    """Serve ``articles`` (withdrawing the articles of ``drop`` paths first), as an index run would."""
    records = [prepare(a) for a in articles]
    await db.index.apply(
        IndexBatch(
            drop_paths=drop,
            articles=records,
            files=[FileRow(r.path, 1, 1, r.id, r.norm_url, None) for r in records],
            report=IndexReport(added=len(records)),
        )
    )


def ids(page: Any) -> list[str]:
    return [item.id for item in page.items]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "data" / "news.sqlite3")
    try:
        yield database
    finally:
        await database.close()
