"""Point discord.py at another Discord: the one sanctioned way to change its REST base and gateway.

discord.py reads two class attributes when it builds requests: ``discord.http.Route.BASE`` (every REST
call, webhooks and interaction callbacks included) and ``DiscordWebSocket.DEFAULT_GATEWAY`` (the first
gateway connection; later ones follow READY's ``resume_gateway_url``). Both are process-wide, so
``configure_discord`` returns the previous values and ``restore_discord`` puts them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


@dataclass(frozen=True, slots=True)
class DiscordEndpoints:
    """Where discord.py sends REST calls and opens its first gateway connection."""

    api_base: str
    gateway: yarl.URL


def current_endpoints() -> DiscordEndpoints:
    return DiscordEndpoints(api_base=Route.BASE, gateway=DiscordWebSocket.DEFAULT_GATEWAY)


def configure_discord(api_base: str, gateway_url: str | None = None) -> DiscordEndpoints:
    """Send discord.py's REST calls to ``api_base`` (e.g. ``http://127.0.0.1:PORT/api/v10``).

    ``gateway_url`` (e.g. ``ws://127.0.0.1:PORT/gateway``) replaces the default gateway; ``None`` leaves
    it alone. Returns the endpoints in force before the call, for ``restore_discord``.
    """
    previous = current_endpoints()
    Route.BASE = api_base.rstrip("/")
    if gateway_url is not None:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


def restore_discord(previous: DiscordEndpoints) -> None:
    Route.BASE = previous.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = previous.gateway


@contextmanager
def discord_endpoints(api_base: str, gateway_url: str | None = None) -> Iterator[DiscordEndpoints]:
    """``configure_discord`` for the duration of a ``with`` block; yields the endpoints now in force."""
    previous = configure_discord(api_base, gateway_url)
    try:
        yield current_endpoints()
    finally:
        restore_discord(previous)
