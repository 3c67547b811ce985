"""The web pages end to end: the real bot (status server with the panel mounted) against the
Discord emulator, which also plays Discord's OAuth2; a real SQLite file and the bundled content,
plus one article full of hostile text."""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from bot.app.client import NewsBot
from bot.demo.harness import running_bot
from bot.emulator import Emulator, Perm
from bot.emulator.models import Guild, Member
from bot.panel.app import PANEL, Panel
from bot.settings import Secret, Settings, WebSettings

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"
SESSION_SECRET = "s" * 40

HOSTILE_ID = "2026-11-30-hostile"
HOSTILE = """---
title: "<script>alert('title')</script> Breaking & <b>bold</b>"
excerpt: "<img src=x onerror=alert('excerpt')> \\"quoted\\" </p><p>"
publishedDateTime: 2026-11-30T07:00:00Z
webUrl: "https://evil.example.com/story?a=1&b=<2>"
type: article
quality: 100
heat: 10
published: true
secured: "TOP-SECRET-BLOB"
provider:
  name: "<i>Evil</i> Daily"
  domain: evil.example.com
topics:
  - Security
related:
  - title: "<script>alert('related')</script>"
    webUrl: "https://other.example.org/related-story"
  - title: "A related story behind a script link"
    webUrl: "javascript:alert('related')"
    publishedDateTime: 2026-11-29T07:00:00Z
    provider:
      name: "Elsewhere"
      domain: elsewhere.example.org
---
Body.
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Site:
    emulator: Emulator
    bot: NewsBot
    base: str
    guild: Guild
    moderator: Member
    member: Member

    @property
    def panel(self) -> Panel:
        server = self.bot.operations.server
        assert server is not None and server._runner is not None
        return server._runner.app[PANEL]

    def client(self) -> aiohttp.ClientSession:
        # unsafe: keep cookies for an IP address host (127.0.0.1), as a browser does.
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def start_login(self, http: aiohttp.ClientSession, next_path: str | None = None) -> dict[str, str]:
        """GET /login; returns the authorize request's query (client_id, redirect_uri, state...)."""
        params = {"next": next_path} if next_path is not None else {}
        async with http.get(f"{self.base}/login", params=params, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            location = response.headers["Location"]
        assert location.startswith(self.emulator.base_url + "/oauth2/authorize?")
        return dict(parse_qsl(urlsplit(location).query))

    async def consent(self, http: aiohttp.ClientSession, query: dict[str, str], user: Member) -> str:
        """Submit the emulator's consent form as ``user``; returns the callback address it redirects to."""
        form = {**query, "user_id": str(user.id), "decision": "authorize"}
        form.pop("prompt", None)
        async with http.post(f"{self.emulator.base_url}/oauth2/authorize", data=form, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            return r.headers["Location"]

    async def login(
        self, http: aiohttp.ClientSession, user: Member, next_path: str | None = None
    ) -> aiohttp.ClientResponse:
        callback = await self.consent(http, await self.start_login(http, next_path), user)
        async with http.get(callback, allow_redirects=False) as response:
            await response.read()
            return response


def write_hostile(content_dir: Path) -> None:
    (content_dir / "_news" / "2026-11-30-hostile.md").write_text(HOSTILE, encoding="utf-8")


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    write_hostile(target)
    return target


async def start_site(tmp_path: Path, content_dir: Path, *, public: bool = True) -> AsyncIterator[Site]:
    async with Emulator() as emulator:
        guild = emulator.add_guild("Newsroom")
        emulator.add_text_channel(guild, "news")
        moderator = emulator.add_member(guild, "mod", permissions=Perm.MANAGE_GUILD)
        member = emulator.add_member(guild, "alice")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        web = WebSettings(
            base_url=base,
            client_id=emulator.oauth.client_id,
            client_secret=Secret(emulator.oauth.client_secret),
            session_secret=Secret(SESSION_SECRET),
            public=public,
        )
        emulator.oauth.allow_redirect(web.redirect_uri)
        settings = Settings(
            content_dir=content_dir,
            database_url=f"sqlite:///{tmp_path / 'newsbot.sqlite3'}",
            http_port=port,
            watch=False,
            web=web,
        )
        async with running_bot(emulator, settings) as bot:
            yield Site(emulator, bot, base, guild, moderator, member)
        emulator.assert_no_violations()


@pytest.fixture
async def site(tmp_path: Path, content_dir: Path) -> AsyncIterator[Site]:
    async for running in start_site(tmp_path, content_dir):
        yield running


@pytest.fixture
async def private_site(tmp_path: Path, content_dir: Path) -> AsyncIterator[Site]:
    async for running in start_site(tmp_path, content_dir, public=False):
        yield running
