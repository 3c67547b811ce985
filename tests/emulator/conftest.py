"""Fixtures: a running emulator, discord.py pointed at it, and a helper that starts a real client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.app.endpoints import configure_discord, restore_discord
from bot.emulator import Emulator


class EmulatedClient(discord.Client):
    """A plain discord.py client with a command tree, configured the way the bot will be."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**options)
        self.tree = app_commands.CommandTree(self)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY (Discord's identify rate limit);
        # the emulator has no such limit and the tests have no time to spare.
        return None


class EmulatedShardedClient(discord.AutoShardedClient):
    def __init__(self, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        options.setdefault("guild_ready_timeout", 0.05)
        super().__init__(**options)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(heartbeat_interval=1.0) as running:
        previous = configure_discord(running.api_base, running.gateway_url)
        try:
            yield running
        finally:
            restore_discord(previous)


StartClient = Callable[[discord.Client], Awaitable[discord.Client]]


@pytest.fixture
async def start_client(emulator: Emulator) -> AsyncIterator[StartClient]:
    """Log a client in, connect it and wait for READY (and its guilds); closes it afterwards."""
    running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(client: discord.Client) -> discord.Client:
        await client.login(emulator.token)
        task = asyncio.create_task(client.connect(), name="test-client-connect")
        running.append((client, task))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                running.remove((client, task))
                await client.close()
                task.result()  # re-raise why the client stopped
            raise TimeoutError("the client did not become ready")
        return client

    yield start
    for client, task in running:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)


@pytest.fixture
def no_violations(emulator: Emulator) -> Iterator[None]:
    """Fail the test if the bot sent anything real Discord would reject."""
    yield
    emulator.assert_no_violations()
