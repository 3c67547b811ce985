"""``configure_discord``: the one way to point discord.py at the emulator, and to undo it."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.app.endpoints import (
    DiscordEndpoints,
    configure_discord,
    current_endpoints,
    discord_endpoints,
    restore_discord,
)
from bot.emulator import Emulator
from tests.emulator.conftest import EmulatedClient


def test_configure_and_restore_round_trip() -> None:
    before = current_endpoints()

    previous = configure_discord("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway")

    assert previous == before
    assert Route.BASE == "http://127.0.0.1:9/api/v10"
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    assert yarl.URL("ws://127.0.0.1:9/gateway") == DiscordWebSocket.DEFAULT_GATEWAY
    restore_discord(previous)
    assert current_endpoints() == before


def test_context_manager_restores_after_an_error() -> None:
    before = current_endpoints()
    seen: list[DiscordEndpoints] = []

    def fail_inside() -> None:
        with discord_endpoints("http://127.0.0.1:9/api/v10") as inside:
            seen.append(inside)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_inside()

    assert [e.api_base for e in seen] == ["http://127.0.0.1:9/api/v10"]
    assert [e.gateway for e in seen] == [before.gateway]  # no gateway given: left alone
    assert current_endpoints() == before


async def test_clean_shutdown_leaves_no_tasks_behind() -> None:
    async with Emulator(heartbeat_interval=0.2) as emulator:
        emulator.add_guild("Short-lived")
        with discord_endpoints(emulator.api_base, emulator.gateway_url):
            client = EmulatedClient()
            await client.login(emulator.token)
            connection = asyncio.create_task(client.connect())
            await asyncio.wait_for(client.wait_until_ready(), 5)
            await asyncio.sleep(0.3)  # let a heartbeat or two go by
            assert emulator.gateway.heartbeat_count >= 1
            await client.close()
            await asyncio.wait_for(connection, 5)

    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert leftovers == []
    # discord.py closes with 4000 even on shutdown, so (as on Discord) the session stays resumable.
    assert [s.connected for s in emulator.sessions] == [False]
    assert isinstance(client, discord.Client)
    assert client.is_closed()


def test_the_emulator_imports_nothing_else_of_the_bot() -> None:
    """Issue #11: ``bot/emulator`` stands alone (the bot may import it, never the reverse), and its modules
    import each other directly, not through the package's ``__init__``."""
    package = Path(__file__).resolve().parents[2] / "bot" / "emulator"
    submodules = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir() if p.is_dir()}
    problems = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "bot.emulator":
                    problems += [
                        f"{path.name}: from bot.emulator import {a.name}" for a in node.names if a.name in submodules
                    ]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            problems += [
                f"{path.name}: imports {n}" for n in names if n.startswith("bot.") and not n.startswith("bot.emulator")
            ]
            problems += [f"{path.name}: imports {n}" for n in names if n == "bot"]

    assert problems == []


def test_importing_the_emulator_loads_no_other_bot_module() -> None:
    code = (
        "import sys, bot.emulator; "
        "print(sorted(m for m in sys.modules if m.startswith('bot.') and not m.startswith('bot.emulator')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
