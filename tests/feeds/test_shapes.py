"""Real-world feed shapes, served over loopback, fetched, written and read back by the store's loader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.store.models import Article
from tests.feeds.conftest import FeedServer, Store


def by_title(articles: list[Article]) -> dict[str, Article]:
    return {article.title: article for article in articles}


async def test_rss2_with_content_encoded_and_media(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/rss", "rss2_content_encoded.xml")
    store.add(url, topics=("Harbour",), quality=70)
    report = await store.service.refresh()
    assert len(report.written) == 2
    articles = by_title(store.articles())
    tidal = articles["Tidal turbines reach full power"]
    assert tidal.url == "https://harbour.example.com/2026/11/tidal-turbines?utm_source=rss"
    assert tidal.published_at == datetime(2026, 11, 10, 7, 30, tzinfo=UTC)  # +0100 converted to UTC
    assert tidal.excerpt == "The array off the north pier delivered its rated output for a full tide."
    assert "alert" not in tidal.excerpt and "<" not in tidal.excerpt
    assert "twelve more turbines" in tidal.body  # content:encoded is the body, searchable
    assert tidal.topics == ("Harbour", "Energy", "Climate")
    assert tidal.provider.name == "Harbour Tech Weekly"
    assert tidal.provider.domain == "harbour.example.com"
    assert tidal.quality == 70 and tidal.published
    assert [(i.url, i.width, i.height) for i in tidal.images] == [
        ("https://cdn.harbour.example.com/tidal.jpg", 1200, 675)
    ]
    ferry = articles["Ferry timetable goes open data"]
    assert ferry.excerpt == "Every departure is now published as a feed & an API."
    assert ferry.images[0].url == "https://cdn.harbour.example.com/ferry-thumb.jpg"
    assert all(a.path.startswith("_feeds/") for a in articles.values())
    # <ttl>120</ttl>: the feed asked for two hours between fetches, more than the 30-minute interval.
    state = store.state(url)
    assert state.min_interval == 7200
    assert state.next_fetch == store.clock.now + 7200


async def test_atom_with_xhtml_content(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/atom", "atom_xhtml.xml", content_type="application/atom+xml")
    store.add(url)
    await store.service.refresh()
    articles = by_title(store.articles())
    pebble = articles["Cubesat Pebble phones home"]
    assert pebble.excerpt == "A student-built satellite sent its first picture home."
    assert "coast at dawn" in pebble.body
    assert pebble.published_at == datetime(2026, 11, 10, 14, 15, tzinfo=UTC)
    assert pebble.topics == ("Space",)
    assert articles["Updated only"].published_at == datetime(2026, 11, 8, 10, tzinfo=UTC)


async def test_rdf_with_syndication_hints(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/rdf", "rdf.xml", content_type="application/rdf+xml")
    store.add(url)
    await store.service.refresh()
    (article,) = store.articles()
    assert article.title == "Monitoring network opens its data"
    assert article.topics == ("Climate",)
    assert store.state(url).min_interval == 43200  # daily, twice: every twelve hours


async def test_podcast_image_enclosure_and_entry_without_link(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/pod", "podcast.xml")
    store.add(url)
    await store.service.refresh()
    (episode,) = store.articles()
    assert episode.title == "Episode 42: compilers all the way down"
    assert [i.url for i in episode.images] == ["https://media.buildlog.example.fm/42.jpg"]  # not the mp3
    assert store.state(url).rejected == [["Trailer", "no link"]]


async def test_relative_links_and_entities_in_titles(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/rel/feed.xml", "relative_entities.xml")
    store.add(url)
    await store.service.refresh()
    (article,) = store.articles()
    assert article.title == "Runners break the ten-minute barrier — at last & for good"
    assert article.url == f"{feed_server.base}/runs/ten-minutes"
    assert article.excerpt == "It took twenty years…"
    assert article.provider.name == "Speedrun & Retro"
    assert sorted(reason for _, reason in store.state(url).rejected) == ["no date", "no link"]


async def test_non_utf8_feed_declared_in_the_prolog(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/latin1", "latin1.xml", content_type="application/xml")
    store.add(url)
    await store.service.refresh()
    (article,) = store.articles()
    assert article.title == "Café-Übersicht: Zürichs beste Röstereien"
    assert article.excerpt == "Große Auswahl, schöne Tassen, faire Preise."
    assert article.provider.name == "Gazette de Zürich"


async def test_second_refresh_writes_nothing_new_and_keeps_files(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/rss", "rss2_content_encoded.xml")
    store.add(url)
    first = await store.service.refresh()
    store.clock.advance(3 * 3600)
    second = await store.service.refresh()
    assert len(first.written) == 2 and second.written == []
    assert len(feed_server.hits["/rss"]) == 2
    assert len(store.articles()) == 2
    assert store.state(url).entries == 2


async def test_not_due_feeds_are_not_fetched(feed_server: FeedServer, store: Store) -> None:
    url = feed_server.serve_file("/rss", "rss2_content_encoded.xml")
    store.add(url, interval=30)
    await store.service.refresh()
    store.clock.advance(60)
    await store.service.refresh()
    assert len(feed_server.hits["/rss"]) == 1


async def test_an_article_already_in_the_store_is_never_written_again(feed_server: FeedServer, store: Store) -> None:
    existing = store.root / "ferry.md"
    existing.write_text(
        "---\ntitle: Our own ferry story\npublishedDateTime: 2026-11-09T10:00:00Z\n"
        # The same article in another spelling: http, www, a trailing slash and a tracking parameter.
        "webUrl: http://www.harbour.example.com/2026/11/ferry-open-data/?utm_medium=x\n---\n",
        encoding="utf-8",
    )
    url = feed_server.serve_file("/rss", "rss2_content_encoded.xml")
    store.add(url)
    report = await store.service.refresh()
    assert [p.name for p in report.written] == [p.name for p in report.written if "tidal" in p.name]
    titles = sorted(a.title for a in store.articles())
    assert titles == ["Our own ferry story", "Tidal turbines reach full power"]
    assert existing.read_text(encoding="utf-8").startswith("---\ntitle: Our own ferry story")


async def test_two_feeds_carrying_the_same_entry_write_it_once(feed_server: FeedServer, store: Store) -> None:
    store.add(feed_server.serve_file("/a", "rss2_content_encoded.xml"))
    store.add(feed_server.serve_file("/b", "rss2_content_encoded.xml"))
    report = await store.service.refresh()
    assert len(report.written) == 2
    assert len(store.articles()) == 2


@pytest.mark.parametrize("keep_days", [2, 3])
async def test_entries_older_than_the_keep_window_are_not_written(
    feed_server: FeedServer, tmp_path: object, keep_days: int
) -> None:
    from pathlib import Path

    from tests.feeds.conftest import make_store

    store = make_store(Path(str(tmp_path)), keep_days=keep_days)
    store.add(feed_server.serve_file("/rss", "rss2_content_encoded.xml"))
    await store.service.refresh()
    # now is 2026-11-12 12:00; the entries are from the 10th (07:30) and the 9th (17:00).
    expected = {2: 0, 3: 2}[keep_days]
    assert len(store.articles()) == expected
