"""Which process serves which server when the shards are split between processes."""

from __future__ import annotations

from pathlib import Path

from discord.ext import commands
from hypothesis import given
from hypothesis import strategies as st

from bot.app.client import NewsBot
from bot.app.sharding import create_bot, handles_guild, shard_for, sharded
from bot.emulator.gateway import GatewaySession
from bot.settings import Settings

snowflakes = st.integers(min_value=1, max_value=2**63 - 1)


@given(snowflakes, st.integers(min_value=1, max_value=64), st.data())
def test_exactly_one_process_serves_each_server(guild_id: int, count: int, data: st.DataObject) -> None:
    # Any split of the shards between processes, every shard held by exactly one of them.
    owner = data.draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    processes = [tuple(s for s in range(count) if owner[s] == p) for p in range(4)]
    serving = [p for p, ids in enumerate(processes) if handles_guild(guild_id, count, ids)]
    assert serving == [owner[shard_for(guild_id, count)]]


@given(snowflakes, st.integers(min_value=1, max_value=64), st.data())
def test_the_shard_is_the_one_the_gateway_sends_the_server_to(guild_id: int, count: int, data: st.DataObject) -> None:
    shard = data.draw(st.integers(0, count - 1))
    session = GatewaySession(session_id="s", shard=(shard, count), intents=1)
    assert session.handles(guild_id) == (shard_for(guild_id, count) == shard)


def test_an_unsharded_process_serves_everything() -> None:
    assert handles_guild(12345 << 22, None, None)
    assert handles_guild(12345 << 22, 4, None), "holding every shard"


async def test_without_a_shard_count_the_bot_is_a_plain_bot(tmp_path: Path) -> None:
    bot = create_bot(NewsBot, Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        assert type(bot) is NewsBot
        assert not isinstance(bot, commands.AutoShardedBot)
        assert bot.handles_guild(7 << 22)
    finally:
        await bot.close()


async def test_with_a_shard_count_the_bot_holds_the_configured_shards(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", shard_count=3, shard_ids=(1, 2))
    async with create_bot(NewsBot, settings) as bot:  # AutoShardedBot can only close once entered
        assert isinstance(bot, NewsBot) and isinstance(bot, commands.AutoShardedBot)
        assert bot.shard_count == 3 and bot.shard_ids == [1, 2]
        assert [bot.handles_guild(n << 22) for n in range(6)] == [False, True, True, False, True, True]
        assert sharded(NewsBot) is type(bot), "one sharded class per bot class"
