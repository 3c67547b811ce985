"""Full-text search: ranking, filters, paging, the frequent-word path, and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db import Database, sqlite_articles
from bot.db.fts import MAX_TERMS, match_expression, words
from bot.db.types import Visibility
from bot.store.models import Provider
from tests.db.conftest import ids, make_article, store

DEFAULT = Visibility()


async def test_title_match_ranks_above_excerpt_only_match(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, title="Quarterly results", excerpt="The gearbox maker grew again."),
            make_article(2, title="Gearbox maker opens a plant", excerpt="A new plant."),
            make_article(3, title="Unrelated", excerpt="Nothing to see."),
        ],
    )
    assert ids(await db.articles.search("gearbox", vis=DEFAULT)) == ["a2", "a1"]


async def test_every_word_must_match_in_any_field(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, title="Solar panels", topics=("Energy",)),
            make_article(2, title="Solar eclipse", topics=("Space",)),
            make_article(3, title="Wind farms", provider=Provider("Solar Weekly", "solar.example")),
        ],
    )
    assert ids(await db.articles.search("solar energy", vis=DEFAULT)) == ["a1"]
    assert sorted(ids(await db.articles.search("solar", vis=DEFAULT))) == ["a1", "a2", "a3"]
    assert ids(await db.articles.search("weekly wind", vis=DEFAULT)) == ["a3"]


async def test_search_ignores_case_and_accents(db: Database) -> None:
    await store(db, [make_article(1, title="Café culture in Zürich")])
    assert ids(await db.articles.search("CAFE zurich", vis=DEFAULT)) == ["a1"]
    assert ids(await db.articles.search("café", vis=DEFAULT)) == ["a1"]


async def test_topic_filter_and_unknown_topic(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, title="Robot arms", topics=("Robots",)),
            make_article(2, title="Robot vacuum review", topics=("Gadgets",)),
        ],
    )
    assert ids(await db.articles.search("robot", topic="robots", vis=DEFAULT)) == ["a1"]
    assert ids(await db.articles.search("robot", topic="Nope", vis=DEFAULT)) == []


async def test_search_pages_with_has_more(db: Database) -> None:
    await store(db, [make_article(n, title=f"Market update {n}") for n in range(1, 6)])
    first = await db.articles.search("market", vis=DEFAULT, limit=2)
    rest = await db.articles.search("market", vis=DEFAULT, limit=2, offset=4)
    assert (len(first.items), first.has_more) == (2, True)
    assert (len(rest.items), rest.has_more) == (1, False)
    everything = [*ids(first), *ids(await db.articles.search("market", vis=DEFAULT, limit=2, offset=2)), *ids(rest)]
    assert sorted(everything) == ["a1", "a2", "a3", "a4", "a5"]


async def test_absent_words_and_empty_queries_find_nothing(db: Database) -> None:
    await store(db, [make_article(1)])
    for query in ["", "   ", "!!!", "zebra", "story zebra"]:
        page = await db.articles.search(query, vis=DEFAULT)
        assert (page.items, page.has_more) == ((), False), query


async def test_frequent_words_are_answered_newest_first(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stand-in for "a word in most of 100k articles": lower the threshold instead of storing 100k rows.
    monkeypatch.setattr(sqlite_articles, "FREQUENT_DF", 3)
    articles = [make_article(n, title=f"Weather report {n}", published=n != 7) for n in range(1, 11)]
    articles[2] = make_article(3, title="Weather weather weather")  # would win on bm25
    await store(db, articles)
    page = await db.articles.search("weather", vis=DEFAULT, limit=4)
    assert (ids(page), page.has_more) == (["a10", "a9", "a8", "a6"], True)
    assert ids(await db.articles.search("weather", vis=DEFAULT, limit=4, offset=8)) == ["a1"]
    # A rare word in the same query keeps the bm25 path (smallest document frequency decides).
    assert ids(await db.articles.search("weather 3", vis=DEFAULT)) == ["a3"]


async def test_frequent_words_stay_newest_first_whatever_order_articles_arrive(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_articles, "FREQUENT_DF", 2)
    for n in (5, 1, 9, 3, 7):  # separate index runs, out of publication order
        await store(db, [make_article(n, title=f"Harbour news {n}")])
    await store(db, [make_article(4, title="Harbour news 4", path="news/a4-bis.md", id="a4")])
    assert ids(await db.articles.search("harbour", vis=DEFAULT)) == ["a9", "a7", "a5", "a4", "a3", "a1"]


async def test_frequent_words_in_small_and_large_topics(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_articles, "FREQUENT_DF", 3)
    articles = [make_article(n, title=f"Weather report {n}", topics=("Big",)) for n in range(1, 9)]
    articles += [make_article(n, title=f"Weather in the hills {n}", topics=("Small",)) for n in (20, 21)]
    await store(db, articles)
    monkeypatch.setattr(sqlite_articles, "SMALL_TOPIC", 4)
    assert ids(await db.articles.search("weather", topic="small", vis=DEFAULT)) == ["a21", "a20"]
    assert ids(await db.articles.search("weather", topic="Big", vis=DEFAULT, limit=3)) == ["a8", "a7", "a6"]


async def test_operators_in_user_text_are_plain_words(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, title="NEAR misses and OR gates"),
            make_article(2, title="Title: a story"),
            make_article(3, title="Nothing in common"),
        ],
    )
    assert ids(await db.articles.search("NEAR OR", vis=DEFAULT)) == ["a1"]
    assert ids(await db.articles.search('title:"a story"', vis=DEFAULT)) == ["a2"]
    for hostile in ['"', "a*", "^start", "(unbalanced", "-minus", "x AND NOT y", "NEAR(a b, 2)", "\x00", "{title}: x"]:
        await db.articles.search(hostile, vis=DEFAULT)  # must not raise


def test_words_are_capped_and_quoted() -> None:
    assert words("Hello, WORLD! hello") == ["Hello", "WORLD"]
    assert len(words(" ".join(f"w{i}" for i in range(50)))) == MAX_TERMS
    assert match_expression(["a", 'b"c']) == '"a" "b""c"'


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=80), topic=st.none() | st.text(max_size=10))
async def test_arbitrary_user_text_never_raises(db: Database, query: str, topic: str | None) -> None:
    if (await db.articles.stats(DEFAULT)).articles_total == 0:
        await store(db, [make_article(1, title='He said "NEAR" (x AND y) * ^ -- café'), make_article(2)])
    page = await db.articles.search(query, topic=topic, vis=DEFAULT, limit=5)
    assert len(page.items) <= 5


async def test_a_topic_typed_with_a_nul_matches_nothing_instead_of_failing(db: Database) -> None:
    await store(db, [make_article(1, title="Widgets today")])
    for topic in ("\x00", "Widgets\x00", "\x00Widgets"):
        assert ids(await db.articles.search("widgets", topic=topic, vis=DEFAULT)) == []
        assert ids(await db.articles.latest(topic=topic, vis=DEFAULT)) == []
        assert await db.articles.resolve_topic(topic) is None
