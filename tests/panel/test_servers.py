"""The control panel's pages: which servers a member sees, and that Manage Server is checked on
every request with the bot's own view of the member, not only at login."""

from __future__ import annotations

from bot.db.guild_types import HiddenArticle
from bot.emulator import Perm
from bot.panel.access import MemberAccess
from tests.panel.conftest import Site


async def test_moderator_sees_the_server_and_its_settings_hidden_and_audit(site: Site) -> None:
    guild_id = site.guild.id
    await site.bot.policy.hide(
        guild_id, HiddenArticle("x-1", "<script>alert('hidden')</script>", "spam & <b>bait</b>", site.moderator.id)
    )
    await site.bot.policy.update(guild_id, site.moderator.id, min_quality=90, blocked_topics=("<i>Sport</i>",))
    await site.bot.db.audit.add(
        guild_id, site.moderator.id, "config", {"min_quality": 90, "note": "<script>x</script>"}
    )
    async with site.client() as http:
        await site.login(http, site.moderator)
        async with http.get(site.base + "/panel") as response:
            body = await response.text()
            assert f'href="/panel/{guild_id}"' in body and "Newsroom" in body
        async with http.get(site.base + f"/panel/{guild_id}") as response:
            assert response.status == 200
            body = await response.text()
    assert "<dd>90</dd>" in body  # not "(default)" any more
    assert "&lt;i&gt;Sport&lt;/i&gt;" in body
    assert "&lt;script&gt;alert(&#39;hidden&#39;)&lt;/script&gt;" in body and "spam &amp; &lt;b&gt;bait" in body
    assert "<strong>config</strong>" in body and "note: &lt;script&gt;x&lt;/script&gt;" in body
    assert "<script" not in body


async def test_digests_are_listed(site: Site) -> None:
    channel = site.guild.channel_named("news")
    result = await site.emulator.send_slash_command(
        site.guild,
        channel,
        site.moderator,
        "digest",
        {"channel": channel.id, "topic": "Space", "time": "08:00"},
        subcommand="add",
    )
    await result.response()
    async with site.client() as http:
        await site.login(http, site.moderator)
        async with http.get(site.base + f"/panel/{site.guild.id}") as response:
            body = await response.text()
    assert "<td>Space</td><td>#news</td>" in body and "daily at 08:00 (UTC)" in body


async def test_member_without_manage_server_sees_no_server_and_is_refused(site: Site) -> None:
    async with site.client() as http:
        await site.login(http, site.member)
        async with http.get(site.base + "/panel") as response:
            body = await response.text()
            assert "None of your servers can be managed here" in body
            assert f"/panel/{site.guild.id}" not in body
        async with http.get(site.base + f"/panel/{site.guild.id}") as response:
            assert response.status == 403
            assert "Manage Server" in await response.text()


async def test_unknown_or_botless_server_gets_the_same_refusal(site: Site) -> None:
    async with site.client() as http:
        await site.login(http, site.moderator)
        async with http.get(site.base + "/panel/123456789012345678") as response:
            assert response.status == 403
        async with http.get(site.base + "/panel/not-a-number") as response:
            assert response.status == 404


async def test_server_owner_and_administrators_count_as_managers(site: Site) -> None:
    admin = site.emulator.add_member(site.guild, "admin", permissions=Perm.ADMINISTRATOR)
    async with site.client() as http:
        await site.login(http, admin)
        async with http.get(site.base + f"/panel/{site.guild.id}") as response:
            assert response.status == 200


async def test_permission_removed_after_login_is_refused_on_the_next_request(site: Site) -> None:
    now = [1000.0]
    site.panel.access = MemberAccess(site.bot, clock=lambda: now[0])
    async with site.client() as http:
        await site.login(http, site.moderator)
        async with http.get(site.base + f"/panel/{site.guild.id}") as response:
            assert response.status == 200
        site.moderator.role_ids.clear()  # a server admin takes the moderator role away in Discord
        now[0] += site.panel.access.ttl + 0.1
        async with http.get(site.base + f"/panel/{site.guild.id}") as response:
            assert response.status == 403
        async with http.get(site.base + "/panel") as response:
            assert f"/panel/{site.guild.id}" not in await response.text()


async def test_member_who_left_the_server_is_refused(site: Site) -> None:
    site.panel.access = MemberAccess(site.bot, ttl=0.0)
    async with site.client() as http:
        await site.login(http, site.moderator)
        del site.guild.members[site.moderator.id]
        async with http.get(site.base + f"/panel/{site.guild.id}") as response:
            assert response.status == 403


async def test_panel_pages_need_a_login(site: Site) -> None:
    async with site.client() as http:
        for path in ("/panel", f"/panel/{site.guild.id}"):
            async with http.get(site.base + path, allow_redirects=False) as response:
                assert response.status == 302 and response.headers["Location"].startswith("/login?next=")
                assert response.headers["Cache-Control"] == "no-store"
