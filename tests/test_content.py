"""The bundled demo store (content/): it must load cleanly and show off what the bot can do."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import frontmatter
import pytest

from bot.store.loader import LoadResult, load_directory
from bot.store.models import Article
from bot.store.urls import normalize_url

CONTENT = Path(__file__).resolve().parents[1] / "content"
BUNDLED_HOSTS = ("example.org", "example.com")  # example.net holds the deliberately external links
MOJIBAKE_MARKERS = ("Ã", "â€", "Â", "&#", "&amp;", "&nbsp;")


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    return load_directory(CONTENT)


@pytest.fixture(scope="module")
def articles(loaded: LoadResult) -> list[Article]:
    return loaded.articles


def by_url(articles: list[Article], url: str) -> Article:
    found = [a for a in articles if a.url == url]
    assert len(found) == 1, url
    return found[0]


def is_bundled(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == suffix or host.endswith("." + suffix) for suffix in BUNDLED_HOSTS)


def test_every_file_loads(loaded: LoadResult) -> None:
    files = [p for p in CONTENT.rglob("*") if p.suffix in (".md", ".txt")]
    errors = [str(issue) for issue in loaded.issues if issue.severity == "error"]
    assert errors == []
    # No file was collapsed into another as a duplicate either.
    assert len(loaded.articles) == len(files)


def test_there_is_enough_to_browse(articles: list[Article]) -> None:
    assert len(articles) >= 30
    topics = Counter(topic.casefold() for a in articles for topic in a.topics)
    assert len(topics) >= 5
    assert sum(1 for count in topics.values() if count >= 3) >= 5


def test_mostly_published_with_a_few_hidden(articles: list[Article]) -> None:
    published = sum(a.published for a in articles)
    assert published >= 0.8 * len(articles)
    assert published < len(articles)


def test_video_item_uses_its_original_url(articles: list[Article]) -> None:
    videos = [a for a in articles if a.type == "video"]
    assert videos
    for video in videos:
        raw = frontmatter.loads((CONTENT / video.path).read_text(encoding="utf-8")).metadata
        assert not raw.get("webUrl")
        assert video.url == raw["originalUrl"] == video.original_url
        assert video.has_featured_content


def test_mojibake_and_entities_are_cleaned(articles: list[Article]) -> None:
    cafe = by_url(articles, "https://forge.example.org/community/cafe-hackathon-library-translation")
    assert cafe.title == "Café hackathon ships a translation tool for Québec’s public libraries"
    assert "café in Montréal" in cafe.excerpt
    assert "French & English catalogue records — librarians say it’s already saving hours" in cafe.excerpt
    for article in articles:
        for text in (article.title, article.excerpt):
            assert not any(marker in text for marker in MOJIBAKE_MARKERS), (article.path, text)


def test_topics_given_as_one_string_are_a_list(articles: list[Article]) -> None:
    cubesat = by_url(articles, "https://news.example.org/science/student-cubesat-first-picture")
    assert cubesat.topics == ("Space",)


def test_related_links_resolve_between_bundled_files(articles: list[Article]) -> None:
    known = {normalize_url(a.url): a for a in articles}
    resolved = external = 0
    for article in articles:
        for ref in article.related:
            if not ref.url:
                continue
            if not is_bundled(ref.url):
                external += 1
                continue
            target = known.get(normalize_url(ref.url))
            assert target is not None, (article.path, ref.url)
            # Related entries are copies of the other file: what the list shows matches the card.
            assert ref.title == target.title
            resolved += 1
    assert resolved >= 20
    assert external >= 3


def test_the_messy_related_list_is_there_to_exercise_dedupe() -> None:
    """The real data has related lists with duplicates and self-links; one bundled file keeps both."""
    found = False
    for path in CONTENT.rglob("*.md"):
        meta = frontmatter.loads(path.read_text(encoding="utf-8")).metadata
        urls = [entry.get("webUrl") for entry in meta.get("related") or []]
        if meta.get("webUrl") in urls and len(urls) != len(set(urls)):
            found = True
    assert found


def test_edge_cases_for_the_renderer_are_present(articles: list[Article]) -> None:
    assert any(len(a.title) > 256 for a in articles)
    assert any(len(a.excerpt) > 4096 for a in articles)
    assert any("@everyone" in a.title and "*" in a.title for a in articles)
