"""Running for real: /healthz and /metrics over HTTP, live content reload, structured command logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.client import NewsBot
from bot.db.types import Visibility
from bot.demo.harness import running_bot
from bot.logs import JsonFormatter
from bot.settings import Settings
from tests.e2e.conftest import World, embed_text
from tests.ops.scrape import PROMETHEUS_ACCEPT, Scrape, parse

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

NEW_ARTICLE = """---
category: news
title: "Lighthouse keepers adopt solar lanterns"
excerpt: "Keepers on three islands switched to solar lanterns this winter."
publishedDateTime: 2026-12-01T09:00:00Z
webUrl: "https://example.org/lighthouse-solar"
originalUrl: "https://example.org/lighthouse-solar"
type: article
quality: 50
heat: 10
published: true
provider:
  name: Example Daily
  domain: example.org
topics:
  - Energy
---
"""


@pytest.fixture
def ops_settings(settings: Settings) -> Settings:
    return replace(settings, http_port=0, scan_interval=0.1)


@pytest.fixture
async def ops_bot(world: World, ops_settings: Settings) -> AsyncIterator[NewsBot]:
    async with running_bot(world.emulator, ops_settings) as running:
        yield running
    world.emulator.assert_no_violations()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def status_url(bot: NewsBot, path: str) -> str:
    assert bot.operations.server is not None, "NEWSBOT_HTTP_PORT set: the status server runs"
    return bot.operations.server.url + path


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def scrape(http: aiohttp.ClientSession, bot: NewsBot, *, accept: str = "*/*") -> Scrape:
    async with http.get(status_url(bot, "/metrics"), headers={"Accept": accept}) as response:
        assert response.status == 200
        content_type = response.headers["Content-Type"]
        text = await response.text()
    openmetrics = content_type.startswith("application/openmetrics-text")
    assert openmetrics or content_type.startswith("text/plain; version=0.0.4")
    return parse(text, openmetrics=openmetrics)


async def eventually(check: Callable[[], object], timeout: float = 10.0, what: str = "a condition") -> None:  # noqa: ASYNC109
    """Retry an async or plain assertion until it passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                await result
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}") from None
            await asyncio.sleep(0.05)


async def command(world: World, sub: str, options: dict[str, str] | None = None) -> str:
    result = await world.emulator.send_slash_command(
        world.guild, world.channel, world.alice, "news", options, subcommand=sub
    )
    return embed_text(await result.original_message())


# --- health -----------------------------------------------------------------------------------


async def test_healthz_is_200_when_connected_and_503_once_the_gateway_is_gone(
    world: World, ops_settings: Settings, http: aiohttp.ClientSession
) -> None:
    async with running_bot(world.emulator, ops_settings) as bot:
        status, body = await get_json(http, status_url(bot, "/healthz"))
        assert status == 200, body
        assert body["status"] == "ok"
        assert body["gateway"]["connected"] is True
        assert body["gateway"]["shards"]["0"]["connected"] is True
        assert body["database"] == {"reachable": True}
        index = body["index"]
        assert isinstance(index, dict) and index["rejected_files"] == 0
        assert bot.last_index is not None and bot.last_index.finished_at is not None
        assert index["last_indexed_at"] == bot.last_index.finished_at.isoformat()
        assert 0 <= index["age_seconds"] < 60

        code, output = await healthcheck(bot)
        assert code == 0 and json.loads(output)["status"] == "ok"

        # Discord goes away (here: the emulator stops): the bot keeps retrying, and says so.
        await world.emulator.stop()
        status, body = await get_json(http, status_url(bot, "/healthz"))
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["gateway"]["connected"] is False
        assert body["database"] == {"reachable": True}, "only the gateway is at fault"
        code, output = await healthcheck(bot)
        assert code == 1 and json.loads(output)["status"] == "unhealthy"


async def healthcheck(bot: NewsBot) -> tuple[int, str]:
    """What Docker's HEALTHCHECK runs, in a separate process, configured like the bot."""
    assert bot.operations.server is not None
    env = {**os.environ, "NEWSBOT_HTTP_PORT": str(bot.operations.server.port)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.healthcheck", cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, (out or err).decode()


def test_healthcheck_without_a_status_server_says_so() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_HTTP_PORT"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.healthcheck"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 4
    assert "NEWSBOT_HTTP_PORT is not set" in done.stderr


async def test_healthz_is_503_when_the_database_cannot_answer(
    ops_bot: NewsBot, world: World, http: aiohttp.ClientSession
) -> None:
    await ops_bot.db.close()
    status, body = await get_json(http, status_url(ops_bot, "/healthz"))
    assert status == 503
    assert body["database"]["reachable"] is False and body["database"]["error"]
    assert body["gateway"]["connected"] is True

    # Members get an apology meanwhile, and the failure is counted as the bot's error.
    assert "Sorry, something went wrong" in await command(world, "latest")

    async def counted() -> None:
        samples = await scrape(http, ops_bot)
        assert samples.get("newsbot_commands_total", command="news latest", outcome="error") == 1

    await eventually(counted, what="the error to be counted")


async def test_status_server_binds_loopback_only_by_default(ops_bot: NewsBot) -> None:
    assert ops_bot.operations.server is not None
    assert ops_bot.operations.server.url.startswith("http://127.0.0.1:")


async def test_no_status_server_without_a_port(bot: NewsBot) -> None:
    assert bot.operations.server is None


# --- metrics ----------------------------------------------------------------------------------


async def test_metrics_move_when_commands_run(ops_bot: NewsBot, world: World, http: aiohttp.ClientSession) -> None:
    before = await scrape(http, ops_bot)
    ok = {"command": "news latest", "outcome": "ok"}
    user_error = {"command": "news topic", "outcome": "user_error"}
    assert before.get("newsbot_commands_total", **ok) is None
    assert before.get("newsbot_commands_total", **user_error) is None

    assert "Latest news" in await command(world, "latest")
    assert "no topic called" in await command(world, "topic", {"name": "Underwater basket weaving"})
    result = await world.emulator.send_autocomplete(
        world.guild, world.channel, world.alice, "news", {"name": "sp"}, focused="name", subcommand="topic"
    )
    assert await result.choices()

    async def moved() -> None:
        after = await scrape(http, ops_bot)
        assert after.get("newsbot_commands_total", **ok) == 1
        assert after.get("newsbot_commands_total", **user_error) == 1
        assert after.get("newsbot_command_duration_seconds_count", command="news latest") == 1
        assert after.get("newsbot_command_duration_seconds_bucket", command="news latest", le="+Inf") == 1
        assert after.get("newsbot_autocomplete_duration_seconds_count", command="news topic") == 1

    await eventually(moved, what="the counters to move")
    stats = await ops_bot.db.articles.stats(Visibility(include_unpublished=True))
    for accept in ("*/*", PROMETHEUS_ACCEPT):  # a curl, and Prometheus itself (OpenMetrics)
        after = await scrape(http, ops_bot, accept=accept)
        assert after.get("newsbot_commands_total", **ok) == 1
        assert after["newsbot_articles_indexed"] == stats.articles_total > 0, "what the index holds"
        assert after["newsbot_files_rejected"] == 0
        assert after["newsbot_last_index_timestamp_seconds"] == pytest.approx(time.time(), abs=60)
        assert after.get("newsbot_gateway_connected", shard="0") == 1
        assert 0 <= (after.get("newsbot_gateway_latency_seconds", shard="0") or -1) < 5
        assert after["newsbot_guilds"] == 1
        assert after["newsbot_digests_delivered_total"] == 0
        assert after["process_resident_memory_bytes"] > 0, "the process metrics come for free"
        assert after["process_start_time_seconds"] <= time.time()


async def test_each_command_is_logged_once_with_the_ids_to_trace_it(
    bot: NewsBot, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.ops.telemetry"):
        await command(world, "latest")
        await eventually(lambda: _assert_logged(caplog), what="the command's log line")
    [record] = [r for r in caplog.records if r.name == "bot.ops.telemetry"]
    line = json.loads(JsonFormatter().format(record))
    assert line["command"] == "news latest" and line["outcome"] == "ok"
    assert line["guild"] == world.guild.id and line["channel"] == world.channel.id and line["user"] == world.alice.id
    assert re.fullmatch(r"/news latest ok in [\d.]+ ms", line["message"])


def _assert_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert any(r.name == "bot.ops.telemetry" for r in caplog.records)


# --- live content -----------------------------------------------------------------------------


async def test_content_changes_are_served_while_running(
    ops_bot: NewsBot, world: World, content_dir: Path, http: aiohttp.ClientSession
) -> None:
    slug = "2026-12-01-lighthouse-keepers-adopt-solar-lanterns"
    missing = await command(world, "article", {"article": slug})
    assert "No article matches" in missing

    (content_dir / "_news" / f"{slug}.md").write_text(NEW_ARTICLE, encoding="utf-8")

    async def served() -> None:
        assert "Lighthouse keepers adopt solar lanterns" in await command(world, "article", {"article": slug})

    await eventually(served, timeout=10, what="the new article to be served")

    def reported() -> None:  # set once the reindex has also refreshed autocomplete
        assert ops_bot.last_index is not None and ops_bot.last_index.added == 1, "reindexed incrementally"

    await eventually(reported, what="the reload to be reported")

    (content_dir / "_news" / f"{slug}.md").unlink()

    async def gone() -> None:
        assert "No article matches" in await command(world, "article", {"article": slug})

    await eventually(gone, timeout=10, what="the removed article to disappear")

    async def counted() -> None:  # the watcher counts a reload once the catalog refresh after it is done too
        samples = await scrape(http, ops_bot)
        assert (samples.get("newsbot_content_reloads_total", outcome="ok") or 0) >= 2
        assert samples.get("newsbot_content_reloads_total", outcome="error") is None

    await eventually(counted, what="both reloads to be counted")


async def test_a_broken_file_is_reported_and_everything_else_stays_served(
    ops_bot: NewsBot, world: World, content_dir: Path, http: aiohttp.ClientSession
) -> None:
    victim = sorted((content_dir / "_news").glob("*.md"))[0]
    victim.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    rejected = f"_news/{victim.name}"

    def reported() -> None:
        assert ops_bot.last_index is not None
        assert [issue.path for issue in ops_bot.last_index.rejected] == [rejected]

    await eventually(reported, timeout=10, what="the broken file to be reported")
    assert "Latest news" in await command(world, "latest"), "the bot still serves the rest"
    samples = await scrape(http, ops_bot)
    assert samples["newsbot_files_rejected"] == 1
    status, body = await get_json(http, status_url(ops_bot, "/healthz"))
    assert status == 200, "a bad article file is the editor's problem, not a reason to restart the bot"
    assert body["index"]["rejected_files"] == 1
