"""What the bot measures about itself, and the one place interactions are timed and logged.

Timing hook: ``NewsTree.interaction_check`` calls :func:`track_interaction`. discord.py runs the
tree's ``interaction_check`` first, inside the task it creates for each slash command, context
menu and autocomplete request, and that task ends once the interaction is fully handled (answer
and error reply included). A done-callback on that task therefore measures all three kinds with
public API only, where ``on_app_command_completion`` would see successes only and autocomplete
not at all. The outcome comes from ``interaction.command_failed`` and what ``NewsTree.on_error``
recorded in ``interaction.extras``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.health import shard_states
from bot.metrics import Registry

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

Outcome = Literal["ok", "user_error", "error", "cancelled"]
#: Key in ``interaction.extras`` where the tree's error handler records the outcome.
OUTCOME = "newsbot.outcome"

#: Discord gives autocomplete three seconds; most answers should take a few milliseconds.
AUTOCOMPLETE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)


class BotMetrics:
    """The bot's metrics. Other features add to them through these attributes, for example
    ``bot.metrics.digests_delivered.inc()``."""

    def __init__(self) -> None:
        self.registry = r = Registry()
        self.commands = r.counter(
            "newsbot_commands_total",
            "Slash commands and context menus handled, by command and outcome (ok, user_error, error, cancelled).",
            ("command", "outcome"),
        )
        self.command_seconds = r.histogram(
            "newsbot_command_duration_seconds",
            "Time from receiving a command to having answered it, by command.",
            ("command",),
        )
        self.autocomplete_seconds = r.histogram(
            "newsbot_autocomplete_duration_seconds",
            "Time to answer an autocomplete request, by command.",
            ("command",),
            buckets=AUTOCOMPLETE_BUCKETS,
        )
        self.digests_delivered = r.counter("newsbot_digests_delivered_total", "Digests posted to their channel.")
        self.digests_failed = r.counter("newsbot_digests_failed_total", "Digests that could not be posted.")
        self.content_reloads = r.counter(
            "newsbot_content_reloads_total",
            "Index runs started by a change in the content directory, by outcome (ok, error).",
            ("outcome",),
        )
        self.articles_indexed = r.gauge("newsbot_articles_indexed", "Articles in the index, published or not.")
        self.files_rejected = r.gauge("newsbot_files_rejected", "Article files the last index run rejected.")
        self.last_index = r.gauge(
            "newsbot_last_index_timestamp_seconds", "When the last index run finished, in Unix time."
        )
        self.gateway_latency = r.gauge(
            "newsbot_gateway_latency_seconds",
            "Time between a gateway heartbeat and its acknowledgement, by shard (+Inf before the first one).",
            ("shard",),
        )
        self.gateway_connected = r.gauge(
            "newsbot_gateway_connected", "1 while the shard's gateway connection is open, else 0.", ("shard",)
        )
        self.guilds = r.gauge("newsbot_guilds", "Servers this process serves.")

    def expose(self) -> str:
        return self.registry.expose()

    def watch(self, bot: NewsBot) -> None:
        """Read the bot's state (gateway, index) at each scrape."""
        self.registry.add_collector(lambda: self._collect(bot))

    def _collect(self, bot: NewsBot) -> None:
        self.gateway_latency.clear()
        self.gateway_connected.clear()
        for shard in shard_states(bot):
            self.gateway_connected.labels(shard=shard.shard_id).set(1 if shard.connected else 0)
            if not math.isnan(shard.latency):
                self.gateway_latency.labels(shard=shard.shard_id).set(shard.latency)
        self.guilds.set(len(bot.guilds))
        if hasattr(bot, "catalog"):
            self.articles_indexed.set(len(bot.catalog))
        report = bot.last_index
        if report is not None:
            self.files_rejected.set(len(report.rejected))
            if report.finished_at is not None:
                self.last_index.set(report.finished_at.timestamp())


def record_outcome(interaction: discord.Interaction[Any], outcome: Outcome) -> None:
    interaction.extras[OUTCOME] = outcome


def track_interaction(interaction: discord.Interaction[Any], metrics: BotMetrics) -> None:
    """Time this command or autocomplete request; see the module docstring for why this way."""
    task = asyncio.current_task()
    if task is None:
        return
    started = time.perf_counter()
    task.add_done_callback(lambda done: _finished(interaction, metrics, time.perf_counter() - started, done))


def _finished(
    interaction: discord.Interaction[Any], metrics: BotMetrics, seconds: float, task: asyncio.Task[Any]
) -> None:
    command = interaction.command
    name = command.qualified_name if command is not None else "unknown"
    ids: dict[str, object] = {
        "command": name,
        "guild": interaction.guild_id,
        "channel": interaction.channel_id,
        "user": interaction.user.id,
        "interaction": interaction.id,
        "ms": round(seconds * 1000, 1),
    }
    if interaction.type is discord.InteractionType.autocomplete:
        metrics.autocomplete_seconds.labels(command=name).observe(seconds)
        log.debug("autocomplete for /%s answered in %.1f ms", name, seconds * 1000, extra=ids)
        return
    outcome: Outcome
    if task.cancelled():
        outcome = "cancelled"
    else:
        outcome = interaction.extras.get(OUTCOME) or ("error" if interaction.command_failed else "ok")
    metrics.commands.labels(command=name, outcome=outcome).inc()
    metrics.command_seconds.labels(command=name).observe(seconds)
    log.info("/%s %s in %.1f ms", name, outcome, seconds * 1000, extra={**ids, "outcome": outcome})
