"""Helpers for the database tests: articles built directly and stored through the index API."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.content.indexing import prepare
from bot.db import Database, DatabaseHandle, open_database
from bot.db.repository import FileRow, IndexBatch
from bot.db.types import IndexReport
from bot.store.models import Article, Provider, RelatedRef
from tests import postgres
from tests.postgres import postgres_url  # noqa: F401  (the session fixture)

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


async def store(db: DatabaseHandle, articles: Iterable[Article], *, drop: Sequence[str] = ()) -> None:
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


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database on each backend; ``open_database(database_url)`` opens it again."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'news.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(postgres.truncate_all(url))  # a plain fixture: no event loop is running yet
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[DatabaseHandle]:
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()


#: What a schema constraint (NOT NULL, CHECK, UNIQUE) raises on either backend.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


async def count_rows(db: DatabaseHandle, table: str) -> int:
    """Rows in ``table`` read behind the repositories' back, on either backend."""
    if isinstance(db, Database):
        with contextlib.closing(sqlite3.connect(db.path)) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return int(await db.pg.fetchval(f"SELECT count(*) FROM {table}"))  # type: ignore[attr-defined]


async def rows_naming(db: DatabaseHandle, user_id: int, *, prefix: str = "follow") -> dict[str, int]:
    """Rows naming ``user_id`` in each ``prefix*`` table with a ``user_id`` column, read behind the
    repositories' back on either backend (so a table added later is held to forgetting too)."""
    if isinstance(db, Database):
        with contextlib.closing(sqlite3.connect(db.path)) as conn:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?", [f"{prefix}%"])
            names = [r[0] for r in listed.fetchall()]
            tables = [t for t in names if "user_id" in [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]]
            count = "SELECT count(*) FROM {} WHERE user_id = ?"
            return {t: int(conn.execute(count.format(t), [user_id]).fetchone()[0]) for t in tables}
    pg = db.pg  # type: ignore[attr-defined]
    tables = [
        r[0]
        for r in await pg.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name LIKE $1 AND column_name = 'user_id'",
            f"{prefix}%",
        )
    ]
    return {t: int(await pg.fetchval(f"SELECT count(*) FROM {t} WHERE user_id = $1", user_id)) for t in tables}


async def table_rows(db: DatabaseHandle, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, read behind the repositories' back, on either backend."""
    if isinstance(db, Database):
        with contextlib.closing(sqlite3.connect(db.path)) as conn:
            return [tuple(r) for r in conn.execute(f"SELECT * FROM {table}")]
    return [tuple(r) for r in await db.pg.fetch(f"SELECT * FROM {table}")]  # type: ignore[attr-defined]
