"""The one place interactions are timed, counted and logged.

Timing hook: ``NewsTree.interaction_check`` calls :func:`track_interaction`. discord.py runs the
tree's ``interaction_check`` first, inside the task it creates for each slash command, context
menu and autocomplete request, and that task ends once the interaction is fully handled (answer
and error reply included). A done-callback on that task therefore measures all three kinds with
public API only, where ``on_app_command_completion`` would see successes only and autocomplete
not at all. The outcome comes from ``interaction.command_failed`` and what the one error path
(``bot.app.respond.report_error``, for commands and components) recorded in ``interaction.extras``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

import discord

from bot.ops.metrics import BotMetrics

log = logging.getLogger(__name__)

Outcome = Literal["ok", "user_error", "error", "cancelled"]
#: Key in ``interaction.extras`` where the error path records the outcome.
OUTCOME = "newsbot.outcome"


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
