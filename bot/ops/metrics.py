"""What the bot measures about itself, exposed with ``prometheus_client`` for ``/metrics``.

Each bot has its own ``CollectorRegistry`` rather than the library's global default one, so the
tests, and several bots in one process, never add to each other's numbers. What the bot records
as it happens (commands, digests, reloads) are the library's counters and histograms; what is
cheap to read but costly to keep pushing (gateway latency, index size) is read from the bot at
each scrape by :class:`BotStateCollector`. The process and platform collectors add the usual
``process_*`` and ``python_info`` series.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from bot.alerts.rules import STYLES

if TYPE_CHECKING:
    from bot.ops.view import StatusSource

# A `_created` sample per counter and histogram series doubles the series an operator stores for
# a start time that `process_start_time_seconds` already gives. The switch is the library's and
# process-wide; nothing else in the bot uses prometheus_client.
disable_created_metrics()  # type: ignore[no-untyped-call]  # not annotated upstream

#: Discord gives autocomplete three seconds; most answers should take a few milliseconds.
AUTOCOMPLETE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)

#: The label values of the alert and follow counters (created up front, at 0).
ALERT_STYLES = (*STYLES, "forum")  # a post in a forum channel is counted as "forum"
ALERT_OUTCOMES = ("posted", "paused", "retry")
DM_KINDS = ("instant", "roundup", "digest")
DM_OUTCOMES = ("sent", "refused")

#: The gauges read at scrape time: name -> (help, labels).
STATE_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "newsbot_articles_indexed": ("Articles in the index, published or not.", ()),
    "newsbot_files_rejected": ("Article files the last index run rejected.", ()),
    "newsbot_last_index_timestamp_seconds": ("When the last index run finished, in Unix time (0 before it).", ()),
    "newsbot_gateway_latency_seconds": (
        "Time between a gateway heartbeat and its acknowledgement, by shard (+Inf before the first one).",
        ("shard",),
    ),
    "newsbot_gateway_connected": ("1 while the shard's gateway connection is open, else 0.", ("shard",)),
    "newsbot_guilds": ("Servers this process serves.", ()),
}


def _gauge(name: str) -> GaugeMetricFamily:
    help_text, labels = STATE_GAUGES[name]
    return GaugeMetricFamily(name, help_text, labels=labels)


class BotStateCollector(Collector):
    """Reads the bot's state (gateway, index) at each scrape."""

    def __init__(self, bot: StatusSource) -> None:
        self.bot = bot

    def describe(self) -> Sequence[Metric]:
        # Lets the registry refuse a second collector exposing the same names.
        return [_gauge(name) for name in STATE_GAUGES]

    def collect(self) -> Iterator[Metric]:
        bot = self.bot
        latency, connected = _gauge("newsbot_gateway_latency_seconds"), _gauge("newsbot_gateway_connected")
        for shard in bot.shard_states():
            connected.add_metric([str(shard.shard_id)], 1 if shard.connected else 0)
            if not math.isnan(shard.latency):
                latency.add_metric([str(shard.shard_id)], shard.latency)
        yield latency
        yield connected
        guilds = _gauge("newsbot_guilds")
        guilds.add_metric([], len(bot.guilds))
        yield guilds
        articles = _gauge("newsbot_articles_indexed")
        articles.add_metric([], bot.articles_served())
        yield articles
        report = bot.last_index
        rejected = _gauge("newsbot_files_rejected")
        rejected.add_metric([], len(report.rejected) if report is not None else 0)
        yield rejected
        finished = report.finished_at if report is not None else None
        last_index = _gauge("newsbot_last_index_timestamp_seconds")
        last_index.add_metric([], finished.timestamp() if finished is not None else 0)
        yield last_index


class BotMetrics:
    """The bot's metrics. Other features add to them through these attributes, for example
    ``bot.metrics.digests_delivered.inc()``."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.commands = Counter(
            "newsbot_commands_total",
            "Slash commands and context menus handled, by command and outcome (ok, user_error, error, cancelled).",
            ("command", "outcome"),
            registry=r,
        )
        self.command_seconds = Histogram(
            "newsbot_command_duration_seconds",
            "Time from receiving a command to having answered it, by command.",
            ("command",),
            registry=r,
        )
        self.autocomplete_seconds = Histogram(
            "newsbot_autocomplete_duration_seconds",
            "Time to answer an autocomplete request, by command.",
            ("command",),
            registry=r,
            buckets=AUTOCOMPLETE_BUCKETS,
        )
        self.digests_delivered = Counter(
            "newsbot_digests_delivered_total", "Digests posted to their channel.", registry=r
        )
        self.digests_failed = Counter("newsbot_digests_failed_total", "Digests that could not be posted.", registry=r)
        self.content_reloads = Counter(
            "newsbot_content_reloads_total",
            "Index runs started by a change in the content directory, by outcome (ok, error).",
            ("outcome",),
            registry=r,
        )
        self.alert_posts = Counter(
            "newsbot_alert_posts_total",
            "Live-alert posts of one article, by style (embed, compact, thread, forum) and outcome "
            "(posted; paused: the alert could not post; retry: Discord failed for now).",
            ("style", "outcome"),
            registry=r,
        )
        self.alert_roundups = Counter(
            "newsbot_alert_roundups_total",
            "Live-alert roundups posted (articles held back by the flood limit).",
            registry=r,
        )
        self.alert_pauses = Counter(
            "newsbot_alert_pauses_total", "Live alerts paused because they could not post.", registry=r
        )
        self.follow_dms = Counter(
            "newsbot_follow_dms_total",
            "Direct messages of personal follows, by kind (instant, roundup, digest) and outcome (sent, refused).",
            ("kind", "outcome"),
            registry=r,
        )
        # Every series from the start, so a rate over them is defined before the first event.
        for style in ALERT_STYLES:
            for outcome in ALERT_OUTCOMES:
                self.alert_posts.labels(style=style, outcome=outcome)
        for kind in DM_KINDS:
            for outcome in DM_OUTCOMES:
                self.follow_dms.labels(kind=kind, outcome=outcome)

    # --- what the features call (``bot.alerts.service.AlertCounters``, ``bot.follows.service.FollowCounters``)

    def alert_delivery(self, style: str, kind: str, outcome: str) -> None:
        if kind == "roundup":
            if outcome == "posted":
                self.alert_roundups.inc()
            return
        if kind == "post":  # a /alert test is not a delivery
            self.alert_posts.labels(style=style, outcome=outcome).inc()

    def alert_paused(self) -> None:
        self.alert_pauses.inc()

    def follow_dm(self, kind: str, outcome: str) -> None:
        self.follow_dms.labels(kind=kind, outcome=outcome).inc()

    def watch(self, bot: StatusSource) -> None:
        """Expose the bot's state (gateway, index) as read at each scrape."""
        self.registry.register(BotStateCollector(bot))

    def expose(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition and its content type, in the format the scraper's ``Accept`` header asks for:
        OpenMetrics for Prometheus, else the classic text format (version 0.0.4)."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
