"""The feeds file, the command line (`newsbot feeds ...`) and housekeeping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.db.types import Visibility
from bot.feeds.config import FeedsConfigError, feed_slug, load_feeds
from bot.feeds.parse import Draft
from bot.feeds.write import FeedMeta, remove_old, write_article
from tests.feeds.conftest import FeedServer


def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "content").mkdir(exist_ok=True)
    return {
        "NEWSBOT_CONTENT_DIR": str(tmp_path / "content"),
        "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds: [{url: ftp://x.org/f}]", "feed 1 (ftp://x.org/f): 'ftp://x.org/f' is not an http:// or https:// URL"),
        ("feeds: [{url: https://x.org/f, interval: 1}]", "'interval' must be whole minutes from 5 to 10080, got 1"),
        (
            "feeds: [{url: https://x.org/f, quality: high}]",
            "'quality' must be a whole number from 0 to 164, got 'high'",
        ),
        ("feeds: [{url: https://x.org/f, colour: red}]", "unknown field 'colour'"),
        ("feeds: [https://x.org/f, 'http://www.x.org/f/']", "feed 2 (http://www.x.org/f/): the same feed as feed 1"),
        ("feeds: {url: x}", "'feeds' must be a list"),
        ("feeds: [\n  - url: x", "not valid YAML (line 2)"),
    ],
)
def test_a_bad_feeds_file_is_reported_with_the_file_and_the_feed(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FeedsConfigError) as caught:
        load_feeds(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_feed_slugs_are_stable_distinct_and_safe() -> None:
    a = feed_slug("https://Example.org/feed.xml?x=1")
    assert a == feed_slug("https://example.org/feed.xml?x=1")
    assert a != feed_slug("https://example.org/feed.xml?x=2")
    assert a.startswith("example-org-feed-xml-") and "/" not in a and ".." not in a


def test_add_list_remove_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = env(tmp_path)
    url = "https://news.example.org/rss"
    assert main(["feeds", "add", url, "--topic", "Space", "--topic", "Science", "--interval", "60"], environ) == 0
    (feed,) = load_feeds(tmp_path / "feeds.yml")
    assert feed.topics == ("Space", "Science") and feed.interval == 60
    assert main(["feeds", "add", "http://www.news.example.org/rss/"], environ) == 1
    assert "already in" in capsys.readouterr().err
    assert main(["feeds", "add", "news.example.org"], environ) == 1
    assert "not an http:// or https:// URL" in capsys.readouterr().err
    assert main(["feeds", "add", "https://b.example.org/", "--quality", "165"], environ) == 1
    assert "--quality: 'quality' must be a whole number from 0 to 164" in capsys.readouterr().err
    assert main(["feeds", "list"], environ) == 0
    out = capsys.readouterr().out
    assert "[new]" in out and url in out and "last fetch never" in out and "topics Space, Science" in out
    assert main(["feeds", "remove", url], environ) == 0
    assert load_feeds(tmp_path / "feeds.yml") == []
    assert main(["feeds", "remove", url], environ) == 1


async def test_fetch_from_the_command_line_reports_and_lists_failures(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    environ = env(tmp_path)
    good = feed_server.serve_file("/rss", "relative_entities.xml")
    bad = feed_server.url("/missing")
    assert main(["feeds", "add", good], environ) == 0
    assert main(["feeds", "add", bad], environ) == 0
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["feeds", "fetch"], environ)
    captured = capsys.readouterr()
    assert code == 1
    assert f"{good}: 1 new of 3 entries, 2 refused" in captured.out
    assert f"{bad}: error: HTTP 404 Not Found" in captured.out
    assert "1 new articles" in captured.err
    assert main(["feeds", "list"], environ) == 0
    out = capsys.readouterr().out
    assert "[failing]" in out and "1 failure(s) in a row, last: HTTP 404 Not Found" in out
    assert "- No date here: no date" in out and "- No link here: no link" in out
    assert main(["check", str(tmp_path / "content")], environ) == 0
    assert await asyncio.to_thread(main, ["feeds", "fetch", "https://unknown.example.org/"], environ) == 1
    assert "is not in" in capsys.readouterr().err


def test_housekeeping_removes_only_old_fetched_files(tmp_path: Path) -> None:
    meta = FeedMeta("feed-1", "P", "p.org")
    now = datetime(2026, 11, 12, 12, tzinfo=UTC)
    old = write_article(tmp_path, meta, Draft("Old", "https://p.org/old", datetime(2026, 8, 13, tzinfo=UTC)))
    kept = write_article(tmp_path, meta, Draft("Kept", "https://p.org/kept", datetime(2026, 8, 14, tzinfo=UTC)))
    own = tmp_path / "2020-01-01-my-own-article.md"
    own.write_text("---\ntitle: x\n---\n", encoding="utf-8")
    assert old is not None and kept is not None
    assert remove_old(tmp_path, 90, now) == [old]
    assert kept.exists() and own.exists()


async def test_housekeeping_runs_with_every_refresh_and_the_index_follows(tmp_path: Path) -> None:
    from bot.content.indexing import reindex
    from bot.db import Database
    from tests.feeds.conftest import make_store

    store = make_store(tmp_path, keep_days=90)
    meta = FeedMeta("feed-1", "P", "p.org")
    old = write_article(store.root, meta, Draft("Old news", "https://p.org/old", datetime(2026, 1, 1, tzinfo=UTC)))
    assert old is not None
    async with await Database.open(tmp_path / "db.sqlite3") as db:
        await reindex(db, store.root)
        assert (await db.articles.stats(_vis())).articles_total == 1
        report = await store.service.refresh()
        assert report.removed == [old] and report.changed
        await reindex(db, store.root)
        assert (await db.articles.stats(_vis())).articles_total == 0


def _vis() -> Visibility:
    return Visibility(include_unpublished=True)


def test_feeds_settings_and_their_defaults(tmp_path: Path) -> None:
    from bot.settings import Settings, SettingsError

    settings = Settings.from_env({"NEWSBOT_CONTENT_DIR": str(tmp_path / "site" / "content")})
    assert settings.feeds and settings.feeds_keep_days == 90
    assert settings.feeds_path == tmp_path / "site" / "feeds.yml"
    custom = Settings.from_env({"NEWSBOT_FEEDS_FILE": "/etc/newsbot/feeds.yml", "NEWSBOT_FEEDS": "false"})
    assert custom.feeds_path == Path("/etc/newsbot/feeds.yml") and not custom.feeds
    for name, value in [("NEWSBOT_FEEDS_KEEP_DAYS", "0"), ("NEWSBOT_FEEDS_CONTACT", "me (at) home\r\nX: y")]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})
