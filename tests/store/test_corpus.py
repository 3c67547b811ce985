"""The real corpus (../shared/corpus/real), loaded end to end.

Expectations are computed independently where possible: with PyYAML's safe loader on each file's
front matter (split by plain string operations), not with the loader's own helpers.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.store.loader import LoadResult, load_directory, parse_files
from bot.store.models import Article
from tests.store.conftest import RawFile

MOJIBAKE_RE = re.compile("Ã|Â|â€")

pytestmark = pytest.mark.corpus


def simple_url_key(url: str) -> str:
    """Deliberately naive: enough for this corpus, whose copies share the exact same URL."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}?{parts.query}"


@pytest.fixture(scope="module")
def raw(corpus_raw: dict[str, RawFile]) -> dict[str, dict[str, Any]]:
    return {rel_path: item.data for rel_path, item in corpus_raw.items()}


@pytest.fixture(scope="module")
def loaded(corpus_root: Path) -> LoadResult:
    return load_directory(corpus_root, workers=1)


@pytest.fixture(scope="module")
def every_article(corpus_root: Path, raw: dict[str, dict[str, Any]]) -> dict[str, Article]:
    """Each file parsed on its own, duplicates included."""
    results = parse_files(corpus_root, sorted(raw))
    articles = {rel_path: article for rel_path, article, _ in results if article is not None}
    assert len(articles) == len(raw)
    return articles


def test_every_file_is_accepted(loaded: LoadResult, raw: dict[str, dict[str, Any]]) -> None:
    assert loaded.errors == []
    non_duplicate_warnings = [str(issue) for issue in loaded.issues if not issue.reason.startswith("duplicate of")]
    # One related entry's webUrl has a line separator (YAML "\u2028") in its path: not a link anyone
    # could follow, so the entry is dropped and said so.
    assert non_duplicate_warnings == [
        "everyday-cc_azure/2021-01-23-yellow-messenger-integrates-microsoft-azure-cognitive-services-on-its-platform.md"
        ": warning: dropped related entry 21: its link contains a line break, tab or invisible character (U+2028)"
    ]


def test_duplicates_are_collapsed_to_one_per_url(loaded: LoadResult, raw: dict[str, dict[str, Any]]) -> None:
    keys = {simple_url_key(data.get("webUrl") or data["originalUrl"]) for data in raw.values()}
    assert len(loaded.articles) == len(keys)
    duplicates = [issue for issue in loaded.issues if issue.reason.startswith("duplicate of")]
    assert len(duplicates) == len(raw) - len(keys)
    kept = {article.path for article in loaded.articles}
    for issue in duplicates:
        assert issue.path not in kept


def test_mojibake_is_gone(every_article: dict[str, Article], raw: dict[str, dict[str, Any]]) -> None:
    raw_texts = [
        text
        for data in raw.values()
        for text in [data["title"], data.get("excerpt") or ""]
        + [entry.get("title") or "" for entry in data.get("related") or []]
    ]
    assert any(MOJIBAKE_RE.search(text) for text in raw_texts), "the corpus is expected to contain mojibake"
    for article in every_article.values():
        texts = [article.title, article.excerpt, article.provider.name, *article.topics]
        texts += [text for ref in article.related for text in (ref.title, ref.excerpt)]
        for text in texts:
            assert MOJIBAKE_RE.search(text) is None, (article.path, text)


def test_topic_counts(loaded: LoadResult, raw: dict[str, dict[str, Any]]) -> None:
    expected: Counter[str] = Counter()
    for article in loaded.articles:
        topics = raw[article.path].get("topics") or []
        expected.update({topic.strip().casefold() for topic in topics})
    actual = Counter(topic.casefold() for article in loaded.articles for topic in article.topics)
    assert actual == expected
    assert len(actual) > 5


def test_ids_are_unique(loaded: LoadResult) -> None:
    ids = [article.id for article in loaded.articles]
    assert len(set(ids)) == len(ids)


def test_video_items_link_to_the_original(every_article: dict[str, Article], raw: dict[str, dict[str, Any]]) -> None:
    videos = [path for path, data in raw.items() if data.get("type") == "video"]
    assert videos
    for path in videos:
        article = every_article[path]
        assert article.type == "video"
        assert article.url == raw[path]["originalUrl"] == article.original_url


def test_published_flags_and_dates_match(every_article: dict[str, Article], raw: dict[str, dict[str, Any]]) -> None:
    for path, data in raw.items():
        article = every_article[path]
        assert article.published is data["published"]
        assert article.published_at == data["publishedDateTime"]
        assert article.quality == data["quality"]
        assert article.heat == data["heat"]


def test_secured_is_kept_but_not_in_repr(every_article: dict[str, Article], raw: dict[str, dict[str, Any]]) -> None:
    for path, data in raw.items():
        article = every_article[path]
        assert article.secured == data["secured"]
        assert data["secured"] not in repr(article)


def test_related_links_point_at_real_urls(every_article: dict[str, Article], raw: dict[str, dict[str, Any]]) -> None:
    for path, data in raw.items():
        article = every_article[path]
        written = {entry.get("webUrl") or entry.get("originalUrl") for entry in data.get("related") or []}
        assert {ref.url for ref in article.related} <= written
        urls = [simple_url_key(ref.url) for ref in article.related]
        assert len(urls) == len(set(urls))  # repeats dropped
        assert simple_url_key(article.url) not in urls  # no self-links
