"""Run the real bot against the local Discord emulator: shared by ``make demo``, the end-to-end
tests and the benchmarks, so all three exercise exactly the same start-up path as production
(settings -> endpoints -> ``NewsBot.start``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from bot.app.client import NewsBot
from bot.app.endpoints import configure_discord, restore_discord
from bot.emulator import Emulator
from bot.settings import Secret, Settings

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0  # a cold index of a large store happens before the gateway connects


def settings_for(emulator: Emulator, base: Settings) -> Settings:
    """The deployment's settings, pointed at the emulator the way an operator would: environment
    values for the token, REST base and gateway."""
    return replace(
        base,
        discord_token=Secret(emulator.token),
        api_base=emulator.api_base,
        gateway_url=emulator.gateway_url,
    )


class EmulatedBot(NewsBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before every non-initial IDENTIFY to respect Discord's identify rate
        # limit; the emulator has none.
        return None


@contextlib.asynccontextmanager
async def running_bot(
    emulator: Emulator, settings: Settings, *, ready_timeout: float = READY_TIMEOUT, **options: Any
) -> AsyncIterator[NewsBot]:
    """Start the bot, wait until it is connected (commands registered, content indexed), yield it,
    then close it before the emulator goes away."""
    settings = settings_for(emulator, settings)
    previous = configure_discord(settings.api_base, settings.gateway_url)
    options.setdefault("guild_ready_timeout", 0.05)
    bot = EmulatedBot(settings, **options)
    assert settings.discord_token is not None
    runner = asyncio.create_task(bot.start(settings.discord_token.reveal()), name="newsbot")
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({runner, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            ready.cancel()
            runner.result()  # raises what stopped the bot
            raise RuntimeError("the bot stopped before it was ready")
        if ready not in done:
            ready.cancel()
            raise TimeoutError(f"the bot was not ready within {ready_timeout:.0f} s")
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        restore_discord(previous)
