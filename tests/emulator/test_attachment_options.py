"""Attachment options (type 11) and the application's owner, as discord.py sees them."""

from __future__ import annotations

import discord
import pytest

from bot.emulator import AttachmentFile, Emulator
from bot.emulator.interactions import ATTACHMENT_SIZE_LIMIT
from tests.emulator.conftest import EmulatedClient, StartClient


def build_client() -> EmulatedClient:
    client = EmulatedClient()

    @client.tree.command(name="upload", description="Read an attached file")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        await interaction.response.send_message(
            f"{file.filename}: {file.size} bytes, {data.decode()!r}, ephemeral={file.ephemeral}", ephemeral=True
        )

    return client


async def test_an_attached_file_is_downloaded_through_discord_py(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    channel = emulator.add_text_channel(guild, "news")
    member = emulator.add_member(guild, "alice")
    client = build_client()
    await start_client(client)
    await client.tree.sync()

    result = await emulator.send_slash_command(
        guild, channel, member, "upload", {"file": AttachmentFile("notes.yaml", b"newsbot: 1\n")}
    )
    reply = await result.original_message()
    assert reply.content == "notes.yaml: 11 bytes, 'newsbot: 1\\n', ephemeral=True"

    with pytest.raises(ValueError, match="AttachmentFile"):
        await emulator.send_slash_command(guild, channel, member, "upload", {"file": "notes.yaml"})
    too_big = AttachmentFile("big.bin", bytes(ATTACHMENT_SIZE_LIMIT + 1))
    with pytest.raises(ValueError, match="upload limit"):
        await emulator.send_slash_command(guild, channel, member, "upload", {"file": too_big})


async def test_the_application_owner_is_who_discord_py_finds(emulator: Emulator, start_client: StartClient) -> None:
    client = EmulatedClient()
    await start_client(client)
    info = await client.application_info()
    assert info.owner.id == emulator.application_owner.id
    assert info.team is None
    guild = emulator.add_guild("Newsroom")
    member = emulator.add_member(guild, emulator.application_owner)
    assert member.user is emulator.application_owner
