"""Collapsing files that describe the same article, and making ids unique."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

from bot.store.models import Article, LoadIssue
from bot.store.urls import normalize_url

__all__ = ["dedupe"]

_COLLISION_HASH_CHARS = 6


def _preference(article: Article) -> tuple[bool, int, float, str]:
    # Sorts the preferred copy first: published, then higher quality, newer, first path.
    return (not article.published, -article.quality, -article.published_at.timestamp(), article.path)


def _unique_id(article: Article, taken: set[str]) -> str:
    digest = hashlib.sha1(article.path.encode("utf-8", "surrogatepass")).hexdigest()
    length = _COLLISION_HASH_CHARS
    candidate = f"{article.id}-{digest[:length]}"
    while candidate in taken and length < len(digest):  # only if another file is literally named so
        length += 2
        candidate = f"{article.id}-{digest[:length]}"
    return candidate


def dedupe(articles: Iterable[Article]) -> tuple[list[Article], list[LoadIssue]]:
    """Keep one article per URL and give every kept article a unique id.

    Articles whose ``normalize_url(url)`` is equal are duplicates. The one kept is, in this order of
    preference: published rather than unpublished, higher ``quality``, newer ``published_at``, and
    finally the lexicographically first ``path``. Every other copy is reported as a warning
    ``duplicate of <kept path> (same URL)``.

    Different articles can share an id (the same file name in two folders). The one whose path
    sorts first keeps it; the others get ``<id>-<first 6 hex digits of sha1(path)>`` and a warning.

    Returns the kept articles sorted by path, and the warnings.
    """
    by_url: dict[str, list[Article]] = {}
    for article in articles:
        by_url.setdefault(normalize_url(article.url), []).append(article)

    kept: list[Article] = []
    issues: list[LoadIssue] = []
    for copies in by_url.values():
        copies.sort(key=_preference)
        winner = copies[0]
        kept.append(winner)
        issues.extend(LoadIssue(copy.path, f"duplicate of {winner.path} (same URL)", "warning") for copy in copies[1:])
    kept.sort(key=lambda article: article.path)

    taken = {article.id for article in kept}
    first_with_id: dict[str, Article] = {}
    for index, article in enumerate(kept):
        first = first_with_id.setdefault(article.id, article)
        if first is article:
            continue
        new_id = _unique_id(article, taken)
        taken.add(new_id)
        kept[index] = dataclasses.replace(article, id=new_id)
        issues.append(
            LoadIssue(
                article.path,
                f"id {article.id!r} is already used by {first.path}; this article's id is {new_id!r}",
                "warning",
            )
        )
    issues.sort(key=lambda issue: issue.path)
    return kept, issues
