"""Starting, resuming, rate limits, command registration and shutdown, as an operator sees them."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.app.client import NewsBot
from bot.demo.harness import running_bot
from bot.emulator import Emulator
from bot.settings import Settings
from tests.e2e.conftest import World, embed_text

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


async def latest(world: World) -> str:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "news", None, subcommand="latest"
    )
    return embed_text(await result.original_message())


async def test_commands_are_registered_once_not_on_every_start(world: World, settings: Settings) -> None:
    emulator = world.emulator
    async with running_bot(emulator, settings):
        pass
    assert emulator.bulk_overwrite_count == 1
    names = {(c["type"], c["name"]) for c in emulator.registered_commands()}
    assert (1, "news") in names and (3, "Related news") in names
    async with running_bot(emulator, settings):
        pass
    assert emulator.bulk_overwrite_count == 1, "an unchanged tree is not registered again"
    emulator.assert_no_violations()


async def test_another_application_gets_its_commands_registered(world: World, settings: Settings) -> None:
    async with running_bot(world.emulator, settings):
        pass
    async with Emulator() as other:  # same database, different application (a new token)
        other.add_guild("Elsewhere")
        async with running_bot(other, settings):
            assert any(c["name"] == "news" for c in other.registered_commands())
        other.assert_no_violations()


async def test_force_sync_registers_again(world: World, settings: Settings) -> None:
    async with running_bot(world.emulator, settings):
        pass
    async with running_bot(world.emulator, settings, force_sync=True):
        pass
    assert world.emulator.bulk_overwrite_count == 2


async def test_dev_guild_registers_commands_in_that_guild(world: World, settings: Settings) -> None:
    from dataclasses import replace

    async with running_bot(world.emulator, replace(settings, dev_guild_id=world.guild.id)):
        assert any(c["name"] == "news" for c in world.emulator.registered_commands(world.guild.id))
        assert "Latest news" in await latest(world)
    world.emulator.assert_no_violations()


async def test_bot_resumes_after_the_gateway_drops(bot: NewsBot, world: World) -> None:
    assert "Latest news" in await latest(world)
    assert await world.emulator.drop_gateway() == 1
    await world.emulator.wait_until(lambda: world.emulator.resume_count >= 1, timeout=10, what="a RESUME")
    assert world.emulator.identify_count == 1, "resumed, not re-identified"
    assert "Latest news" in await latest(world)


async def test_rate_limit_is_waited_out(bot: NewsBot, world: World) -> None:
    world.emulator.inject_429("POST", "/interactions/", retry_after=0.3)
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "news", None, subcommand="topics"
    )
    message = await result.original_message(timeout=5)
    assert "Topics" in embed_text(message)
    assert len(world.emulator.rate_limit_hits) >= 1
    assert result.elapsed is not None and 0.3 <= result.elapsed < 3


async def test_a_broken_file_is_reported_and_the_rest_is_served(
    world: World, settings: Settings, content_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (content_dir / "_news" / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        async with running_bot(world.emulator, settings) as bot:
            assert bot.last_index is not None
            assert [i.path for i in bot.last_index.rejected] == ["_news/broken.md"]
            assert "Latest news" in await latest(world)
    assert "_news/broken.md" in caplog.text
    world.emulator.assert_no_violations()


async def test_a_vanished_content_directory_keeps_the_last_index_served(
    world: World, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    async with running_bot(world.emulator, settings):
        before = await latest(world)
    gone = replace(settings, content_dir=tmp_path / "unmounted-volume")
    with caplog.at_level(logging.ERROR):
        async with running_bot(world.emulator, gone):
            assert await latest(world) == before, "the existing index is still served"
    assert "content directory unavailable" in caplog.text
    world.emulator.assert_no_violations()


async def test_token_never_appears_in_logs(world: World, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        async with running_bot(world.emulator, settings):
            await latest(world)
    assert caplog.records, "the bot logged something"
    assert world.emulator.token not in caplog.text


def test_run_without_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "DISCORD_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


async def test_sigterm_closes_the_gateway_and_exits_0(world: World, settings: Settings, tmp_path: Path) -> None:
    emulator: Emulator = world.emulator
    env = dict(os.environ)
    env.update(
        DISCORD_TOKEN=emulator.token,
        DISCORD_API_BASE=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEWSBOT_CONTENT_DIR=str(settings.content_dir),
        NEWSBOT_DATABASE_URL=settings.database_url,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await emulator.wait_until(lambda: emulator.identify_count >= 1, timeout=30, what="the bot to connect")
        assert "Latest news" in await latest(world)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    logs = (await process.stderr.read()).decode()
    assert code == 0, logs
    assert "shutting down" in logs
    assert emulator.token not in logs
    emulator.assert_no_violations()
