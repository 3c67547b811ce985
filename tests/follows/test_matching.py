"""Follows' matching equals the alerts' pairwise decision: ``match_arrivals`` (an article's
visibility and age judged once) and ``match_window`` (digests) against ``judge_naively`` and
``content_failure`` over generated follows and articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.match import Arrival, Matcher, content_failure, judge_naively
from bot.db.follow_types import Follow
from bot.db.types import ArticleSummary, Visibility
from bot.follows.service import facts_of, follow_filter, match_arrivals, match_window

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
WORDS = ["solar", "wind", "heat", "pump", "oil", "café", "Cafe", "tidal"]
TOPICS = ["Energy", "energy ", "Climate", "Space"]

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
keywords = st.one_of(
    st.none(),
    st.sampled_from(["solar", '"heat pump"', "solar -oil", "wind | tidal", "cafe", "heat -pump", "oil | solar -wind"]),
)


@st.composite
def follows(draw: st.DrawFn) -> list[Follow]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        topic = draw(st.one_of(st.none(), st.sampled_from(TOPICS)))
        kw = draw(keywords)
        if topic is None and kw is None:
            kw = "solar"
        out.append(
            Follow(
                i + 1,
                1 + i % 3,
                topic,
                kw,
                "instant",
                "08:00",
                0,
                NOW - timedelta(days=1),
                draw(st.integers(0, 3)),
                draw(st.booleans()),
                None,
                "UTC",
            )
        )
    return out


@st.composite
def articles(draw: st.DrawFn) -> list[ArticleSummary]:
    return [
        ArticleSummary(
            id=f"a{i}",
            title=draw(words),
            url=f"https://x.example/{i}",
            excerpt=draw(words),
            published_at=NOW - timedelta(hours=draw(st.integers(0, 80))),
            provider_name="X",
            provider_domain=draw(st.sampled_from(["x.example", "blocked.example"])),
            image_url=None,
            quality=draw(st.integers(0, 60)),
            heat=0,
            topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=2))),
        )
        for i in range(draw(st.integers(0, 6)))
    ]


VIS = Visibility(min_quality=20, blocked_domains=frozenset({"blocked.example"}))


@settings(max_examples=150, deadline=None)
@given(follows(), articles(), st.lists(st.one_of(st.none(), st.just(7)), min_size=6, max_size=6))
def test_match_arrivals_equals_the_pairwise_decision(
    fs: list[Follow], items: list[ArticleSummary], guilds: list[int | None]
) -> None:
    filters = [follow_filter(f) for f in fs]
    arrivals = [Arrival(i + 1, facts_of(a), guilds[i]) for i, a in enumerate(items)]
    ours = {
        (fid, a.seq) for fid, a in match_arrivals(Matcher(filters), arrivals, VIS, now=NOW, max_age=timedelta(hours=48))
    }
    naive = {
        (j.alert.id, j.arrival.seq)
        for j in judge_naively(filters, arrivals, lambda _g: VIS, now=NOW, max_age=timedelta(hours=48))
        if j.decision.matched
    }
    assert ours == naive


@settings(max_examples=150, deadline=None)
@given(follows(), articles())
def test_match_window_equals_testing_every_pair(fs: list[Follow], items: list[ArticleSummary]) -> None:
    ours = {f: [a.id for a in found] for f, found in match_window(fs, items).items() if found}
    naive = {}
    for f in fs:
        found = [a.id for a in items if content_failure(follow_filter(f, for_arrivals=False), facts_of(a)) is None]
        if found:
            naive[f.id] = found
    assert ours == naive
