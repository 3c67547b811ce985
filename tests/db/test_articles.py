"""Reading articles back: visibility, ordering, paging, topics, related links, stats."""

from __future__ import annotations

from bot.db import Database
from bot.db.types import Visibility
from bot.store.models import Image, Provider
from tests.db.conftest import ids, make_article, related_to, store

DEFAULT = Visibility()
EVERYTHING = Visibility(include_unpublished=True)


async def test_unpublished_articles_are_hidden_unless_asked_for(db: Database) -> None:
    await store(db, [make_article(1), make_article(2, published=False), make_article(3)])
    assert ids(await db.articles.latest(vis=DEFAULT)) == ["a3", "a1"]
    assert ids(await db.articles.latest(vis=EVERYTHING)) == ["a3", "a2", "a1"]
    assert await db.articles.get("a2", DEFAULT) is None
    assert (await db.articles.get("a2", EVERYTHING)) is not None


async def test_hidden_ids_blocked_domains_topics_and_min_quality(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, quality=10),
            make_article(2, provider=Provider("Spam Inc", "spam.example.net")),
            make_article(3, topics=("Widgets", "Gossip")),
            make_article(4),
            make_article(5, quality=99),
        ],
    )
    assert ids(await db.articles.latest(vis=Visibility(min_quality=50))) == ["a5", "a4", "a3", "a2"]
    assert ids(await db.articles.latest(vis=Visibility(hidden_ids=frozenset({"a4", "a5"})))) == ["a3", "a2", "a1"]
    assert ids(await db.articles.latest(vis=Visibility(blocked_domains=frozenset({"spam.example.net"})))) == [
        "a5",
        "a4",
        "a3",
        "a1",
    ]
    no_gossip = Visibility(blocked_topics=frozenset({"gossip"}))
    assert ids(await db.articles.latest(vis=no_gossip)) == ["a5", "a4", "a2", "a1"]
    assert ids(await db.articles.by_topic("Widgets", vis=no_gossip)) == ["a5", "a4", "a2", "a1"]
    assert await db.articles.get("a3", no_gossip) is None
    assert await db.articles.get("a4", Visibility(hidden_ids=frozenset({"a4"}))) is None
    found = await db.articles.search("story", vis=Visibility(min_quality=50, hidden_ids=frozenset({"a5"})))
    assert sorted(ids(found)) == ["a2", "a3", "a4"]


async def test_topic_pages_latest_and_top_order(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, heat=5, quality=10),
            make_article(2, heat=9, quality=10),
            make_article(3, heat=9, quality=80),
            make_article(4, heat=-1, quality=160),
            make_article(5, heat=9, quality=80),  # ties with a3 on heat and quality: newer first
            make_article(6, heat=50, topics=("Other",)),
        ],
    )
    assert ids(await db.articles.by_topic("widgets", sort="latest", vis=DEFAULT)) == ["a5", "a4", "a3", "a2", "a1"]
    assert ids(await db.articles.by_topic("WIDGETS", sort="top", vis=DEFAULT)) == ["a5", "a3", "a2", "a1", "a4"]
    assert ids(await db.articles.latest(topic="Other", vis=DEFAULT)) == ["a6"]
    assert ids(await db.articles.top(vis=DEFAULT, limit=3)) == ["a6", "a5", "a3"]
    assert ids(await db.articles.by_topic("No such topic", vis=DEFAULT)) == []


async def test_topic_pages_with_unpublished_articles_included(db: Database) -> None:
    await store(db, [make_article(n, published=n % 2 == 0, heat=n) for n in range(1, 7)])
    assert ids(await db.articles.by_topic("Widgets", sort="latest", vis=EVERYTHING)) == [
        "a6",
        "a5",
        "a4",
        "a3",
        "a2",
        "a1",
    ]
    assert ids(await db.articles.by_topic("Widgets", sort="top", vis=DEFAULT)) == ["a6", "a4", "a2"]


async def test_paging_sets_has_more_only_when_another_page_exists(db: Database) -> None:
    await store(db, [make_article(n) for n in range(1, 8)])
    first = await db.articles.latest(vis=DEFAULT, limit=3)
    second = await db.articles.latest(vis=DEFAULT, limit=3, offset=3)
    last = await db.articles.latest(vis=DEFAULT, limit=3, offset=6)
    assert (ids(first), first.has_more) == (["a7", "a6", "a5"], True)
    assert (ids(second), second.has_more) == (["a4", "a3", "a2"], True)
    assert (ids(last), last.has_more, last.offset) == (["a1"], False, 6)
    exact = await db.articles.by_topic("Widgets", vis=DEFAULT, limit=7)
    assert len(exact.items) == 7
    assert not exact.has_more


async def test_get_returns_the_whole_article(db: Database) -> None:
    original = make_article(
        1,
        images=(Image("https://example.org/a.jpg", 640, 480),),
        original_url="https://origin.example.org/1",
        topics=("Widgets", "Gears"),
        related=related_to("https://example.org/elsewhere"),
        secured="opaque",
        has_featured_content=True,
        body="Body text",
    )
    await store(db, [original])
    article = await db.articles.get("a1", DEFAULT)
    assert article is not None
    assert article == original  # dataclass equality ignores ``secured``
    assert article.secured == "opaque"
    assert article.image_url == "https://example.org/a.jpg"
    summary = (await db.articles.latest(vis=DEFAULT)).items[0]
    assert (summary.topics, summary.provider_name, summary.image_url) == (
        ("Widgets", "Gears"),
        "Example Daily",
        "https://example.org/a.jpg",
    )
    assert summary.published_at == original.published_at


async def test_get_by_url_matches_the_url_or_its_normalised_form(db: Database) -> None:
    await store(db, [make_article(1, url="https://www.example.org/news/1?utm_source=feed")])
    assert (await db.articles.get_by_url("https://www.example.org/news/1?utm_source=feed", DEFAULT)) is not None
    assert (await db.articles.get_by_url("https://example.org/news/1", DEFAULT)) is not None
    assert await db.articles.get_by_url("https://example.org/news/2", DEFAULT) is None


async def test_topics_are_counted_per_visibility_and_resolved_case_insensitively(db: Database) -> None:
    await store(
        db,
        [
            make_article(1, topics=("Widgets",)),
            make_article(2, topics=("widgets", "Gears")),
            make_article(3, topics=("Gears",), published=False),
            make_article(4, topics=("Gears",), provider=Provider("Spam", "spam.example.net")),
        ],
    )
    assert [(t.name, t.count) for t in await db.articles.topics(DEFAULT)] == [("Gears", 2), ("Widgets", 2)]
    assert [(t.name, t.count) for t in await db.articles.topics(EVERYTHING)] == [("Gears", 3), ("Widgets", 2)]
    blocked = Visibility(blocked_domains=frozenset({"spam.example.net"}))
    assert [(t.name, t.count) for t in await db.articles.topics(blocked)] == [("Widgets", 2), ("Gears", 1)]
    assert await db.articles.resolve_topic("  WIDGETS ") == "Widgets"
    assert await db.articles.resolve_topic("gears") == "Gears"
    assert await db.articles.resolve_topic("Sprockets") is None


async def test_removed_topics_disappear(db: Database) -> None:
    await store(db, [make_article(1, topics=("Widgets", "Fleeting"))])
    await store(db, [make_article(1, topics=("Widgets",))], drop=["news/a1.md"])
    assert await db.articles.resolve_topic("Fleeting") is None
    assert [t.name for t in await db.articles.topics(EVERYTHING)] == ["Widgets"]
    assert ids(await db.articles.by_topic("Fleeting", vis=EVERYTHING)) == []


async def test_stats_count_articles_topics_providers_and_the_last_run(db: Database) -> None:
    empty = await db.articles.stats(DEFAULT)
    assert (empty.articles_total, empty.last_indexed_at) == (0, None)
    await store(db, [make_article(1), make_article(2, published=False, provider=Provider("Other", "other.example"))])
    stats = await db.articles.stats(DEFAULT)
    assert (stats.articles_total, stats.articles_visible, stats.topics, stats.providers) == (2, 1, 1, 2)
    assert stats.last_indexed_at is not None
    assert stats.rejected_files == 0


# --- related -------------------------------------------------------------------------------------


async def test_related_links_resolve_to_store_articles_by_normalised_url(db: Database) -> None:
    source = make_article(
        1,
        related=related_to(
            "https://www.example.org/news/2?utm_campaign=x",  # the store's a2, spelled differently
            "https://elsewhere.example.com/story",  # not in the store
        ),
    )
    await store(db, [source, make_article(2)])
    items = await db.articles.related("a1", DEFAULT)
    assert [(i.article.id if i.article else None, i.url) for i in items] == [
        ("a2", "https://example.org/news/2"),
        (None, "https://elsewhere.example.com/story"),
    ]
    assert items[0].title == "Story number 2"  # the store's copy, not the file's denormalised one
    assert items[1].title == "Elsewhere 1"


async def test_related_drops_self_links_repeats_and_empty_urls(db: Database) -> None:
    source = make_article(
        1,
        related=related_to(
            "https://example.org/news/1",  # itself
            "",
            "https://elsewhere.example.com/a",
            "https://elsewhere.example.com/a/",  # the same, normalised
            "  ",
            "https://elsewhere.example.com/b",
        ),
    )
    await store(db, [source])
    items = await db.articles.related("a1", DEFAULT)
    assert [i.url for i in items] == ["https://elsewhere.example.com/a", "https://elsewhere.example.com/b"]
    stored = await db.articles.get("a1", DEFAULT)
    assert stored is not None
    assert [r.url for r in stored.related] == [i.url for i in items]


async def test_related_follows_targets_added_and_removed_later(db: Database) -> None:
    await store(db, [make_article(1, related=related_to("https://example.org/news/2"))])
    assert [i.article for i in await db.articles.related("a1", DEFAULT)] == [None]

    await store(db, [make_article(2)])
    [item] = await db.articles.related("a1", DEFAULT)
    assert item.article is not None
    assert item.article.id == "a2"

    await store(db, [], drop=["news/a2.md"])
    [item] = await db.articles.related("a1", DEFAULT)
    assert (item.article, item.url, item.title) == (None, "https://example.org/news/2", "Elsewhere 0")


async def test_related_honours_visibility(db: Database) -> None:
    links = related_to(*(f"https://example.org/news/{n}" for n in (2, 3, 4, 5)))
    await store(
        db,
        [
            make_article(1, related=links),
            make_article(2, published=False),
            make_article(3),
            make_article(4, provider=Provider("Spam", "spam.example.net")),
            make_article(5),
        ],
    )
    vis = Visibility(hidden_ids=frozenset({"a5"}), blocked_domains=frozenset({"spam.example.net"}))
    items = await db.articles.related("a1", vis)
    # a2 is unpublished: still a link, but not offered as a store article; a4 and a5 are gone.
    assert [(i.url, i.article.id if i.article else None) for i in items] == [
        ("https://example.org/news/2", None),
        ("https://example.org/news/3", "a3"),
    ]
    assert await db.articles.related("a1", Visibility(hidden_ids=frozenset({"a1"}))) == []
    assert len(await db.articles.related("a1", EVERYTHING, limit=2)) == 2


async def test_a_long_related_list_still_fills_the_page_when_most_links_are_hidden(db: Database) -> None:
    # 120 links, the first 100 to articles this server hid: the page must come from the rest,
    # beyond what a first, bounded read of the list covers.
    targets = [make_article(n) for n in range(2, 122)]
    links = related_to(*(t.url for t in targets))
    await store(db, [make_article(1, related=links), *targets])
    hidden = frozenset(t.id for t in targets[:100])
    items = await db.articles.related("a1", Visibility(hidden_ids=hidden), limit=10)
    assert [i.article.id for i in items if i.article] == [t.id for t in targets[100:110]]
    everything = await db.articles.related("a1", Visibility(), limit=10)
    assert [i.article.id for i in everything if i.article] == [t.id for t in targets[:10]]
