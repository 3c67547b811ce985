"""``make demo`` serves the web pages: the address it prints lets a visitor log in as the demo moderator."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.demo.harness import running_bot
from bot.demo.tour import with_web_pages
from bot.emulator import Emulator, Perm
from bot.settings import Settings
from tests.panel.conftest import CONTENT


async def test_demo_panel_logs_in_the_demo_moderator_by_default(tmp_path: Path) -> None:
    async with Emulator() as emulator:
        guild = emulator.add_guild("newsbot demo")
        moderator = emulator.add_member(guild, "you", permissions=Perm.MANAGE_GUILD)
        base = Settings(content_dir=CONTENT, database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", watch=False)
        settings = with_web_pages(base, emulator, moderator)
        assert settings.web is not None and settings.web.public
        async with (
            running_bot(emulator, settings),
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        ):
            async with http.get(settings.web.base_url + "/panel") as consent:  # follows redirects to the consent page
                page = await consent.text()
                form_url = str(consent.url)
            assert f'id="user-{moderator.id}" value="{moderator.id}" checked' in page
            query = dict(consent.url.query)
            form = {**query, "user_id": str(moderator.id), "decision": "authorize"}
            async with http.post(form_url.split("?")[0], data=form) as panel:
                assert panel.status == 200
                assert f'href="/panel/{guild.id}"' in await panel.text()
        emulator.assert_no_violations()


def test_an_operators_own_status_server_is_left_alone() -> None:
    settings = Settings(http_port=9000)
    assert with_web_pages(settings, object(), object()) is settings  # type: ignore[arg-type]
