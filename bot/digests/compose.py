"""Which articles go into one digest: pure selection over candidates the caller fetched.

Rules, in order: published in ``[since, until)``, quality at least ``min_quality``, never an
article (or another copy of a story) this digest already delivered; ranked by heat, then quality,
then newest; one entry per story; at most ``max_per_provider`` entries from one provider domain;
at most ``max_items``. The same input always gives the same output. An empty result means "post
nothing".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from datetime import UTC, datetime
from typing import Final

from bot.db.types import ArticleSummary
from bot.store.grouping import UnionFind
from bot.store.keys import plain_words

StoryKey = Callable[[ArticleSummary], str]

DEFAULT_MAX_PER_PROVIDER: Final = 2
# A "story" is a handful of copies of one piece of news. The source data's related lists are
# loose (one hub article can list dozens of others), so a union that would build a bigger group
# than this is refused rather than letting one hub swallow the whole digest.
DEFAULT_MAX_STORY_SIZE: Final = 6


def title_story_key(article: ArticleSummary) -> str:
    """The default story key: the normalised title, or the id for an article with no words in it."""
    title = plain_words(article.title)
    return "title:" + title if title else "id:" + article.id


def provider_key(article: ArticleSummary) -> str:
    """The provider an article counts against: its domain (lower case, no ``www.``, no trailing
    dot); the name when the domain is missing; the article itself when both are."""
    domain = article.provider_domain.strip().lower().rstrip(".")
    domain = domain.removeprefix("www.")
    if domain:
        return "domain:" + domain
    name = " ".join(article.provider_name.casefold().split())
    return "name:" + name if name else "id:" + article.id


def story_groups(
    items: Iterable[ArticleSummary],
    related_pairs: Iterable[tuple[str, str]] = (),
    *,
    by_title: bool = True,
    max_size: int | None = DEFAULT_MAX_STORY_SIZE,
) -> dict[str, str]:
    """Group copies of one story: ``{article id: group id}`` for every item (group id = the
    smallest member id, so a singleton maps to itself).

    Items with the same normalised title are always grouped. Then each related pair joins two
    groups: pairs given in both directions (each article lists the other) first, then one-way
    pairs, each set in sorted order so the result is deterministic. Pairs naming an id outside
    ``items`` are ignored (links never chain through articles the digest is not choosing from), and
    a join that would make a group larger than ``max_size`` is refused (``None``: no limit): the
    source data's related lists are loose, and a chain of links can connect different stories.
    Pass the result to ``compose`` with ``story_key=key_from_groups(groups)``.
    """
    ordered = sorted({item.id: item for item in items}.values(), key=lambda item: item.id)
    groups = UnionFind(item.id for item in ordered)
    if by_title:
        first_by_title: dict[str, str] = {}
        for item in ordered:
            title = plain_words(item.title)
            if not title:
                continue
            if title in first_by_title:
                groups.union(first_by_title[title], item.id)
            else:
                first_by_title[title] = item.id
    strength = Counter((min(a, b), max(a, b)) for a, b in set(related_pairs) if a != b and a in groups and b in groups)
    # Two articles that list each other are joined before one-way links, so under the size limit
    # the strongest links form the groups.
    for (a, b), _ in sorted(strength.items(), key=lambda pair: (-pair[1], pair[0])):
        groups.union(a, b, max_size)
    return {item.id: groups.find(item.id) for item in ordered}


def key_from_groups(groups: Mapping[str, str]) -> StoryKey:
    """A ``story_key`` for ``compose`` from ``story_groups``; ids it does not know are their own story."""

    def key(article: ArticleSummary) -> str:
        return "group:" + groups.get(article.id, article.id)

    return key


def _utc(moment: datetime) -> datetime:
    # Records are UTC; a naive one is read as UTC, as the renderers do.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rank_key(article: ArticleSummary) -> tuple[int, int, float, str]:
    """Sort key: heat high first, then quality high first, then newer first, then id (determinism)."""
    return (-article.heat, -article.quality, -_utc(article.published_at).timestamp(), article.id)


def compose(
    candidates: Sequence[ArticleSummary],
    *,
    delivered_ids: Set[str],
    since: datetime,
    until: datetime,
    min_quality: int,
    max_items: int,
    story_key: StoryKey | None = None,
    max_per_provider: int = DEFAULT_MAX_PER_PROVIDER,
) -> list[ArticleSummary]:
    """The articles for one digest, best first (rules in the module doc).

    ``story_key`` maps an article to its story (default: ``title_story_key``); the best-ranked copy
    of a story stands for it, except that a copy from a provider already at its limit gives way to
    the next copy from another provider. A story is left out entirely when one of its copies among
    ``candidates`` is in ``delivered_ids``. When an id repeats in ``candidates``, its first copy counts.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be aware datetimes")
    if max_items < 0:
        raise ValueError(f"max_items must not be negative, not {max_items}")
    if max_per_provider < 1:
        raise ValueError(f"max_per_provider must be at least 1, not {max_per_provider}")
    key_of = story_key or title_story_key
    unique = list({article.id: article for article in reversed(candidates)}.values())
    delivered_stories = {key_of(article) for article in unique if article.id in delivered_ids}
    eligible = [
        article
        for article in unique
        if article.id not in delivered_ids
        and since <= _utc(article.published_at) < until
        and article.quality >= min_quality
        and key_of(article) not in delivered_stories
    ]
    eligible.sort(key=rank_key)

    chosen: list[ArticleSummary] = []
    stories: set[str] = set()
    per_provider: dict[str, int] = {}
    for article in eligible:
        if len(chosen) >= max_items:
            break
        story = key_of(article)
        provider = provider_key(article)
        if story in stories or per_provider.get(provider, 0) >= max_per_provider:
            continue
        stories.add(story)
        per_provider[provider] = per_provider.get(provider, 0) + 1
        chosen.append(article)
    return chosen
