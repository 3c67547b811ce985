"""Start, sync and stop the bot for real: token handling, endpoint overrides and signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import replace

import discord

from bot.app.client import NewsBot
from bot.app.endpoints import configure_discord
from bot.app.sharding import create_bot
from bot.settings import Secret, Settings, token_problem

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FAILURE = 1


class RedactSecret(logging.Filter):
    """Belt and braces: even if a library logged the token, it would never reach a handler."""

    def __init__(self, secret: Secret) -> None:
        super().__init__()
        self._value = secret.reveal()

    def filter(self, record: logging.LogRecord) -> bool:
        if self._value and self._value in record.getMessage():
            record.msg = record.getMessage().replace(self._value, "[token redacted]")
            record.args = None
        return True


def install_redaction(secret: Secret) -> None:
    redact = RedactSecret(secret)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def _require_token(settings: Settings) -> Secret | None:
    if settings.discord_token is None:
        print(
            "newsbot: DISCORD_TOKEN is not set; create a bot in the Discord developer portal and export its token "
            "(see README, 'Run it for real')",
            file=sys.stderr,
        )
        return None
    # Settings from the environment were checked already; ones built in code meet the same rule here.
    problem = token_problem(settings.discord_token.reveal())
    if problem is not None:
        print(f"newsbot: configuration error: {problem}", file=sys.stderr)
        return None
    install_redaction(settings.discord_token)
    return settings.discord_token


async def serve(bot: NewsBot, token: Secret, *, stop: asyncio.Event | None = None) -> None:
    """Run until the gateway closes or ``stop`` is set (SIGINT/SIGTERM), then close cleanly:
    the gateway first, then the database, so pending writes finish."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible outside the main thread or on platforms without signals; Ctrl-C still works.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(token.reveal()), name="newsbot-gateway")
        stopper = asyncio.create_task(stop.wait(), name="newsbot-stop")
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("shutting down")
            await bot.close()
        else:
            stopper.cancel()
        await runner


def run_bot(settings: Settings) -> int:
    token = _require_token(settings)
    if token is None:
        return EXIT_CONFIG
    configure_discord(settings.api_base, settings.gateway_url)
    try:
        asyncio.run(serve(create_bot(NewsBot, settings), token))
    except discord.LoginFailure:
        print("newsbot: Discord rejected the token (401 Unauthorized): check DISCORD_TOKEN", file=sys.stderr)
        return EXIT_CONFIG
    except discord.PrivilegedIntentsRequired:
        print("newsbot: Discord refused the gateway intents", file=sys.stderr)
        return EXIT_CONFIG
    except (OSError, discord.DiscordException) as exc:
        print(f"newsbot: stopped: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


async def _sync(settings: Settings, token: Secret) -> int:
    # Registering commands needs neither the watcher nor the status server (whose port a running
    # bot may hold).
    async with NewsBot(replace(settings, http_port=None, watch=False), force_sync=True) as bot:
        await bot.login(token.reveal())  # runs setup_hook, which registers the tree
    return EXIT_OK


def sync_commands(settings: Settings) -> int:
    token = _require_token(settings)
    if token is None:
        return EXIT_CONFIG
    configure_discord(settings.api_base, settings.gateway_url)
    try:
        return asyncio.run(_sync(settings, token))
    except discord.LoginFailure:
        print("newsbot: Discord rejected the token (401 Unauthorized): check DISCORD_TOKEN", file=sys.stderr)
        return EXIT_CONFIG
    except (OSError, discord.DiscordException) as exc:
        print(f"newsbot: sync failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
