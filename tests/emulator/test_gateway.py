"""The gateway as the real discord.py client sees it: login, READY, guilds, compression, resume, shards."""

from __future__ import annotations

import asyncio
import json
import zlib

import aiohttp
import discord
import pytest

from bot.emulator import Emulator, Perm
from bot.emulator.gateway import zstd_compressor
from tests.emulator.conftest import EmulatedClient, EmulatedShardedClient, StartClient


async def test_client_sees_guilds_channels_and_its_permissions(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news", topic="Daily news")
    muted = emulator.add_text_channel(guild, "muted", bot_deny=Perm.SEND_MESSAGES)
    hidden = emulator.add_text_channel(guild, "hidden", everyone_deny=Perm.VIEW_CHANNEL)

    client = await start_client(EmulatedClient())

    assert client.user is not None
    assert client.user.id == emulator.bot_user.id
    assert client.application_id == emulator.application_id
    seen = client.get_guild(guild.id)
    assert seen is not None
    assert not seen.unavailable
    assert sorted(c.name for c in seen.text_channels) == ["hidden", "muted", "news"]
    me = seen.me
    assert me is not None
    news_channel = seen.get_channel(news.id)
    assert isinstance(news_channel, discord.TextChannel)
    assert news_channel.topic == "Daily news"
    assert news_channel.permissions_for(me).send_messages
    assert news_channel.permissions_for(me).embed_links
    assert not news_channel.permissions_for(me).manage_guild
    muted_channel = seen.get_channel(muted.id)
    assert isinstance(muted_channel, discord.TextChannel)
    assert not muted_channel.permissions_for(me).send_messages
    assert muted_channel.permissions_for(me).read_messages
    hidden_channel = seen.get_channel(hidden.id)
    assert isinstance(hidden_channel, discord.TextChannel)
    assert not hidden_channel.permissions_for(me).read_messages
    assert emulator.identify_count == 1


async def test_guilds_and_channels_added_later_reach_the_client(emulator: Emulator, start_client: StartClient) -> None:
    client = await start_client(EmulatedClient())
    joined = client.wait_for("guild_join", timeout=3)

    guild = emulator.add_guild("Late Guild")
    channel = emulator.add_text_channel(guild, "late-news")

    assert (await joined).id == guild.id
    await emulator.wait_until(lambda: client.get_channel(channel.id), what="CHANNEL_CREATE to arrive")


async def test_client_negotiates_zlib_stream_by_default(emulator: Emulator, start_client: StartClient) -> None:
    emulator.add_guild("Compressed")
    await start_client(EmulatedClient())
    (session,) = emulator.sessions
    assert session.connection is not None
    assert session.connection.compressed


async def test_zlib_stream_frames_end_with_sync_flush_and_inflate_as_one_stream(emulator: Emulator) -> None:
    url = emulator.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
    inflater = zlib.decompressobj()
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        hello_frame = await ws.receive_bytes(timeout=3)
        assert hello_frame.endswith(b"\x00\x00\xff\xff")
        hello = json.loads(inflater.decompress(hello_frame))
        assert hello["op"] == 10
        assert hello["d"]["heartbeat_interval"] == 1000
        await ws.send_str(json.dumps({"op": 1, "d": None}))
        ack = json.loads(inflater.decompress(await ws.receive_bytes(timeout=3)))
        assert ack["op"] == 11


async def test_uncompressed_gateway_speaks_text_frames(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
        hello = json.loads(await ws.receive_str(timeout=3))
        assert hello["op"] == 10


async def test_identify_with_a_wrong_token_is_closed_with_4004(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
        await ws.receive_str(timeout=3)
        await ws.send_str(json.dumps({"op": 2, "d": {"token": "nope", "intents": 513, "properties": {}}}))
        closing = await ws.receive(timeout=3)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == 4004


async def test_privileged_intents_are_refused_unless_enabled(emulator: Emulator, start_client: StartClient) -> None:
    emulator.add_guild("Guild")
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await start_client(EmulatedClient(intents=discord.Intents.all()))


async def test_wrong_token_fails_login(emulator: Emulator) -> None:
    client = EmulatedClient()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert [v.path for v in emulator.violations] == ["/users/@me"]


async def test_dropped_gateway_is_resumed_and_missed_events_replayed(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Resumable")
    client = await start_client(EmulatedClient())
    resumed = client.wait_for("resumed", timeout=5)

    assert await emulator.drop_gateway() == 1
    # Dispatched while the client has no socket: must arrive through the RESUME replay.
    channel = emulator.add_text_channel(guild, "born-while-offline")

    await resumed
    assert emulator.resume_count == 1
    assert emulator.identify_count == 1
    assert client.get_channel(channel.id) is not None
    # And events after the resume flow as before.
    later = emulator.add_text_channel(guild, "after-resume")
    await emulator.wait_until(lambda: client.get_channel(later.id), what="CHANNEL_CREATE after resume")


async def test_aborted_connection_is_resumed_too(emulator: Emulator, start_client: StartClient) -> None:
    emulator.add_guild("Flaky")
    client = await start_client(EmulatedClient())
    await emulator.drop_gateway(abort=True)
    await emulator.wait_until(lambda: emulator.resume_count == 1, timeout=5, what="a RESUME")
    assert client.is_ready()
    assert emulator.identify_count == 1


async def test_invalidated_session_makes_the_client_identify_again(
    emulator: Emulator, start_client: StartClient
) -> None:
    emulator.add_guild("Invalid")
    await start_client(EmulatedClient())
    assert await emulator.invalidate_session() == 1
    await emulator.wait_until(lambda: emulator.identify_count == 2, timeout=5, what="a new IDENTIFY")
    assert emulator.resume_count == 0


async def test_guilds_are_routed_to_shards_by_id(emulator: Emulator) -> None:
    # Two shards recommended by GET /gateway/bot, as AutoShardedClient asks when given no shard count.
    emulator.recommended_shards = 2
    guilds = [emulator.add_guild(f"Guild {n}") for n in range(6)]
    expected = {g.id: (g.id >> 22) % 2 for g in guilds}
    assert set(expected.values()) == {0, 1}

    client = EmulatedShardedClient()
    await client.login(emulator.token)
    task = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        assert client.shard_count == 2
        assert {g.id: g.shard_id for g in client.guilds} == expected
        by_shard = {s.shard_id: sorted(s.guild_ids) for s in emulator.sessions}
        assert by_shard == {n: sorted(g for g, s in expected.items() if s == n) for n in (0, 1)}
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


async def test_separate_processes_with_fixed_shards_split_guilds_and_resume_alone(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guilds = [emulator.add_guild(f"Guild {n}") for n in range(4)]
    on_shard = {n: {g.id for g in guilds if (g.id >> 22) % 2 == n} for n in (0, 1)}
    first = await start_client(EmulatedClient(shard_id=0, shard_count=2))
    second = await start_client(EmulatedClient(shard_id=1, shard_count=2))

    assert {g.id for g in first.guilds} == on_shard[0]
    assert {g.id for g in second.guilds} == on_shard[1]

    assert await emulator.drop_gateway(shard_id=1) == 1
    await emulator.wait_until(lambda: emulator.resume_count == 1, timeout=5, what="shard 1 to resume")
    assert {s.shard_id: s.resumes for s in emulator.sessions} == {0: 0, 1: 1}

    shard_one_guild = next(g for g in guilds if g.id in on_shard[1])
    channel = emulator.add_text_channel(shard_one_guild, "only-for-shard-one")
    await emulator.wait_until(lambda: second.get_channel(channel.id), what="the channel on shard 1")
    assert first.get_channel(channel.id) is None


async def test_zstd_stream_is_served_only_when_this_python_can_compress_it(emulator: Emulator) -> None:
    # discord.py asks for zstd-stream when zstandard (or Python 3.14's compression.zstd) is installed.
    can_compress = zstd_compressor() is not None
    url = emulator.gateway_url + "?v=10&encoding=json&compress=zstd-stream"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        first = await ws.receive(timeout=3)
    if can_compress:
        assert first.type is aiohttp.WSMsgType.BINARY
    else:
        assert first.type is aiohttp.WSMsgType.CLOSE
        assert first.data == 4002
