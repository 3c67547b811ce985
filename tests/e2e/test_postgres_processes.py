"""Two bot processes on one PostgreSQL database, as on two hosts: split shards, one of them without
the content folder (``NEWSBOT_INDEXER=false``), each killed with SIGKILL while it is posting and
started again. Every digest and every alert post reaches Discord exactly once."""

from __future__ import annotations

import asyncio
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db import open_database
from bot.db.alert_types import NewAlert
from bot.db.digest_types import NewDigest
from bot.emulator import Emulator
from bot.emulator.models import Channel, Guild
from bot.settings import Settings
from tests import postgres
from tests.e2e.conftest import embed_text
from tests.e2e.test_sharding import ON_SHARD, ROOT, SHARDS, TOPIC, BotProcess, bot_env, fresh_article
from tests.postgres import postgres_url  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.e2e

FIRST, SECOND = 6, 6  # articles before and after the first kill


def report_numbers(emulator: Emulator, channel: Channel) -> Counter[int]:
    """How many times each "Greenhouse report N" was posted in ``channel``."""
    found: Counter[int] = Counter()
    for message in emulator.channel_messages(channel):
        for n in re.findall(r"Greenhouse report (\d+)", embed_text(message) if message.embeds else ""):
            found[int(n)] += 1
    return found


class Host:
    """One bot process (a host): its shard, its environment, restarted as often as needed."""

    def __init__(self, emulator: Emulator, settings: Settings, tmp_path: Path, shard: int, **extra: str) -> None:
        self.emulator = emulator
        self.env = {**bot_env(emulator, settings, str(shard), {"NEWSBOT_SCAN_INTERVAL": "0.3"}), **extra}
        self.tmp_path = tmp_path
        self.shard = shard
        self.runs: list[BotProcess] = []

    def _connected(self) -> bool:
        return (self.shard, SHARDS) in {s.shard for s in self.emulator.sessions if s.connected}

    async def start(self) -> None:
        log_path = self.tmp_path / f"bot-{self.shard}-{len(self.runs)}.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=ROOT,
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
            )
        self.runs.append(BotProcess(str(self.shard), process, log_path))
        await self.emulator.wait_until(self._connected, timeout=60, what=f"shard {self.shard} to connect")

    async def kill(self) -> None:
        process = self.runs[-1].process
        process.kill()  # SIGKILL: no cleanup of any kind
        await process.wait()
        await self.emulator.wait_until(lambda: not self._connected(), timeout=30, what=f"shard {self.shard} gone")

    async def stop(self) -> None:
        process = self.runs[-1].process
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()

    def log(self) -> str:
        return "\n".join(run.log_path.read_text(encoding="utf-8")[-2000:] for run in self.runs)


async def test_two_hosts_on_postgresql_post_every_digest_and_alert_once_through_kill_9(
    emulator: Emulator,
    postgres_url: str,  # noqa: F811
    content_dir: Path,
    tmp_path: Path,
) -> None:
    await postgres.truncate_all(postgres_url)
    settings = Settings(content_dir=content_dir, database_url=postgres_url)
    now = datetime.now(UTC)
    fresh = content_dir / "_news" / "fresh"
    fresh.mkdir()
    for n in range(FIRST):
        (fresh / f"greenhouse-{n}.md").write_text(fresh_article(n, now), encoding="utf-8")

    guilds: dict[int, Guild] = {}
    digests: dict[int, Channel] = {}
    alerts: dict[int, Channel] = {}
    slot = now - timedelta(minutes=2)  # due while the bot was down: posted once on start
    async with await open_database(postgres_url) as db:
        for shard, guild_id in ON_SHARD.items():
            guild = guilds[shard] = emulator.add_guild(f"Host {shard} server", guild_id=guild_id)
            digests[shard] = emulator.add_text_channel(guild, "digest")
            alerts[shard] = emulator.add_text_channel(guild, "alerts")
            await db.digests.add(
                NewDigest(guild_id, digests[shard].id, TOPIC, f"{slot:%H:%M}", "UTC", "daily", 0, 0, 3,
                          now - timedelta(days=1), 1)
            )  # fmt: skip
            await db.alerts.add(
                NewAlert(guild_id, alerts[shard].id, "text", TOPIC, None, (), 0, None, "embed", False, None, 30,
                         now - timedelta(days=3), 1)
            )  # fmt: skip

    indexer = Host(emulator, settings, tmp_path, 0, NEWSBOT_INDEXER="true")
    # The second host has no content folder at all: it serves what the first one indexes.
    reader = Host(
        emulator, settings, tmp_path, 1, NEWSBOT_INDEXER="false", NEWSBOT_CONTENT_DIR=str(tmp_path / "no-content")
    )
    try:
        await indexer.start()
        await reader.start()
        # The reader is killed while it posts its server's alerts (the first is out, the rest pending).
        await emulator.wait_until(lambda: sum(report_numbers(emulator, alerts[1]).values()) >= 1, timeout=30,
                                  what="the reader's first alert post")  # fmt: skip
        await reader.kill()
        await reader.start()
        everything = set(range(FIRST))
        for shard in (0, 1):
            await emulator.wait_until(lambda s=shard: set(report_numbers(emulator, alerts[s])) == everything,
                                      timeout=60, what=f"server {shard}'s first alerts")  # fmt: skip

        # New content: the indexer records the arrivals and is killed while it posts them.
        for n in range(FIRST, FIRST + SECOND):
            (fresh / f"greenhouse-{n}.md").write_text(fresh_article(n, now), encoding="utf-8")
        await emulator.wait_until(
            lambda: sum(report_numbers(emulator, alerts[0]).values()) > FIRST, timeout=30, what="a new alert post"
        )
        await indexer.kill()
        await indexer.start()
        everything = set(range(FIRST + SECOND))
        for shard in (0, 1):
            await emulator.wait_until(lambda s=shard: set(report_numbers(emulator, alerts[s])) == everything,
                                      timeout=60, what=f"server {shard}'s later alerts")  # fmt: skip
        await asyncio.sleep(3.0)  # room for a second copy of anything to show up, were there one

        for shard in (0, 1):
            posted = report_numbers(emulator, alerts[shard])
            assert posted == Counter(dict.fromkeys(everything, 1)), f"server {shard}: each article posted once"
            cards = [m for m in emulator.channel_messages(digests[shard]) if m.embeds]
            assert len(cards) == 1, f"server {shard}: exactly one digest, through the restarts"
    except BaseException:
        print(indexer.log(), reader.log(), sep="\n---\n")  # noqa: T201  (what a failure needs)
        raise
    finally:
        await reader.stop()
        await indexer.stop()
    emulator.assert_no_violations()
