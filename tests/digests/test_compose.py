"""Choosing a digest's articles: each rule on a focused example, then properties for random input."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db.types import ArticleSummary
from bot.digests.compose import (
    compose,
    key_from_groups,
    provider_key,
    rank_key,
    story_groups,
    title_story_key,
)
from bot.store.keys import plain_words

SINCE = datetime(2026, 3, 9, 9, tzinfo=UTC)
UNTIL = datetime(2026, 3, 10, 9, tzinfo=UTC)


def item(
    id: str,
    *,
    title: str | None = None,
    domain: str | None = None,
    hours: float = 12,
    quality: int = 50,
    heat: int = 10,
) -> ArticleSummary:
    """An article published ``hours`` after SINCE, from its own provider unless ``domain`` says otherwise."""
    return ArticleSummary(
        id=id,
        title=title if title is not None else f"Story {id}",
        url=f"https://news.example.org/{id}",
        excerpt="",
        published_at=SINCE + timedelta(hours=hours),
        provider_name=(domain or f"{id}.example.org").split(".")[0].title(),
        provider_domain=domain if domain is not None else f"{id}.example.org",
        image_url=None,
        quality=quality,
        heat=heat,
    )


def pick(candidates: list[ArticleSummary], **overrides: object) -> list[str]:
    options: dict[str, object] = {
        "delivered_ids": frozenset(),
        "since": SINCE,
        "until": UNTIL,
        "min_quality": 0,
        "max_items": 10,
    }
    options.update(overrides)
    return [a.id for a in compose(candidates, **options)]  # type: ignore[arg-type]


# --- one rule at a time ------------------------------------------------------------------------------


def test_window_includes_since_and_excludes_until() -> None:
    candidates = [item("early", hours=-0.01), item("start", hours=0), item("end", hours=24), item("last", hours=23.99)]
    assert sorted(pick(candidates)) == ["last", "start"]


def test_quality_threshold_is_inclusive() -> None:
    candidates = [item("low", quality=39), item("edge", quality=40), item("high", quality=90)]
    assert sorted(pick(candidates, min_quality=40)) == ["edge", "high"]


def test_delivered_articles_never_come_back() -> None:
    candidates = [item("old"), item("new")]
    assert pick(candidates, delivered_ids={"old"}) == ["new"]


def test_another_copy_of_a_delivered_story_is_left_out() -> None:
    candidates = [item("first", title="Diablo 4 beta dates"), item("copy", title="Diablo 4: Beta dates!"), item("x")]
    assert pick(candidates, delivered_ids={"first"}) == ["x"]


def test_ranked_by_heat_then_quality_then_newest() -> None:
    candidates = [
        item("cold", heat=1, quality=99),
        item("hot-old", heat=30, quality=50, hours=1),
        item("hot-new", heat=30, quality=50, hours=5),
        item("hot-better", heat=30, quality=60, hours=0),
        item("hottest", heat=90, quality=1),
    ]
    assert pick(candidates) == ["hottest", "hot-better", "hot-new", "hot-old", "cold"]


def test_never_promoted_articles_rank_below_promoted_ones() -> None:
    # heat -1 means never promoted; quality decides among those.
    candidates = [item("never-a", heat=-1, quality=90), item("never-b", heat=-1, quality=95), item("promoted", heat=0)]
    assert pick(candidates) == ["promoted", "never-b", "never-a"]


def test_at_most_two_per_provider_domain_by_default() -> None:
    candidates = [
        item("a1", domain="example.com", heat=40),
        item("a2", domain="WWW.Example.com.", heat=30),
        item("a3", domain="example.com", heat=20),
        item("b1", domain="other.org", heat=10),
    ]
    assert pick(candidates) == ["a1", "a2", "b1"]
    assert pick(candidates, max_per_provider=1) == ["a1", "b1"]
    assert pick(candidates, max_per_provider=3) == ["a1", "a2", "a3", "b1"]


def test_copies_of_one_story_collapse_to_the_best_copy() -> None:
    candidates = [
        item("yahoo", title="Diablo 4's open beta: dates announced", heat=5),
        item("msn", title="DIABLO 4’S OPEN BETA — DATES ANNOUNCED", heat=20),
        item("other", title="Something else", heat=1),
    ]
    assert pick(candidates) == ["msn", "other"]


def test_a_story_whose_best_copy_hits_the_provider_limit_is_told_by_another_provider() -> None:
    candidates = [
        item("big1", domain="big.example", heat=90),
        item("big2", domain="big.example", heat=80),
        item("big3", title="Shared story", domain="big.example", heat=70),
        item("small", title="Shared story", domain="small.example", heat=10),
    ]
    assert pick(candidates) == ["big1", "big2", "small"]


def test_max_items_and_empty_results() -> None:
    candidates = [item(f"n{i}", heat=i) for i in range(15)]
    assert pick(candidates, max_items=3) == ["n14", "n13", "n12"]
    assert pick(candidates, max_items=0) == []
    assert pick([]) == []
    assert pick(candidates, min_quality=200) == []


def test_repeated_candidates_count_once_and_naive_times_read_as_utc() -> None:
    naive = replace(item("naive"), published_at=datetime(2026, 3, 9, 10))
    # Only the first copy of a repeated id counts (here: the one outside the window).
    assert pick([item("dup"), item("dup"), naive, item("again", hours=30), item("again")]) == ["dup", "naive"]


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        pick([], since=datetime(2026, 3, 9))
    with pytest.raises(ValueError, match="max_items"):
        pick([], max_items=-1)
    with pytest.raises(ValueError, match="max_per_provider"):
        pick([], max_per_provider=0)


# --- story groups ---------------------------------------------------------------------------------------


def test_story_groups_join_related_pairs_transitively() -> None:
    items = [item("a"), item("b"), item("c"), item("d")]
    groups = story_groups(items, [("c", "b"), ("b", "a")])
    assert groups == {"a": "a", "b": "a", "c": "a", "d": "d"}
    assert pick(items, story_key=key_from_groups(groups)) == ["a", "d"]


def test_story_groups_do_not_chain_through_articles_outside_the_candidates() -> None:
    items = [item("a"), item("b")]
    assert story_groups(items, [("a", "outside"), ("outside", "b")]) == {"a": "a", "b": "b"}


def test_story_groups_join_equal_titles() -> None:
    items = [item("x", title="Heat pumps win"), item("y", title="heat-pumps WIN"), item("z")]
    assert story_groups(items) == {"x": "x", "y": "x", "z": "z"}
    assert story_groups(items, by_title=False) == {"x": "x", "y": "y", "z": "z"}


def test_a_hub_article_related_to_everything_cannot_swallow_the_digest() -> None:
    # One official post listed as related by every other article (as in the source data).
    items = [item("hub")] + [item(f"s{i}") for i in range(10)]
    pairs = [("hub", f"s{i}") for i in range(10)]
    groups = story_groups(items, pairs, max_size=4)
    sizes = Counter(groups.values())
    assert max(sizes.values()) == 4
    assert len(pick(items, story_key=key_from_groups(groups))) == 8  # 1 group of 4, 7 singletons
    assert len(set(story_groups(items, pairs, max_size=None).values())) == 1


def test_story_groups_do_not_depend_on_input_order() -> None:
    items = [item(f"i{n}") for n in range(12)]
    rnd = random.Random(3)
    pairs = [(f"i{rnd.randrange(12)}", f"i{rnd.randrange(12)}") for _ in range(15)]
    expected = story_groups(items, pairs, max_size=3)
    for _ in range(5):
        rnd.shuffle(pairs)
        rnd.shuffle(items)
        assert story_groups(items, pairs, max_size=3) == expected


def test_key_helpers() -> None:
    assert plain_words("  Diablo IV’s   Beta — Dates!  ") == "diablo iv s beta dates"
    assert plain_words("Pokémon") == plain_words("POKEMON")
    assert title_story_key(item("q", title="?!")) == "id:q"
    assert provider_key(item("p", domain="")) == "name:p"
    assert provider_key(item("p", domain="www.News.Example.")) == "domain:news.example"
    assert key_from_groups({"a": "g"})(item("zz")) == "group:zz"


# --- properties ----------------------------------------------------------------------------------------

DOMAINS = ["a.example", "www.a.example", "b.example", "c.example", "", "d.example"]
TITLES = ["Alpha", "alpha!", "Beta", "Gamma", "Delta", "", "Epsilon news", "EPSILON NEWS"]

candidates_strategy = st.lists(
    st.builds(
        item,
        st.sampled_from([f"id{n}" for n in range(40)]),
        title=st.one_of(st.sampled_from(TITLES), st.text(max_size=8)),
        domain=st.sampled_from(DOMAINS),
        hours=st.floats(-30, 54, allow_nan=False),
        quality=st.integers(0, 120),
        heat=st.integers(-1, 40),
    ),
    max_size=40,
)
COMPOSE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMPOSE
@given(
    candidates_strategy,
    st.sets(st.sampled_from([f"id{n}" for n in range(40)]), max_size=10),
    st.integers(0, 120),
    st.integers(0, 10),
    st.integers(1, 3),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_compose_rules_hold_for_any_input(
    candidates: list[ArticleSummary],
    delivered: set[str],
    min_quality: int,
    max_items: int,
    max_per_provider: int,
    use_groups: bool,
    rnd: random.Random,
) -> None:
    pairs = [(a.id, b.id) for a, b in pairwise(candidates) if a.heat % 3 == 0]
    key = key_from_groups(story_groups(candidates, pairs)) if use_groups else title_story_key
    options = {
        "delivered_ids": frozenset(delivered),
        "since": SINCE,
        "until": UNTIL,
        "min_quality": min_quality,
        "max_items": max_items,
        "story_key": key,
        "max_per_provider": max_per_provider,
    }
    chosen = compose(candidates, **options)  # type: ignore[arg-type]

    assert len(chosen) <= max_items
    assert len({a.id for a in chosen}) == len(chosen)
    assert max(Counter(provider_key(a) for a in chosen).values(), default=0) <= max_per_provider
    assert not any(a.id in delivered for a in chosen)
    assert all(SINCE <= a.published_at < UNTIL and a.quality >= min_quality for a in chosen)
    assert len({key(a) for a in chosen}) == len(chosen), "two copies of one story"
    assert [rank_key(a) for a in chosen] == sorted(rank_key(a) for a in chosen)

    # Deterministic: the order candidates arrive in does not matter.
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    if len({a.id for a in candidates}) == len(candidates):
        assert compose(shuffled, **options) == chosen  # type: ignore[arg-type]

    # Nothing good was left out for no reason: every eligible article not chosen lost its place to
    # its story, its provider's limit, or the item limit.
    if len(chosen) < max_items:
        first_copies = list({a.id: a for a in reversed(candidates)}.values())
        delivered_stories = {key(a) for a in first_copies if a.id in delivered}
        stories = {key(a) for a in chosen}
        per_provider = Counter(provider_key(a) for a in chosen)
        for a in first_copies:
            eligible = (
                a.id not in delivered
                and SINCE <= a.published_at < UNTIL
                and a.quality >= min_quality
                and key(a) not in delivered_stories
            )
            if eligible and a not in chosen:
                assert (
                    key(a) in stories
                    or per_provider[provider_key(a)] >= max_per_provider
                    or any(c.id == a.id for c in chosen)
                )


def test_links_listed_both_ways_win_under_the_size_limit() -> None:
    items = [item("a"), item("b"), item("c")]
    # a-b is one-way, b-c is mutual: with room for only two, b joins c.
    groups = story_groups(items, [("a", "b"), ("b", "c"), ("c", "b")], max_size=2)
    assert groups == {"a": "a", "b": "b", "c": "b"}
