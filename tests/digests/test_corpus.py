"""Digest composition over a real day of the Diablo 4 corpus, with story groups from its related links."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db.types import ArticleSummary
from bot.digests.compose import compose, key_from_groups, provider_key, story_groups
from bot.store.loader import load_directory
from bot.store.models import Article
from bot.store.urls import normalize_url

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "real" / "smartableai_diablo4"

pytestmark = pytest.mark.corpus


def summary(article: Article) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        title=article.title,
        url=article.url,
        excerpt=article.excerpt,
        published_at=article.published_at,
        provider_name=article.provider.name,
        provider_domain=article.provider.domain,
        image_url=article.image_url,
        quality=article.quality,
        heat=article.heat,
        type=article.type,
        topics=article.topics,
    )


def test_a_busy_real_day_gives_ten_distinct_stories() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/real not present: the real-corpus digest check needs it")
    articles = load_directory(CORPUS).articles
    by_url = {normalize_url(a.url): a.id for a in articles}
    pairs = [
        (a.id, by_url[normalize_url(ref.url)])
        for a in articles
        for ref in a.related
        if ref.url and normalize_url(ref.url) in by_url
    ]
    # The open-beta weekend: the busiest days in this slice of the corpus.
    since = datetime(2023, 3, 17, tzinfo=UTC)
    until = since + timedelta(days=1)
    candidates = [summary(a) for a in articles if since <= a.published_at < until]
    assert len(candidates) > 20

    groups = story_groups(candidates, pairs)
    chosen = compose(
        candidates,
        delivered_ids=frozenset(),
        since=since,
        until=until,
        min_quality=0,
        max_items=10,
        story_key=key_from_groups(groups),
    )
    assert len(chosen) == 10
    assert len({groups[a.id] for a in chosen}) == 10
    assert max(Counter(provider_key(a) for a in chosen).values()) <= 2
    assert max(Counter(groups.values()).values()) <= 6

    # The next day's digest repeats none of them even when asked over both days.
    again = compose(
        [summary(a) for a in articles if since <= a.published_at < until + timedelta(days=1)],
        delivered_ids=frozenset(a.id for a in chosen),
        since=since,
        until=until + timedelta(days=1),
        min_quality=0,
        max_items=10,
        story_key=key_from_groups(groups),
    )
    assert not {a.id for a in again} & {a.id for a in chosen}
