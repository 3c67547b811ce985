"""What members see when something is slow or breaks, and what operators find in the logs."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bot.app.respond as respond
import bot.modules._views as views
from bot.app.client import NewsBot
from bot.emulator import Emulator
from tests.e2e.conftest import World, button, components, embed_text

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


async def test_an_unexpected_error_gets_a_private_apology_and_a_log_with_ids(
    bot: NewsBot, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot.db.articles, "topics", broken)
    with caplog.at_level(logging.ERROR):
        result = await world.emulator.send_slash_command(
            world.guild, world.channel, world.alice, "news", None, subcommand="topics"
        )
        message = await result.original_message()
    assert message.ephemeral
    assert "Sorry, something went wrong" in embed_text(message)
    assert "disk on fire" not in embed_text(message), "internals stay in the log"
    record = next(r for r in caplog.records if "failed" in r.getMessage())
    text = record.getMessage()
    assert "news topics" in text and str(world.guild.id) in text and str(world.alice.id) in text
    assert record.exc_info is not None


async def test_a_failing_button_gets_the_same_apology_log_and_outcome_as_a_failing_command(
    bot: NewsBot, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "news", None, subcommand="latest"
    )
    message = await result.original_message()
    outcomes: list[str] = []
    recorded = respond.record_outcome
    monkeypatch.setattr(respond, "record_outcome", lambda i, outcome: (outcomes.append(outcome), recorded(i, outcome)))

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot.db.articles, "latest", broken)
    with caplog.at_level(logging.ERROR):
        clicked = await world.emulator.click_button(message, button(message, "Next")["custom_id"], world.alice)
        answer = await clicked.original_message()
    assert answer.ephemeral and "Sorry, something went wrong" in embed_text(answer)
    assert "disk on fire" not in embed_text(answer)
    record = next(r for r in caplog.records if "failed" in r.getMessage())
    text = record.getMessage()
    assert text.startswith("component ") and record.exc_info is not None
    for known in (world.guild.id, world.channel.id, world.alice.id, clicked.id):
        assert f"={known}" in text, f"{known} missing from {text!r}"
    assert outcomes == ["error"], "counted as an error, as the command tree counts one"


async def test_slow_work_is_deferred_so_discord_never_times_out(
    bot: NewsBot, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(respond, "DEFER_AFTER", 0.2)
    search = bot.db.articles.search

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1.0)
        return await search(*args, **kwargs)

    monkeypatch.setattr(bot.db.articles, "search", slow)
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "news", {"query": "solar"}, subcommand="search"
    )
    first = await result.response(timeout=3)
    assert first.type == 5, "deferred ('thinking…') before the work finished"
    assert first.elapsed < 1.0
    message = await result.original_message(timeout=5)
    assert "Search: solar" in embed_text(message) and message.ephemeral


async def test_buttons_switch_off_when_the_view_expires(
    world: World, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.demo.harness import running_bot

    monkeypatch.setattr(views, "VIEW_TIMEOUT", 0.5)
    async with running_bot(world.emulator, settings):
        result = await world.emulator.send_slash_command(
            world.guild, world.channel, world.alice, "news", None, subcommand="latest"
        )
        message = await result.original_message()
        assert not button(message, "Next").get("disabled")

        def expired() -> bool:
            current = result.original
            return current is not None and all(c.get("disabled") for c in components(current) if c.get("style") != 5)

        await world.emulator.wait_until(expired, timeout=5, what="the buttons to be disabled")
        assert button(result.original, "Read").get("url"), "the link to the source stays usable"
    world.emulator.assert_no_violations()


async def test_sync_command_registers_the_commands_now(world: World, settings: Any) -> None:
    emulator: Emulator = world.emulator
    env = dict(os.environ)
    env.update(
        DISCORD_TOKEN=emulator.token,
        DISCORD_API_BASE=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEWSBOT_CONTENT_DIR=str(settings.content_dir),
        NEWSBOT_DATABASE_URL=settings.database_url,
    )
    for expected in (1, 2):  # explicit sync registers even when nothing changed
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sync", cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()
        assert emulator.bulk_overwrite_count == expected
    assert any(c["name"] == "news" for c in emulator.registered_commands())
    assert emulator.identify_count == 0, "sync logs in over REST only; it never opens the gateway"
    emulator.assert_no_violations()
