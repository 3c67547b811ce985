"""Which alerts an arriving article is for, and why not for the others. Pure and fast.

``decide`` judges one (alert, article) pair and names the first reason it fails, in the order of
``Reason``; ``/alert why`` shows it. ``Matcher`` gives the same answers for many pairs at once
without testing each: alerts are indexed by their topic, and keyword-only alerts by the words an
article must contain to match them (``Query.index_keys``), so an article is only tested against the
alerts it could match. Every other pair fails on its topic or its keywords, which is what ``decide``
would say (a property test checks both ways agree).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts.keywords import Query, Text
from bot.alerts.rules import Reason
from bot.db.types import Visibility


def topic_key(name: str) -> str:
    """How topics are compared everywhere (the index's topic key): case-folded, spaces collapsed."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What matching needs of one alert. ``topic`` is a ``topic_key``; ``providers`` lower-case
    domains (empty: any); ``after_seq`` the last arrival this alert has already judged."""

    id: int
    guild_id: int
    topic: str | None
    query: Query | None
    providers: frozenset[str] = frozenset()
    min_quality: int = 0
    created_at: datetime | None = None
    paused: bool = False
    after_seq: int = 0


@dataclass(frozen=True, slots=True)
class ArticleFacts:
    id: str
    title: str
    excerpt: str
    topics: tuple[str, ...]
    provider_domain: str
    quality: int
    published: bool
    published_at: datetime
    text: Text = field(default=Text((), frozenset()), compare=False)
    topic_keys: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(
        cls,
        id: str,
        title: str,
        excerpt: str,
        topics: Sequence[str],
        provider_domain: str,
        quality: int,
        published: bool,
        published_at: datetime,
    ) -> ArticleFacts:
        return cls(
            id,
            title,
            excerpt,
            tuple(topics),
            provider_domain.lower(),
            quality,
            published,
            published_at,
            Text.of(title, excerpt, topics),
            frozenset(topic_key(t) for t in topics),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """``reason`` None means the alert posts the article; ``detail`` says it for a moderator."""

    reason: Reason | None
    detail: str = ""

    @property
    def matched(self) -> bool:
        return self.reason is None


MATCH = Decision(None, "matches")


def content_failure(alert: AlertFilter, article: ArticleFacts) -> Decision | None:
    """The first of topic, keywords, provider that fails (what an alert is *about*), or None."""
    if alert.topic is not None and alert.topic not in article.topic_keys:
        return Decision(Reason.TOPIC, "its topics don't include the alert's topic")
    if alert.query is not None:
        failed = alert.query.first_failure(article.text)
        if failed is not None:
            if failed.excluded:
                return Decision(Reason.KEYWORDS, f"it contains the excluded keyword {failed.shown()[1:]}")
            return Decision(Reason.KEYWORDS, f"it doesn't contain the keyword {failed.shown()}")
    if alert.providers and article.provider_domain not in alert.providers:
        return Decision(Reason.PROVIDER, f"its provider {article.provider_domain} is not one of the alert's")
    return None


def decide(
    alert: AlertFilter, article: ArticleFacts, vis: Visibility, *, now: datetime, max_age: timedelta
) -> Decision:
    """Whether ``alert`` posts ``article`` when it arrives ``now``, or the first reason it doesn't
    (``already posted`` and ``held back`` are facts of the database, judged by the caller)."""
    failed = content_failure(alert, article)
    if failed is not None:
        return failed
    floor = alert.min_quality if alert.min_quality >= vis.min_quality else vis.min_quality
    if article.quality < floor:
        whose = "the alert's" if alert.min_quality >= vis.min_quality else "the server's"
        return Decision(Reason.QUALITY, f"its quality {article.quality} is below {whose} minimum of {floor}")
    if vis.hidden_ids and article.id in vis.hidden_ids:
        return Decision(Reason.HIDDEN, "it is hidden in this server")
    if not article.published and not vis.include_unpublished:
        return Decision(Reason.HIDDEN, "it is not published (this server doesn't show unpublished articles)")
    if vis.blocked_domains and article.provider_domain in vis.blocked_domains:
        return Decision(Reason.BLOCKED, f"its provider {article.provider_domain} is blocked in this server")
    if vis.blocked_topics and not article.topic_keys.isdisjoint(vis.blocked_topics):
        blocked = sorted(article.topic_keys & vis.blocked_topics)
        return Decision(Reason.BLOCKED, f"its topic “{blocked[0]}” is blocked in this server")
    if alert.created_at is not None and article.published_at < alert.created_at:
        return Decision(Reason.BEFORE_ALERT, "it was published before the alert was created")
    if now - article.published_at > max_age:
        hours = int(max_age.total_seconds() // 3600)
        return Decision(Reason.TOO_OLD, f"it was more than {hours} hours old when it arrived")
    if alert.paused:
        return Decision(Reason.PAUSED, "the alert was paused")
    return MATCH


@dataclass(frozen=True, slots=True)
class Arrival:
    """An article that became new: for every server (``guild_id`` None) or for one (unhidden there)."""

    seq: int
    article: ArticleFacts
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class Judged:
    alert: AlertFilter
    arrival: Arrival
    decision: Decision


class Matcher:
    """The alerts of many servers, indexed for ``judge``."""

    def __init__(self, alerts: Iterable[AlertFilter]) -> None:
        self.alerts = list(alerts)
        self._by_topic: dict[str, list[AlertFilter]] = defaultdict(list)
        self._by_word: dict[str, list[AlertFilter]] = defaultdict(list)
        # Alerts with a topic and keywords: under the topic, then under the words one must have.
        self._by_topic_word: dict[str, dict[str, list[AlertFilter]]] = defaultdict(lambda: defaultdict(list))
        for alert in self.alerts:
            if alert.topic is not None and alert.query is not None:
                for word in alert.query.index_keys():
                    self._by_topic_word[alert.topic][word].append(alert)
            elif alert.topic is not None:
                self._by_topic[alert.topic].append(alert)
            elif alert.query is not None:
                for word in alert.query.index_keys():
                    self._by_word[word].append(alert)

    def candidates(self, article: ArticleFacts) -> list[AlertFilter]:
        """The alerts whose topic or index words the article has (no alert twice)."""
        found: dict[int, AlertFilter] = {}
        words = article.text.words
        for key in article.topic_keys:
            for alert in self._by_topic.get(key, ()):
                found[alert.id] = alert
            narrowed = self._by_topic_word.get(key)
            if narrowed:
                for word, alerts in narrowed.items():
                    if word in words:
                        for alert in alerts:
                            found[alert.id] = alert
        by_word = self._by_word
        if len(by_word) < len(article.text.words):
            for word, alerts in by_word.items():
                if word in article.text.words:
                    for alert in alerts:
                        found[alert.id] = alert
        else:
            for word in article.text.words:
                for alert in by_word.get(word, ()):
                    found[alert.id] = alert
        return list(found.values())

    def judge(
        self,
        arrivals: Iterable[Arrival],
        visibility: Callable[[int], Visibility],
        *,
        now: datetime,
        max_age: timedelta,
    ) -> list[Judged]:
        """Every pair that could match, decided; each alert only sees arrivals after its
        ``after_seq`` and of its own server. Pairs left out fail on topic or keywords."""
        out: list[Judged] = []
        append = out.append
        for arrival in arrivals:
            seq, only, article = arrival.seq, arrival.guild_id, arrival.article
            for alert in self.candidates(article):
                if seq <= alert.after_seq or (only is not None and only != alert.guild_id):
                    continue
                decision = decide(alert, article, visibility(alert.guild_id), now=now, max_age=max_age)
                append(Judged(alert, arrival, decision))
        return out


def judge_naively(
    alerts: Sequence[AlertFilter],
    arrivals: Iterable[Arrival],
    visibility: Callable[[int], Visibility],
    *,
    now: datetime,
    max_age: timedelta,
) -> list[Judged]:
    """Every pair tested in a loop: the reference ``Matcher`` is checked against (and benchmarked by)."""
    out: list[Judged] = []
    for arrival in arrivals:
        for alert in alerts:
            if arrival.seq <= alert.after_seq:
                continue
            if arrival.guild_id is not None and arrival.guild_id != alert.guild_id:
                continue
            out.append(
                Judged(
                    alert, arrival, decide(alert, arrival.article, visibility(alert.guild_id), now=now, max_age=max_age)
                )
            )
    return out
