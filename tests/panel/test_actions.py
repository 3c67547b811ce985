"""The control panel's actions against the real bot and the emulator: every form needs the CSRF
token and the member's Manage Server *now*, bad input comes back next to its field with what was
typed, success redirects with a message, and every change is audited as made on the web through
the same services the slash commands use."""

from __future__ import annotations

import html
import re
from typing import Any

import aiohttp
import pytest

from bot.digests.limits import WEEKDAY_NAMES
from bot.panel.security import COOKIE
from tests.panel.conftest import HOSTILE_ID, Site


def csrf(site: Site, http: aiohttp.ClientSession) -> str:
    cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
    session = site.panel.codec.loads(cookie)
    assert session is not None
    return site.panel.codec.csrf_token(session)


async def post(
    site: Site, http: aiohttp.ClientSession, path: str, data: dict[str, Any], *, token: str | None = None
) -> tuple[int, str, str | None]:
    form = {"csrf": csrf(site, http) if token is None else token, **data}
    async with http.post(site.base + f"/panel/{site.guild.id}{path}", data=form, allow_redirects=False) as r:
        return r.status, await r.text(), r.headers.get("Location")


async def page(site: Site, http: aiohttp.ClientSession) -> str:
    async with http.get(site.base + f"/panel/{site.guild.id}") as response:
        assert response.status == 200
        return await response.text()


DIGEST = {"topic": "Space", "time": "08:00", "timezone": "Europe/London", "days": "daily", "max_items": "3"}
ALERT = {"topic": "Space", "style": "embed", "min_quality": "0", "posts_per_window": "5"}

ACTIONS = [
    ("/settings", {"min_quality": "50"}),
    ("/hide", {"article": HOSTILE_ID}),
    ("/digests", DIGEST),
    ("/alerts", ALERT),
    ("/export", {}),
]


@pytest.mark.parametrize(("path", "data"), ACTIONS)
async def test_missing_or_wrong_csrf_token_is_refused_and_nothing_changes(
    site: Site, path: str, data: dict[str, str]
) -> None:
    channel = site.guild.channel_named("news")
    data = {**data, "channel": str(channel.id)}
    async with site.client() as http:
        await site.login(http, site.moderator)
        good = csrf(site, http)
        for token in ("", "0" * 64, good[:-1] + ("0" if good[-1] != "0" else "1")):
            status, body, _ = await post(site, http, path, data, token=token)
            assert status == 403 and "did not come from this site" in body
        async with http.post(site.base + f"/panel/{site.guild.id}{path}", data=data, allow_redirects=False) as r:
            assert r.status == 403
    assert await site.bot.db.audit.latest(site.guild.id, 5) == []
    assert await site.bot.db.digests.for_guild(site.guild.id) == []


@pytest.mark.parametrize(("path", "data"), ACTIONS)
async def test_manage_server_taken_away_after_login_is_refused(site: Site, path: str, data: dict[str, str]) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        await page(site, http)  # the cached permission says yes...
        site.moderator.role_ids.clear()  # ...and Discord says no now: actions ask Discord every time
        status, body, _ = await post(site, http, path, {**data, "channel": str(channel.id)})
        assert status == 403 and "Manage Server" in body
    assert await site.bot.db.audit.latest(site.guild.id, 5) == []


async def test_member_without_manage_server_cannot_act(site: Site) -> None:
    async with site.client() as http:
        await site.login(http, site.member)
        status, _, _ = await post(site, http, "/settings", {"min_quality": "50"})
        assert status == 403
    assert (await site.bot.policy.for_guild(site.guild.id)).settings.min_quality is None


async def test_add_a_digest_is_audited_as_web_and_shows_in_slash_digest_list(site: Site) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        status, _, location = await post(site, http, "/digests", {**DIGEST, "channel": str(channel.id)})
        assert status == 302 and location == f"/panel/{site.guild.id}#digests"
        body = await page(site, http)
        assert "Digest #1 scheduled: Space, daily at 08:00 (Europe/London)" in body
        assert "<td>Space</td><td>#news</td>" in body
        assert "Digest #1 scheduled" not in await page(site, http)  # the message shows once
    (entry,) = await site.bot.db.audit.latest(site.guild.id, 5)
    assert entry.action == "digest.add" and entry.user_id == site.moderator.id
    assert entry.details["via"] == "web" and entry.details["max_items"] == 3
    result = await site.emulator.send_slash_command(site.guild, channel, site.moderator, "digest", subcommand="list")
    embed = (await result.original_message()).embeds[0]
    assert any(f["name"].startswith("#1 · Space") for f in embed["fields"])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"time": "25:00"}, "time", "Hour 25 is out of range"),
        ({"time": "noon <b>"}, "time", "is not a time"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"topic": "No such topic <script>"}, "topic", "There is no topic called"),
        ({"max_items": "99"}, "max_items", "A digest lists 1 to 10 articles."),
        ({"max_items": "many"}, "max_items", "must be a whole number"),
        ({"days": "fortnightly"}, "days", "is not a schedule"),
    ],
)
async def test_bad_digest_input_is_shown_next_to_its_field_with_what_was_typed(
    site: Site, data: dict[str, str], field: str, message: str
) -> None:
    channel = site.guild.channel_named("news")
    typed = {**DIGEST, "channel": str(channel.id), **data}
    async with site.client() as http:
        await site.login(http, site.moderator)
        status, body, _ = await post(site, http, "/digests", typed)
    assert status == 400
    assert f'id="digest-{field}-error"' in body and message in body
    assert f'aria-describedby="digest-{field}-error"' in body
    for name in ("topic", "time", "timezone"):
        shown = typed[name].replace("<", "&lt;").replace(">", "&gt;")
        assert f'value="{shown}"' in body
    assert "<script>" not in body and "<b>" not in body
    assert await site.bot.db.digests.for_guild(site.guild.id) == []


async def test_pause_resume_preview_and_remove_a_digest(site: Site) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        await post(site, http, "/digests", {**DIGEST, "channel": str(channel.id), "topic": "Security"})
        (digest,) = await site.bot.db.digests.for_guild(site.guild.id)
        status, _, _ = await post(site, http, f"/digests/{digest.id}/pause", {})
        assert status == 302
        found = await site.bot.db.digests.get(digest.id)
        assert found is not None and found.paused and found.pause_reason == "by Mod"
        assert "is already paused" in (await post(site, http, f"/digests/{digest.id}/pause", {}))[1]
        assert (await post(site, http, f"/digests/{digest.id}/resume", {}))[0] == 302
        async with http.get(site.base + f"/panel/{site.guild.id}/digests/{digest.id}/preview") as response:
            preview = await response.text()
        assert response.status == 200 and "Nothing was posted" in preview
        assert "<script" not in preview
        assert (await post(site, http, f"/digests/{digest.id}/remove", {}))[0] == 302
    assert await site.bot.db.digests.for_guild(site.guild.id) == []
    actions = [e.action for e in await site.bot.db.audit.latest(site.guild.id, 10)]
    assert actions == ["digest.remove", "digest.resume", "digest.pause", "digest.add"]
    assert all(e.details["via"] == "web" for e in await site.bot.db.audit.latest(site.guild.id, 10))


async def test_another_servers_digest_cannot_be_touched(site: Site) -> None:
    other = site.emulator.add_guild("Elsewhere")
    news = site.emulator.add_text_channel(other, "news")
    site.emulator.add_member(other, site.moderator.user, permissions=0)
    owner = site.emulator.add_member(other, "owner2", permissions=1 << 5)
    result = await site.emulator.send_slash_command(
        other, news, owner, "digest", {"channel": news.id, "topic": "Space", "time": "08:00"}, subcommand="add"
    )
    await result.response()
    (digest,) = await site.bot.db.digests.for_guild(other.id)
    async with site.client() as http:
        await site.login(http, site.moderator)
        status, body, _ = await post(site, http, f"/digests/{digest.id}/remove", {})
    assert status == 400 and "This server has no digest" in body
    assert await site.bot.db.digests.for_guild(other.id) != []


async def test_add_edit_test_and_why_for_an_alert(site: Site) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        status, _, _ = await post(site, http, "/alerts", {**ALERT, "channel": str(channel.id), "topic": "Security"})
        assert status == 302
        (alert,) = await site.bot.db.alerts.for_guild(site.guild.id)
        async with http.get(site.base + f"/panel/{site.guild.id}/alerts/{alert.id}") as response:
            edit = await response.text()
        assert 'value="Security"' in edit
        # Bad input on the edit page: the message next to the field, and the typed value kept.
        status, body, _ = await post(
            site,
            http,
            f"/alerts/{alert.id}",
            {**ALERT, "channel": str(channel.id), "topic": "Security", "template": "{nope} <i>"},
        )
        assert status == 400 and 'id="alert-template-error"' in body and "Unknown placeholder" in body
        assert "{nope} &lt;i&gt;" in body
        status, _, _ = await post(
            site,
            http,
            f"/alerts/{alert.id}",
            {**ALERT, "channel": str(channel.id), "topic": "Security", "min_quality": "10"},
        )
        assert status == 302
        assert "Changed min_quality of alert #1" in await page(site, http)
        before = len(site.emulator.channel_messages(channel))
        assert (await post(site, http, f"/alerts/{alert.id}/test", {}))[0] == 302
        assert len(site.emulator.channel_messages(channel)) == before + 1
        async with http.get(site.base + f"/panel/{site.guild.id}/why", params={"article": HOSTILE_ID}) as response:
            why = await response.text()
        assert response.status == 200 and "#1" in why and "<script" not in why
    entries = await site.bot.db.audit.latest(site.guild.id, 10)
    assert [e.action for e in entries] == ["alert.test", "alert.edit", "alert.add"]
    assert entries[1].details["changed"] == ["min_quality"] and all(e.details["via"] == "web" for e in entries)


async def test_settings_hide_and_unhide(site: Site) -> None:
    async with site.client() as http:
        await site.login(http, site.moderator)
        status, body, _ = await post(site, http, "/settings", {"min_quality": "500", "blocked_topics": "Sport"})
        assert status == 400 and 'id="settings-min_quality-error"' in body and 'value="500"' in body
        status, _, _ = await post(
            site, http, "/settings", {"min_quality": "40", "include_unpublished": "default", "blocked_topics": "Sport"}
        )
        assert status == 302
        settings = (await site.bot.policy.for_guild(site.guild.id)).settings
        assert settings.min_quality == 40 and settings.blocked_topics == ("Sport",)
        status, _, _ = await post(site, http, "/hide", {"article": HOSTILE_ID, "reason": "<b>spam</b>"})
        assert status == 302
        body = await page(site, http)
        assert "is hidden in this server now" in body and "&lt;script&gt;" in body and "<script" not in body
        status, body, _ = await post(site, http, "/hide", {"article": "no-such-article"})
        assert status == 400 and 'id="hide-article-error"' in body and 'value="no-such-article"' in body
        assert (await post(site, http, "/unhide", {"article": HOSTILE_ID}))[0] == 302
    entries = await site.bot.db.audit.latest(site.guild.id, 10)
    assert [e.action for e in entries] == ["unhide", "hide", "config"]
    assert entries[2].details["min_quality"] == 40 and all(e.details["via"] == "web" for e in entries)


async def test_export_then_import_asks_before_removing_a_digest(site: Site) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        token = csrf(site, http)
        async with http.post(site.base + f"/panel/{site.guild.id}/export", data={"csrf": token}) as response:
            assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
            exported = await response.read()
        await post(site, http, "/digests", {**DIGEST, "channel": str(channel.id)})
        data = aiohttp.FormData()
        data.add_field("csrf", token)
        data.add_field("file", exported, filename="backup.yaml", content_type="application/yaml")
        async with http.post(site.base + f"/panel/{site.guild.id}/import", data=data) as response:
            confirm = await response.text()
        assert response.status == 200 and "Confirm the import" in confirm and "Space in #news" in confirm
        assert len(await site.bot.db.digests.for_guild(site.guild.id)) == 1  # nothing removed yet
        fields = {
            name: html.unescape(value)
            for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', confirm)
            if name in ("confirm", "file_name", "backup")
        }
        status, _, _ = await post(site, http, "/import", fields)
        assert status == 302
    assert await site.bot.db.digests.for_guild(site.guild.id) == []
    entries = await site.bot.db.audit.latest(site.guild.id, 10)
    assert [e.action for e in entries][:1] == ["import"] and entries[0].details["via"] == "web"
    assert "export" in [e.action for e in entries]


async def test_edit_a_digest_on_its_page_through_the_same_action_as_slash_digest_edit(site: Site) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        await post(site, http, "/digests", {**DIGEST, "channel": str(channel.id)})
        (digest,) = await site.bot.db.digests.for_guild(site.guild.id)
        assert f'href="/panel/{site.guild.id}/digests/{digest.id}">Edit</a>' in await page(site, http)
        async with http.get(site.base + f"/panel/{site.guild.id}/digests/{digest.id}") as response:
            edit = await response.text()
        assert response.status == 200 and 'value="08:00"' in edit and 'value="Europe/London"' in edit
        weekday = (digest.weekday + 1) % 7  # another day than the one it was made on
        typed = {**DIGEST, "channel": str(channel.id), "time": "18:30", "days": "weekly", "weekday": str(weekday)}
        status, _, location = await post(site, http, f"/digests/{digest.id}", typed)
        assert status == 302 and location == f"/panel/{site.guild.id}#digests"
        day = WEEKDAY_NAMES[weekday]
        assert f"Changed time, days, weekday of digest #1: Space, weekly on {day}s at 18:30" in await page(site, http)
        same = await post(site, http, f"/digests/{digest.id}", typed)
        assert same[0] == 302 and "Nothing changed" in await page(site, http)
    stored = await site.bot.db.digests.get(digest.id)
    assert stored is not None and (stored.at_time, stored.cadence, stored.weekday) == ("18:30", "weekly", weekday)
    (entry, _) = await site.bot.db.audit.latest(site.guild.id, 2)
    assert entry.action == "digest.edit" and entry.user_id == site.moderator.id and entry.details["via"] == "web"
    assert entry.details["before"] == ["at_time: 08:00", "cadence: daily", f"weekday: {digest.weekday}"]
    assert entry.details["after"] == ["at_time: 18:30", "cadence: weekly", f"weekday: {weekday}"]
    result = await site.emulator.send_slash_command(site.guild, channel, site.moderator, "digest", subcommand="list")
    embed = (await result.original_message()).embeds[0]
    assert any(f["name"] == f"#1 · Space · {day}s 18:30" for f in embed["fields"]), "/digest list shows the edit"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"time": "25:00"}, "time", "Hour 25 is out of range"),
        ({"timezone": "Mars/Olympus <b>"}, "timezone", "Mars/Olympus"),
        ({"topic": "No such topic <script>"}, "topic", "There is no topic called"),
        ({"max_items": "0"}, "max_items", "A digest lists 1 to 10 articles."),
        ({"days": "weekly", "weekday": "9"}, "weekday", "0 (Monday) to 6 (Sunday)"),
        ({"days": "fortnightly"}, "days", "is not a schedule"),
    ],
)
async def test_bad_digest_edit_is_shown_next_to_its_field_with_what_was_typed(
    site: Site, data: dict[str, str], field: str, message: str
) -> None:
    channel = site.guild.channel_named("news")
    async with site.client() as http:
        await site.login(http, site.moderator)
        await post(site, http, "/digests", {**DIGEST, "channel": str(channel.id)})
        (before,) = await site.bot.db.digests.for_guild(site.guild.id)
        typed = {**DIGEST, "channel": str(channel.id), "time": "07:45", **data}
        status, body, _ = await post(site, http, f"/digests/{before.id}", typed)
    assert status == 400 and "Edit digest #1" in body
    assert f'id="digest-{field}-error"' in body and message in body
    assert f'aria-describedby="digest-{field}-error"' in body
    for name in ("topic", "time", "timezone"):
        shown = typed[name].replace("<", "&lt;").replace(">", "&gt;")
        assert f'value="{shown}"' in body
    assert "<script>" not in body and "<b>" not in body
    assert await site.bot.db.digests.get(before.id) == before, "nothing changed"


async def test_a_digest_edit_needs_the_csrf_token_and_manage_server_now(site: Site) -> None:
    channel = site.guild.channel_named("news")
    typed = {**DIGEST, "channel": str(channel.id), "time": "10:10"}
    async with site.client() as http:
        await site.login(http, site.moderator)
        await post(site, http, "/digests", {**DIGEST, "channel": str(channel.id)})
        (before,) = await site.bot.db.digests.for_guild(site.guild.id)
        status, body, _ = await post(site, http, f"/digests/{before.id}", typed, token="0" * 64)
        assert status == 403 and "did not come from this site" in body
        site.moderator.role_ids.clear()  # Discord says no now: the edit asks Discord, not the login
        status, body, _ = await post(site, http, f"/digests/{before.id}", typed)
        assert status == 403 and "Manage Server" in body
    assert await site.bot.db.digests.get(before.id) == before
    assert [e.action for e in await site.bot.db.audit.latest(site.guild.id, 5)] == ["digest.add"]
