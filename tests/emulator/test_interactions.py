"""Interactions end to end: the emulator plays the Discord client, discord.py's CommandTree answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import discord
import pytest
from discord import app_commands

from bot.emulator import CallbackType, Channel, Emulator, Guild, Member, Perm
from tests.emulator.conftest import EmulatedClient, StartClient

TOPICS = ["science", "space", "sport", "economy"]


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Your feedback", custom_id="feedback:text")


class Pager(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Next", custom_id="pager:next")
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await interaction.response.edit_message(content="Page 2", view=self)

    @discord.ui.button(label="Last", custom_id="pager:last")
    async def last_page(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="Page 9", view=None)

    @discord.ui.button(label="Feedback", custom_id="pager:feedback")
    async def feedback(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await interaction.response.send_modal(Feedback())


def build_client(seen: list[discord.Interaction]) -> EmulatedClient:
    client = EmulatedClient()
    tree = client.tree

    @tree.command(name="echo", description="Repeat text privately")
    async def echo(interaction: discord.Interaction, text: str) -> None:
        seen.append(interaction)
        embed = discord.Embed(title=text.title(), url="https://example.com/news", description="Echoed")
        await interaction.response.send_message(text, embed=embed, ephemeral=True)

    @tree.command(name="topic", description="Show a topic")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"Topic: {name}", ephemeral=True)

    @topic.autocomplete("name")
    async def topic_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t.title(), value=t) for t in TOPICS if t.startswith(current.lower())]

    news = app_commands.Group(name="news", description="News commands")

    @news.command(name="latest", description="Latest headlines")
    async def latest(interaction: discord.Interaction, count: app_commands.Range[int, 1, 5] = 2) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        for n in range(1, count + 1):
            await interaction.followup.send(f"Headline {n}", ephemeral=True)

    tree.add_command(news)

    @tree.command(name="pager", description="A message with a button")
    async def pager(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Page 1", view=Pager())

    @tree.command(name="revise", description="Every way to change a response")
    async def revise(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("draft")
        original = await interaction.original_response()
        await interaction.edit_original_response(content=original.content.replace("draft", "final"))
        note = await interaction.followup.send("note", wait=True)
        await note.edit(content="note (edited)")
        temporary = await interaction.followup.send("temporary", wait=True)
        await temporary.delete()

    @tree.command(name="think", description="Think, then answer in place")
    async def think(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="thought it through")

    @tree.command(name="where", description="Name a channel")
    async def where(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        await interaction.response.send_message(f"That is #{channel.name}", ephemeral=True)

    @tree.command(name="admin", description="Server managers only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        allowed = interaction.permissions.manage_guild
        await interaction.response.send_message("done" if allowed else "You need Manage Server", ephemeral=True)

    @tree.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        await interaction.response.send_message("finally", ephemeral=True)

    @tree.context_menu(name="Count characters")
    async def count(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"{len(message.content)} characters", ephemeral=True)

    return client


@dataclass
class World:
    emulator: Emulator
    client: EmulatedClient
    guild: Guild
    news: Channel
    other: Channel
    alice: Member
    manager: Member
    seen: list[discord.Interaction]


@pytest.fixture
async def world(emulator: Emulator, start_client: StartClient) -> World:
    guild = emulator.add_guild("Newsroom", locale="de")
    news = emulator.add_text_channel(guild, "news")
    other = emulator.add_text_channel(guild, "other")
    alice = emulator.add_member(guild, "alice")
    manager = emulator.add_member(guild, "manager", permissions=Perm.MANAGE_GUILD)
    seen: list[discord.Interaction] = []
    client = build_client(seen)
    await start_client(client)
    target = discord.Object(guild.id)
    client.tree.copy_global_to(guild=target)
    await client.tree.sync(guild=target)
    return World(emulator, client, guild, news, other, alice, manager, seen)


async def test_sync_registers_guild_commands_once_with_stable_ids(world: World, no_violations: None) -> None:
    emulator = world.emulator
    registered = {c["name"]: c for c in emulator.registered_commands(world.guild.id)}
    assert set(registered) == {
        "echo",
        "topic",
        "news",
        "pager",
        "revise",
        "think",
        "where",
        "admin",
        "slow",
        "Count characters",
    }
    assert registered["Count characters"]["type"] == 3
    assert registered["admin"]["default_member_permissions"] == str(Perm.MANAGE_GUILD.value)
    assert all(c["guild_id"] == str(world.guild.id) for c in registered.values())
    assert all(c["application_id"] == str(emulator.application_id) for c in registered.values())
    assert emulator.registered_commands() == []
    assert emulator.bulk_overwrite_count == 1

    again = await world.client.tree.sync(guild=discord.Object(world.guild.id))

    assert {c.name: c.id for c in again} == {name: int(c["id"]) for name, c in registered.items()}
    assert {c["name"]: c["version"] for c in emulator.registered_commands(world.guild.id)} == {
        name: c["version"] for name, c in registered.items()
    }
    assert emulator.bulk_overwrites[world.guild.id] == 2


async def test_slash_command_gets_a_private_answer_within_three_seconds(world: World, no_violations: None) -> None:
    result = await world.emulator.send_slash_command(world.guild, world.news, world.alice, "echo", {"text": "hello"})

    callback = await result.response()
    assert callback.type == CallbackType.CHANNEL_MESSAGE
    assert result.ephemeral is True
    assert result.elapsed is not None
    assert result.elapsed < 3
    reply = await result.original_message()
    assert reply.content == "hello"
    assert [e["title"] for e in reply.embeds] == ["Hello"]
    assert world.emulator.channel_messages(world.news) == []  # ephemeral: nobody else sees it

    (interaction,) = world.seen
    assert interaction.guild_id == world.guild.id
    assert interaction.channel_id == world.news.id
    assert interaction.user.id == world.alice.id
    assert interaction.app_permissions.send_messages
    assert interaction.app_permissions.embed_links
    assert not interaction.permissions.manage_guild
    assert interaction.guild_locale is discord.Locale.german
    assert interaction.filesize_limit > 0


async def test_rate_limited_callback_is_retried_within_the_deadline(world: World, no_violations: None) -> None:
    emulator = world.emulator
    emulator.inject_429("POST", "/interactions/", retry_after=0.2)

    result = await emulator.send_slash_command(world.guild, world.news, world.alice, "echo", {"text": "patience"})

    assert (await result.original_message()).content == "patience"
    assert result.elapsed is not None
    assert 0.2 <= result.elapsed < 3
    assert [h.path.split("/")[1] for h in emulator.rate_limit_hits] == ["interactions"]


async def test_autocomplete_answers_what_the_user_is_typing(world: World, no_violations: None) -> None:
    emulator = world.emulator
    typed_s = await emulator.send_autocomplete(
        world.guild, world.news, world.alice, "topic", {"name": "s"}, focused="name"
    )
    typed_sp = await emulator.send_autocomplete(
        world.guild, world.news, world.alice, "topic", {"name": "sp"}, focused="name"
    )

    assert [c["value"] for c in await typed_s.choices()] == ["science", "space", "sport"]
    assert [c["name"] for c in await typed_sp.choices()] == ["Space", "Sport"]


async def test_button_click_edits_the_message_in_place(world: World, no_violations: None) -> None:
    emulator = world.emulator
    shown = await emulator.send_slash_command(world.guild, world.news, world.alice, "pager")
    message = await shown.original_message()
    assert message.content == "Page 1"
    assert not message.ephemeral
    assert emulator.channel_messages(world.news) == [message]
    assert message.custom_ids() == ["pager:next", "pager:last", "pager:feedback"]

    click = await emulator.click_button(message, "pager:next", world.alice)

    assert (await click.response()).type == CallbackType.UPDATE_MESSAGE
    (visible,) = emulator.channel_messages(world.news)
    assert visible.id == message.id
    assert visible.content == "Page 2"
    assert visible.edited


async def test_deferred_component_update_edits_the_original_message(world: World, no_violations: None) -> None:
    emulator = world.emulator
    message = await (
        await emulator.send_slash_command(world.guild, world.news, world.alice, "pager")
    ).original_message()

    click = await emulator.click_button(message, "pager:last", world.alice)

    assert (await click.response()).type == CallbackType.DEFERRED_UPDATE_MESSAGE
    await click.wait_until(lambda r: r.original is not None and r.original.content == "Page 9", what="the edit")
    (visible,) = emulator.channel_messages(world.news)
    assert visible.id == message.id
    assert visible.components == []


async def test_button_can_open_a_modal(world: World, no_violations: None) -> None:
    emulator = world.emulator
    message = await (
        await emulator.send_slash_command(world.guild, world.news, world.alice, "pager")
    ).original_message()

    click = await emulator.click_button(message, "pager:feedback", world.alice)

    callback = await click.response()
    assert callback.type == CallbackType.MODAL
    assert callback.data is not None
    assert callback.data["title"] == "Feedback"
    assert "feedback:text" in str(callback.data["components"])


async def test_response_can_be_fetched_edited_and_followed_up(world: World, no_violations: None) -> None:
    emulator = world.emulator
    result = await emulator.send_slash_command(world.guild, world.news, world.alice, "revise")

    await result.wait_until(lambda r: any(m.deleted for m in r.followup_messages), what="the revisions")

    assert result.original is not None
    assert result.original.content == "final"
    assert result.original.edited
    note, temporary = result.followup_messages
    assert note.content == "note (edited)"
    assert temporary.deleted
    assert [m.content for m in emulator.channel_messages(world.news)] == ["final", "note (edited)"]


async def test_deferred_answer_is_filled_in_then_followed_up(world: World, no_violations: None) -> None:
    result = await world.emulator.send_slash_command(
        world.guild, world.news, world.alice, "news", {"count": 2}, subcommand="latest"
    )

    assert (await result.response()).type == CallbackType.DEFERRED_CHANNEL_MESSAGE
    first = await result.original_message()
    (second,) = await result.followups(1)
    assert (first.content, second.content) == ("Headline 1", "Headline 2")
    assert first.ephemeral
    assert second.ephemeral
    assert not first.loading


async def test_deferred_answer_can_be_edited_into_place(world: World, no_violations: None) -> None:
    result = await world.emulator.send_slash_command(world.guild, world.news, world.alice, "think")

    reply = await result.original_message()

    assert [c.type for c in result.callbacks] == [CallbackType.DEFERRED_CHANNEL_MESSAGE]
    assert reply.content == "thought it through"
    assert not reply.loading
    assert world.emulator.channel_messages(world.news) == [reply]


async def test_options_outside_what_the_client_allows_are_refused(world: World) -> None:
    emulator = world.emulator
    with pytest.raises(ValueError, match="outside"):
        await emulator.send_slash_command(
            world.guild, world.news, world.alice, "news", {"count": 9}, subcommand="latest"
        )
    with pytest.raises(ValueError, match="requires option"):
        await emulator.send_slash_command(world.guild, world.news, world.alice, "echo")
    with pytest.raises(ValueError, match="subcommand"):
        await emulator.send_slash_command(world.guild, world.news, world.alice, "news")
    with pytest.raises(LookupError):
        await emulator.send_slash_command(world.guild, world.news, world.alice, "nonexistent")


async def test_channel_option_is_resolved_for_the_bot(world: World, no_violations: None) -> None:
    result = await world.emulator.send_slash_command(
        world.guild, world.news, world.alice, "where", {"channel": world.other}
    )
    assert (await result.original_message()).content == "That is #other"


async def test_message_command_sees_the_target_content(world: World, no_violations: None) -> None:
    emulator = world.emulator
    target = emulator.post_message(world.news, world.alice, "Twenty-three characters")

    result = await emulator.send_message_context_command(
        world.guild, world.news, world.alice, "Count characters", target
    )

    assert (await result.original_message()).content == "23 characters"


async def test_default_permissions_hide_admin_commands_like_the_client(world: World, no_violations: None) -> None:
    emulator = world.emulator
    with pytest.raises(PermissionError):
        await emulator.send_slash_command(world.guild, world.news, world.alice, "admin")

    as_manager = await emulator.send_slash_command(world.guild, world.news, world.manager, "admin")
    opened_up = await emulator.send_slash_command(
        world.guild, world.news, world.alice, "admin", ignore_default_permissions=True
    )

    assert (await as_manager.original_message()).content == "done"
    assert (await opened_up.original_message()).content == "You need Manage Server"


async def test_answering_after_the_deadline_is_a_violation(world: World) -> None:
    world.emulator.world.interaction_deadline = 0.1
    result = await world.emulator.send_slash_command(world.guild, world.news, world.alice, "slow")

    (violation,) = await world.emulator.wait_until(lambda: world.emulator.violations, what="a violation")

    assert "10062" in violation.message
    assert violation.path.startswith(f"/interactions/{result.id}/")
    assert result.callbacks == []


async def test_answering_twice_or_following_up_first_are_violations(world: World) -> None:
    emulator = world.emulator
    answered = await emulator.send_slash_command(world.guild, world.news, world.alice, "echo", {"text": "once"})
    await answered.response()
    slow = await emulator.send_slash_command(world.guild, world.news, world.alice, "slow")
    message = {"content": "early", "allowed_mentions": {"parse": []}}

    async with aiohttp.ClientSession() as http:
        callback_url = f"{emulator.api_base}/interactions/{answered.id}/{answered.token}/callback"
        async with http.post(callback_url, json={"type": 4, "data": message}) as response:
            assert (response.status, (await response.json())["code"]) == (400, 40060)
        webhooks = f"{emulator.api_base}/webhooks/{emulator.application_id}"
        async with http.post(f"{webhooks}/{slow.token}?wait=true", json=message) as response:
            assert (response.status, (await response.json())["code"]) == (404, 10015)
        async with http.post(f"{webhooks}/not-a-token?wait=true", json=message) as response:
            assert (response.status, (await response.json())["code"]) == (404, 10015)

    assert (await slow.original_message()).content == "finally"
    assert [v.message.split()[0] for v in emulator.violations] == ["40060", "10015", "10015"]
    assert [c.type for c in answered.callbacks] == [CallbackType.CHANNEL_MESSAGE]
