"""Matching: each reason in its order, and the indexed matcher equal to testing every pair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.keywords import parse
from bot.alerts.match import AlertFilter, Arrival, ArticleFacts, Matcher, decide, judge_naively
from bot.alerts.rules import Reason
from bot.db.types import Visibility

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
AGE = timedelta(hours=48)
CREATED = NOW - timedelta(days=1)


def article(**fields: object) -> ArticleFacts:
    values: dict[str, object] = {
        "id": "a1",
        "title": "Solar farm opens",
        "excerpt": "A large solar farm",
        "topics": ["Energy"],
        "provider_domain": "example.org",
        "quality": 50,
        "published": True,
        "published_at": NOW - timedelta(hours=1),
    }
    values.update(fields)
    return ArticleFacts.of(**values)  # type: ignore[arg-type]


def alert(**fields: object) -> AlertFilter:
    values: dict[str, object] = {"id": 1, "guild_id": 7, "topic": "energy", "query": None, "created_at": CREATED}
    values.update(fields)
    return AlertFilter(**values)  # type: ignore[arg-type]


def reason(a: AlertFilter, art: ArticleFacts, vis: Visibility | None = None) -> Reason | None:
    return decide(a, art, vis or Visibility(), now=NOW, max_age=AGE).reason


def test_each_reason_in_turn() -> None:
    assert reason(alert(), article()) is None
    assert reason(alert(topic="sport"), article()) is Reason.TOPIC
    assert reason(alert(query=parse("wind")), article()) is Reason.KEYWORDS
    assert reason(alert(providers=frozenset({"other.org"})), article()) is Reason.PROVIDER
    assert reason(alert(min_quality=60), article()) is Reason.QUALITY
    assert reason(alert(), article(), Visibility(min_quality=60)) is Reason.QUALITY
    assert reason(alert(), article(), Visibility(hidden_ids=frozenset({"a1"}))) is Reason.HIDDEN
    assert reason(alert(), article(published=False)) is Reason.HIDDEN
    assert reason(alert(), article(published=False), Visibility(include_unpublished=True)) is None
    assert reason(alert(), article(), Visibility(blocked_domains=frozenset({"example.org"}))) is Reason.BLOCKED
    assert reason(alert(), article(), Visibility(blocked_topics=frozenset({"energy"}))) is Reason.BLOCKED
    assert reason(alert(), article(published_at=CREATED - timedelta(seconds=1))) is Reason.BEFORE_ALERT
    assert reason(alert(created_at=None), article(published_at=NOW - AGE - timedelta(minutes=1))) is Reason.TOO_OLD
    assert reason(alert(paused=True), article()) is Reason.PAUSED


def test_the_details_name_the_word_and_both_numbers() -> None:
    keyword = decide(alert(query=parse('solar -"farm"')), article(), Visibility(), now=NOW, max_age=AGE)
    assert "farm" in keyword.detail and "excluded" in keyword.detail
    quality = decide(alert(min_quality=60), article(), Visibility(), now=NOW, max_age=AGE)
    assert "50" in quality.detail and "60" in quality.detail


WORDS = ["solar", "wind", "oil", "tidal", "café", "heat", "pump"]
TOPICS = ["Energy", "Sport", "Politics", "Science"]
word = st.sampled_from(WORDS)


@st.composite
def alerts(draw: st.DrawFn, n: int) -> AlertFilter:
    topic = draw(st.one_of(st.none(), st.sampled_from(TOPICS)))
    query = None
    if topic is None or draw(st.booleans()):
        positive = draw(st.lists(word, min_size=1, max_size=3))
        text = positive[0] + (" | " + positive[1] if len(positive) > 1 and draw(st.booleans()) else "")
        text += " " + " ".join(positive[2:])
        if draw(st.booleans()):
            text += " -" + draw(word)
        if draw(st.booleans()):
            text += ' "heat pump"'
        query = parse(text)
    return AlertFilter(
        id=n,
        guild_id=draw(st.sampled_from([1, 2, 3])),
        topic=topic.casefold() if topic else None,
        query=query,
        providers=draw(st.sampled_from([frozenset(), frozenset({"a.org"})])),
        min_quality=draw(st.sampled_from([0, 40, 60])),
        created_at=CREATED,
        paused=draw(st.booleans()),
        after_seq=draw(st.integers(0, 3)),
    )


@st.composite
def arrivals(draw: st.DrawFn, seq: int) -> Arrival:
    facts = ArticleFacts.of(
        id=f"a{seq}",
        title=" ".join(draw(st.lists(word, max_size=5))),
        excerpt=" ".join(draw(st.lists(word, max_size=5))),
        topics=draw(st.lists(st.sampled_from(TOPICS), max_size=2)),
        provider_domain=draw(st.sampled_from(["a.org", "b.org"])),
        quality=draw(st.sampled_from([30, 50, 70])),
        published=draw(st.booleans()),
        published_at=NOW - timedelta(hours=draw(st.sampled_from([1, 30, 50]))),
    )
    return Arrival(seq, facts, draw(st.sampled_from([None, None, 1])))


@settings(max_examples=150)
@given(st.data())
def test_the_matcher_decides_every_pair_as_the_pairwise_loop_does(data: st.DataObject) -> None:
    found_alerts = [data.draw(alerts(n)) for n in range(data.draw(st.integers(0, 12)))]
    found_arrivals = [data.draw(arrivals(seq)) for seq in range(1, data.draw(st.integers(0, 8)) + 1)]
    vis = {1: Visibility(min_quality=45), 2: Visibility(blocked_domains=frozenset({"b.org"})), 3: Visibility()}
    fast = Matcher(found_alerts).judge(found_arrivals, vis.__getitem__, now=NOW, max_age=AGE)
    slow = judge_naively(found_alerts, found_arrivals, vis.__getitem__, now=NOW, max_age=AGE)
    key = lambda j: (j.alert.id, j.arrival.seq)  # noqa: E731
    fast_by = {key(j): j.decision for j in fast}
    slow_by = {key(j): j.decision for j in slow}
    assert len(fast_by) == len(fast), "no pair twice"
    # Every pair the matcher leaves out fails on what the alert is about.
    for pair, decision in slow_by.items():
        if pair in fast_by:
            assert fast_by[pair] == decision
        else:
            assert decision.reason in (Reason.TOPIC, Reason.KEYWORDS)
    assert {p for p, d in fast_by.items() if d.matched} == {p for p, d in slow_by.items() if d.matched}
