"""dedupe: one article per URL, by a stated preference, and unique ids."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.dedupe import dedupe
from bot.store.models import Article, Provider

WHEN = datetime(2024, 3, 1, tzinfo=UTC)


def make(
    path: str, url: str, *, published: bool = True, quality: int = 10, day: int = 1, article_id: str | None = None
) -> Article:
    return Article(
        id=article_id or path.rsplit("/", 1)[-1].removesuffix(".md"),
        path=path,
        title=f"Title of {path}",
        url=url,
        published_at=WHEN.replace(day=day),
        provider=Provider("Example", "example.org"),
        quality=quality,
        published=published,
    )


def kept_paths(articles: list[Article]) -> list[str]:
    return [article.path for article in articles]


@pytest.mark.parametrize(
    ("copies", "winner"),
    [
        # published beats unpublished, whatever the quality
        (
            [make("a.md", "https://example.org/x", published=False, quality=99), make("b.md", "http://example.org/x/")],
            "b.md",
        ),
        # then higher quality
        (
            [make("a.md", "https://example.org/x", quality=5), make("b.md", "https://www.example.org/x", quality=6)],
            "b.md",
        ),
        # then newer
        ([make("a.md", "https://example.org/x", day=2), make("b.md", "https://example.org/x#top", day=1)], "a.md"),
        # then the first path
        ([make("b.md", "https://example.org/x"), make("a.md", "https://example.org/x?utm_source=feed")], "a.md"),
    ],
    ids=["published", "quality", "newer", "path"],
)
def test_preference_order(copies: list[Article], winner: str) -> None:
    kept, issues = dedupe(copies)
    assert kept_paths(kept) == [winner]
    (loser,) = [article.path for article in copies if article.path != winner]
    assert [(issue.path, issue.reason, issue.severity) for issue in issues] == [
        (loser, f"duplicate of {winner} (same URL)", "warning")
    ]


def test_different_urls_are_all_kept_in_path_order() -> None:
    kept, issues = dedupe([make("c.md", "https://example.org/c"), make("a.md", "https://example.org/a")])
    assert kept_paths(kept) == ["a.md", "c.md"]
    assert issues == []


def test_id_collisions_get_a_path_hash_suffix() -> None:
    first = make("2024/post.md", "https://example.org/1")
    second = make("2023/post.md", "https://example.org/2")
    third = make("old/post.md", "https://example.org/3")
    kept, issues = dedupe([first, second, third])
    ids = {article.path: article.id for article in kept}
    assert ids["2023/post.md"] == "post"  # sorts first: keeps the plain id
    for path in ("2024/post.md", "old/post.md"):
        assert ids[path] == "post-" + hashlib.sha1(path.encode()).hexdigest()[:6]
    assert [(issue.path, issue.severity) for issue in issues] == [
        ("2024/post.md", "warning"),
        ("old/post.md", "warning"),
    ]
    assert (
        issues[0].reason == f"id 'post' is already used by 2023/post.md; this article's id is {ids['2024/post.md']!r}"
    )


def test_suffix_that_is_itself_taken_is_lengthened() -> None:
    clash = "post-" + hashlib.sha1(b"b/post.md").hexdigest()[:6]
    kept, _ = dedupe(
        [
            make("a/post.md", "https://example.org/1"),
            make("b/post.md", "https://example.org/2"),
            make("c.md", "https://example.org/3", article_id=clash),
        ]
    )
    ids = [article.id for article in kept]
    assert len(set(ids)) == 3
    assert "post-" + hashlib.sha1(b"b/post.md").hexdigest()[:8] in ids


_articles = st.lists(
    st.builds(
        make,
        path=st.from_regex(r"[a-c]/[a-c]\.md", fullmatch=True),
        url=st.sampled_from(["https://example.org/1", "http://www.example.org/1/", "https://example.org/2"]),
        published=st.booleans(),
        quality=st.integers(0, 3),
        day=st.integers(1, 3),
    ),
    max_size=8,
    unique_by=lambda article: article.path,
)


@given(_articles)
def test_properties(articles: list[Article]) -> None:
    kept, issues = dedupe(articles)
    assert len({article.id for article in kept}) == len(kept)
    urls = {article.url.replace("http://www.", "https://").rstrip("/") for article in articles}
    assert len(kept) == len(urls)
    dropped = [issue for issue in issues if issue.reason.startswith("duplicate of")]
    assert len(dropped) == len(articles) - len(kept)
    assert kept_paths(kept) == sorted(kept_paths(kept))
    # Order of input does not matter.
    again, _ = dedupe(list(reversed(articles)))
    assert again == kept
