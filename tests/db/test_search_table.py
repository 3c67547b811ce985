"""One table of queries and the article each must find first, run on both backends: SQLite's FTS5
(bm25) and PostgreSQL's tsvector (ts_rank) must agree on what a user would call the best match."""

from __future__ import annotations

import pytest

from bot.db import DatabaseHandle
from bot.db.types import Visibility
from bot.store.models import Provider
from tests.db.conftest import ids, make_article, store

DEFAULT = Visibility()

CORPUS = [
    make_article(1, title="Central bank raises interest rates", excerpt="Inflation stays high.", topics=("Economy",)),
    make_article(
        2, title="Markets calm after the rate decision", excerpt="The central bank spoke.", topics=("Markets",)
    ),
    make_article(3, title="Rust 2.0 released", excerpt="A new edition of the language.", topics=("Programming",)),
    make_article(
        4, title="Café owners in Zürich fight rent rises", excerpt="Small businesses worry.", topics=("Cities",)
    ),
    make_article(
        5,
        title="Weekend football roundup",
        excerpt="Goals and red cards.",
        body="The striker scored twice; the central defender was sent off.",
        topics=("Sport",),
    ),
    make_article(6, title="Solar farm opens in Spain", excerpt="Enough power for a city.", topics=("Energy",)),
    make_article(
        7,
        title="Grid operators prepare for winter",
        excerpt="Solar output drops.",
        topics=("Energy",),
        provider=Provider("Power Weekly", "power.example"),
    ),
    make_article(8, title="Interest in vinyl records grows", excerpt="Shops report sales up.", topics=("Culture",)),
]

# (query, the article that must come first, articles that must be found at all)
TABLE = [
    ("interest rates", "a1", {"a1"}),
    ("central bank", "a1", {"a1", "a2"}),  # title beats excerpt
    ("rust", "a3", {"a3"}),
    ("cafe zurich", "a4", {"a4"}),  # accents folded on both sides
    ("CAFÉ", "a4", {"a4"}),
    ("striker", "a5", {"a5"}),  # body only
    ("solar", "a6", {"a6", "a7"}),  # title beats excerpt, although a7 is newer
    ("power weekly", "a7", {"a7"}),  # provider name
    ("energy", "a7", {"a6", "a7"}),  # topic only, equal weight: newest first
    ("vinyl records", "a8", {"a8"}),
    ("central", "a1", {"a1", "a2", "a5"}),
]


@pytest.mark.parametrize(("query", "first", "found"), TABLE, ids=[q for q, _, _ in TABLE])
async def test_the_best_match_comes_first_on_both_backends(
    db: DatabaseHandle, query: str, first: str, found: set[str]
) -> None:
    await store(db, CORPUS)
    page = await db.articles.search(query, vis=DEFAULT)
    assert ids(page)[:1] == [first], ids(page)
    assert set(ids(page)) == found
