"""Two bot processes split the shards: each serves only its shards' servers, over one database.

Both are real ``python -m bot run`` processes configured through the environment, like two
systemd units or containers, against one emulator that routes each server's events to the
session holding its shard.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.sharding import shard_for
from bot.db import Database
from bot.db.digest_types import NewDigest
from bot.emulator import Emulator
from bot.emulator.models import Channel, Guild, Member
from bot.settings import Settings
from tests.e2e.conftest import embed_text
from tests.ops.scrape import parse

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHARDS = 2
# Snowflakes whose timestamp part (id >> 22, milliseconds since 2015) is even and odd: one server
# per shard, whichever ids the emulator would have picked.
ON_SHARD = {0: 300_000_000_000 << 22, 1: (300_000_000_000 + 1) << 22}


@dataclass
class Server:
    guild: Guild
    channel: Channel
    member: Member


@dataclass
class BotProcess:
    shard_ids: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def servers(emulator: Emulator) -> dict[int, Server]:
    out = {}
    for shard, guild_id in ON_SHARD.items():
        assert shard_for(guild_id, SHARDS) == shard
        guild = emulator.add_guild(f"Shard {shard} server", guild_id=guild_id)
        out[shard] = Server(
            guild, emulator.add_text_channel(guild, "news"), emulator.add_member(guild, f"reader{shard}")
        )
    return out


def bot_env(emulator: Emulator, settings: Settings, shard_ids: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(
        DISCORD_TOKEN=emulator.token,
        DISCORD_API_BASE=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEWSBOT_CONTENT_DIR=str(settings.content_dir),
        NEWSBOT_DATABASE_URL=settings.database_url,
        NEWSBOT_SHARD_COUNT=str(SHARDS),
        NEWSBOT_SHARD_IDS=shard_ids,
        NEWSBOT_LOG_FORMAT="json",
        **extra,
    )
    return env


@asynccontextmanager
async def bot_processes(
    emulator: Emulator, settings: Settings, tmp_path: Path, shard_sets: list[str], **extra: str
) -> AsyncIterator[list[BotProcess]]:
    """Start one process per shard set, each after the previous one connected (the first one
    indexes the content and registers the commands; see README, sharding), then stop them all
    with SIGTERM and check they exited cleanly."""
    started: list[BotProcess] = []
    try:
        for shard_ids in shard_sets:
            log_path = tmp_path / f"bot-{shard_ids.replace(',', '-')}.log"
            with log_path.open("wb") as log_file:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    cwd=ROOT,
                    env=bot_env(emulator, settings, shard_ids, extra),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=log_file,
                )
            started.append(BotProcess(shard_ids, process, log_path))
            wanted = {(int(s), SHARDS) for s in shard_ids.split(",")}
            await emulator.wait_until(
                lambda wanted=wanted: wanted <= {s.shard for s in emulator.sessions if s.connected},
                timeout=60,
                what=f"the process holding shards {shard_ids} to connect",
            )
        yield started
    finally:
        for bot in started:
            if bot.process.returncode is None:
                bot.process.send_signal(signal.SIGTERM)
        for bot in started:
            try:
                await asyncio.wait_for(bot.process.wait(), timeout=20)
            except TimeoutError:
                bot.process.kill()
                await bot.process.wait()
    for bot in started:
        assert bot.process.returncode == 0, bot.log_path.read_text(encoding="utf-8")[-3000:]


def command_events(bot: BotProcess) -> list[dict[str, Any]]:
    return [line for line in bot.log_lines() if line["logger"] == "bot.ops.telemetry"]


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_each_process_answers_only_its_shards_servers(
    emulator: Emulator, servers: dict[int, Server], settings: Settings, tmp_path: Path
) -> None:
    async with bot_processes(emulator, settings, tmp_path, ["0", "1"]) as (first, second):
        sessions = sorted(s.shard for s in emulator.sessions if s.connected and s.shard is not None)
        assert sessions == [(0, SHARDS), (1, SHARDS)], "one gateway session per shard"
        for _ in range(2):
            for server in servers.values():
                result = await emulator.send_slash_command(
                    server.guild, server.channel, server.member, "news", None, subcommand="latest"
                )
                assert "Latest news" in embed_text(await result.original_message(timeout=5))
        await wait_for(
            lambda: len(command_events(first)) + len(command_events(second)) == 4, "both processes to log the commands"
        )
        assert emulator.bulk_overwrite_count == 1, "the second process found the commands already registered"

    for bot, shard in ((first, 0), (second, 1)):
        served = [(event["guild"], event["command"], event["outcome"]) for event in command_events(bot)]
        assert served == [(servers[shard].guild.id, "news latest", "ok")] * 2, f"process {bot.shard_ids}"
        lines = bot.log_lines()  # every line is JSON (NEWSBOT_LOG_FORMAT=json) ...
        assert emulator.token not in json.dumps(lines)  # ... and none shows the token
    emulator.assert_no_violations()


# --- digests --------------------------------------------------------------------------------------

TOPIC = "Orbital Gardening"


def fresh_article(n: int, now: datetime) -> str:
    published = (now - timedelta(hours=2 + 3 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""---
category: news
title: "Greenhouse report {n}: tomato number {n} ripens"
excerpt: "Report {n} from the station greenhouse."
publishedDateTime: {published}
webUrl: "https://greenhouse.example/report-{n}"
type: article
quality: {40 + n}
heat: {n}
published: true
provider:
  name: Greenhouse Daily
  domain: greenhouse.example
topics:
  - {TOPIC}
---
"""


def status_url(bot: BotProcess) -> str:
    for line in bot.log_lines():
        found = re.match(r"health and metrics at (http://\S+)/healthz", line["message"])
        if found:
            return found[1]
    raise AssertionError(f"process {bot.shard_ids} did not log its status server address")


async def test_each_digest_is_delivered_once_by_the_process_holding_its_server(
    emulator: Emulator, servers: dict[int, Server], settings: Settings, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    fresh = settings.content_dir / "_news" / "fresh"
    fresh.mkdir()
    for n in range(4):
        (fresh / f"greenhouse-{n}.md").write_text(fresh_article(n, now), encoding="utf-8")
    # Digests set up yesterday (as /digest add would store them) whose time came two minutes ago,
    # while the bot was down: within the grace period, so each is posted once when the bot starts.
    slot = now - timedelta(minutes=2)
    digest_ids: dict[int, int] = {}
    async with await Database.open(settings.database_path) as db:
        for shard, server in servers.items():
            stored = await db.digests.add(
                NewDigest(
                    guild_id=server.guild.id,
                    channel_id=server.channel.id,
                    topic=TOPIC,
                    at_time=f"{slot:%H:%M}",
                    timezone="UTC",
                    cadence="daily",
                    weekday=0,
                    min_quality=0,
                    max_items=3,
                    created_at=now - timedelta(days=1),
                    created_by=server.member.user.id,
                )
            )
            digest_ids[shard] = stored.id

    async with bot_processes(emulator, settings, tmp_path, ["0", "1"], NEWSBOT_HTTP_PORT="0") as processes:
        for server in servers.values():
            await emulator.wait_for_message(server.channel, lambda m: bool(m.embeds), timeout=30)
        await asyncio.sleep(1.0)  # room for a second copy to show up, were there one
        for server in servers.values():
            posted = [m for m in emulator.channel_messages(server.channel) if m.embeds]
            assert len(posted) == 1, f"exactly one digest in {server.guild.name}"
            assert "tomato number" in embed_text(posted[0])
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for shard, bot in enumerate(processes):
                async with http.get(status_url(bot) + "/metrics") as response:
                    metrics = parse(await response.text())
                assert metrics["newsbot_digests_delivered_total"] == 1, f"process {bot.shard_ids}"
                assert metrics["newsbot_digests_failed_total"] == 0
                assert metrics.get("newsbot_gateway_connected", shard=str(shard)) == 1, "its own shard only"
                assert metrics.get("newsbot_gateway_connected", shard=str(1 - shard)) is None
                async with http.get(status_url(bot) + "/healthz") as response:
                    health = await response.json()
                assert response.status == 200 and list(health["gateway"]["shards"]) == [str(shard)]

    for shard, bot in enumerate(processes):
        messages = [line["message"] for line in bot.log_lines()]
        posted_ids = {int(m.split()[1].rstrip(":")) for m in messages if re.match(r"digest \d+: posted ", m)}
        assert posted_ids == {digest_ids[shard]}, f"process {bot.shard_ids} posted only its own server's digest"
        assert not [m for m in messages if "paused" in m or "recorded concurrently" in m]
    emulator.assert_no_violations()
