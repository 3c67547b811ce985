"""Channel messages over REST, as discord.py sends them, and the emulator's validation and rate limits."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import aiohttp
import discord
import pytest

from bot.emulator import Channel, Emulator, Guild, Perm
from tests.emulator.conftest import EmulatedClient, StartClient


@dataclass
class Setup:
    emulator: Emulator
    client: discord.Client
    guild: Guild
    news: Channel
    sent: discord.TextChannel


@pytest.fixture
async def setup(emulator: Emulator, start_client: StartClient) -> Setup:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient())
    channel = client.get_channel(news.id)
    assert isinstance(channel, discord.TextChannel)
    return Setup(emulator, client, guild, news, channel)


def auth(emulator: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bot {emulator.token}"}


async def test_sent_message_is_stored_and_pings_nobody(setup: Setup, no_violations: None) -> None:
    sent = await setup.sent.send("Breaking: @everyone look", embed=discord.Embed(title="Headline"))

    (stored,) = setup.emulator.channel_messages(setup.news)
    assert stored.id == sent.id
    assert stored.content == "Breaking: @everyone look"
    assert stored.embeds == [{"type": "rich", "title": "Headline", "flags": 0}]
    assert stored.author.id == setup.emulator.bot_user.id


async def test_message_without_allowed_mentions_fails_loudly(emulator: Emulator, start_client: StartClient) -> None:
    guild = emulator.add_guild("Loud")
    news = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient(allowed_mentions=None))
    channel = client.get_channel(news.id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as failure:
        await channel.send("hello")

    assert (failure.value.status, failure.value.code) == (400, 50035)
    assert "allowed_mentions" in failure.value.text
    (violation,) = emulator.violations
    assert violation.path == f"/channels/{news.id}/messages"
    assert "allowed_mentions" in violation.message
    assert emulator.channel_messages(news) == []


@pytest.mark.parametrize("global_", [False, True], ids=["route", "global"])
async def test_injected_429_is_waited_out_and_retried(setup: Setup, no_violations: None, global_: bool) -> None:
    emulator = setup.emulator
    path = f"/channels/{setup.news.id}/messages"
    emulator.inject_429("POST", path, retry_after=0.3, global_=global_)

    started = time.monotonic()
    await setup.sent.send("after the wait")
    elapsed = time.monotonic() - started

    assert elapsed >= 0.3
    assert [m.content for m in emulator.channel_messages(setup.news)] == ["after the wait"]
    (hit,) = emulator.rate_limit_hits
    assert hit.injected
    assert hit.global_ is global_
    assert hit.path == path
    statuses = [(r.status, r.at) for r in emulator.requests if r.path == path]
    assert [s for s, _ in statuses] == [429, 200]
    assert statuses[1][1] - statuses[0][1] >= 0.3


async def test_exhausted_bucket_makes_discord_py_wait_for_the_reset(setup: Setup, no_violations: None) -> None:
    setup.emulator.limiter.limit = 2
    setup.emulator.limiter.window = 0.4

    started = time.monotonic()
    for n in range(3):
        await setup.sent.send(f"message {n}")

    assert time.monotonic() - started >= 0.3
    assert len(setup.emulator.channel_messages(setup.news)) == 3
    assert setup.emulator.rate_limit_hits == []  # discord.py read the headers and never hit a 429


async def test_invalid_embed_is_rejected_like_discord_and_recorded(setup: Setup) -> None:
    emulator = setup.emulator
    body = {"content": "x", "embeds": [{"title": "t" * 300}], "allowed_mentions": {"parse": []}}

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulator.api_base}/channels/{setup.news.id}/messages", json=body, headers=auth(emulator)
        ) as response,
    ):
        assert response.status == 400
        assert response.headers["Content-Type"] == "application/json"
        error = await response.json()

    assert error["code"] == 50035
    assert error["message"] == "Invalid Form Body"
    assert error["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    (violation,) = emulator.violations
    assert violation.method == "POST"
    assert "embeds.0.title" in violation.message
    assert emulator.channel_messages(setup.news) == []


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: {"content": "x" * 2001}, "content"),
        (lambda: {"embeds": [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)]}, "embeds"),
        (lambda: {"embed": _embed_with_fields(description=4000, fields=3, value=1000)}, "embeds"),
    ],
    ids=["content-over-2000", "two-embeds-over-6000", "one-embed-with-fields-over-6000"],
)
async def test_limits_missing_from_the_spec_are_enforced(setup: Setup, make: object, field: str) -> None:
    kwargs = make()  # type: ignore[operator]
    with pytest.raises(discord.HTTPException) as failure:
        await setup.sent.send(**kwargs)

    assert failure.value.status == 400
    assert field in failure.value.text
    assert [v.message.split(":")[1].strip() for v in setup.emulator.violations] == [field]


def _embed_with_fields(*, description: int, fields: int, value: int) -> discord.Embed:
    embed = discord.Embed(description="d" * description)
    for n in range(fields):
        embed.add_field(name=f"field {n}", value="v" * value)
    return embed


async def test_unknown_route_is_404_and_recorded(setup: Setup) -> None:
    emulator = setup.emulator
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emulator.api_base}/no/such/route", headers=auth(emulator)) as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
        async with http.delete(f"{emulator.api_base}/gateway/bot", headers=auth(emulator)) as response:
            assert response.status == 405

    assert [(v.method, v.path) for v in emulator.violations] == [("GET", "/no/such/route"), ("DELETE", "/gateway/bot")]


async def test_responses_carry_rate_limit_headers_and_exact_json_type(setup: Setup) -> None:
    emulator = setup.emulator
    async with aiohttp.ClientSession() as http, http.get(f"{emulator.api_base}/users/@me", headers=auth(emulator)) as r:
        assert r.headers["Content-Type"] == "application/json"
        assert int(r.headers["X-RateLimit-Limit"]) >= int(r.headers["X-RateLimit-Remaining"]) >= 0
        assert float(r.headers["X-RateLimit-Reset-After"]) >= 0
        assert r.headers["X-RateLimit-Bucket"]
        assert (await r.json())["id"] == str(emulator.bot_user.id)


async def test_same_nonce_does_not_post_twice(setup: Setup, no_violations: None) -> None:
    first = await setup.sent.send("digest for today", nonce="digest-2026-11-27")
    second = await setup.sent.send("digest for today", nonce="digest-2026-11-27")

    assert first.id == second.id
    assert len(setup.emulator.channel_messages(setup.news)) == 1
    assert setup.emulator.nonce_replays == 1


async def test_attachments_travel_as_multipart(setup: Setup, no_violations: None) -> None:
    sent = await setup.sent.send("report", file=discord.File(io.BytesIO(b"line one\n"), "report.txt"))

    assert [a.filename for a in sent.attachments] == ["report.txt"]
    (stored,) = setup.emulator.channel_messages(setup.news)
    assert stored.files == {"report.txt": b"line one\n"}
    async with aiohttp.ClientSession() as http, http.get(sent.attachments[0].url) as response:
        assert await response.read() == b"line one\n"


async def test_missing_permissions_answer_403_like_discord(emulator: Emulator, start_client: StartClient) -> None:
    guild = emulator.add_guild("Strict")
    muted = emulator.add_text_channel(guild, "muted", bot_deny=Perm.SEND_MESSAGES)
    hidden = emulator.add_text_channel(guild, "hidden", everyone_deny=Perm.VIEW_CHANNEL)
    client = await start_client(EmulatedClient())

    for channel_id, code in ((muted.id, 50013), (hidden.id, 50001)):
        channel = client.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as failure:
            await channel.send("nope")
        assert failure.value.code == code

    assert emulator.violations == []


async def test_history_pages_newest_first_with_cursors(setup: Setup, no_violations: None) -> None:
    sent = [await setup.sent.send(f"m{n}") for n in range(5)]

    newest = [m.content async for m in setup.sent.history(limit=3)]
    after_first = [m.content async for m in setup.sent.history(limit=10, after=sent[0], oldest_first=True)]
    before_last = [m.content async for m in setup.sent.history(limit=2, before=sent[4])]

    assert newest == ["m4", "m3", "m2"]
    assert after_first == ["m1", "m2", "m3", "m4"]
    assert before_last == ["m3", "m2"]


async def test_history_is_empty_without_read_message_history(emulator: Emulator, start_client: StartClient) -> None:
    guild = emulator.add_guild("Forgetful")
    channel = emulator.add_text_channel(guild, "no-history", bot_deny=Perm.READ_MESSAGE_HISTORY)
    emulator.post_message(channel, guild.owner_id, "you cannot read me")
    client = await start_client(EmulatedClient())
    seen = client.get_channel(channel.id)
    assert isinstance(seen, discord.TextChannel)

    assert [m async for m in seen.history(limit=10)] == []


async def test_edit_then_delete_own_message(setup: Setup, no_violations: None) -> None:
    sent = await setup.sent.send("draft")
    await sent.edit(content="final")
    (stored,) = setup.emulator.channel_messages(setup.news)
    assert stored.content == "final"
    assert stored.edited

    await sent.delete()

    assert setup.emulator.channel_messages(setup.news) == []
    with pytest.raises(discord.NotFound):
        await setup.sent.fetch_message(sent.id)


async def test_single_command_endpoints_create_edit_and_delete(setup: Setup, no_violations: None) -> None:
    http, app, guild_id = setup.client.http, setup.emulator.application_id, setup.guild.id

    created = await http.upsert_guild_command(app, guild_id, {"name": "ping", "description": "Ping", "type": 1})
    edited = await http.edit_guild_command(app, guild_id, created["id"], {"description": "Ping the bot"})
    global_command = await http.upsert_global_command(app, {"name": "help", "description": "Help", "type": 1})

    assert edited["id"] == created["id"]
    assert edited["version"] != created["version"]
    assert [c["description"] for c in await http.get_guild_commands(app, guild_id)] == ["Ping the bot"]
    assert (await http.get_global_command(app, global_command["id"]))["name"] == "help"
    await http.delete_guild_command(app, guild_id, created["id"])
    assert setup.emulator.registered_commands(guild_id) == []
    assert [c["name"] for c in setup.emulator.registered_commands()] == ["help"]
    assert setup.emulator.bulk_overwrite_count == 0
    with pytest.raises(discord.NotFound):
        await http.get_guild_command(app, guild_id, created["id"])
